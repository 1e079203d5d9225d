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

"""Rotate, scale and crop a training patch in one resampling, as nnU-Net's spatial augmentation does."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import Affine, CenterSpatialCrop, MapTransform, RandomizableTransform
from monai.utils import ensure_tuple_rep

__all__ = ["RandRotateScaleCropd"]


class RandRotateScaleCropd(RandomizableTransform, MapTransform):
    """
    Crop the centre ``roi_size`` of an enlarged patch, rotated with probability ``rotate_prob`` and scaled with
    probability ``scale_prob``, resampling only the output voxels.

    A chain of ``RandRotated``, ``RandZoomd`` and ``CenterSpatialCropd`` resamples the whole enlarged patch once per
    transform (nnU-Net's enlarged 3D patch holds about 5x the voxels of the one kept), in float64; this transform
    builds one affine map and samples the kept patch from it in float32, which is what nnU-Net's ``SpatialTransform``
    does. Without rotation or scaling it is a plain centre crop, no resampling.

    Args:
        keys: keys of the items to transform, all of the same spatial shape.
        roi_size: spatial size of the output patch.
        rotate_range: largest rotation in radians about each spatial axis (3D: x, y, z; 2D: the first value), the
            angle drawn uniformly in ``(-r, r)``.
        scale_range: ``(low, high)`` of nnU-Net's scale factor, the input extent covered by one output voxel: below 1
            magnifies. One factor is drawn for all ``scale_axes``.
        scale_axes: spatial axes that are scaled (``None``: all); in-plane axes only for nnU-Net's dummy 2D
            augmentation of anisotropic volumes.
        rotate_prob: probability of rotating a patch.
        scale_prob: probability of scaling a patch, drawn independently of the rotation.
        mode: interpolation per key (``"bilinear"``, ``"nearest"``).
        padding_mode: values outside the input (``"zeros"``, ``"border"``, ``"reflection"``).
        allow_missing_keys: do not raise if a key is missing.
    """

    def __init__(
        self,
        keys: KeysCollection,
        roi_size: Sequence[int],
        rotate_range: Sequence[float] | float = 0.0,
        scale_range: Sequence[float] = (1.0, 1.0),
        scale_axes: Sequence[int] | None = None,
        rotate_prob: float = 0.2,
        scale_prob: float = 0.2,
        mode: Sequence[str] | str = "bilinear",
        padding_mode: str = "zeros",
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob=1.0)
        self.roi_size = tuple(int(s) for s in roi_size)
        rotations = ensure_tuple_rep(rotate_range, 3) if not isinstance(rotate_range, Sequence) else rotate_range
        self.rotate_range = tuple(abs(float(r)) for r in rotations)
        if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f"scale_range: expected (low, high) with 0 < low <= high, got {scale_range}")
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.scale_axes = None if scale_axes is None else tuple(int(a) for a in scale_axes)
        self.rotate_prob = rotate_prob
        self.scale_prob = scale_prob
        self.mode = ensure_tuple_rep(mode, len(self.keys))
        self.padding_mode = padding_mode
        self._angles: tuple[float, ...] | None = None
        self._scale: float | None = None

    def randomize(self, data: object = None) -> None:
        # every draw is taken on every call so that the random stream does not depend on the outcomes
        rotate = self.R.rand() < self.rotate_prob
        scale = self.R.rand() < self.scale_prob
        angles = tuple(self.R.uniform(-r, r) if r > 0 else 0.0 for r in self.rotate_range)
        factor = self.R.uniform(*self.scale_range)
        self._angles = angles if rotate and any(angles) else None
        self._scale = factor if scale else None

    def _affine(self, shape: Sequence[int]) -> Affine:
        ndim = len(shape)
        angles = None
        if self._angles is not None:
            angles = self._angles[0] if ndim == 2 else self._angles
        scales = None
        if self._scale is not None:
            axes = range(ndim) if self.scale_axes is None else self.scale_axes
            scales = [self._scale if a in axes else 1.0 for a in range(ndim)]
        # Affine turns about the input's centre; shift to the centre of the voxels CenterSpatialCrop would keep
        shift = [d // 2 - r // 2 + (r - 1) / 2 - (d - 1) / 2 for d, r in zip(shape, self.roi_size)]
        return Affine(
            rotate_params=angles,
            scale_params=scales,
            translate_params=shift,
            spatial_size=self.roi_size,
            padding_mode=self.padding_mode,
            image_only=True,
        )

    def __call__(self, data: Mapping[Hashable, torch.Tensor | np.ndarray]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        self.randomize()
        first = self.first_key(d)
        if first == ():
            return d
        shape = d[first].shape[1:]
        if len(shape) != len(self.roi_size):
            raise ValueError(f"RandRotateScaleCropd: roi_size {self.roi_size} for an item of spatial shape {shape}")
        if self._angles is None and self._scale is None:
            crop = CenterSpatialCrop(self.roi_size)
            for key in self.key_iterator(d):
                d[key] = crop(d[key])
            return d
        affine = self._affine(shape)
        for key, mode in self.key_iterator(d, self.mode):
            d[key] = affine(d[key], mode=mode)
        return d
