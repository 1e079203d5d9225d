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
"""Results as data (networks.apps.evidence): tables and bundle metadata rendered from docs/results/*.json, and the
committed ones equal to what their files render."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from networks.apps.evidence import add_run, case_scores, load_results, rendered_targets

REPO = Path(__file__).resolve().parents[1]


def _run(cases: dict, seed: int) -> dict:
    run = {"command": f"python x --seed {seed}", "commit": "abc", "date": "2026-12-05", "machine": "m"}
    return {**run, "iterations": 7, "cases": cases}


def test_table_and_metadata_rendered_from_a_results_file(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "results.md").write_text("# R\n\n<!-- results:t -->\nold\n<!-- /results:t -->\n")
    (tmp_path / "metadata.json").write_text(json.dumps({"name": "b", "eval_metrics": {}}, indent=4) + "\n")
    header = {
        "experiment": "network_comparison", "title": "toy (test split)", "baseline": "a", "setting": {"budget": 1},
        "metrics": {"dice": {"label": "Dice", "higher_is_better": True}},
        "targets": {"sections": [["docs/results.md", "results:t"]], "metadata": "metadata.json"},
    }  # fmt: skip
    source = tmp_path / "docs" / "toy.json"
    results = load_results(source, **header)
    base = {"c1": {"dice": 0.4}, "c2": {"dice": 0.5}, "c3": {"dice": 0.6}}
    for seed in (0, 1):  # identical seeds: sd 0, and a constant shift has a point interval
        add_run(source, results, "a", seed, _run(base, seed), label="A", params=1_000_000)
        shifted = {c: {"dice": v["dice"] + 0.1} for c, v in base.items()}
        add_run(source, results, "b", seed, _run(shifted, seed), label="B", params=2_500_000)
    add_run(source, results, "c", 0, _run({"c1": {"dice": 0.4}, "c2": {"dice": 0.45}, "c3": {"dice": 0.65}}, 0),
            label="C", params=3)  # fmt: skip
    assert json.loads(source.read_text())["rows"]["b"]["runs"]["1"]["cases"]["c2"] == {"dice": 0.6}
    assert case_scores(results, "b", "dice")[0] == ["c1", "c2", "c3"]
    out = rendered_targets(tmp_path, "docs/toy.json")
    text = out[str(tmp_path / "docs" / "results.md")]
    assert "| A | 2 | 0.5000 +- 0.0000 | (baseline) | 1.00 M | 7/7 |" in text
    assert "| B | 2 | 0.6000 +- 0.0000 | +0.1000 [+0.1000, +0.1000] better | 2.50 M | 7/7 |" in text
    assert "| C | 1 | 0.5000 | +0.0000 [" in text and "no difference shown" in text
    assert "python x --seed 1" in text and "old" not in text
    meta = json.loads(out[str(tmp_path / "metadata.json")])
    assert meta["eval_metrics"]["test_mean_dice"] == 0.5 and "2 training seed(s) of A" in meta["eval_metrics"]["note"]


def test_a_results_file_of_another_setting_is_refused(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"setting": {"budget": 1}, "rows": {}}))
    with pytest.raises(ValueError, match="another setting"):
        load_results(path, setting={"budget": 2})


def test_committed_tables_equal_what_their_results_files_render():
    proc = subprocess.run([sys.executable, "scripts/render_results.py", "--check"], cwd=REPO, capture_output=True,
                          text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def _vlp_run(probs: dict, seed: int) -> dict:
    image = {"mean_f1": 0.5, "ece": 0.3, "calibrated": {"mean_f1": 0.6, "mean_acc": 0.9, "ece": 0.1}}
    summaries = {"test": image, "test_shifted": image, "text": {"mean_f1": 0.4, "ece": 0.2},
                 "validation": {"ece_before": 0.3, "ece_after": 0.05}, "grounding": {"mean_iou": 0.1}}  # fmt: skip
    dicom = {"file": "x.dcm", "probabilities": {"p": 0.8, "q": 0.6}, "calibrated": {"p": 0.1, "q": 0.7}, "present": "q"}
    cases = {c: {e: p for e in ("test", "test_shifted", "text")} for c, p in probs.items()}
    return {**_run(cases, seed), "summaries": summaries, "dicom": dicom}


def test_vision_language_tables_rescore_auc_from_the_case_probabilities(tmp_path):
    header = {
        "experiment": "vlp_comparison", "title": "toy", "baseline": "a", "setting": {"num_val_cases": 5},
        "classes": ["p", "q"], "evaluations": {"test": "images", "test_shifted": "shifted", "text": "reports"},
        "labels": {f"c{i}": f"{int(i < 5)} {int(2 <= i < 7)}" for i in range(10)},  # 5 positives of each class
        "targets": {"sections": [["r.md", "results:v"]], "metadata": "metadata.json", "metadata_row": "b",
                    "metadata_names": {"test": "auc_images"}, "metadata_note": "phantoms"},
    }  # fmt: skip
    (tmp_path / "metadata.json").write_text(json.dumps({"name": "v", "eval_metrics": {}}))
    source = tmp_path / "v.json"
    results = load_results(source, **header)
    # every positive ranked above every negative
    perfect = {c: " ".join(str(0.1 + 0.8 * int(v)) for v in y.split()) for c, y in header["labels"].items()}
    tied = {c: "0.5 0.5" for c in perfect}  # every case tied: AUC 0.5
    for seed in (0, 1):
        add_run(source, results, "a", seed, _vlp_run(perfect, seed), label="A")
        add_run(source, results, "b", seed, _vlp_run(tied, seed), label="B")
    out = rendered_targets(tmp_path, "v.json")
    text = out[str(tmp_path / "r.md")]
    metrics = json.loads(out[str(tmp_path / "metadata.json")])["eval_metrics"]
    assert metrics["auc_images"] == 0.5 and metrics["test_mean_text"] == 0.5 and "2 training seed(s) of B" in metrics[
        "note"] and metrics["note"].endswith("; phantoms")  # fmt: skip
    assert "| A | 2 | 1.0000 +- 0.0000 | 1.0000 +- 0.0000 | 1.0000 +- 0.0000 | (baseline) |" in text
    assert (
        "| B | 2 | 0.5000 +- 0.0000 | 0.5000 +- 0.0000 | 0.5000 +- 0.0000 | -0.5000 [-0.5000, -0.5000] worse |" in text
    )
    assert "| A | images | 1.000 | 1.000 |" in text and "| B | reports | 0.500 | 0.500 |" in text
    assert "| A | 0.80 -> 0.10 | 0.60 -> 0.70 | 0: q; 1: q |" in text
    assert "10 test cases (held-out IU reports; positives: p 5, q 5)" in text


def test_converged_comparison_shows_best_epochs_and_how_flat_the_curves_end(tmp_path):
    header = {
        "experiment": "network_convergence", "title": "toy", "baseline": "a", "setting": {},
        "metrics": {"dice": {"label": "Dice", "higher_is_better": True}}, "figure": "docs/curves.png",
        "targets": {"sections": [["r.md", "results:c"]]},
    }  # fmt: skip
    results = load_results(tmp_path / "c.json", **header)
    flat, rising = [[e, 0.8] for e in range(1, 21)], [[e, e / 100] for e in range(1, 21)]
    for seed in (0, 1):
        run = {**_run({"c1": {"dice": 0.8}, "c2": {"dice": 0.6}}, seed), "validation_curve": flat,
               "best_validation": 0.8, "best_epoch": 3 + seed, "training_wall_s": 600}  # fmt: skip
        add_run(tmp_path / "c.json", results, "a", seed, run, label="A", params=2_000_000)
    run = {**_run({"c1": {"dice": 0.5}, "c2": {"dice": 0.4}}, 0), "validation_curve": rising,
           "best_validation": 0.2, "best_epoch": 20, "training_wall_s": 90}  # fmt: skip
    add_run(tmp_path / "c.json", results, "b", 0, run, label="B", params=1_000_000)
    text = rendered_targets(tmp_path, "c.json")[str(tmp_path / "r.md")]
    assert "| A | 2 | 0.7000 +- 0.0000 | (baseline) | 2.00 M | 0.800 @ 3/0.800 @ 4 | +0.000 | 10.0 |" in text
    assert "| B | 1 | 0.4500 | -0.2500 [" in text and "| 1.00 M | 0.200 @ 20 | +0.100 | 1.5 |" in text
    assert "Curves: `docs/curves.png`" in text


def test_pooled_and_per_run_metrics_of_an_instance_comparison(tmp_path):
    from networks.apps.evidence import instance_comparison_section, seed_values

    pooled = {"numerator": "tp", "denominator": ["tp", "fp", "fn"]}
    header = {
        "experiment": "instance_comparison", "title": "toy instances", "baseline": "a", "setting": {},
        "metrics": {"acc": {"label": "acc", "higher_is_better": True, "pooled": pooled},
                    "aji": {"label": "AJI", "higher_is_better": True},
                    "map": {"label": "mAP", "higher_is_better": True, "per_run": True}},
    }  # fmt: skip
    source = tmp_path / "toy.json"
    results = load_results(source, **header)
    images = {"i1": {"tp": 27, "fp": 2, "fn": 1, "n_true": 28, "aji": 0.8},
              "i2": {"tp": 3, "fp": 4, "fn": 3, "n_true": 6, "aji": 0.4}}  # fmt: skip
    for seed, m in ((0, 0.5), (1, 0.7)):
        add_run(source, results, "a", seed, {**_run(images, seed), "summary": {"map": m}}, label="A")
    worse = {k: {**v, "tp": v["tp"] - 1, "fn": v["fn"] + 1} for k, v in images.items()}
    add_run(source, results, "b", 0, {**_run(worse, 0), "summary": {"map": 0.1}}, label="B")
    assert seed_values(results, "a", "acc") == pytest.approx([30 / 40, 30 / 40])  # pooled, not the image mean
    assert seed_values(results, "a", "map") == pytest.approx([0.5, 0.7])
    text = instance_comparison_section(results, "toy.json")
    assert "2 test images, 34 nuclei" in text
    assert "| method | seeds | acc | AJI | mAP | acc - A [95% interval] | AJI - A [95% interval] |" in text
    assert "| A | 2 | 0.7500 +- 0.0000 | 0.6000 +- 0.0000 | 0.6000 +- 0.1414 | (baseline) | (baseline) |" in text
    assert "| B | 1 | 0.7000 | 0.6000 | 0.1000 | -0.0500 [" in text and "worse" in text
    assert "Other pairs of rows" not in text
    # a pair of rows besides the baseline: B against C, paired by image; a pair with a row not run yet is left out
    worst = {k: {**v, "tp": v["tp"] - 2, "fn": v["fn"] + 2, "aji": v["aji"] - 0.1} for k, v in images.items()}
    add_run(source, results, "c", 0, {**_run(worst, 0), "summary": {"map": 0.1}}, label="C")
    results["contrasts"] = [["b", "c"], ["b", "not_run"]]
    text = instance_comparison_section(results, "toy.json")
    assert "| method | against | acc difference [95% interval] | AJI difference [95% interval] |" in text
    assert "| B | C | +0.0500 [" in text and "| +0.1000 [+0.1000, +0.1000] better |" in text
    assert "not_run" not in text
