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
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

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
    "resize_image",
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
    Estimate the typical object diameter of a 2D image (channel-first or not; channels are averaged) from the blobs
    of a Laplacian-of-Gaussian scale space (scikit-image ``blob_log``): a blob of scale sigma is ``2 sqrt(2) sigma``
    across, and the median over the blobs is returned. Intensities are first scaled by their 1st and 99.8th
    percentiles, as the bundles do. None when no blob is found (a blank image).

    Args:
        image: (H, W) or (C, H, W) array or tensor.
        min_size: smallest diameter searched, pixels.
        max_size: largest diameter searched, pixels.
    """
    from skimage.feature import blob_log

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
    if len(blobs) == 0:
        return None
    return float(np.median(blobs[:, 2]) * factor)


def resize_image(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Resize a (C, H, W) image by ``factor`` (bilinear, antialiased when shrinking); sides rounded, at least 1."""
    size = [max(1, round(s * factor)) for s in image.shape[-2:]]
    out = F.interpolate(image[None].float(), size=size, mode="bilinear", align_corners=False, antialias=factor < 1)
    return out[0]


def sample_label_map(label_map: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """
    A label map of a resized image brought back to the input grid ``shape``: each input pixel takes the label at
    its centre's position in the resized grid (nearest neighbour; labels are not interpolated).
    """
    rows = [np.minimum(((np.arange(n) + 0.5) * m / n).astype(np.int64), m - 1) for n, m in zip(shape, label_map.shape)]
    return label_map[np.ix_(rows[0], rows[1])]
