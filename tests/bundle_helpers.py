# Copyright (c) 2026 MONAI Mamba Zoo contributors
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#     http://www.apache.org/licenses/LICENSE-2.0
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Helpers for the bundle tests: tiny schedules, a small real-data subset, running ``monai.bundle``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests import warm_python

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# a reduced-width Swin-UMamba and a tiny schedule, so one epoch takes seconds on a 2-core CPU
TINY_NET = [
    "--network_def#feature_size",
    "16",
    "--network_def#dims",
    "[32,64,128,256]",
    "--network_def#depths",
    "[1,1,1,1]",
]
TINY_TRAIN = ["--patch_size", "[64,64]", "--batch_size", "1", "--num_samples", "1", "--num_workers", "0"]
TINY_TRAIN += ["--warmup_epochs", "1", "--epochs", "1"]


def copy_bundle(name: str, dest: Path) -> Path:
    """Copy ``bundle/<name>`` to ``dest`` (tests never write into the repository's bundle folder)."""
    target = Path(dest) / name
    shutil.copytree(REPO_ROOT / "bundle" / name, target, ignore=shutil.ignore_patterns("*.pt", "*.ts", "eval", "runs"))
    return target


def subset_dataset(src: Path, dest: Path, n_train: int = 2, n_val: int = 1, n_test: int = 2) -> Path:
    """Write a dataset.json with absolute paths to the first cases of each split of a prepared dataset."""
    meta = json.loads((Path(src) / "dataset.json").read_text())
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for split, n in (("training", n_train), ("validation", n_val), ("test", n_test)):
        meta[split] = [{k: str(Path(src) / v) for k, v in item.items()} for item in meta[split][:n]]
    (dest / "dataset.json").write_text(json.dumps(meta, indent=1))
    return dest


def write_overrides(bundle: Path, overrides: dict[str, dict]) -> None:
    """Write ``{config file: {id: value}}`` into a bundle copy's configs, for tools that read the files as they are
    (MONAI Label passes no command-line overrides)."""
    from monai.bundle import ConfigParser

    for name, values in overrides.items():
        path = Path(bundle) / "configs" / name
        parser = ConfigParser()
        parser.read_config(str(path))
        for id_, value in values.items():
            parser[id_] = value
        ConfigParser.export_config_file(parser.get(), str(path), indent=4)


def cli_pairs(args: list[str]) -> dict:
    """``["--a#b", "[1,2]", ...]`` (command-line overrides such as TINY_NET) as ``{"a#b": [1, 2], ...}``."""
    return {k[2:]: json.loads(v) for k, v in zip(args[::2], args[1::2])}


def run_bundle(bundle: Path, config_files: list[str], *args: str, module: str = "run", timeout: int = 600):
    """Run ``python -m monai.bundle <module>`` in ``bundle``; return the completed process (raises on timeout)."""
    configs = "[" + ",".join(f"'{bundle / 'configs' / c}'" for c in config_files) + "]"
    cmd = [PYTHON, "-m", "monai.bundle", module]
    if module == "run":
        cmd += ["--config_file", configs, "--meta_file", str(bundle / "configs" / "metadata.json")]
        cmd += ["--logging_file", str(bundle / "configs" / "logging.conf"), "--bundle_root", str(bundle)]
    cmd += list(args)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return warm_python.run(cmd, cwd=bundle, env=env, timeout=timeout)


def console_epochs(stdout: str) -> list[str]:
    """The ``e/E`` of each epoch line that ``networks.handlers.TrainingConsole`` wrote (after any label)."""
    return re.findall(r"^(?:.* \| )?epoch +(\d+/\d+) \|", stdout, flags=re.M)


def check_ok(proc: subprocess.CompletedProcess) -> None:
    """Assert a process succeeded, showing the end of its output otherwise."""
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
