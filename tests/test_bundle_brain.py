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

"""The brain bundle run through ``monai.bundle`` on real prepared brain2d data, with tiny schedules.

The workflow itself is shared with the nuclei bundle (tests/test_bundle_nuclei.py covers resume, inference, export,
gloo training and bad inputs); this file checks what differs: 11 classes, T1 normalisation, metadata, no instance F1.
"""

from __future__ import annotations

import json

import pytest
import torch
from monai.bundle import ConfigParser

from networks.data.datasets import licence_text
from tests.bundle_helpers import REPO_ROOT, TINY_NET, TINY_TRAIN, check_ok, copy_bundle, run_bundle, subset_dataset

NAME = "swin_umamba_brain_segmentation"
BUNDLE = REPO_ROOT / "bundle" / NAME
SCHEMA = str(REPO_ROOT / "configs" / "schema" / "meta_schema_20240725.json")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, brain2d_dir):
    """A bundle copy trained for one tiny epoch on 2 real slices (validation on 1)."""
    root = tmp_path_factory.mktemp("brain_bundle")
    bundle = copy_bundle(NAME, root)
    data = subset_dataset(brain2d_dir, root / "data")
    check_ok(run_bundle(bundle, ["train.json"], "--dataset_dir", str(data), *TINY_TRAIN, *TINY_NET))
    return bundle, data


def test_train_writes_model(trained):
    bundle, _ = trained
    sd = torch.load(bundle / "models" / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in sd.values())
    head = [v for k, v in sd.items() if k.endswith("weight")][-1]
    assert head.shape[0] == 11  # the output layer has one channel per class


def test_evaluate_writes_summary(trained):
    bundle, data = trained
    args = ["--dataset_dir", str(data), "--patch_size", "[64,64]", "--num_workers", "0", *TINY_NET]
    check_ok(run_bundle(bundle, ["train.json", "evaluate.json"], *args))
    summary = json.loads((bundle / "eval" / "metrics_summary.json").read_text())
    assert summary["num_cases"] == 2 and summary["split"] == "test"
    assert 0.0 <= summary["test_mean_dice"] <= 1.0 and 0.0 <= summary["test_nsd"] <= 1.0
    assert len(summary["test_dice_per_class"]) == 10 and "test_instance_f1" not in summary
    assert (bundle / "eval" / "cases.png").is_file()


def test_verify_metadata(brain2d_dir):
    meta = str(BUNDLE / "configs" / "metadata.json")
    check_ok(run_bundle(BUNDLE, [], "--meta_file", meta, "--filepath", SCHEMA, module="verify_metadata"))
    data = json.loads(open(meta).read())
    assert data["version"] in data["changelog"]
    labels = json.loads((brain2d_dir / "dataset.json").read_text())["labels"]
    assert data["network_data_format"]["outputs"]["pred"]["channel_def"] == labels
    assert data["network_data_format"]["outputs"]["pred"]["num_channels"] == len(labels) == 11


def test_verify_net_in_out():
    args = ["network_def", "--meta_file", str(BUNDLE / "configs" / "metadata.json")]
    args += ["--config_file", str(BUNDLE / "configs" / "inference.json"), "--n", "2"]
    check_ok(run_bundle(BUNDLE, [], *args, module="verify_net_in_out"))


def test_bundle_keys():
    """Per-bundle keys: 11 classes, z-score normalisation over the head, a patch that is a multiple of 32."""
    for name in ("train.json", "inference.json"):
        parser = ConfigParser()
        parser.read_config(str(BUNDLE / "configs" / name))
        assert parser["num_classes"] == 11 and all(s % 32 == 0 for s in parser["patch_size"])
        assert parser["normalize_intensity"]["_target_"] == "NormalizeIntensityd"
    parser = ConfigParser()
    parser.read_config([str(BUNDLE / "configs" / "train.json"), str(BUNDLE / "configs" / "evaluate.json")])
    assert parser["instance_f1"] is False and parser["nsd_tolerance"] > 0


def test_data_licence_is_prepare_data_text():
    text = (BUNDLE / "docs" / "data_license.txt").read_text()
    assert licence_text("brain2d") in text


def test_labels_outside_channel_def_stop_training(tmp_path, brain2d_dir):
    """A binary mask saved as 0/255 (a common export) is refused before training, naming the file and the values."""
    import nibabel as nib
    import numpy as np

    case = json.loads((brain2d_dir / "dataset.json").read_text())["training"][0]
    mask = (np.asarray(nib.load(brain2d_dir / case["label"]).dataobj) > 0).astype(np.uint8) * 255
    nib.save(nib.Nifti1Image(mask, nib.load(brain2d_dir / case["label"]).affine), tmp_path / "binary_mask.nii.gz")
    item = {"image": str(brain2d_dir / case["image"]), "label": str(tmp_path / "binary_mask.nii.gz")}
    (tmp_path / "dataset.json").write_text(json.dumps({"training": [item], "validation": [item]}))
    bundle = copy_bundle(NAME, tmp_path / "b")
    proc = run_bundle(bundle, ["train.json"], "--dataset_dir", str(tmp_path), *TINY_TRAIN, *TINY_NET)
    assert proc.returncode != 0
    assert "binary_mask.nii.gz' has values [255] that are not classes of this bundle" in proc.stderr
    assert "0..10" in proc.stderr and not (bundle / "models" / "model.pt").exists()
