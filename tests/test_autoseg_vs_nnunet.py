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
venv once, then trains and predicts with both trainers, adds a Swin-UMamba arm to the same results file and times
both data loaders and predictors; about 6 minutes on 2 cores)."""

from __future__ import annotations

import json
import math
import sys

import pytest

from networks.apps.autoseg_tables import comparison_section
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
        assert None not in fold["curve"], name  # a 2-epoch run still validates after every epoch
        assert set(side["test"]["dice_per_case"]) == {"dsb2018_q3", "ndev_t08", "ndev_t09"}, name
    # nnunetv2's own evaluator and ours agree on nnunetv2's fold-0 predictions
    check = report["nnunetv2_evaluator_check"]
    assert set(check["cases"]) == validation and check["max_abs_difference"] < 1e-9
    difference = report["summary"]["ours"]["difference_vs_nnunetv2"]
    assert (
        difference["cases"] == len(validation) and difference["ci95"][0] <= difference["mean"] <= difference["ci95"][1]
    )
    assert not math.isnan(report["summary"]["nnunetv2"]["fold_dice_mean"])

    # the run's plans are saved beside its results; a later run with another arm, given those plans, adds it to the
    # same file and keeps the two sides it did not retrain
    saved = results.with_suffix(".plans.json")
    assert json.loads(saved.read_text()) == json.loads((tmp_path / "run" / "ours" / "plans.json").read_text())
    arm = cmd + ["--sides", "ours", "--network", "swin_umamba", "--plans_file", str(saved)]
    proc = warm_python.run(arm, timeout=1200)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    merged = json.loads(results.read_text())
    assert set(merged["sides"]) == {"ours", "nnunetv2", "ours_swin_umamba"}
    assert merged["sides"]["nnunetv2"] == report["sides"]["nnunetv2"]
    assert merged["side_runs"]["nnunetv2"] == report["side_runs"]["nnunetv2"] and set(merged["side_runs"]) == set(
        merged["sides"]
    )
    assert "--network swin_umamba" in merged["commands"]["ours_swin_umamba"]
    assert "swin_umamba" not in merged["commands"]["nnunetv2"]
    assert merged["nnunetv2_evaluator_check"] == check
    assert set(merged["summary"]["ours_swin_umamba"]["difference_vs_nnunetv2"]) == {"mean", "ci95", "cases"}
    script = str(REPO_ROOT / "benchmarks" / "autoseg_vs_nnunet.py")
    proc = warm_python.run([sys.executable, script, "report", str(results)], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert results.with_suffix(".png").is_file()
    assert merged["targets"]["sections"] == [["docs/autoseg.md", f"autoseg_vs_nnunet:{merged['dataset']}"]]
    table = comparison_section(merged, "docs/results/x.json")  # what render_results writes between the markers
    assert table.count("| ours_swin_umamba |") == 1 and "Curves: `docs/results/x.png`" in table
    assert table.index("| ours |") < table.index("| ours_swin_umamba |") < table.index("| nnunetv2 |")

    # each side's data loader and predictor alone, on the run's fold-0 models
    timing = tmp_path / "throughput.json"
    tp = [
        sys.executable,
        script,
        "throughput",
        "--dataset",
        str(raw),
        "--batches",
        "3",
        "--out_dir",
        str(tmp_path / "run"),
    ]
    proc = warm_python.run(tp + ["--results", str(timing)], timeout=1200)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    measured = json.loads(timing.read_text())
    for side in ("ours", "nnunetv2"):
        assert (
            measured["sides"][side]["patches_per_second"] > 0
            and measured["sides"][side]["batch_size"] == report["plans"]["batch_size"]
        )
        assert measured["sides"][side]["predict_seconds_per_case"] > 0
    assert measured["test_cases"] == 3
    assert measured["sides"]["ours"]["mirror_axes"] == measured["sides"]["nnunetv2"]["mirror_axes"] == [0, 1]
    assert sorted(p.name for p in (tmp_path / "run" / "throughput" / "nnunetv2").glob("*.png")) == sorted(
        p.name for p in (tmp_path / "run" / "throughput" / "ours").glob("*.png")
    )
