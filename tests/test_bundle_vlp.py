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
"""The synthetic_cxr_vlp bundle end to end through ``python -m monai.bundle``: generate -> train -> zeroshot ->
grounding, zero-shot on a real chest radiograph DICOM (with a bad file in the folder), and the model-zoo checks."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from tests.bundle_helpers import REPO_ROOT, check_ok, console_epochs, copy_bundle, run_bundle

BUNDLE = "synthetic_cxr_vlp"
SMALL = ["--num_pairs", "24", "--num_test_cases", "40", "--num_val_cases", "40", "--image_size", "64"]
TRAIN = ["--epochs", "1", "--batch_size", "8", "--image_size", "64", "--trainable_text_layers", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cxr_reports_dir):
    bundle = copy_bundle(BUNDLE, tmp_path_factory.mktemp("vlp"))
    (bundle / "data").mkdir()
    (bundle / "data" / "cxr_reports").symlink_to(cxr_reports_dir)
    check_ok(run_bundle(bundle, ["generate.json"], *SMALL))
    check_ok(run_bundle(bundle, ["train.json"], *TRAIN))
    return bundle


def test_generate_writes_pairs_manifest_and_test_set(trained):
    pairs = trained / "data" / "pairs_synthetic"
    manifest = json.loads((pairs / "manifest.json").read_text())
    assert manifest["complete"] and manifest["num_pairs"] == 24 and len(manifest["seeds"]) == 24
    counts = manifest["counts"]
    assert counts["images_rejected_by_filter"] == 0 and counts["entity_sets_dropped_unverified_report"] == 0
    assert sum(counts["report_attempts"].values()) == 24
    datalist = json.loads((pairs / "datalist.json").read_text())["training"]
    assert all(item["report"].startswith("FINDINGS: ") and " IMPRESSION: " in item["report"] for item in datalist)
    assert (pairs / "distribution.png").is_file()
    test = json.loads((trained / "data" / "test" / "datalist.json").read_text())["test"]
    assert len(test) == 40 and all(set(item["labels"]) >= {"cardiomegaly", "pleural effusion"} for item in test)
    # a finished folder is left alone (that the same seed gives the same bytes: tests/test_vlp_text.py)
    proc = run_bundle(trained, ["generate.json"], *SMALL)
    check_ok(proc)
    assert "nothing to do" in proc.stdout + proc.stderr


def test_zeroshot_and_grounding_on_the_test_set(trained):
    assert (trained / "models" / "model.pt").is_file()
    check_ok(run_bundle(trained, ["zeroshot.json"]))
    summary = json.loads((trained / "eval" / "zeroshot" / "zeroshot_summary.json").read_text())
    classes = [row["class"] for row in summary["per_class"]]
    meta = json.loads((trained / "configs" / "metadata.json").read_text())
    assert classes == [meta["network_data_format"]["outputs"]["pred"]["channel_def"][str(i)] for i in range(8)]
    assert classes == list(json.loads((trained / "configs" / "prompts.json").read_text()))
    test = json.loads((trained / "data" / "test" / "datalist.json").read_text())["test"]
    assert summary["num_cases"] == len(test) == 40
    for row in summary["per_class"]:  # the metrics saw the test set's labels
        assert row["positives"] == sum(item["labels"][row["class"]] for item in test)
    rows = list(csv.DictReader(open(trained / "eval" / "zeroshot" / "zeroshot_predictions.csv")))
    assert len(rows) == 40 and all(0 < float(r[c]) < 1 for r in rows for c in classes)
    check_ok(run_bundle(trained, ["grounding.json"]))
    grounding = json.loads((trained / "eval" / "grounding" / "grounding_summary.json").read_text())
    for row in grounding["per_class"]:  # every test image with a lesion mask of the class was scored
        with_mask = [item for item in test if item["labels"][row["class"]] and "mask" in item]
        assert row["cases"] == len(with_mask) > 0 and 0 <= row["iou"] <= row["dice"] <= 1


def test_calibration_fitted_on_validation_phantoms_and_applied(trained):
    val = json.loads((trained / "data" / "val" / "datalist.json").read_text())["test"]
    test = json.loads((trained / "data" / "test" / "datalist.json").read_text())["test"]
    assert len(val) == 40 and not {v["id"] for v in val} & {t["id"] for t in test}  # training-split reports
    check_ok(run_bundle(trained, ["calibrate.json"]))
    calibration = json.loads((trained / "models" / "calibration.json").read_text())
    classes = list(json.loads((trained / "configs" / "prompts.json").read_text()))
    assert list(calibration["classes"]) == classes and calibration["num_cases"] == 40
    for name, entry in calibration["classes"].items():  # fitted exactly where the validation set has both labels
        positives = sum(item["labels"][name] for item in val)
        assert entry["fitted"] == (0 < positives < 40) and entry["positives"] == positives
    check_ok(run_bundle(trained, ["zeroshot.json"]))
    summary = json.loads((trained / "eval" / "zeroshot" / "zeroshot_summary.json").read_text())
    calibrated = summary["calibrated"]
    assert calibrated["threshold"] == [round(calibration["classes"][c]["threshold"], 4) for c in classes]
    for raw, cal in zip(summary["per_class"], calibrated["per_class"]):
        if raw["auc"] != raw["auc"]:  # no AUC: the test subset lacks positives or negatives of the class
            continue
        entry = calibration["classes"][raw["class"]]
        # an increasing scale keeps the ranking; a score found uninformative becomes a constant (AUC 0.5)
        assert abs(cal["auc"] - (raw["auc"] if entry["informative"] is not False else 0.5)) < 1e-3
        if entry["informative"] is False:
            assert cal["f1"] == 0  # never called present
    rows = list(csv.DictReader(open(trained / "eval" / "zeroshot" / "zeroshot_predictions_calibrated.csv")))
    assert len(rows) == 40 and all(r["present"] for r in rows)
    (trained / "models" / "calibration.json").unlink()  # the other tests see the uncalibrated bundle


def test_report_zeroshot_reads_the_test_reports(trained):
    check_ok(run_bundle(trained, ["text_zeroshot.json"]))
    summary = json.loads((trained / "eval" / "text_zeroshot" / "zeroshot_summary.json").read_text())
    test = json.loads((trained / "data" / "test" / "datalist.json").read_text())["test"]
    assert summary["num_cases"] == 40
    for row in summary["per_class"]:  # scored against the reports' MeSH labels
        assert row["positives"] == sum(item["labels"][row["class"]] for item in test)


def test_shifted_test_set_draws_the_same_findings_differently(trained):
    args = ["--test_dir", str(trained / "data" / "test_shifted"), "--test_style", "shifted"]
    check_ok(run_bundle(trained, ["generate.json"], *SMALL, *args))
    shifted = json.loads((trained / "data" / "test_shifted" / "datalist.json").read_text())["test"]
    test = json.loads((trained / "data" / "test" / "datalist.json").read_text())["test"]
    assert [(s["report"], s["labels"]) for s in shifted] == [(t["report"], t["labels"]) for t in test]
    manifest = json.loads((trained / "data" / "test_shifted" / "manifest.json").read_text())
    assert manifest["config"]["style"] == "shifted"
    same = [(trained / "data" / "test" / t["image"]).read_bytes() == (trained / "data" / "test_shifted" / s["image"])
            .read_bytes() for s, t in zip(shifted, test)]  # fmt: skip
    assert not any(same)
    output = trained / "eval" / "zeroshot_shifted"
    check_ok(run_bundle(trained, ["zeroshot.json"], *args[:2], "--output_dir", str(output)))
    assert json.loads((output / "zeroshot_summary.json").read_text())["num_cases"] == 40


def test_gloria_training_and_resume(trained, tmp_path):
    args = [*TRAIN, "--loss_name", "gloria", "--ckpt_dir", str(tmp_path / "models")]
    args += ["--resume_dir", str(tmp_path / "checkpoints")]
    check_ok(run_bundle(trained, ["train.json"], *args))
    proc = run_bundle(trained, ["train.json"], *args, "--epochs", "2", "--resume", "True")
    check_ok(proc)
    assert console_epochs(proc.stdout) == ["2/2"] and "resumed after epoch 1" in proc.stdout  # only epoch 2 ran
    check_ok(
        run_bundle(
            trained, ["grounding.json"], "--ckpt_dir", str(tmp_path / "models"), "--output_dir", str(tmp_path / "g")
        )
    )
    assert json.loads((tmp_path / "g" / "grounding_summary.json").read_text())["per_class"]


def test_inference_on_a_real_dicom_skips_a_bad_file(trained, cxr_reports_dir, tmp_path):
    folder = tmp_path / "radiographs"
    folder.mkdir()
    shutil.copy(cxr_reports_dir / "dicom" / "RG1_UNCI.dcm", folder)
    (folder / "truncated.dcm").write_bytes((cxr_reports_dir / "dicom" / "RG1_UNCI.dcm").read_bytes()[:2000])
    out = tmp_path / "out"
    proc = run_bundle(trained, ["inference.json"], "--input_dir", str(folder), "--output_dir", str(out))
    assert proc.returncode != 0 and "truncated.dcm" in proc.stderr  # reported, after the usable file was done
    rows = list(csv.DictReader(open(out / "zeroshot_predictions.csv")))
    assert [r["file"] for r in rows] == ["RG1_UNCI.dcm"] and all(
        0 <= float(rows[0][c]) <= 1 for c in ("edema", "nodule")
    )
    assert json.loads((out / "errors.json").read_text())[0]["file"].endswith("truncated.dcm")


def test_model_zoo_checks(trained):
    schema = REPO_ROOT / "configs" / "schema" / "meta_schema_20240725.json"
    check_ok(
        run_bundle(
            trained, [], "--meta_file", "configs/metadata.json", "--filepath", str(schema), module="verify_metadata"
        )
    )
    args = ["network_def", "--meta_file", "configs/metadata.json", "--config_file", "configs/inference.json"]
    args += ["--bundle_root", str(trained)]
    check_ok(run_bundle(trained, [], *args, module="verify_net_in_out"))
