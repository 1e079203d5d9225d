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

"""nnU-Net's training patches: the augmentation settings a patch size implies, and a dataset of patches with
foreground oversampling that the MONAI augmentation transforms of a bundle then act on."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..plans import ANISO_THRESHOLD

__all__ = ["augmentation_settings", "PatchDataset"]


def _rotation_matrices(angle: float, dims: int) -> list[np.ndarray]:
    c, s = math.cos(angle), math.sin(angle)
    if dims == 2:
        return [np.array([[c, -s], [s, c]])]
    return [
        np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    ]


def _initial_patch_size(patch_size: Sequence[int], max_angle: float, min_scale: float) -> list[int]:
    # the box a rotated and scaled patch samples from, per axis (nnU-Net's get_patch_size, angles capped at 90 deg)
    coords = np.asarray(patch_size, dtype=float)
    extent = coords.copy()
    for matrix in _rotation_matrices(min(max_angle, math.pi / 2), len(coords)):
        extent = np.maximum(extent, np.abs(coords @ matrix))
    return (extent / min_scale).astype(int).tolist()


def augmentation_settings(patch_size: Sequence[int]) -> dict:
    """nnU-Net's rotation range, dummy-2D switch, mirror axes and enlarged sampling patch for ``patch_size``.

    Returns:
        ``{"rotation": radians (symmetric range), "dummy_2d": bool, "mirror_axes": [...],
        "initial_patch_size": [...]}``.
    """
    patch_size = [int(p) for p in patch_size]
    if len(patch_size) == 2:
        dummy_2d = False
        rotation = math.radians(15 if max(patch_size) / min(patch_size) > 1.5 else 180)
        mirror_axes = [0, 1]
    elif len(patch_size) == 3:
        dummy_2d = max(patch_size) / patch_size[0] > ANISO_THRESHOLD
        rotation = math.radians(180 if dummy_2d else 30)
        mirror_axes = [0, 1, 2]
    else:
        raise ValueError(f"patch_size must have 2 or 3 entries, got {patch_size}")
    initial = _initial_patch_size(patch_size, rotation, 0.85)
    if dummy_2d:
        initial[0] = patch_size[0]
    return {"rotation": rotation, "dummy_2d": dummy_2d, "mirror_axes": mirror_axes, "initial_patch_size": initial}


def _crop_box(shape, patch, need_to_pad, rng: np.random.Generator, center=None) -> list[int]:
    # nnU-Net's get_bbox: lower corners may reach half the padding outside the image
    pad = [max(n, p - s) if n + s < p else n for s, p, n in zip(shape, patch, need_to_pad)]
    lbs = [(-n) // 2 for n in pad]  # nnU-Net's `- need_to_pad // 2`
    ubs = [s + n // 2 + n % 2 - p for s, n, p in zip(shape, pad, patch)]
    if center is None:
        return [int(rng.integers(lb, ub + 1)) for lb, ub in zip(lbs, ubs)]
    return [max(lb, int(c) - p // 2) for lb, c, p in zip(lbs, center, patch)]


def _crop(array: np.ndarray, lower: Sequence[int], patch: Sequence[int]) -> np.ndarray:
    """``array[:, lower:lower+patch]`` with zero padding where the box leaves the array."""
    src, dst = [slice(None)], [slice(None)]
    for lo, p, s in zip(lower, patch, array.shape[1:]):
        a, b = max(lo, 0), min(lo + p, s)
        src.append(slice(a, b))
        dst.append(slice(a - lo, b - lo))
    out = np.zeros((array.shape[0], *patch), dtype=array.dtype)
    out[tuple(dst)] = array[tuple(src)]
    return out


class PatchDataset(torch.utils.data.Dataset):
    """
    Random training patches as nnU-Net's data loader draws them: a random case per sample; in every batch the last
    ``oversample_foreground_percent`` of the samples are centred on a voxel of a random foreground class present in
    the case (the rest anywhere); patches are drawn at the enlarged ``initial_patch_size`` so that rotation and
    scaling in ``transform`` (which crops to the final patch) find image content instead of padding. For a 2D
    configuration of 3D data a slice is drawn first (one with the chosen class for foreground samples).

    Iterate it in order (``shuffle=False``) with ``batch_size`` samples per batch: the position in the batch
    decides the oversampling. Randomness comes from torch's generator, so ``set_determinism`` (and the worker seeds
    of MONAI's ``DataLoader``) make it reproducible.

    Args:
        data: case items ``{"image": ..., "label": ...}``.
        load: callable turning an item into ``{"image": (c, z, y, x) array, "label": (1, z, y, x) array,
            "class_locations": {label: (n, 4) array}}``
            (e.g. :class:`~networks.apps.autoseg.preprocessing.transforms.LoadCased`).
        transform: augmentation applied to ``{"image", "label"}`` patches.
        patch_size: final patch size of the network (2 or 3 entries).
        initial_patch_size: the enlarged size drawn before the spatial augmentation (defaults to ``patch_size``).
        batch_size: samples per batch.
        num_samples: samples per epoch (iterations x batch size).
        oversample_foreground_percent: nnU-Net's 0.33.
        cache: keep loaded cases in memory (per worker process); memory-mapped ``.npy`` cases cost nothing to keep.
    """

    def __init__(
        self,
        data: Sequence[dict],
        load: Callable[[dict], dict],
        transform: Callable | None,
        patch_size: Sequence[int],
        batch_size: int,
        num_samples: int,
        initial_patch_size: Sequence[int] | None = None,
        oversample_foreground_percent: float = 0.33,
        cache: bool = True,
    ) -> None:
        if not data:
            raise ValueError("PatchDataset: the data list is empty (no training cases in this fold?)")
        self.data = list(data)
        self.load = load
        self.transform = transform
        self.patch_size = [int(p) for p in patch_size]
        self.initial_patch_size = [int(p) for p in (initial_patch_size or patch_size)]
        self.batch_size = int(batch_size)
        self.num_samples = int(num_samples)
        self.oversample_foreground_percent = float(oversample_foreground_percent)
        self.cache = cache
        self._cached: dict[int, dict] = {}

    def __len__(self) -> int:
        return self.num_samples

    def _case(self, index: int) -> dict:
        if index in self._cached:
            return self._cached[index]
        case = self.load(dict(self.data[index]))
        if self.cache:
            self._cached[index] = case
        return case

    def force_foreground(self, index: int) -> bool:
        """nnU-Net's ``get_do_oversample``: the last third of every batch (by default) is foreground-centred."""
        return not (index % self.batch_size) < round(self.batch_size * (1 - self.oversample_foreground_percent))

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))
        case = self._case(int(rng.integers(len(self.data))))
        image, label, locations = case["image"], case["label"], case.get("class_locations") or {}
        eligible = [k for k, v in locations.items() if len(v)] if self.force_foreground(index) else []
        voxels = locations[eligible[int(rng.integers(len(eligible)))]] if eligible else None
        center = None if voxels is None else voxels[int(rng.integers(len(voxels)))][1:]
        if len(self.patch_size) == 2:  # a 2D network: one slice of the (c, z, y, x) case
            z = int(center[0]) if center is not None else int(rng.integers(image.shape[1]))
            image, label = image[:, z], label[:, z]
            center = None if center is None else center[1:]
        need_to_pad = [i - p for i, p in zip(self.initial_patch_size, self.patch_size)]
        lower = _crop_box(image.shape[1:], self.initial_patch_size, need_to_pad, rng, center)
        sample = {
            "image": torch.from_numpy(_crop(np.asarray(image, dtype=np.float32), lower, self.initial_patch_size)),
            # -1 (outside the nonzero mask) becomes background, as nnU-Net's RemoveLabelTransform(-1, 0)
            "label": torch.from_numpy(
                np.maximum(_crop(np.asarray(label), lower, self.initial_patch_size), 0).astype(np.int64)
            ),
        }
        return self.transform(sample) if self.transform is not None else sample
