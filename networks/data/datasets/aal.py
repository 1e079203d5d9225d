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

"""The AAL atlas on the Colin27 T1 (Debian ``mricron-data``): region names, and the 10 structure groups we use."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

from ..file_io import json_bytes, nifti_bytes
from .nnunet_raw import raw_case_files, raw_dataset_json
from .sources import SourceError, extract_deb, fetch_deb

__all__ = [
    "LICENCE",
    "brain3d_files",
    "MRICRON_DIR",
    "BRAIN_GROUPS",
    "parse_aal_names",
    "aal_group",
    "group_table",
    "resample_nearest",
    "load_brain_volumes",
]

MRICRON_DIR = "usr/share/mricron/templates"
LICENCE = (
    "Colin27 T1 (ch2.nii.gz) and AAL atlas (aal.nii.gz, aal.nii.txt) as distributed in the Debian package "
    "mricron-data (MRIcron, BSD-3-Clause, Copyright 2006-2010 Chris Rorden). The images themselves remain "
    "under their upstream terms: Colin27 (Holmes et al., JCAT 1998, Montreal Neurological Institute) and "
    "AAL (Tzourio-Mazoyer et al., NeuroImage 2002); cite them when publishing results."
)

# AAL groups, keyed by the AAL code (third column of aal.nii.txt): its leading digits encode the lobe.
BRAIN_GROUPS = (
    ("frontal", "AAL 2xxx: precentral, frontal gyri, rolandic operculum, SMA, olfactory, rectus"),
    ("insula", "AAL 3xxx: insula"),
    ("limbic", "AAL 4xxx: cingulum, hippocampus, parahippocampal gyrus, amygdala"),
    ("occipital", "AAL 5xxx: calcarine, cuneus, lingual, occipital gyri, fusiform"),
    ("parietal", "AAL 6xxx: postcentral, parietal, supramarginal, angular, precuneus, paracentral lobule"),
    ("basal_ganglia", "AAL 70xx: caudate, putamen, pallidum"),
    ("thalamus", "AAL 71xx: thalamus"),
    ("temporal", "AAL 8xxx: Heschl, temporal gyri and poles"),
    ("cerebellum", "AAL 90xx: cerebellar hemispheres"),
    ("vermis", "AAL 91xx: vermis"),
)


def parse_aal_names(text: str) -> list[tuple[int, str, int]]:
    """Parse aal.nii.txt lines ``index name code`` into tuples."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].isdigit() and parts[2].isdigit():
            rows.append((int(parts[0]), parts[1], int(parts[2])))
    if len(rows) != 116:
        raise SourceError(f"mricron-data: aal.nii.txt should list 116 regions, found {len(rows)}")
    return rows


def aal_group(code: int) -> int:
    """Structure class (1..10, order of BRAIN_GROUPS) of an AAL region code."""
    lobe = code // 1000
    if lobe == 7:
        return 6 if code // 100 == 70 else 7
    if lobe == 9:
        return 10 if code // 100 == 91 else 9
    return {2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 8: 8}[lobe]


def group_table(rows: list[tuple[int, str, int]]) -> tuple[np.ndarray, dict[str, list[str]]]:
    """Lookup table AAL index -> class, and class name -> AAL region names."""
    lut = np.zeros(256, dtype=np.uint8)
    groups: dict[str, list[str]] = {name: [] for name, _ in BRAIN_GROUPS}
    for index, name, code in rows:
        cls = aal_group(code)
        lut[index] = cls
        groups[BRAIN_GROUPS[cls - 1][0]].append(name)
    return lut, groups


def resample_nearest(atlas: nib.Nifti1Image, target: nib.Nifti1Image) -> np.ndarray:
    """Nearest-neighbour resampling of a label volume onto the target grid (0 outside the atlas)."""
    ijk = np.indices(target.shape[:3]).reshape(3, -1)
    vox2vox = np.linalg.inv(atlas.affine) @ target.affine
    src = np.rint(vox2vox[:3, :3] @ ijk + vox2vox[:3, 3:]).astype(int)
    data = np.asarray(atlas.dataobj)
    inside = np.all((src >= 0) & (src < np.array(data.shape[:3])[:, None]), axis=0)
    out = np.zeros(ijk.shape[1], dtype=data.dtype)
    out[inside] = data[tuple(src[:, inside])]
    return out.reshape(target.shape[:3])


def load_brain_volumes(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Colin27 T1 voxels, its affine, the AAL atlas on the T1 grid, and the names file text."""
    paths = {n: root / MRICRON_DIR / n for n in ("ch2.nii.gz", "aal.nii.gz", "aal.nii.txt")}
    for name, path in paths.items():
        if not path.is_file():
            raise SourceError(f"mricron-data: {MRICRON_DIR}/{name} missing from the package")
    try:
        t1, atlas = nib.load(paths["ch2.nii.gz"]), nib.load(paths["aal.nii.gz"])
        image = np.asarray(t1.dataobj)  # raw stored intensities (uint8 for ch2)
    except Exception as err:  # nibabel raises several types for corrupt files
        raise SourceError(f"mricron-data: cannot read ch2/aal ({err}); delete the cached .deb and run again") from err
    if t1.ndim != 3 or min(t1.shape) < 128:
        raise SourceError(f"mricron-data: ch2.nii.gz should be a 3D volume of >=128 voxels a side, got {t1.shape}")
    same_grid = atlas.shape == t1.shape and np.allclose(atlas.affine, t1.affine, atol=1e-4)
    labels = np.asarray(atlas.dataobj) if same_grid else resample_nearest(atlas, t1)
    return image, t1.affine, labels.astype(np.uint8), paths["aal.nii.txt"].read_text()


def brain3d_files(cache_dir: Path, prepare_version: str, licence: str) -> dict[str, bytes]:
    """``brain3d``: the Colin27 T1 volume with the 10 AAL structure groups, nnU-Net v2 raw layout (one case).

    The image is ``ch2.nii.gz`` byte for byte; the label map (uint8, 0 = white matter, CSF and outside) is written
    on the T1's grid with its header.
    """
    deb = fetch_deb(cache_dir, "mricron-data")
    with tempfile.TemporaryDirectory() as tmp:
        root = extract_deb(deb, Path(tmp))
        _, affine, atlas, names = load_brain_volumes(root)
        t1_bytes = (root / MRICRON_DIR / "ch2.nii.gz").read_bytes()
        header = nib.load(root / MRICRON_DIR / "ch2.nii.gz").header.copy()
    lut, _ = group_table(parse_aal_names(names))
    files = raw_case_files("colin27", [t1_bytes], nifti_bytes(lut[atlas], affine, header), ".nii.gz")
    doc = raw_dataset_json(
        "brain3d",
        ["T1"],
        ["background"] + [name for name, _ in BRAIN_GROUPS],
        1,
        ".nii.gz",
        description="Colin27 T1 (181x217x181, 1 mm) with the AAL atlas grouped into 10 structures "
        "(see label_groups). One subject, atlas labels: a multi-class 3D planning and pipeline set.",
        label_groups={name: rule for name, rule in BRAIN_GROUPS},
        licence=licence,
        source=f"debian:{deb.name} ({MRICRON_DIR}/ch2.nii.gz, aal.nii.gz, aal.nii.txt)",
        prepare_data_version=prepare_version,
    )
    files["dataset.json"] = json_bytes(doc)
    return files
