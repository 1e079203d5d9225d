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

"""The parts of autoseg's training stage against nnU-Net v2.8.1's values: folds, networks, augmentation sizes,
patch sampling, export to the original geometry, postprocessing decision."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from networks.apps.autoseg import AutoSegRunner
from networks.apps.autoseg.evaluation.metrics import label_metrics
from networks.apps.autoseg.image_io import read_images, read_seg, write_seg
from networks.apps.autoseg.inference.postprocessing import determine_postprocessing, keep_largest_component
from networks.apps.autoseg.inference.transforms import to_original_geometry
from networks.apps.autoseg.preprocessing.transforms import LoadCased
from networks.apps.autoseg.splits import kfold_splits, load_or_create_splits
from networks.apps.autoseg.training.patch_sampling import PatchDataset, augmentation_settings
from networks.nets import PlainConvUNet, ResidualEncoderUNet
from tests.conftest import prepared_raw_dataset

NNUNET_DATA = Path(__file__).parent / "data" / "nnunetv2_2.8.1"

# nnunetv2 2.8.1's generate_crossval_split(sorted(cases), 12345, 5) for these seven case names
NNUNET_SPLITS = [
    {"train": ["case_00", "case_01", "case_03", "case_07", "case_09"], "val": ["case_05", "case_11"]},
    {"train": ["case_01", "case_03", "case_05", "case_09", "case_11"], "val": ["case_00", "case_07"]},
    {"train": ["case_00", "case_03", "case_05", "case_07", "case_09", "case_11"], "val": ["case_01"]},
    {"train": ["case_00", "case_01", "case_03", "case_05", "case_07", "case_11"], "val": ["case_09"]},
    {"train": ["case_00", "case_01", "case_05", "case_07", "case_09", "case_11"], "val": ["case_03"]},
]
# nnunetv2 2.8.1: configure_rotation_dummyDA_mirroring_and_inital_patch_size -> (initial patch, dummy 2D)
NNUNET_INITIAL_PATCH = [
    ([128, 128], [150, 150], False),
    ([224, 576], [429, 677], False),
    ([64, 128, 128], [140, 205, 168], False),
    ([24, 256, 256], [24, 301, 301], True),
    ([32, 80, 64], [79, 119, 84], False),
]
# parameter counts of nnunetv2 2.8.1's networks for the nuclei3d plans (1 channel, 2 classes); ours differ only by
# convolution biases (MONAI's DynUNet has none before instance norm)
NNUNET_PARAMETERS = {
    ("nnUNetPlans", "2d"): 20619082,
    ("nnUNetPlans", "3d_fullres"): 30785994,
    ("nnUNetResEncUNetMPlans", "2d"): 71816586,
    ("nnUNetResEncUNetMPlans", "3d_fullres"): 101940170,
}


def test_kfold_splits_equal_nnunet():
    cases = [f"case_{i:02d}" for i in (7, 3, 11, 1, 5, 9, 0)]
    assert kfold_splits(cases, 5) == NNUNET_SPLITS


def test_user_splits_file_is_honoured(tmp_path):
    path = tmp_path / "splits_final.json"
    mine = [{"train": ["a", "b"], "val": ["c"]}]
    path.write_text(json.dumps(mine))
    assert load_or_create_splits(path, ["a", "b", "c"]) == mine
    with pytest.raises(ValueError, match="'x'"):
        path.write_text(json.dumps([{"train": ["x"], "val": ["a"]}]))
        load_or_create_splits(path, ["a", "b", "c"])
    path.unlink()
    assert len(load_or_create_splits(path, ["a", "b", "c"])) == 3  # fewer cases than folds: one fold per case
    assert json.loads(path.read_text())[0]["val"]


@pytest.mark.parametrize("patch, initial, dummy_2d", NNUNET_INITIAL_PATCH)
def test_augmentation_settings_equal_nnunet(patch, initial, dummy_2d):
    settings = augmentation_settings(patch)
    assert settings["initial_patch_size"] == initial
    assert settings["dummy_2d"] == dummy_2d


@pytest.mark.parametrize("plans_name, configuration", sorted(NNUNET_PARAMETERS))
def test_networks_from_plans_match_nnunet(plans_name, configuration):
    plans = json.loads((NNUNET_DATA / "nuclei3d" / f"{plans_name}.json").read_text())
    c = plans["configurations"][configuration]
    arch, dims = c["architecture"]["arch_kwargs"], len(c["patch_size"])
    if "n_blocks_per_stage" in arch:
        net = ResidualEncoderUNet(
            dims, 1, 2, arch["features_per_stage"], arch["kernel_sizes"], arch["strides"], arch["n_blocks_per_stage"],
            arch["n_conv_per_stage_decoder"], deep_supervision=True,
        )  # fmt: skip
    else:
        net = PlainConvUNet(
            dims, 1, 2, arch["kernel_sizes"], arch["strides"], arch["strides"][1:], filters=arch["features_per_stage"],
            norm_name=("INSTANCE", {"affine": True}), act_name=("LEAKYRELU", {"negative_slope": 0.01}),
            deep_supervision=True,
        )  # fmt: skip
    count = sum(p.numel() for p in net.parameters())
    assert abs(count - NNUNET_PARAMETERS[(plans_name, configuration)]) / count < 5e-4
    patch = [p // 2 if dims == 3 else p for p in c["patch_size"]]  # half the 3D patch keeps the test fast
    x = torch.randn(1, 1, *patch)
    outputs = net.train()(x)
    assert len(outputs) == arch["n_stages"] - 1  # nnU-Net's deep-supervision outputs, full resolution first
    assert outputs[0].shape == (1, 2, *patch) and outputs[1].shape[2] <= patch[0]
    with torch.no_grad():
        assert net.eval()(x).shape == (1, 2, *patch)


def _sampler_case():
    image = np.zeros((1, 1, 40, 40), np.float32)
    label = np.zeros((1, 1, 40, 40), np.int8)
    label[0, 0, 35, 3] = 1
    return {"image": image, "label": label, "class_locations": {1: np.array([[0, 0, 35, 3]])}}


def test_patch_dataset_oversamples_foreground_at_the_end_of_each_batch():
    torch.manual_seed(0)
    case = _sampler_case()
    dataset = PatchDataset([{"image": "x"}], lambda item: case, None, [8, 8], batch_size=3, num_samples=30)
    forced = [i for i in range(30) if dataset.force_foreground(i)]
    assert forced == list(range(2, 30, 3))  # round(3 * 0.67) = 2 random samples, then one foreground sample
    for i in forced:
        assert dataset[i]["label"].sum() == 1  # centred on the only foreground voxel
    background = sum(int(dataset[i]["label"].sum()) for i in range(30) if i not in forced)
    assert background < 10  # a random 8x8 patch of a 40x40 image rarely holds that voxel


def test_export_restores_the_original_array_and_geometry(tmp_path):
    raw = prepared_raw_dataset("lesion_ct")
    work = tmp_path / "work"
    plans = AutoSegRunner(raw, work).plan()
    case = sorted((raw / "labelsTr").glob("*.nrrd"))[0]
    images = sorted((raw / "imagesTr").glob(f"{case.name[:-5]}_*.nrrd"))
    seg, props = read_seg(str(case))
    loaded = LoadCased(["image", "label"], str(work / "plans.json"), "3d_fullres", str(work / "dataset.json"))(
        {"image": [str(p) for p in images], "label": str(case)}
    )
    one_hot = torch.nn.functional.one_hot(loaded["label"][0], 2).permute(3, 0, 1, 2).float()
    properties = json.loads(loaded["image_properties"])
    restored, probabilities = to_original_geometry(one_hot, properties, plans, plans["configurations"]["3d_fullres"])
    assert restored.shape == seg.shape[1:] and probabilities.shape == (2, *seg.shape[1:])
    dice = label_metrics(seg[0], restored, [1])["1"]["Dice"]
    assert dice > 0.95  # resampled to 5 mm slices and back; identical where no resampling happens
    out = tmp_path / f"{case.name}"
    write_seg(restored, properties, out)
    again, again_props = read_seg(str(out))
    assert np.array_equal(again[0], restored)
    assert again_props["itk"] == props["itk"]
    image, image_props = read_images([str(images[0])])
    assert again_props["itk"] == image_props["itk"]


def test_keep_largest_component_and_the_postprocessing_decision():
    reference = np.zeros((1, 20, 20), np.uint8)
    reference[0, 2:8, 2:8] = 1
    prediction = reference.copy()
    prediction[0, 15:17, 15:17] = 1  # a small false-positive island
    cleaned = keep_largest_component(prediction, [1])
    assert np.array_equal(cleaned, reference)

    def evaluate(decision):
        from networks.apps.autoseg.evaluation.metrics import summarize
        from networks.apps.autoseg.inference.postprocessing import apply_postprocessing

        metrics = label_metrics(reference, apply_postprocessing(prediction, decision), [1])
        return summarize([{"case": "a", "metrics": metrics}], [1])

    decision = determine_postprocessing(evaluate, [1])
    assert decision["keep_largest_foreground"] is True
    assert decision["after"]["foreground_mean"]["Dice"] == 1.0
    assert decision["before"]["foreground_mean"]["Dice"] < 1.0


@pytest.mark.parametrize("network, words", [("auto", "SGD (lr 0.01, momentum 0.99, Nesterov, weight decay 3e-05)"),
                                            ("swin_umamba", "AdamW (lr 0.0001, weight decay 0.05)")])  # fmt: skip
def test_generated_readme_and_metadata_name_the_optimiser_the_config_trains_with(tmp_path, network, words):
    """The generated texts are rendered from the composed configs: Swin-UMamba's bundle trains with AdamW, says so."""
    from networks.apps.autoseg.training.bundle import write_bundle

    plans = json.loads(
        (Path(__file__).parents[1] / "docs/results/autoseg_vs_nnunet_nuclei2d_nnunet.plans.json").read_text()
    )
    dataset = {"channel_names": {"0": "fluorescence"}, "labels": {"background": 0, "nucleus": 1}, "file_ending": ".png"}
    bundle = write_bundle(plans, dataset, "2d", tmp_path / "bundle", network)
    train = json.loads((bundle / "configs" / "train.json").read_text())
    assert train["optimizer"]["_target_"].endswith(words.split()[0])
    assert words in (bundle / "docs" / "README.md").read_text()
    assert words in json.loads((bundle / "configs" / "metadata.json").read_text())["description"]
