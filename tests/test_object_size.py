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

"""Object size: measured on label maps, estimated from images, and the rescale round trip of tiled inference."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import ndimage
from skimage.transform import rescale

from networks.inferers import TiledInstanceInferer
from networks.transforms import (
    CheckInput,
    check_object_size,
    estimate_object_size,
    instance_diameters,
    min_image_side,
    object_size_summary,
    read_object_size,
    resize_image,
    sample_label_map,
    write_object_size,
)


class ThresholdDetector(nn.Module):
    """A detector whose answer is known: every 4-connected component of (tile > 0.5) is an instance of score 1.
    It stands in for Mask R-CNN where the test needs the exact instances a model found in the resized image."""

    def forward(self, tiles: list[torch.Tensor]) -> list[dict]:
        outputs = []
        for tile in tiles:
            components, n = ndimage.label(tile[0].numpy() > 0.5)
            masks = torch.zeros(n, 1, *tile.shape[1:])
            for i in range(n):
                masks[i, 0] = torch.as_tensor(components == i + 1)
            outputs.append({"masks": masks, "scores": torch.ones(n)})
        return outputs


def _disks(shape=(200, 240), diameter=24.0, step=40) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    ids = np.zeros(shape, np.int32)
    count = 0
    for cy in range(step // 2, shape[0] - step // 2 + 1, step):
        for cx in range(step // 2, shape[1] - step // 2 + 1, step):
            count += 1
            ids[(yy - cy) ** 2 + (xx - cx) ** 2 <= (diameter / 2) ** 2] = count
    return ids


@pytest.mark.parametrize("object_size", [24.0, 6.0])
def test_rescaled_instances_are_sampled_back_onto_the_input_grid_exactly(object_size):
    """Shrinking (24 px nuclei to 12) and enlarging (6 px to 12): the label map is the known detector's instances in
    the resized image, each input pixel taking the instance at its centre, and matches the true disks."""
    truth = _disks(diameter=object_size, step=int(object_size * 5 / 3))
    image = torch.as_tensor(truth > 0, dtype=torch.float32)[None]
    inferer = TiledInstanceInferer(tile_size=96, overlap=40, object_size=object_size, target_object_size=12.0)
    out = inferer(image[None], ThresholdDetector())[0]
    ids = out[0].numpy().astype(np.int32)
    assert ids.shape == truth.shape

    work = resize_image(image, 12.0 / object_size)[0].numpy()
    expected = sample_label_map(ndimage.label(work > 0.5)[0], truth.shape, 12.0 / object_size)
    # same partition of the pixels as the detector's own instances mapped back (ids are renumbered by score)
    pairs = set(zip(ids[ids > 0].tolist(), expected[ids > 0].tolist()))
    assert len(pairs) == len(np.unique(ids)) - 1 == len(np.unique(expected)) - 1 == truth.max()
    assert np.array_equal(ids > 0, expected > 0)
    for i in range(1, truth.max() + 1):  # and each instance is its disk, up to the boundary pixels of the resizing
        found = ids[truth == i]
        overlap = np.bincount(found[found > 0]).argmax()
        iou = ((ids == overlap) & (truth == i)).sum() / ((ids == overlap) | (truth == i)).sum()
        assert iou > 0.8
    assert set(np.unique(out[1].numpy())) <= {0.0, 1.0}


def test_without_object_size_images_are_not_resized():
    truth = _disks()
    image = torch.as_tensor(truth > 0, dtype=torch.float32)[None][None]
    ids = TiledInstanceInferer(tile_size=96, overlap=40)(image, ThresholdDetector())[0, 0].numpy()
    assert np.array_equal(ids > 0, truth > 0) and len(np.unique(ids)) == len(np.unique(truth))


@pytest.mark.parametrize("bad", [0, -3, "abc", float("nan"), float("inf"), True, [12]])
def test_a_bad_object_size_is_a_clear_error_naming_the_option(bad):
    with pytest.raises(ValueError, match="object_size must be a positive number of pixels"):
        check_object_size(bad)
    with pytest.raises(ValueError, match="object_size"):
        TiledInstanceInferer(object_size=bad, target_object_size=12.0)
    with pytest.raises(ValueError, match="object_size"):
        min_image_side(bad)


def test_object_size_options():
    assert check_object_size(None) is None and check_object_size("auto") == "auto"
    assert check_object_size(12) == 12.0 and check_object_size("7.5") == 7.5
    assert min_image_side(20) == 20.0 and min_image_side("auto") is None and min_image_side(None) is None
    with pytest.raises(ValueError, match="target_object_size"):
        TiledInstanceInferer(object_size=20, target_object_size=None)


def test_an_image_smaller_than_one_object_is_rejected_by_name():
    from monai.data import MetaTensor

    image = MetaTensor(torch.zeros(1, 10, 40), meta={"filename_or_obj": "/x/tiny.tif"})
    with pytest.raises(ValueError, match=r"tiny.tif.*10x40 pixels is smaller than one object \(20 pixels"):
        CheckInput(min_size=20)(image)
    CheckInput(min_size=10)(image)


def test_diameters_and_the_training_record(tmp_path):
    disks = _disks(diameter=24.0)
    d = instance_diameters(disks)
    assert len(d) == disks.max() and np.allclose(d, 24.0, atol=1.0)  # a digital disk's area is close to pi r^2
    summary = object_size_summary([disks, _disks(diameter=12.0)])
    assert summary["count"] == 2 * disks.max() and summary["p10"] < 13 < 23 < summary["p90"]
    path = tmp_path / "labels.nii.gz"
    nib.save(nib.Nifti1Image(disks, np.eye(4)), path)
    written = write_object_size([{"instance": str(path)}], str(tmp_path / "models"))
    assert read_object_size(str(tmp_path / "models"), default=5.0) == written["median"]
    assert read_object_size(str(tmp_path / "nowhere"), default=5.0) == 5.0
    (tmp_path / "models" / "object_size.json").write_text(json.dumps({"median": 3}))
    with pytest.raises(ValueError, match="object_size.json: expected"):
        read_object_size(str(tmp_path / "models"), default=5.0)


def test_the_estimate_lands_within_25_percent_on_real_nuclei_at_three_scales(nuclei2d_dir):
    """The LoG estimate against the median equivalent diameter of the labelled nuclei, on the test images (DSB2018
    and scratch-assay nuclei, 12-23 px) shrunk to 0.5x, as they are, and enlarged to 2x."""
    doc = json.loads((nuclei2d_dir / "dataset.json").read_text())
    ratios = []
    for case in doc["test"]:
        image = np.asarray(nib.load(nuclei2d_dir / case["image"]).dataobj).astype(np.float32)
        truth = float(np.median(instance_diameters(np.asarray(nib.load(nuclei2d_dir / case["instance"]).dataobj))))
        for factor in (0.5, 1.0, 2.0):
            estimate = estimate_object_size(rescale(image, factor, order=1, anti_aliasing=factor < 1))
            ratios.append(estimate / (truth * factor))
    assert all(abs(r - 1) <= 0.25 for r in ratios), ratios
    assert estimate_object_size(np.zeros((64, 64))) is None


def test_the_default_training_object_size_is_that_of_the_training_labels(nuclei2d_dir):
    """metadata.json's training_object_size and the inference default are what train.json records for nuclei2d."""
    from pathlib import Path

    bundle = Path(__file__).resolve().parents[1] / "bundle" / "maskrcnn_nuclei_instance_segmentation" / "configs"
    meta = json.loads((bundle / "metadata.json").read_text())["training_object_size"]
    default = json.loads((bundle / "inference.json").read_text())["default_training_object_size"]
    doc = json.loads((nuclei2d_dir / "dataset.json").read_text())
    maps = [np.asarray(nib.load(nuclei2d_dir / c["instance"]).dataobj) for c in doc["training"]]
    summary = object_size_summary(maps)
    assert {k: meta[k] for k in summary} == summary
    assert default == summary["median"]
