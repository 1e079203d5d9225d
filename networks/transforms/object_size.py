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

"""
Object size (typical nucleus diameter in pixels): measured on instance label maps, estimated from an image, and the
rescaling that brings an image to the object size a detector was trained on.

A detector trained on nuclei 10-25 px across misses nuclei 50 px across; StarDist's ``scale`` and Cellpose's
``diameter`` exist for the same reason. The size is the equivalent diameter ``2 sqrt(area / pi)`` of an instance.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from networks.data.file_io import write_json_atomic
from networks.transforms.instances import MIN_INSTANCE_AREA

__all__ = [
    "OBJECT_SIZE_FILE",
    "instance_diameters",
    "object_size_summary",
    "write_object_size",
    "read_object_size",
    "estimate_object_size",
    "check_object_size",
    "min_image_side",
    "resample_weights",
    "resized_shape",
    "input_window",
    "resize_image",
    "sample_indices",
    "sample_label_map",
]

# written next to the trained weights; inference reads the training object size from it
OBJECT_SIZE_FILE = "object_size.json"


def instance_diameters(instance_map, min_area: int = MIN_INSTANCE_AREA) -> np.ndarray:
    """Equivalent diameters (pixels) of the instances of a label map with at least ``min_area`` pixels."""
    ids = np.asarray(instance_map).astype(np.int64).ravel()
    areas = np.bincount(ids)[1:]
    areas = areas[areas >= min_area]
    return 2.0 * np.sqrt(areas / math.pi)


def object_size_summary(instance_maps: Iterable, min_area: int = MIN_INSTANCE_AREA) -> dict:
    """Median, 10th and 90th percentile of the instance diameters over label maps, and their count."""
    diameters = np.concatenate([instance_diameters(m, min_area) for m in instance_maps] + [np.zeros(0)])
    if len(diameters) == 0:
        raise ValueError("no instance of at least min_area pixels in the label maps: no object size to record.")
    p10, median, p90 = np.percentile(diameters, (10, 50, 90))
    return {"median": round(float(median), 3), "p10": round(float(p10), 3), "p90": round(float(p90), 3),
            "count": int(len(diameters))}  # fmt: skip


def write_object_size(datalist: Iterable[dict], folder: str, key: str = "instance") -> dict:
    """
    Record the object-size distribution of the training label maps (``item[key]``, any format ``LoadImage``
    reads) as ``<folder>/object_size.json``, where inference looks for its target size. Returns the summary.
    """
    from monai.transforms import LoadImage

    loader = LoadImage(image_only=True)
    summary = object_size_summary(np.asarray(loader(item[key])) for item in datalist)
    os.makedirs(folder, exist_ok=True)
    write_json_atomic(os.path.join(folder, OBJECT_SIZE_FILE), {"object_size": summary, "unit": "pixel diameter"})
    return summary


def read_object_size(folder: str, default: float) -> float:
    """The training median object size recorded in ``<folder>/object_size.json``, or ``default`` without one."""
    path = os.path.join(folder, OBJECT_SIZE_FILE)
    if not os.path.isfile(path):
        return float(default)
    with open(path) as f:
        try:
            return float(json.load(f)["object_size"]["median"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: expected {{'object_size': {{'median': <pixels>, ...}}}} ({err}).") from err


def check_object_size(object_size, name: str = "object_size") -> float | str | None:
    """
    Validate an object-size option: None (keep the input scale), "auto" (estimate per image) or a positive number
    of pixels. Raises a ValueError naming the option otherwise.
    """
    if object_size is None or object_size == "auto":
        return object_size
    try:
        value = float(object_size)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(object_size, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name} must be a positive number of pixels (the typical nucleus diameter in the input images) or "
            f"'auto', got {object_size!r}."
        )
    return value


def min_image_side(object_size) -> float | None:
    """The smallest image side usable with an object-size option (checked by :py:func:`check_object_size`): one
    object across for a number, None (no limit) for None and "auto"."""
    value = check_object_size(object_size)
    return value if isinstance(value, float) else None


def estimate_object_size(image, min_size: float = 3.0, max_size: float = 120.0) -> float | None:
    """
    Estimate the typical object diameter of a 2D image (channel-first or not; channels are averaged), as the larger
    of two medians, each of which fails in its own way (measured by ``scripts/object_size_estimate.py``):

    - the blobs of a Laplacian-of-Gaussian scale space (scikit-image ``blob_log``; a blob of scale sigma is
      ``2 sqrt(2) sigma`` across): right on evenly stained nuclei, far too small on textured ones, whose bright
      spots it takes for the objects;
    - the connected components of the Otsu foreground (smoothed by a 1 px Gaussian, opened once; equivalent
      diameters of components of at least ``MIN_INSTANCE_AREA`` pixels): sees a textured nucleus whole, but two
      touching nuclei as one.

    Intensities are first scaled by their 1st and 99.8th percentiles, as the bundles do. None when neither finds an
    object (a blank image).

    Args:
        image: (H, W) or (C, H, W) array or tensor.
        min_size: smallest blob diameter searched, pixels.
        max_size: largest blob diameter searched, pixels.
    """
    from scipy import ndimage
    from skimage.feature import blob_log
    from skimage.filters import gaussian, threshold_otsu

    array = np.asarray(image.detach().cpu() if isinstance(image, torch.Tensor) else image, dtype=np.float32)
    if array.ndim == 3:
        array = array.mean(axis=0)
    low, high = np.percentile(array, (1.0, 99.8))
    if not high > low:
        return None
    array = np.clip((array - low) / (high - low), 0.0, 1.0)
    factor = 2.0 * math.sqrt(2.0)
    blobs = blob_log(array, min_sigma=min_size / factor, max_sigma=max_size / factor, num_sigma=25, log_scale=True,
                     threshold=None, threshold_rel=0.2, overlap=0.5)  # fmt: skip
    estimates = [float(np.median(blobs[:, 2]) * factor)] if len(blobs) else []
    smooth = gaussian(array, 1.0)
    if smooth.max() > smooth.min():
        components = ndimage.label(ndimage.binary_opening(smooth > threshold_otsu(smooth)))[0]
        diameters = instance_diameters(components)
        estimates += [float(np.median(diameters))] if len(diameters) else []
    return max(estimates) if estimates else None


def resample_weights(in_size: int, factor: float, start: int, stop: int) -> tuple[int, int, np.ndarray]:
    """
    Weights of output samples ``start..stop-1`` of one axis of length ``in_size`` resized by ``factor``: bilinear,
    widened into a triangle filter of ``1 / factor`` input pixels when shrinking (antialiasing, as PIL and
    ``torch.nn.functional.interpolate(..., antialias=True)`` do). Output sample ``j`` is centred on input position
    ``(j + 0.5) / factor - 0.5`` whatever the axis length, so any window of the output is computed from a window of
    the input alone and equals that part of the whole resized axis: tiles of a large image are resized one by one.

    Returns:
        (lo, hi, weights): the input window ``lo:hi`` read and the (stop - start, hi - lo) float64 weights.
    """
    scale = 1.0 / factor
    support = max(scale, 1.0)  # filter half-width in input pixels
    centres = (np.arange(start, stop) + 0.5) * scale  # in input pixel edges: pixel i covers [i, i + 1)
    first = np.clip(np.floor(centres - support + 0.5).astype(np.int64), 0, in_size)
    last = np.clip(np.floor(centres + support + 0.5).astype(np.int64), 0, in_size)
    lo, hi = int(first.min(initial=in_size)), int(last.max(initial=0))
    hi = max(hi, lo)
    taps = np.arange(lo, hi)[None, :] + 0.5  # input pixel centres
    weights = np.maximum(0.0, 1.0 - np.abs(taps - centres[:, None]) / support)
    weights[(taps < first[:, None]) | (taps > last[:, None])] = 0.0  # PIL's integer filter bounds
    total = weights.sum(axis=1, keepdims=True)
    return lo, hi, weights / np.where(total > 0, total, 1.0)


# output block side of a whole-image resize (its weight matrices stay a few MB)
RESIZE_BLOCK = 512


def resized_shape(shape: Sequence[int], factor: float) -> tuple[int, ...]:
    """Sides of an image resized by ``factor``: rounded, at least 1."""
    return tuple(max(1, round(int(s) * factor)) for s in shape)


def input_window(input_shape: Sequence[int], factor: float, window: Sequence[tuple]) -> list[tuple]:
    """The (start, stop) per axis of the input :py:func:`resize_image` reads for ``window`` of the resized image."""
    return [resample_weights(int(n), factor, *span)[:2] for n, span in zip(input_shape, window)]


def resize_image(
    image: torch.Tensor,
    factor: float,
    window: Sequence[tuple[int, int]] | None = None,
    origin: Sequence[int] = (0, 0),
    input_shape: Sequence[int] | None = None,
) -> torch.Tensor:
    """
    A (C, H, W) image resized by ``factor`` (:py:func:`resample_weights`: bilinear, antialiased when shrinking).

    With ``window`` ((row start, stop), (column start, stop) of the resized image) only that part is computed, from
    ``image`` holding the input of an ``input_shape`` image from row, column ``origin`` on (at least
    :py:func:`input_window`): a tile of a large image read from its file equals that tile of the whole image resized.
    """
    input_shape = tuple(image.shape[-2:]) if input_shape is None else tuple(input_shape)
    if window is None:  # the whole image, block by block: the weights of one block are small dense matrices
        rows, cols = resized_shape(input_shape, factor)
        out = torch.empty((image.shape[0], rows, cols), dtype=torch.float32, device=image.device)
        for a in range(0, rows, RESIZE_BLOCK):
            for b in range(0, cols, RESIZE_BLOCK):
                span = [(a, min(rows, a + RESIZE_BLOCK)), (b, min(cols, b + RESIZE_BLOCK))]
                out[:, span[0][0] : span[0][1], span[1][0] : span[1][1]] = resize_image(
                    image, factor, span, origin, input_shape
                )
        return out
    (r0, r1, wr), (c0, c1, wc) = (resample_weights(int(n), factor, *span) for n, span in zip(input_shape, window))
    block = image[:, r0 - origin[0] : r1 - origin[0], c0 - origin[1] : c1 - origin[1]].double()
    if block.shape[-2:] != (r1 - r0, c1 - c0):
        raise ValueError(f"the image window {tuple(block.shape[-2:])} does not cover the input rows {r0}:{r1}, "
                         f"columns {c0}:{c1} that the resized window {list(window)} needs.")  # fmt: skip
    rows, cols = (torch.from_numpy(w).to(block.device) for w in (wr, wc))
    return torch.einsum("ij,cjk,lk->cil", rows, block, cols).to(torch.float32)


def sample_indices(start: int, stop: int, factor: float, size: int) -> np.ndarray:
    """Index in a resized axis of ``size`` samples of the centre of each input pixel ``start..stop-1``."""
    return np.minimum(np.floor((np.arange(start, stop) + 0.5) * factor).astype(np.int64), size - 1)


def sample_label_map(label_map: np.ndarray, shape: tuple[int, int], factor: float) -> np.ndarray:
    """
    A label map of an image resized by ``factor`` brought back to the input grid ``shape``: each input pixel takes
    the label at its centre's position in the resized grid (nearest neighbour; labels are not interpolated).
    """
    rows, cols = (sample_indices(0, n, factor, m) for n, m in zip(shape, label_map.shape))
    return label_map[np.ix_(rows, cols)]
