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

"""RandRotateScaleCropd: the one-resampling spatial augmentation against MONAI's rotate-then-crop chain."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.transforms import CenterSpatialCrop, Rotate

from networks.transforms import RandRotateScaleCropd

SHAPES = [((79, 100, 51), (32, 80, 32)), ((80, 101, 50), (33, 80, 32)), ((301, 400), (56, 160))]


def _smooth(shape, seed=0):
    """A smooth random image (so that interpolation differences stay small)."""
    grids = np.meshgrid(*[np.linspace(0, 1, s) for s in shape], indexing="ij")
    rng = np.random.default_rng(seed)
    image = sum(np.sin(2 * np.pi * (rng.uniform(1, 3) * g + rng.uniform())) for g in grids)
    return torch.as_tensor(image[None], dtype=torch.float32)


@pytest.mark.parametrize("shape, roi", SHAPES)
def test_no_rotation_or_scaling_is_the_centre_crop(shape, roi):
    image = torch.rand(1, *shape)
    label = (image > 0.5).float()
    crop = CenterSpatialCrop(roi)
    plain = RandRotateScaleCropd(["image", "label"], roi, 0.5, (0.7, 1.4), rotate_prob=0.0, scale_prob=0.0)
    out = plain({"image": image, "label": label})
    assert torch.equal(torch.as_tensor(out["image"]), crop(image))
    assert torch.equal(torch.as_tensor(out["label"]), crop(label))
    # the resampling path with an identity map lands on the same voxels (the crop's centre, not the input's)
    identity = RandRotateScaleCropd(["image", "label"], roi, 0.0, (1.0, 1.0), rotate_prob=0.0, scale_prob=1.0,
                                    mode=["bilinear", "nearest"])  # fmt: skip
    out = identity({"image": image, "label": label})
    assert torch.allclose(torch.as_tensor(out["image"]), crop(image), atol=1e-4)
    assert torch.equal(torch.as_tensor(out["label"]), crop(label))


@pytest.mark.parametrize("ndim", [2, 3])
def test_scale_below_one_magnifies_isotropically(ndim):
    size = 64
    image = torch.zeros(1, *[size] * ndim)
    image[(0,) + (slice(28, 36),) * ndim] = 1  # a cube of side 8 in the centre
    t = RandRotateScaleCropd("image", [size] * ndim, 0.0, (0.5, 0.5), rotate_prob=0.0, scale_prob=1.0, mode="nearest")
    out = torch.as_tensor(t({"image": image})["image"])
    assert float(out.sum()) == 16**ndim  # side 16: twice as large along every axis


def test_scale_axes_leave_the_slice_axis_alone():
    image = torch.zeros(1, 16, 64, 64)
    image[0, 6:10, 28:36, 28:36] = 1
    t = RandRotateScaleCropd("image", (16, 64, 64), 0.0, (0.5, 0.5), scale_axes=(1, 2), rotate_prob=0.0,
                             scale_prob=1.0, mode="nearest")  # fmt: skip
    out = torch.as_tensor(t({"image": image})["image"])[0]
    assert out.sum(dim=(1, 2)).nonzero().flatten().tolist() == [6, 7, 8, 9]  # slices unchanged
    assert float(out[7].sum()) == 16 * 16  # in-plane twice as large


@pytest.mark.parametrize("shape, roi", [((71, 90, 51), (31, 70, 31)), ((301, 400), (57, 160))])
def test_rotation_equals_rotating_the_whole_patch_then_cropping(shape, roi):
    """Where both rotate about the same centre (odd margins), one resampling of the kept voxels gives what MONAI's
    RandRotated on the enlarged patch followed by a centre crop gives, up to interpolation."""
    image = _smooth(shape)
    t = RandRotateScaleCropd("image", roi, 0.5236, (0.7, 1.4), rotate_prob=1.0, scale_prob=0.0)
    t.set_random_state(3)
    out = torch.as_tensor(t({"image": image})["image"])
    angles = t._angles[0] if len(shape) == 2 else t._angles
    assert np.abs(angles).max() > 0.05  # a real rotation was drawn
    reference = CenterSpatialCrop(roi)(Rotate(angles, keep_size=True, padding_mode="zeros")(image))
    assert float((out - torch.as_tensor(reference)).abs().mean()) < 2e-3


def test_same_seed_same_patch_and_labels_stay_labels():
    image = torch.rand(1, 40, 50, 30)
    label = torch.randint(0, 3, (1, 40, 50, 30)).float()
    outs = []
    for _ in range(2):
        t = RandRotateScaleCropd(["image", "label"], (20, 30, 16), 0.5, (0.7, 1.4), rotate_prob=1.0, scale_prob=1.0,
                                 mode=["bilinear", "nearest"])  # fmt: skip
        t.set_random_state(7)
        outs.append(t({"image": image, "label": label}))
    assert torch.equal(torch.as_tensor(outs[0]["image"]), torch.as_tensor(outs[1]["image"]))
    assert set(torch.unique(torch.as_tensor(outs[0]["label"])).tolist()) <= {0.0, 1.0, 2.0}


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="scale_range"):
        RandRotateScaleCropd("image", (8, 8), 0.1, (1.4, 0.7))
    t = RandRotateScaleCropd("image", (8, 8, 8), 0.1, (0.7, 1.4))
    with pytest.raises(ValueError, match="roi_size"):
        t({"image": torch.zeros(1, 16, 16)})
