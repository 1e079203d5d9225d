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

"""Write datasets in nnU-Net v2's raw layout, as bytes a builder returns (relative path -> bytes).

``dataset.json`` (``channel_names``, ``labels`` name -> value, ``numTraining``, ``file_ending``), ``imagesTr/<case>_
<CCCC><ending>``, ``labelsTr/<case><ending>``, and for held-out cases ``imagesTs/`` (+ ``labelsTs/``, which nnU-Net
ignores but evaluation uses). The encoders (``networks.data.file_io``) are deterministic, so a re-run writes identical
bytes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence

import nibabel as nib
import numpy as np

from ..file_io import json_bytes, png_bytes, tif_bytes

__all__ = [
    "RAW_DIRS",
    "raw_dataset_json",
    "raw_case_files",
    "tiff_3d_files",
    "raw_from_prepared_2d",
]

RAW_DIRS = ("imagesTr", "labelsTr", "imagesTs", "labelsTs")


def raw_dataset_json(
    name: str, channel_names: Sequence[str], labels: Sequence[str], num_training: int, file_ending: str, **extra
) -> dict:
    """nnU-Net v2 ``dataset.json``: ``labels`` are given in value order (background first)."""
    doc = {
        "name": name,
        "channel_names": {str(i): c for i, c in enumerate(channel_names)},
        "labels": {label: i for i, label in enumerate(labels)},
        "numTraining": int(num_training),
        "file_ending": file_ending,
    }
    doc.update(extra)
    return doc


def raw_case_files(
    case: str,
    images: Sequence[bytes],
    label: bytes | None,
    ending: str,
    test: bool = False,
    aux: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """Files of one case: channel images, the label map (if any) and auxiliary files (e.g. TIFF spacing JSON)."""
    split = "Ts" if test else "Tr"
    files = {f"images{split}/{case}_{c:04d}{ending}": data for c, data in enumerate(images)}
    if label is not None:
        files[f"labels{split}/{case}{ending}"] = label
    for rel, data in (aux or {}).items():
        files[rel.format(split=split, case=case)] = data
    return files


def tiff_3d_files(array_zyx: np.ndarray, spacing_zyx: Sequence[float]) -> tuple[bytes, bytes]:
    """A 3D stack and its ``{"spacing": [z, y, x]}`` JSON, nnU-Net's Tiff3DIO convention."""
    return tif_bytes(array_zyx), json_bytes({"spacing": [float(s) for s in spacing_zyx]})


def _nifti_array(data: bytes) -> np.ndarray:
    return np.asarray(nib.Nifti1Image.from_bytes(gzip.decompress(data)).dataobj)


def raw_from_prepared_2d(files: Mapping[str, bytes], ending: str, prepare_version: str) -> dict[str, bytes]:
    """Re-lay a prepared 2D dataset (``dataset.json`` with training/validation/test lists of NIfTI (x, y) files)
    in nnU-Net v2's raw layout: training + validation -> ``imagesTr``, test -> ``imagesTs`` + ``labelsTs``.

    Images become ``ending`` files (``.png`` or ``.tif``, (y, x) as natural images are stored) with their raw
    intensities; nnU-Net reads them with spacing 1.
    """
    if ending not in (".png", ".tif"):
        raise ValueError(f"2D raw datasets are written as .png or .tif, got {ending!r}")
    encode = png_bytes if ending == ".png" else tif_bytes
    source = json.loads(files["dataset.json"])
    out, num_training = {}, 0
    for split in ("training", "validation", "test"):
        for item in source[split]:
            case = item["image"].split("/")[-1][: -len(".nii.gz")]
            image = encode(_nifti_array(files[item["image"]]).T)
            label = encode(_nifti_array(files[item["label"]]).astype(np.uint8).T)
            out.update(raw_case_files(case, [image], label, ending, test=split == "test"))
            num_training += split != "test"
    labels = [source["labels"][str(v)] for v in range(len(source["labels"]))]
    doc = raw_dataset_json(
        f"{source['name']}_nnunet",
        [source["modality"]["0"]],
        labels,
        num_training,
        ending,
        description=f"{source['name']} in nnU-Net v2's raw layout (training + validation cases in imagesTr, test "
        f"cases in imagesTs/labelsTs). {source['description']}",
        licence=source["licence"],
        prepare_data_version=prepare_version,
    )
    out["dataset.json"] = json_bytes(doc)
    return out
