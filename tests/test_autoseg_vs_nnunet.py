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
"""The side-by-side harness against nnunetv2's trainer, on fold 0 with a tiny schedule (slow: builds nnunetv2's
venv once, then trains and predicts with both trainers, about 3 minutes on 2 cores)."""

from __future__ import annotations

import json
import math
import sys

import pytest

from tests import warm_python
from tests.conftest import REPO_ROOT, prepared


@pytest.mark.slow
def test_one_fold_with_both_trainers(tmp_path):
    raw = prepared("nuclei2d_nnunet")
    results = tmp_path / "results.json"
    cmd = [sys.executable, str(REPO_ROOT / "benchmarks" / "autoseg_vs_nnunet.py"), "run", "--dataset", str(raw)]
    cmd += ["--epochs", "2", "--iters_per_epoch", "3", "--folds", "0", "--out_dir", str(tmp_path / "run")]
    cmd += ["--results", str(results)]
    proc = warm_python.run(cmd, timeout=1200)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    report = json.loads(results.read_text())
    assert set(report["sides"]) == {"ours", "nnunetv2"}
    validation = set(report["splits"][0]["val"])
    for name, side in report["sides"].items():
        fold = side["folds"]["0"]
        assert set(fold["dice_per_case"]) == validation, name
        assert all(0.0 <= d <= 1.0 for d in fold["dice_per_case"].values()), name
        assert len(fold["curve"]) == 2 and len(fold["epoch_seconds"]) == 2, name
        assert set(side["test"]["dice_per_case"]) == {"dsb2018_q3", "ndev_t08", "ndev_t09"}, name
    # nnunetv2's own evaluator and ours agree on nnunetv2's fold-0 predictions
    check = report["nnunetv2_evaluator_check"]
    assert set(check["cases"]) == validation and check["max_abs_difference"] < 1e-9
    difference = report["summary"]["ours"]["difference_vs_nnunetv2"]
    assert (
        difference["cases"] == len(validation) and difference["ci95"][0] <= difference["mean"] <= difference["ci95"][1]
    )
    assert not math.isnan(report["summary"]["nnunetv2"]["fold_dice_mean"])
