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
"""
Run MONAI model-zoo's own bundle CI scripts, from a checkout of model-zoo, against this repository's bundles, as a
contributor would before opening a model-zoo pull request (docs/CONTRACTS.md).

For each bundle: copy it to ``<model_zoo>/models/<bundle>``, train it briefly there (its own ``train.json``, a few
minutes on 2 CPU cores) so that ``models/model.pt`` exists, put the metadata schema in ``eval/schema.json`` (model-zoo
downloads it; this repository keeps a copy), add the bundle to the exclusion lists of model-zoo's
``ci/bundle_custom_data.py`` that its ``configs/bundles/<bundle>/card.json`` names (what the bundle's pull request
would do), then run ``ci/get_bundle_requirements.py`` and ``ci/verify_bundle.py`` in ``min`` and full mode.
Writes the outcome of every step to ``--out`` (default ``docs/results/model_zoo_ci.json``).

Usage::

    git clone https://github.com/Project-MONAI/model-zoo /tmp/model-zoo
    python scripts/model_zoo_ci.py --model_zoo /tmp/model-zoo            # all five bundles (~10 min on 2 cores)
    python scripts/model_zoo_ci.py --model_zoo /tmp/model-zoo --bundles swin_umamba_nuclei_segmentation
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import fire

from networks.apps.steps import show_command
from networks.data.file_io import write_json_atomic

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(REPO, "configs", "schema", "meta_schema_20240725.json")
# short training that still writes models/model.pt (its best-validation checkpoint)
SHORT_TRAINING = {
    "swin_umamba_nuclei_segmentation": ("nuclei2d", ["--epochs", "1"]),
    "swin_umamba_brain_segmentation": ("brain2d", ["--epochs", "1"]),
    "maskrcnn_nuclei_instance_segmentation": (
        "nuclei2d",
        [
            "--epochs",
            "1",
            "--val_interval",
            "1",
            "--patch_size",
            "[128,128]",
            "--batch_size",
            "1",
            "--num_workers",
            "0",
        ],
    ),
    "aam_brain_region_classification": ("brainregions", ["--epochs", "1", "--batch_size", "32", "--num_workers", "0"]),
}
EXCLUSION_LISTS = {"torchscript": "exclude_verify_torchscript_list", "data_shape": "exclude_verify_shape_list"}


def _run(cmd: list[str], cwd: str, log: str) -> dict:
    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(
            cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONWARNINGS="ignore")
        )
    lines = [line.strip() for line in open(log) if line.strip()]
    said = [line for line in lines if "verified" in line or "Error" in line or "skip" in line or "successfully" in line]
    return {"command": show_command(cmd), "exit": proc.returncode, "seconds": round(time.perf_counter() - start, 1),
            "said": said[-8:]}  # fmt: skip


def _train(bundle: str, root: str, log: str) -> list[dict]:
    meta = ["--meta_file", "configs/metadata.json", "--logging_file", "configs/logging.conf", "--bundle_root", "."]
    run = [sys.executable, "-m", "monai.bundle", "run", "--config_file"]
    if bundle == "synthetic_cxr_vlp":
        os.makedirs(os.path.join(root, "data"), exist_ok=True)
        os.symlink(os.path.join(REPO, "data", "cxr_reports"), os.path.join(root, "data", "cxr_reports"))
        generate = run + ["configs/generate.json", *meta, "--num_pairs", "64", "--num_test_cases", "100"]
        return [_run(generate, root, log + ".generate"), _run(run + ["configs/train.json", *meta, "--epochs", "1",
                "--batch_size", "8"], root, log)]  # fmt: skip
    data, short = SHORT_TRAINING[bundle]
    return [
        _run(run + ["configs/train.json", *meta, "--dataset_dir", os.path.join(REPO, "data", data), *short], root, log)
    ]


def _exclude(model_zoo: str, bundle: str, checks: list[str]) -> None:
    """Add ``bundle`` to model-zoo's exclusion lists for ``checks`` (as its pull request would)."""
    path = os.path.join(model_zoo, "ci", "bundle_custom_data.py")
    text = open(path).read()
    for check in checks:
        head = f"{EXCLUSION_LISTS[check]} = ["
        if head not in text:
            raise SystemExit(f"error: {path} has no {EXCLUSION_LISTS[check]}; is --model_zoo a model-zoo checkout?")
        start = text.index(head)
        if f'"{bundle}"' not in text[start : text.index("]", start)]:
            text = text.replace(head, f'{head}\n    "{bundle}",', 1)
    open(path, "w").write(text)


def main(model_zoo: str, bundles: str | list[str] | None = None, out: str = "docs/results/model_zoo_ci.json") -> dict:
    model_zoo = os.path.abspath(os.path.expanduser(model_zoo))
    if not os.path.isfile(os.path.join(model_zoo, "ci", "verify_bundle.py")):
        raise SystemExit(f"error: {model_zoo}/ci/verify_bundle.py not found; --model_zoo must be a model-zoo checkout")
    names = [bundles] if isinstance(bundles, str) else list(bundles or [*SHORT_TRAINING, "synthetic_cxr_vlp"])
    logs = os.path.join(REPO, "runs", "model_zoo_ci")
    os.makedirs(logs, exist_ok=True)
    report = {"command": show_command([sys.executable, *sys.argv]), "date": datetime.date.today().isoformat(),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
              "model_zoo_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=model_zoo, capture_output=True,
                                                 text=True).stdout.strip() or "not a git checkout",
              "bundles": {}}  # fmt: skip
    for bundle in names:
        root = os.path.join(model_zoo, "models", bundle)
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(os.path.join(REPO, "bundle", bundle), root)
        card = json.load(open(os.path.join(REPO, "configs", "bundles", bundle, "card.json")))
        steps = {"train": _train(bundle, root, os.path.join(logs, f"{bundle}.train.log"))}
        os.makedirs(os.path.join(root, "eval"), exist_ok=True)
        shutil.copy(SCHEMA, os.path.join(root, "eval", "schema.json"))
        _exclude(model_zoo, bundle, sorted(card.get("model_zoo", {})))
        python = [sys.executable]
        steps["requirements"] = _run(python + ["ci/get_bundle_requirements.py", "--b", bundle], model_zoo,
                                     os.path.join(logs, f"{bundle}.requirements.log"))  # fmt: skip
        for mode in ("min", "full"):
            steps[f"verify_{mode}"] = _run(python + ["ci/verify_bundle.py", "--b", bundle, "--mode", mode], model_zoo,
                                           os.path.join(logs, f"{bundle}.verify_{mode}.log"))  # fmt: skip
        steps["excluded"] = sorted(card.get("model_zoo", {}))
        report["bundles"][bundle] = steps
        print(bundle, {k: v["exit"] for k, v in steps.items() if isinstance(v, dict)}, flush=True)
    write_json_atomic(os.path.join(REPO, out), report, indent=1)
    return report


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
