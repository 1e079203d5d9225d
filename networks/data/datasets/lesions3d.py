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

"""Real 3D lesion cases with expert masks from the pyradiomics 3.0.1 sdist, in nnU-Net v2's raw layout.

Five patients (``data/<case>_{image,label}.nrrd``): brain MRI ``brain1``/``brain2`` (256x256x25/23, 0.78 x 0.78 x
6.5 mm), breast MRI ``breast1`` (45x120x21, 0.66 x 0.66 x 2.1 mm), lung CT ``lung1``/``lung2`` (512x512x48/61,
about 0.6 x 0.6 x 5 mm, Hounsfield units). CT and MR need different normalisation, so they form two datasets:
``lesion_ct`` (channel ``CT``) and ``lesion_mr`` (channel ``MR``). The NRRD files are copied byte for byte.
"""

from __future__ import annotations

from pathlib import Path

from ..file_io import json_bytes
from .nnunet_raw import raw_case_files, raw_dataset_json
from .sources import WHEEL_SHA256, fetch_sdist, read_sdist_member

__all__ = ["LESION_SETS", "lesion_files"]

PACKAGE = ("pyradiomics", "3.0.1")
LESION_SETS = {  # name: (channel name, cases, what they are)
    "lesion_ct": ("CT", ("lung1", "lung2"), "CT"),
    "lesion_mr": ("MR", ("brain1", "brain2", "breast1"), "MR"),
    # both together, one z-scored channel: 5 cases (5 folds), two of them 512x512 CT volumes; the smoke-run set
    "lesion_ctmr": ("image", ("lung1", "lung2", "brain1", "brain2", "breast1"), "CT and MR"),
}
LICENCE = (
    "pyradiomics 3.0.1 test data (data/*.nrrd), BSD-3-Clause, Copyright (c) 2016-2020 the pyradiomics "
    "developers (van Griethuysen et al., Cancer Research 2017). Anonymised patient scans with lesion masks."
)


def lesion_files(cache_dir: Path, name: str, prepare_version: str) -> dict[str, bytes]:
    """All files of one of ``LESION_SETS`` (relative path -> bytes)."""
    channel, cases, kind = LESION_SETS[name]
    sdist = fetch_sdist(cache_dir, *PACKAGE)
    files = {}
    for case in cases:
        image = read_sdist_member(sdist, *PACKAGE, f"data/{case}_image.nrrd")
        label = read_sdist_member(sdist, *PACKAGE, f"data/{case}_label.nrrd")
        files.update(raw_case_files(case, [image], label, ".nrrd"))
    doc = raw_dataset_json(
        name,
        [channel],
        ["background", "lesion"],
        len(cases),
        ".nrrd",
        description=f"{len(cases)} real {kind} cases with a binary lesion mask ({', '.join(cases)}); "
        "anisotropic (slices 2.1-6.5 mm apart). Too few cases to train a useful model: a planning and "
        "pipeline test set.",
        licence=LICENCE,
        source=f"pypi:pyradiomics==3.0.1 sdist sha256:{WHEEL_SHA256[PACKAGE]}",
        prepare_data_version=prepare_version,
    )
    files["dataset.json"] = json_bytes(doc)
    return files
