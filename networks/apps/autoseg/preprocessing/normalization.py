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

"""nnU-Net v2's intensity normalisation schemes, chosen per channel by name in the plans.

``CTNormalization`` clips to the dataset's foreground 0.5/99.5 percentiles and applies the foreground mean and std
(one global scale: Hounsfield units mean the same in every scan); ``ZScoreNormalization`` uses each image's own
mean and std, inside the nonzero mask when ``use_mask_for_norm`` (voxels outside stay 0). Operations run in float32
in place, as nnU-Net's, so preprocessed arrays match it bit for bit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NORMALIZERS", "normalize_channel"]


def _eps(dtype) -> float:
    return 1e-4 if dtype == np.float16 else 1e-8


def zscore(image: np.ndarray, seg: np.ndarray | None, use_mask: bool, properties: dict) -> np.ndarray:
    eps = _eps(image.dtype)
    if use_mask:
        if seg is None:
            raise ValueError("use_mask_for_norm needs the nonzero mask (seg >= 0) of the cropped case")
        mask = seg >= 0
        mean, std = image[mask].mean(), image[mask].std()
        image[mask] = (image[mask] - mean) / max(std, eps)
    else:
        mean, std = image.mean(), image.std()
        image -= mean
        image /= max(std, eps)
    return image


def ct(image: np.ndarray, seg: np.ndarray | None, use_mask: bool, properties: dict) -> np.ndarray:
    if properties is None or not np.isfinite(properties.get("std", np.nan)):
        raise ValueError(
            "CTNormalization needs the foreground intensity properties of the fingerprint "
            "(no foreground voxel was found in the training labels)"
        )
    np.clip(image, properties["percentile_00_5"], properties["percentile_99_5"], out=image)
    image -= properties["mean"]
    image /= max(properties["std"], _eps(image.dtype))
    return image


def no_normalization(image, seg, use_mask, properties):
    return image


def rescale_to_01(image, seg, use_mask, properties):
    image -= image.min()
    image /= np.clip(image.max(), a_min=_eps(image.dtype), a_max=None)
    return image


def rgb_to_01(image, seg, use_mask, properties):
    if image.min() < 0 or image.max() > 255:
        raise ValueError(f"RGBTo01Normalization expects values in [0, 255], got [{image.min()}, {image.max()}]")
    image /= 255.0
    return image


NORMALIZERS = {
    "ZScoreNormalization": zscore,
    "CTNormalization": ct,
    "NoNormalization": no_normalization,
    "RescaleTo01Normalization": rescale_to_01,
    "RGBTo01Normalization": rgb_to_01,
}


def normalize_channel(
    scheme: str, image: np.ndarray, seg: np.ndarray | None, use_mask: bool, properties: dict | None
) -> np.ndarray:
    """Normalise one float32 channel in place with the named scheme."""
    if scheme not in NORMALIZERS:
        raise ValueError(f"normalization scheme {scheme!r} is not known; use one of {sorted(NORMALIZERS)}")
    return NORMALIZERS[scheme](image, seg, use_mask, properties)
