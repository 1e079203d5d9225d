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

"""Colour images for single-channel networks: RGB/RGBA exports reduced to one luminance channel."""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping

import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform, Transform

__all__ = ["LUMINANCE_WEIGHTS", "RGBToLuminance", "RGBToLuminanced"]

logger = logging.getLogger(__name__)

# ITU-R BT.601 luma weights, the ones PIL uses for convert("L") and most viewers for "grayscale"
LUMINANCE_WEIGHTS = (0.299, 0.587, 0.114)


class RGBToLuminance(Transform):
    """
    Reduce a channel-first RGB or RGBA image to one channel, ``0.299 R + 0.587 G + 0.114 B`` (alpha dropped),
    when the network expects ``num_channels`` = 1; any other image passes through unchanged (a later input check
    reports a wrong channel count).

    Microscopy images are often exported as RGB PNG/TIFF (e.g. a nuclear stain shown in blue). Every conversion
    is logged with the file name, so a user can see that the colour image was not what the model was trained on.
    The luminance is a weighted mean, so the intensity range of the input is kept (a grey RGB image converts to
    the same grey values).

    Args:
        num_channels: number of channels the network expects; only 1 triggers a conversion. Defaults to 1.
    """

    def __init__(self, num_channels: int = 1) -> None:
        self.num_channels = num_channels

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if self.num_channels != 1 or img.ndim < 2 or img.shape[0] not in (3, 4):
            return img
        weights = torch.as_tensor(LUMINANCE_WEIGHTS, dtype=torch.float32, device=img.device)
        weights = weights.reshape(3, *([1] * (img.ndim - 1)))
        gray = (torch.as_tensor(img[:3]).float() * weights).sum(0, keepdim=True)
        name = img.meta.get("filename_or_obj", "<array>") if isinstance(img, MetaTensor) else "<array>"
        logger.warning(
            f"{name}: {'RGBA' if img.shape[0] == 4 else 'RGB'} image converted to one channel by luminance "
            f"({' + '.join(f'{w} {c}' for w, c in zip(LUMINANCE_WEIGHTS, 'RGB'))}"
            f"{', alpha dropped' if img.shape[0] == 4 else ''})."
        )
        if isinstance(img, MetaTensor):
            out = MetaTensor(gray, meta=dict(img.meta), applied_operations=list(img.applied_operations))
            out.meta["original_channel_dim"] = float("nan")  # downstream writers see a 1-channel image
            return out
        return gray


class RGBToLuminanced(MapTransform):
    """
    Dictionary version of :py:class:`RGBToLuminance`. Place it right after ``EnsureChannelFirstd``.

    Args:
        keys: keys of the images to convert.
        num_channels: number of channels the network expects; only 1 triggers a conversion. Defaults to 1.
        allow_missing_keys: don't raise if a key is missing.
    """

    def __init__(self, keys: KeysCollection, num_channels: int = 1, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.converter = RGBToLuminance(num_channels=num_channels)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.converter(d[key])
        return d
