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
"""The package as a user installs it: a wheel built from the checkout, installed (not editable) into a fresh venv,
used from a folder outside the checkout: the ``autoseg`` console script from plan to prediction on a small real 3D
set, and one ``python -m monai.bundle run`` of each workflow family on a copy of its bundle.

The fresh venv reuses the test venv's installed dependencies (torch and the rest, through a ``.pth`` path entry,
which does not run the checkout's editable-install hook), so only the wheel itself is installed: seconds, no
network. Commands run as plain subprocesses: the suite's warm interpreter has the checkout's package imported.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tifffile

from tests.bundle_helpers import REPO_ROOT, TINY_NET, TINY_TRAIN, subset_dataset

SHORT = ["--epochs", "1", "--iters_per_epoch", "2", "--num_workers", "0"]


def _run(cmd: list[str], cwd: Path, env: dict, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{(proc.stdout + proc.stderr)[-6000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, environment, an empty folder outside the checkout) with the built wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root), "."],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    shutil.rmtree(REPO_ROOT / "build", ignore_errors=True)  # setuptools' staging folder
    wheel = next(root.glob("monai_mamba_zoo-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    Path(purelib, "test_venv_dependencies.pth").write_text(
        "\n".join(dict.fromkeys([sysconfig.get_paths()["purelib"], *site.getsitepackages()])) + "\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], root, env)
    outside = root / "user"
    outside.mkdir()
    where = _run([str(python), "-c", "import networks; print(networks.__file__)"], outside, env).stdout.strip()
    assert Path(where).is_relative_to(venv), f"networks imported from {where}, not from the installed wheel"
    return python, env, outside


def test_wheel_ships_the_templates_and_entry_points(installed):
    python, env, outside = installed
    code = (
        "from networks.apps.bundle_config import load_template, template_file; "
        "print(load_template('autoseg', 'train.json')['train']['dataset']['_target_']); "
        "print(len(template_file('LICENSE').read_text()))"
    )
    lines = _run([str(python), "-c", code], outside, env).stdout.split()
    assert lines[0] == "networks.apps.autoseg.PatchDataset" and int(lines[1]) > 10000
    for script in ("autoseg", "zoo-prepare-data"):
        assert (python.parent / script).is_file(), f"console script {script} not installed"
    shown = _run([str(python), "-m", "networks.apps.autoseg", "--help"], outside, env)
    assert all(verb in shown.stdout + shown.stderr for verb in ("plan", "preprocess", "train", "predict"))


def test_autoseg_from_plan_to_prediction(installed, nuclei3d_dir):
    python, env, outside = installed
    raw = outside / "nuclei3d_crop"
    shutil.copytree(nuclei3d_dir, raw, ignore=shutil.ignore_patterns("*.tiff", "checksums*"))
    for path in sorted(nuclei3d_dir.glob("*Tr/*.tiff")):
        tifffile.imwrite(raw / path.parent.name / path.name, tifffile.imread(path)[14:46, 32:96, 32:96])
    autoseg = [str(python.parent / "autoseg")]
    common = ["--dataset_dir", "nuclei3d_crop", "--work_dir", "work"]
    _run(autoseg + ["plan", *common], outside, env)
    _run(autoseg + ["preprocess", *common, "--configurations", "3d_fullres"], outside, env)
    _run(autoseg + ["train", *common, "--configuration", "3d_fullres", "--fold", "0", *SHORT], outside, env)
    predict = ["predict", "--work_dir", "work", "--input_dir", "nuclei3d_crop/imagesTr", "--output_dir", "pred"]
    _run(autoseg + predict + ["--configurations", "3d_fullres", "--folds", "0"], outside, env)
    cases = sorted(p.name for p in (raw / "labelsTr").glob("*.tiff"))
    assert sorted(p.name for p in (outside / "pred").glob("*.tiff")) == cases
    bundle = outside / "work" / "bundles"
    assert (next(bundle.glob("*_3d_fullres")) / "LICENSE").read_text() == (REPO_ROOT / "LICENSE").read_text()


def _bundle_run(python: Path, env: dict, bundle: Path, configs: list[str], *args: str) -> None:
    files = "[" + ",".join(f"'configs/{c}'" for c in configs) + "]"
    cmd = [str(python), "-m", "monai.bundle", "run", "--config_file", files, "--meta_file", "configs/metadata.json"]
    cmd += ["--logging_file", "configs/logging.conf", "--bundle_root", ".", *args]
    _run(cmd, bundle, env)


def _copy_bundle(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(REPO_ROOT / "bundle" / name, target, ignore=shutil.ignore_patterns("*.pt", "*.ts", "eval", "runs"))
    return target


def test_one_bundle_of_each_workflow_family(installed, nuclei2d_dir, brainregions_dir, cxr_reports_dir):
    python, env, outside = installed
    # segmentation_2d: Swin-UMamba nuclei segmentation, one tiny epoch
    bundle = _copy_bundle("swin_umamba_nuclei_segmentation", outside)
    data = subset_dataset(nuclei2d_dir, outside / "nuclei2d_subset")
    _bundle_run(python, env, bundle, ["train.json"], "--dataset_dir", str(data), *TINY_NET, *TINY_TRAIN)
    assert (bundle / "models" / "model.pt").is_file()
    # instance_2d: Mask R-CNN nuclei instances, one tiny epoch
    bundle = _copy_bundle("maskrcnn_nuclei_instance_segmentation", outside)
    tiny = ["--patch_size", "[128,128]", "--max_detections", "100", "--batch_size", "1", "--num_samples", "1"]
    _bundle_run(python, env, bundle, ["train.json"], "--dataset_dir", str(data), "--epochs", "1", "--val_interval",
                "1", *tiny, "--num_workers", "0")  # fmt: skip
    assert (bundle / "models" / "model.pt").is_file()
    # classification: AAM brain regions, one epoch on one patch per class
    bundle = _copy_bundle("aam_brain_region_classification", outside)
    doc = json.loads((brainregions_dir / "dataset.json").read_text())
    for split, n in {"training": 116, "validation": 8, "test": 8, "test_mni152": 8}.items():
        first = {}
        for item in doc[split]:
            first.setdefault(item["label"], {**item, "image": str(brainregions_dir / item["image"])})
        doc[split] = [first[c] for c in sorted(first)[:n]]
    (outside / "brainregions_subset").mkdir()
    (outside / "brainregions_subset" / "dataset.json").write_text(json.dumps(doc))
    _bundle_run(python, env, bundle, ["train.json"], "--dataset_dir", str(outside / "brainregions_subset"),
                "--batch_size", "32", "--num_workers", "0", "--epochs", "1")  # fmt: skip
    assert (bundle / "models" / "model.pt").is_file()
    # vision_language: generate a few synthetic pairs (the text encoder comes from the prepared cxr_reports)
    bundle = _copy_bundle("synthetic_cxr_vlp", outside)
    (bundle / "data").mkdir()
    (bundle / "data" / "cxr_reports").symlink_to(cxr_reports_dir)
    _bundle_run(python, env, bundle, ["generate.json"], "--num_pairs", "8", "--num_test_cases", "8",
                "--image_size", "64")  # fmt: skip
    assert json.loads((bundle / "data" / "pairs_synthetic" / "manifest.json").read_text())["complete"]
