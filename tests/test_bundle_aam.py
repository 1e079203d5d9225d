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

"""The AAM brain region classification bundle run through ``monai.bundle`` on real prepared patches, tiny schedules."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess

import nibabel as nib
import numpy as np
import pytest
import torch
from PIL import Image

from tests.bundle_helpers import PYTHON, REPO_ROOT, check_ok, console_epochs, copy_bundle, run_bundle

NAME = "aam_brain_region_classification"
SCHEMA = str(REPO_ROOT / "configs" / "schema" / "meta_schema_20240725.json")
TINY = ["--batch_size", "32", "--num_workers", "0", "--epochs", "1"]


def class_subset(src, dest, per_split: dict[str, int]) -> object:
    """dataset.json with absolute paths and the first patch of the first ``n`` classes of each split."""
    doc = json.loads((src / "dataset.json").read_text())
    dest.mkdir(parents=True, exist_ok=True)
    for split, n in per_split.items():
        first = {}
        for item in doc[split]:
            first.setdefault(item["label"], {**item, "image": str(src / item["image"])})
        doc[split] = [first[c] for c in sorted(first)[:n]]
    (dest / "dataset.json").write_text(json.dumps(doc))
    return dest


SUBSET = {"training": 116, "validation": 24, "test": 40, "test_mni152": 40}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, brainregions_dir):
    """A bundle copy trained for one epoch on one real patch per class (validation on 24 classes)."""
    root = tmp_path_factory.mktemp("aam_bundle")
    bundle = copy_bundle(NAME, root)
    data = class_subset(brainregions_dir, root / "data", SUBSET)
    check_ok(run_bundle(bundle, ["train.json"], "--dataset_dir", str(data), *TINY))
    return bundle, data


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_metadata_network_io_and_scripted_export(trained, tmp_path):
    """model-zoo's verify_bundle checks: metadata, network in/out, ``ckpt_export`` by scripting (its default)."""
    bundle, _ = trained
    meta = str(bundle / "configs" / "metadata.json")
    inference = str(bundle / "configs" / "inference.json")
    check_ok(run_bundle(bundle, [], "--meta_file", meta, "--filepath", SCHEMA, module="verify_metadata"))
    check_ok(run_bundle(bundle, [], "network_def", "--meta_file", meta, "--config_file", inference,
                        module="verify_net_in_out"))  # fmt: skip
    args = ["network_def", "--filepath", str(tmp_path / "model.ts"), "--ckpt_file", str(bundle / "models" / "model.pt")]
    args += ["--meta_file", meta, "--config_file", inference]
    check_ok(run_bundle(bundle, [], *args, module="ckpt_export"))
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_meta(meta)
    parser.read_config(inference)
    net = parser.get_parsed_content("network_def").eval()
    net.load_state_dict(torch.load(bundle / "models" / "model.pt", weights_only=True))
    x = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(torch.jit.load(str(tmp_path / "model.ts"))(x), net(x))


def test_training_writes_plain_weights_resumes_and_repeats(trained, tmp_path):
    bundle, data = trained
    sd = torch.load(bundle / "models" / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in sd.values()) and sd["fc.weight"].shape == (116, 512)
    assert "layer4.1.bn2.1.spatial.conv.weight" in sd  # an AAM in every residual block
    proc = run_bundle(
        bundle, ["train.json"], "--dataset_dir", str(data), *TINY[:-1], "--epochs", "2", "--resume", "True"
    )
    check_ok(proc)
    assert console_epochs(proc.stdout) == ["2/2"] and "resumed after epoch 1" in proc.stdout
    trainer = torch.load(bundle / "checkpoints" / "checkpoint_last.pt", weights_only=True)["trainer"]
    assert trainer["epoch_length"] == 4 and trainer["iteration"] == 8  # 116 patches in batches of 32, 2 epochs
    repeats = [copy_bundle(NAME, tmp_path / str(i)) for i in range(2)]
    for again in repeats:
        check_ok(run_bundle(again, ["train.json"], "--dataset_dir", str(data), *TINY))
    repeat = torch.load(repeats[0] / "models" / "model.pt", weights_only=True)
    for key, value in torch.load(repeats[1] / "models" / "model.pt", weights_only=True).items():
        assert torch.equal(value, repeat[key]), key  # same seed, same numbers on CPU


@pytest.mark.parametrize("split", ["test", "test_mni152"])
def test_evaluate_writes_the_report(trained, split):
    bundle, data = trained
    proc = run_bundle(bundle, ["train.json", "evaluate.json"], "--dataset_dir", str(data), "--eval_split", split,
                      "--num_workers", "0")  # fmt: skip
    check_ok(proc)
    out = bundle / "eval" / split
    summary = json.loads((out / "classification_summary.json").read_text())
    predictions = read_csv(out / "predictions.csv")
    assert summary["split"] == split and summary["num_samples"] == len(predictions) == SUBSET[split]
    hits = sum(p["true_class"] == p["predicted_class"] for p in predictions)
    assert summary["top1_accuracy"] == pytest.approx(hits / len(predictions))
    top5 = sum(p["true_name"] in p["top5"].split() for p in predictions)
    assert summary["top5_accuracy"] == pytest.approx(top5 / len(predictions))
    per_class = read_csv(out / "classification_per_class.csv")
    assert len(per_class) == 116 and sum(int(r["support"]) for r in per_class) == SUBSET[split]
    metrics = json.loads((out / "metrics_summary.json").read_text())
    assert metrics["test_top1_accuracy"] == pytest.approx(summary["top1_accuracy"])
    for picture in ("confusion_matrix.png", "attention_maps.png"):
        assert Image.open(out / picture).size[0] > 300


def test_inference_on_a_folder_with_a_bad_file(trained, tmp_path, brainregions_dir):
    bundle, data = trained
    items = json.loads((data / "dataset.json").read_text())["test_mni152"][:5]
    images = tmp_path / "patches"
    images.mkdir()
    for item in items:
        shutil.copy(item["image"], images)
    png = np.asarray(nib.load(items[0]["image"]).dataobj).T  # the same patch as a user's 8-bit PNG
    Image.fromarray(png).save(images / "as_png.png")
    (images / "broken.nii.gz").write_bytes(b"not a nifti")
    out = tmp_path / "out"
    proc = run_bundle(bundle, ["inference.json"], "--input_dir", str(images), "--output_dir", str(out))
    assert proc.returncode != 0 and "broken.nii.gz" in (proc.stdout + proc.stderr)[-2000:]
    rows = read_csv(out / "predictions.csv")
    assert len(rows) == 6 and {r["file"] for r in rows} >= {"as_png.png"}
    assert all(len({r[f"class_{k}"] for k in range(1, 6)}) == 5 for r in rows)
    assert "broken.nii.gz" in (out / "errors.json").read_text()


@pytest.mark.slow  # about 40 s; out of CI to keep the suite within its 25 minutes (the default AAM variant stays in)
def test_variants_through_overrides(trained, tmp_path):
    """The plain ResNet, and CBAM with the cross-channel loss, train and evaluate from the same bundle."""
    _, data = trained
    # "none": monai.bundle drops an override whose value parses to None (``--attention None`` would keep AAM)
    for attention, extra in (("none", []), ("cbam", ["--cross_channel_weight", "0.5"])):
        bundle = copy_bundle(NAME, tmp_path / attention)
        args = ["--dataset_dir", str(data), "--attention", attention, *extra]
        proc = run_bundle(bundle, ["train.json"], *args, *TINY)
        check_ok(proc)
        check_ok(run_bundle(bundle, ["train.json", "evaluate.json"], *args, "--num_workers", "0"))
        weights = torch.load(bundle / "models" / "model.pt", weights_only=True)
        assert any(".spatial." in k for k in weights) == (attention == "cbam")
        drawn = (bundle / "eval" / "test" / "attention_maps.png").is_file()
        assert drawn == (attention == "cbam")  # no spatial gates in a plain ResNet: no picture


def test_3d_patches(tmp_path, brainregions3d_dir):
    bundle = copy_bundle(NAME, tmp_path)
    data = class_subset(brainregions3d_dir, tmp_path / "data", {"training": 70, "validation": 8, "test": 8})
    args = ["--dataset_dir", str(data), "--spatial_dims", "3"]  # the patch size follows: 24x24x24
    check_ok(run_bundle(bundle, ["train.json"], *args, *TINY))
    check_ok(run_bundle(bundle, ["train.json", "evaluate.json"], *args, "--num_workers", "0"))
    assert json.loads((bundle / "eval" / "test" / "classification_summary.json").read_text())["num_samples"] == 8
    assert (bundle / "eval" / "test" / "attention_maps.png").is_file()


def test_bad_class_label_stops_before_training(tmp_path, brainregions_dir):
    bundle = copy_bundle(NAME, tmp_path)
    data = class_subset(brainregions_dir, tmp_path / "data", {"training": 4, "validation": 2, "test": 2})
    doc = json.loads((data / "dataset.json").read_text())
    doc["training"][2]["label"] = 116
    (data / "dataset.json").write_text(json.dumps(doc))
    proc = run_bundle(bundle, ["train.json"], "--dataset_dir", str(data), *TINY)
    assert proc.returncode != 0
    assert "training entry 2" in proc.stderr and "expected an integer class index in [0, 116)" in proc.stderr
    assert not (bundle / "models" / "model.pt").exists()


def test_torchrun_two_process_gloo(tmp_path, brainregions_dir):
    bundle = copy_bundle(NAME, tmp_path)
    data = class_subset(brainregions_dir, tmp_path / "data", {"training": 40, "validation": 8})
    configs = f"['{bundle}/configs/train.json','{bundle}/configs/multi_gpu_train.json']"
    cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "monai.bundle", "run"]
    cmd += ["--config_file", configs, "--meta_file", str(bundle / "configs" / "metadata.json")]
    cmd += ["--logging_file", str(bundle / "configs" / "logging.conf"), "--bundle_root", str(bundle)]
    cmd += ["--dataset_dir", str(data), "--batch_size", "8", "--num_workers", "0", "--epochs", "1"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    check_ok(subprocess.run(cmd, cwd=bundle, env=env, capture_output=True, text=True, timeout=600))
    weights = torch.load(bundle / "models" / "model.pt", weights_only=True)
    assert "fc.weight" in weights  # saved unwrapped from DistributedDataParallel
    # 40 patches over 2 ranks in batches of 8: 3 iterations per rank
    assert torch.load(bundle / "checkpoints" / "checkpoint_last.pt", weights_only=True)["trainer"]["iteration"] == 3
