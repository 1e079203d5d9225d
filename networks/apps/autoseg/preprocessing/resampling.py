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

"""nnU-Net v2's resampling: cubic spline for images, per-label linear for label maps, separate z when anisotropic.

Images: ``scipy.ndimage.zoom`` (order 3, edge mode, pixel-area grid, no anti-aliasing, clipped to the input range:
what ``skimage.transform.resize`` does and nnU-Net calls). Label maps: every label's indicator is resized (order 1)
and each voxel takes the label with the highest score; exact ties go to the nearest-neighbour label when it is one
of the tied (batchgenerators 0.25's rule, which nnU-Net 2.8 uses). When the spacing of one axis is more than 3x the
finest (before or after), that axis is resampled separately with nearest neighbour (order_z 0) after resizing each
slice in-plane, so thick slices are not smeared.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from ..plans import ANISO_THRESHOLD

__all__ = ["resize", "resize_segmentation", "separate_z_axis", "resample_to_shape"]


def resize(image: np.ndarray, shape: Sequence[int], order: int) -> np.ndarray:
    """Resize an array to ``shape`` (float64 out), as ``skimage.transform.resize(mode="edge", anti_aliasing=False)``."""
    image = np.asarray(image, dtype=np.float64)
    shape = tuple(int(s) for s in shape)
    # no shortcut for an unchanged shape: a spline of zoom 1 is not bit-exact identity, and nnU-Net runs it too
    zoom = [o / i for o, i in zip(shape, image.shape)]
    out = ndimage.zoom(image, zoom, order=order, mode="nearest", grid_mode=True)
    if order > 0:  # splines overshoot: clip to the input's range as skimage does
        np.clip(out, image.min(), image.max(), out=out)
    return out


def resize_segmentation(seg: np.ndarray, shape: Sequence[int], order: int = 1) -> np.ndarray:
    """Resize a label map: per-label indicator interpolation, arg-max, ties to the nearest-neighbour label."""
    shape = tuple(int(s) for s in shape)
    if order == 0:
        return resize(seg, shape, 0).astype(seg.dtype)
    labels = np.unique(seg)
    if labels.size == 1:
        return np.full(shape, labels[0], dtype=seg.dtype)
    nearest = resize(seg, shape, 0)
    best = winner = nearest_score = None
    for label in labels:
        score = resize(seg == label, shape, order)
        if best is None:
            best, winner = score, np.full(shape, label, dtype=seg.dtype)
            nearest_score = np.where(nearest == label, score, 0.0)
            continue
        better = score > best
        winner[better] = label
        np.maximum(best, score, out=best)
        is_nearest = nearest == label
        nearest_score[is_nearest] = score[is_nearest]
    tie = (nearest_score == best) & (nearest_score > 0)
    winner[tie] = nearest[tie].astype(seg.dtype)
    return winner


def separate_z_axis(current_spacing: Sequence[float], new_spacing: Sequence[float]) -> int | None:
    """The axis to resample on its own (nnU-Net's ``determine_do_sep_z_and_axis`` with automatic choice)."""
    for spacing in (current_spacing, new_spacing):
        spacing = np.asarray(spacing, dtype=float)
        if np.max(spacing) / np.min(spacing) > ANISO_THRESHOLD:
            axes = np.where(max(spacing) / spacing == 1)[0]
            return int(axes[0]) if len(axes) == 1 else None  # two coarse axes (e.g. 0.24, 1.25, 1.25): no
    return None


def _resample_channel(volume: np.ndarray, shape: np.ndarray, is_seg: bool, order: int, axis: int | None):
    resize_fn = resize_segmentation if is_seg else resize
    if axis is None:
        return resize_fn(volume, shape, order)
    in_plane = [s for a, s in enumerate(shape) if a != axis]
    slices = [resize_fn(np.take(volume, i, axis=axis), in_plane, order) for i in range(volume.shape[axis])]
    stacked = np.stack(slices, axis=axis).astype(np.float64)
    if volume.shape[axis] == shape[axis]:
        return stacked
    # along the coarse axis: nearest neighbour on the pixel-area grid (nnU-Net's map_coordinates, order_z 0)
    grid = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    coords = [(o / n) * (g + 0.5) - 0.5 for g, o, n in zip(grid, stacked.shape, shape)]
    return ndimage.map_coordinates(stacked, np.array(coords), order=0, mode="nearest")


def resample_to_shape(
    data: np.ndarray,
    new_shape: Sequence[int],
    current_spacing: Sequence[float],
    new_spacing: Sequence[float],
    is_seg: bool = False,
    order: int = 3,
) -> np.ndarray:
    """Resample ``(c, z, y, x)`` data to ``new_shape`` (nnU-Net's ``resample_data_or_seg_to_shape``)."""
    new_shape = np.asarray(new_shape, dtype=int)
    if tuple(data.shape[1:]) == tuple(new_shape):
        return data
    axis = separate_z_axis(current_spacing, new_spacing)
    out = np.zeros((data.shape[0], *new_shape), dtype=data.dtype)
    for c in range(data.shape[0]):
        out[c] = _resample_channel(data[c], new_shape, is_seg, order, axis)
    return out
