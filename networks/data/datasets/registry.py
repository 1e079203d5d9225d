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
"""Every dataset ``zoo-prepare-data`` can prepare, by name: a builder ``files(cache_dir) -> {relative path: bytes}``
per dataset (pure: it fetches its source packages into ``cache_dir`` and writes nothing else), and
:func:`prepare`, which writes a builder's files into a folder in the layout of :mod:`.layout`.

A builder's docstring is the dataset's one-line description (the command's help).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from .aal import LICENCE as AAL_LICENCE
from .aal import brain3d_files
from .brain2d import brain_files
from .brain_regions import LICENCE as BRAIN_REGIONS_LICENCE
from .brain_regions import brain_region_files
from .cxr_reports import LICENCE as CXR_LICENCE
from .cxr_reports import cxr_report_files
from .layout import PREPARE_VERSION, verify_dataset, write_dataset
from .lesions3d import LICENCE as LESION_LICENCE
from .lesions3d import lesion_files
from .nnunet_raw import raw_from_prepared_2d
from .nuclei2d import LICENCE as NUCLEI2D_LICENCE
from .nuclei2d import nuclei_files, nuclei_slice_files
from .nuclei3d import LICENCE as NUCLEI3D_LICENCE
from .nuclei3d import nuclei3d_blocks_files as nuclei3d_blocks_files_of
from .nuclei3d import nuclei3d_files
from .sources import DEFAULT_CACHE_DIR

__all__ = ["Builder", "DATASETS", "LICENCES", "licence_text", "prepare"]

Builder = Callable[[Path], "dict[str, bytes]"]


def nuclei2d_nnunet_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of nuclei2d_nnunet: nuclei2d in nnU-Net v2's raw layout (16-bit PNG)."""
    return raw_from_prepared_2d(nuclei_files(cache_dir), ".png", PREPARE_VERSION)


def brain2d_nnunet_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of brain2d_nnunet: brain2d in nnU-Net v2's raw layout (2D TIFF)."""
    return raw_from_prepared_2d(brain_files(cache_dir), ".tif", PREPARE_VERSION)


def brain3d_nnunet_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of brain3d: Colin27 T1 + 10 AAL structure groups, one 3D case, nnU-Net v2 raw layout."""
    return brain3d_files(cache_dir, PREPARE_VERSION, AAL_LICENCE)


def lesion_ct_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of lesion_ct: 2 lung CT cases with lesion masks (NRRD), nnU-Net v2 raw layout."""
    return lesion_files(cache_dir, "lesion_ct", PREPARE_VERSION)


def lesion_mr_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of lesion_mr: 2 brain + 1 breast MRI cases with lesion masks (NRRD), nnU-Net v2 raw layout."""
    return lesion_files(cache_dir, "lesion_mr", PREPARE_VERSION)


def lesion_ctmr_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of lesion_ctmr: the 2 CT and 3 MRI lesion cases in one set (NRRD), nnU-Net v2 raw layout."""
    return lesion_files(cache_dir, "lesion_ctmr", PREPARE_VERSION)


def nuclei3d_nnunet_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of nuclei3d: four quadrants of a 3D nuclei volume (3D TIFF), nnU-Net v2 raw layout."""
    return nuclei3d_files(cache_dir, PREPARE_VERSION)


def nuclei3d_blocks_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of nuclei3d_blocks: the 3D nuclei volume as 8 full-depth blocks, 6 training + 2 test."""
    return nuclei3d_blocks_files_of(cache_dir, PREPARE_VERSION)


def brainregions_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of brainregions: 32x32 axial patches in the 116 AAL regions (Colin27; MNI152 test set)."""
    return brain_region_files(cache_dir, "brainregions", PREPARE_VERSION)


def brainregions3d_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of brainregions3d: 24x24x24 patches in the 116 AAL regions (Colin27; MNI152 test set)."""
    return brain_region_files(cache_dir, "brainregions3d", PREPARE_VERSION)


def cxr_reports_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of cxr_reports: IU chest X-ray reports, MiniLM encoder, one CXR DICOM (the entity vocabulary
    is the vision-language app's, added by ``zoo-prepare-data``)."""
    return cxr_report_files(cache_dir, PREPARE_VERSION)


DATASETS: dict[str, Builder] = {
    "nuclei2d": nuclei_files,
    "nuclei2d_slices": nuclei_slice_files,
    "brain2d": brain_files,
    "brainregions": brainregions_files,
    "brainregions3d": brainregions3d_files,
    "nuclei2d_nnunet": nuclei2d_nnunet_files,
    "brain2d_nnunet": brain2d_nnunet_files,
    "brain3d": brain3d_nnunet_files,
    "lesion_ct": lesion_ct_files,
    "lesion_mr": lesion_mr_files,
    "lesion_ctmr": lesion_ctmr_files,
    "nuclei3d": nuclei3d_nnunet_files,
    "nuclei3d_blocks": nuclei3d_blocks_files,
    "cxr_reports": cxr_reports_files,
}

# the licence / attribution text each dataset's dataset.json carries (reusable in bundle docs)
LICENCES = {
    "nuclei2d": NUCLEI2D_LICENCE,
    "nuclei2d_slices": NUCLEI3D_LICENCE,
    "brain2d": AAL_LICENCE,
    "brain3d": AAL_LICENCE,
    "brainregions": BRAIN_REGIONS_LICENCE,
    "brainregions3d": BRAIN_REGIONS_LICENCE,
    "lesion_ct": LESION_LICENCE,
    "lesion_mr": LESION_LICENCE,
    "lesion_ctmr": LESION_LICENCE,
    "nuclei3d": NUCLEI3D_LICENCE,
    "nuclei3d_blocks": NUCLEI3D_LICENCE,
    "cxr_reports": CXR_LICENCE,
}


def licence_text(dataset: str) -> str:
    """The licence / attribution text of a prepared dataset."""
    return LICENCES[dataset]


def prepare(
    dataset: str,
    out: str | Path,
    cache_dir: str | Path | None = None,
    force: bool = False,
    builders: Mapping[str, Builder] = DATASETS,
) -> Path:
    """Prepare ``dataset`` into ``out`` (skipped when already complete and verified); return ``out`` as a Path.
    ``builders`` lets an application add to a builder (``zoo-prepare-data`` adds the report vocabulary)."""
    if dataset not in builders:
        raise ValueError(f"unknown dataset {dataset!r}, choose from {sorted(builders)}")
    out = Path(out).expanduser().resolve()
    if not force and verify_dataset(out, dataset):
        print(f"{dataset}: {out} is complete and matches checksums.sha256, nothing to do", flush=True)
        return out
    cache = Path(cache_dir).expanduser() if cache_dir else DEFAULT_CACHE_DIR
    changed = write_dataset(out, builders[dataset](cache))
    print(f"{dataset}: wrote {changed} file(s) into {out}", flush=True)
    return out
