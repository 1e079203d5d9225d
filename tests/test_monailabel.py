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

"""Both segmentation bundles in MONAI Label 0.8.5's bundle app, headless on CPU, on real prepared data.

The loop a MONAI Label user runs: infer before any model exists (a clear answer), train, train again from the
current model (its weights really used: the first loss is lower than from scratch), infer with the trained model;
through the app object (Python mode) and through the REST API (FastAPI's test client). MONAI Label runs in its own
cached venv (``scripts/monailabel_loop.py venv``: built once, about 3 minutes, then reused).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.bundle_helpers import REPO_ROOT, TINY_NET, cli_pairs, write_overrides

SCRIPT = REPO_ROOT / "scripts" / "monailabel_loop.py"
BUNDLES = {
    "swin_umamba_nuclei_segmentation": ("nuclei2d_dir", 2),
    "swin_umamba_brain_segmentation": ("brain2d_dir", 11),
}
# reduced width and a schedule that learns within 2 epochs on 3 training images (MONAI Label reads the files as they
# are, so the overrides are written into the copy's configs)
TINY = {
    "train.json": {
        **cli_pairs(TINY_NET),
        "patch_size": [64, 64],
        "batch_size": 1,
        "num_samples": 1,
        "num_workers": 0,
        "warmup_epochs": 0,
        "learning_rate": 0.002,
    },
    "inference.json": {**cli_pairs(TINY_NET), "patch_size": [64, 64]},
}
EPOCHS = 2


def _load_script():
    spec = importlib.util.spec_from_file_location("monailabel_loop", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def monailabel_python() -> str:
    """The MONAI Label venv's python (built on first use, then cached outside the checkout)."""
    return _load_script().venv()


def _first_losses(eval_dir: Path) -> list[float]:
    """First logged train_loss of each training run (one TensorBoard event file per run), in run order."""
    runs = []
    for path in eval_dir.glob("events.out.tfevents.*"):
        acc = EventAccumulator(str(path))
        acc.Reload()
        if "train_loss" in acc.Tags()["scalars"]:
            first = acc.Scalars("train_loss")[0]
            runs.append((first.wall_time, first.value))
    return [value for _, value in sorted(runs)]


@pytest.fixture(scope="module", params=[(b, m) for b in BUNDLES for m in ("python", "http")], ids=lambda p: "-".join(p))
def loop_result(request, tmp_path_factory, monailabel_python):
    name, mode = request.param
    data_dir = request.getfixturevalue(BUNDLES[name][0])
    script = _load_script()
    root = tmp_path_factory.mktemp(f"ml_{mode}")
    app_dir = Path(script.app(str(REPO_ROOT / "bundle" / name), str(root), python=monailabel_python))
    bundle = app_dir / "model" / name
    write_overrides(bundle, TINY)
    studies = script.studies(str(data_dir), str(root / "studies"), n=4)
    out = root / "result.json"
    cmd = [monailabel_python, str(SCRIPT), "loop", "--app_dir", str(app_dir), "--studies", studies, "--model", name]
    cmd += ["--mode", mode, "--epochs", str(EPOCHS), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=900)
    result = json.loads(out.read_text()) if out.is_file() else {}
    return {"proc": proc, "result": result, "bundle": bundle, "studies": Path(studies), "classes": BUNDLES[name][1]}


def test_loop_runs(loop_result):
    proc, result = loop_result["proc"], loop_result["result"]
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert result["train"]["ok"] and result["retrain"]["ok"] and result["infer"]["ok"], result


def test_infer_without_model_answers_clearly(loop_result):
    answer = loop_result["result"]["infer_without_model"]
    assert not answer["ok"]
    assert "model" in answer["error"].lower(), answer


def test_only_model_pt_in_models(loop_result):
    bundle = loop_result["bundle"]
    assert loop_result["result"]["models"] == ["model.pt"]
    assert (bundle / "checkpoints" / "checkpoint_last.pt").is_file()  # resume state kept out of models/


def test_retraining_starts_from_current_model(loop_result):
    losses = _first_losses(loop_result["bundle"] / "eval")
    assert len(losses) == 2, losses
    assert losses[1] < losses[0], f"retraining did not start from the trained weights: first losses {losses}"


def test_infer_returns_a_label_map(loop_result):
    label_file = loop_result["result"]["infer"]["label"]
    label = np.asarray(nib.load(label_file).dataobj)
    image = nib.load(loop_result["studies"] / f"{loop_result['result']['image']}.nii.gz")
    assert label.squeeze().shape == image.shape[:2]
    assert set(np.unique(label).tolist()) <= set(range(loop_result["classes"]))
