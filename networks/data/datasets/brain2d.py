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
"""brain2d: axial slices of the Colin27 T1 with the AAL atlas grouped into 10 structures (Debian ``mricron-data``),
split by contiguous z-blocks with gaps between splits."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..file_io import json_bytes, nifti_bytes
from .aal import BRAIN_GROUPS, LICENCE, MRICRON_DIR, group_table, load_brain_volumes, parse_aal_names
from .layout import SPLITS, build_dataset_json
from .sources import extract_deb, fetch_deb

__all__ = ["brain_split", "slice_affine", "brain_files"]

# Brain split: blocks of contiguous axial slices cycle through this pattern; slices near a split change are dropped.
BRAIN_MIN_LABELLED_FRACTION = 0.10  # keep slices whose atlas covers at least 10% of the slice
BRAIN_BLOCK = 8
BRAIN_GAP = 2  # dropped on each side of a split boundary -> >= 5 mm between splits
# chosen so that every split spans inferior to superior slices and contains all 10 structures
BRAIN_PATTERN = ("training", "validation", "training", "test", "training")


def brain_split(counts: np.ndarray, min_count: float) -> dict[str, list[int]]:
    """Assign kept axial slices to splits by contiguous z-blocks; drop BRAIN_GAP slices each side of a change."""
    kept = np.flatnonzero(counts >= min_count)
    z0 = int(kept[0])
    split_of = {int(z): BRAIN_PATTERN[((z - z0) // BRAIN_BLOCK) % len(BRAIN_PATTERN)] for z in kept}
    result: dict[str, list[int]] = {k: [] for k in SPLITS}
    for z, split in split_of.items():
        near = (split_of.get(z + d, split) for d in range(-BRAIN_GAP, BRAIN_GAP + 1))
        if all(s == split for s in near):
            result[split].append(z)
    return result


def slice_affine(affine: np.ndarray, z: int) -> np.ndarray:
    """Affine of axial slice z as a 2D image (keeps world coordinates)."""
    out = affine.copy()
    out[:3, 3] = affine[:3, :3] @ np.array([0.0, 0.0, z]) + affine[:3, 3]
    return out


def brain_meta(groups: dict[str, list[str]], deb: Path, splits: dict[str, list[int]]) -> dict:
    """dataset.json header of brain2d."""
    ranges = {k: f"{len(v)} slices, z in {v[0]}-{v[-1]}" if v else "none" for k, v in splits.items()}
    return {
        "name": "brain2d",
        "description": (
            "Axial 2D slices (181x217, 1 mm, NIfTI (x, y) order) of the Colin27 T1 (ch2) with the AAL atlas "
            "grouped into 10 structures (see label_groups; white matter and CSF are background 0). Only slices whose "
            f"atlas covers >= {BRAIN_MIN_LABELLED_FRACTION:.0%} of the slice are kept. Split: contiguous z-blocks of "
            f"{BRAIN_BLOCK} slices cycle through {list(BRAIN_PATTERN)}; {BRAIN_GAP} slices on each side of every "
            "split change are dropped (adjacent 1 mm slices are near-duplicates), so slices of different splits are "
            f">= {2 * BRAIN_GAP + 1} mm apart. {ranges}. Caveats: all slices come from ONE subject (Colin27, an "
            "average of 27 scans of one person) and the labels are an atlas registered to it, not manual "
            "segmentations; validation/test measure generalisation to other slices of the same brain only."
        ),
        "reference": "Holmes et al., JCAT 22, 324 (1998) (Colin27); Tzourio-Mazoyer et al., NeuroImage 15, 273 (2002)",
        "licence": LICENCE,
        "tensorImageSize": "2D",
        "modality": {"0": "T1w MRI"},
        "labels": {"0": "background", **{str(i + 1): name for i, (name, _) in enumerate(BRAIN_GROUPS)}},
        "label_groups": {name: {"aal_codes": rule, "regions": groups[name]} for name, rule in BRAIN_GROUPS},
        "source": f"debian:{deb.name} ({MRICRON_DIR}/ch2.nii.gz, aal.nii.gz, aal.nii.txt)",
    }


def brain_files(cache_dir: Path) -> dict[str, bytes]:
    """All output files of brain2d (relative path -> bytes)."""
    deb = fetch_deb(cache_dir, "mricron-data")
    with tempfile.TemporaryDirectory() as tmp:
        image, t1_affine, atlas, names = load_brain_volumes(extract_deb(deb, Path(tmp)))
    lut, groups = group_table(parse_aal_names(names))
    labels = lut[atlas]
    counts = (labels > 0).sum(axis=(0, 1))
    splits = brain_split(counts, BRAIN_MIN_LABELLED_FRACTION * labels.shape[0] * labels.shape[1])
    names_by_split = {k: [f"colin27_z{z:03d}" for z in v] for k, v in splits.items()}
    files = {}
    for z in sorted(z for v in splits.values() for z in v):
        affine = slice_affine(t1_affine, z)
        files[f"images/colin27_z{z:03d}.nii.gz"] = nifti_bytes(np.ascontiguousarray(image[:, :, z]), affine)
        files[f"labels/colin27_z{z:03d}.nii.gz"] = nifti_bytes(np.ascontiguousarray(labels[:, :, z]), affine)
    doc = build_dataset_json(brain_meta(groups, deb, splits), names_by_split, with_instance=False)
    files["dataset.json"] = json_bytes(doc)
    return files
