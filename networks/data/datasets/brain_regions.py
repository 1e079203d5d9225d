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
``brainregions`` / ``brainregions3d``: patches of a T1 brain MRI centred in the 116 AAL regions, one class per
region (left and right homologues apart), for fine-grained classification.

Sources: the Colin27 T1 with the AAL atlas on its grid (Debian ``mricron-data``) for training, validation and
test, and the MNI ICBM152 2009a symmetric T1 template shipped in the ``nilearn`` wheel as a second test set from
another brain (the AAL labels resampled onto it through the two affines; both are in MNI space).

Split: the Colin27 volume is cut into axial slabs of ``block`` mm cycling through ``SLAB_PATTERN``; a patch
belongs to the split of its slab and is kept only when every slice it covers, widened by ``gap`` slices on each
side, lies in slabs of that split. Patches of different splits therefore never share a voxel and are at least
``2 * gap + 1`` mm apart along z. The MNI152 test patches come from the same world z-ranges as the Colin27 test
patches, so the two test sets differ by the brain only.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from ..file_io import json_bytes, nifti_bytes
from .aal import MRICRON_DIR, load_brain_volumes, parse_aal_names, resample_nearest
from .sources import SourceError, extract_deb, fetch_deb, fetch_wheel, read_wheel_member

__all__ = [
    "PatchSpec",
    "PATCH_SPECS",
    "SLAB_PATTERN",
    "NILEARN_VERSION",
    "MNI152_T1_MEMBER",
    "slab_splits",
    "sample_centres",
    "extract_patch",
    "load_mni152",
    "brain_region_files",
]

NILEARN_VERSION = "0.14.1"
MNI152_T1_MEMBER = "nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
SLAB_PATTERN = ("training", "validation", "training", "test")
SPLITS = ("training", "validation", "test", "test_mni152")
LICENCE = (
    "Colin27 T1 (ch2.nii.gz) and AAL atlas (aal.nii.gz, aal.nii.txt) as distributed in the Debian package "
    "mricron-data (MRIcron, BSD-3-Clause, Copyright 2006-2010 Chris Rorden); the images remain under their upstream "
    "terms: Colin27 (Holmes et al., JCAT 1998, Montreal Neurological Institute) and AAL (Tzourio-Mazoyer et al., "
    "NeuroImage 2002). MNI ICBM152 2009a symmetric T1 as shipped in nilearn (BSD-3-Clause package); template "
    "Copyright (C) 1993-2009 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological Institute, McGill "
    "University, distributed with permission to use, copy and modify (Fonov et al., NeuroImage 2011). Cite them "
    "when publishing results."
)


@dataclass(frozen=True)
class PatchSpec:
    """Geometry and sampling of one variant: patch size (voxels, 1 mm), slab size and gap (mm), patches per class."""

    name: str
    size: tuple[int, ...]  # (x, y) or (x, y, z)
    block: int
    gap: int
    per_class: dict

    @property
    def depth(self) -> int:
        return self.size[2] if len(self.size) == 3 else 1


PATCH_SPECS = {
    # 2D: one axial slice; 6 mm slabs with 2 slices dropped on each side of a split change keep 115 of the 116
    # regions in the test split and 106 in validation (the smallest regions span 10 mm in z).
    "brainregions": PatchSpec(
        "brainregions", (32, 32), 6, 2, {"training": 48, "validation": 6, "test": 12, "test_mni152": 12}
    ),
    # 3D: 24 mm cubes need slabs thicker than the cube; a 28 mm slab leaves 5 possible centre slices.
    "brainregions3d": PatchSpec(
        "brainregions3d", (24, 24, 24), 28, 0, {"training": 24, "validation": 4, "test": 8, "test_mni152": 8}
    ),
}


def slab_splits(num_slices: int, z_start: int, spec: PatchSpec) -> dict[int, str]:
    """Split of every patch centre slice ``z`` whose covered slices (plus ``spec.gap``) lie in slabs of one split."""

    def split_of(z: int) -> str:
        return SLAB_PATTERN[((z - z_start) // spec.block) % len(SLAB_PATTERN)]

    lo, hi = spec.depth // 2 + spec.gap, (spec.depth - 1) // 2 + spec.gap
    kept = {}
    for z in range(z_start, num_slices):
        if all(split_of(z + d) == split_of(z) for d in range(-lo, hi + 1)):
            kept[z] = split_of(z)
    return kept


def sample_centres(mask: np.ndarray, allowed_z: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` distinct voxels (rows of x, y, z) of ``mask`` whose z is in ``allowed_z``, drawn at random."""
    xyz = np.argwhere(mask)
    xyz = xyz[np.isin(xyz[:, 2], allowed_z)]
    if len(xyz) == 0:
        return xyz
    pick = rng.choice(len(xyz), size=min(count, len(xyz)), replace=False)
    return xyz[np.sort(pick)]


def extract_patch(volume: np.ndarray, centre: np.ndarray, size: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A patch of ``size`` centred at ``centre`` (zero outside the volume) and its first voxel's index."""
    full = tuple(size) + (1,) * (3 - len(size))
    start = np.asarray(centre) - np.asarray(full) // 2
    out = np.zeros(full, dtype=volume.dtype)
    src = [slice(max(s, 0), min(s + n, dim)) for s, n, dim in zip(start, full, volume.shape)]
    dst = [slice(a.start - s, a.stop - s) for a, s in zip(src, start)]
    out[tuple(dst)] = volume[tuple(src)]
    return (out[..., 0] if len(size) == 2 else out), start


def load_mni152(cache_dir: Path) -> tuple[nib.Nifti1Image, str]:
    """The MNI152 2009a symmetric T1 template out of the pinned nilearn wheel, and its source string."""
    wheel = fetch_wheel(cache_dir, "nilearn", NILEARN_VERSION)
    data = read_wheel_member(wheel, "nilearn", NILEARN_VERSION, MNI152_T1_MEMBER)
    try:
        image = nib.Nifti1Image.from_bytes(gzip.decompress(data))
    except Exception as err:  # gzip/nibabel raise several types for corrupt bytes
        raise SourceError(f"nilearn=={NILEARN_VERSION}: cannot read {MNI152_T1_MEMBER} ({err})") from err
    if image.ndim != 3 or not np.allclose(np.abs(np.diag(image.affine)[:3]), 1.0):
        raise SourceError(
            f"nilearn: {MNI152_T1_MEMBER} should be a 1 mm 3D volume, got shape {image.shape} and voxel sizes "
            f"{np.abs(np.diag(image.affine)[:3]).tolist()}"
        )
    return image, f"pypi:{wheel.name} ({MNI152_T1_MEMBER})"


def _patch_files(
    cohort: str,
    split: str,
    image: np.ndarray,
    affine: np.ndarray,
    labels: np.ndarray,
    allowed_z: np.ndarray,
    spec: PatchSpec,
    regions: list[tuple[int, str]],
    rng: np.random.Generator,
) -> tuple[dict[str, bytes], list[dict]]:
    """Patch files and dataset.json items of one split of one volume (``regions``: atlas value, name per class)."""
    files, items = {}, []
    for cls, (value, region) in enumerate(regions):
        for n, centre in enumerate(sample_centres(labels == value, allowed_z, spec.per_class[split], rng)):
            patch, start = extract_patch(image, centre, spec.size)
            patch_affine = affine.copy()
            patch_affine[:3, 3] = affine[:3, :3] @ start + affine[:3, 3]
            rel = f"images/{split}_{cohort}_{cls:03d}_{n:03d}.nii.gz"
            files[rel] = nifti_bytes(np.ascontiguousarray(patch), patch_affine)
            centre_mm = affine[:3, :3] @ centre + affine[:3, 3]
            items.append(
                {"image": rel, "label": cls, "region": region, "centre_mm": [round(float(v), 1) for v in centre_mm]}
            )
    return files, items


def brain_region_files(cache_dir: Path, variant: str, prepare_version: str, seed: int = 0) -> dict[str, bytes]:
    """All files of ``brainregions`` (2D) or ``brainregions3d``: patches + dataset.json (relative path -> bytes)."""
    spec = PATCH_SPECS[variant]
    deb = fetch_deb(cache_dir, "mricron-data")
    with tempfile.TemporaryDirectory() as tmp:
        image, affine, atlas, names_text = load_brain_volumes(extract_deb(deb, Path(tmp)))
    regions = [(index, name) for index, name, _ in parse_aal_names(names_text)]  # class = row of aal.nii.txt
    names = [name for _, name in regions]
    mni, mni_source = load_mni152(cache_dir)
    atlas_img = nib.Nifti1Image(atlas, affine)
    mni_labels = resample_nearest(atlas_img, mni)
    mni_image = np.asarray(mni.dataobj)

    labelled_z = np.flatnonzero((atlas > 0).any(axis=(0, 1)))
    split_of_z = slab_splits(int(labelled_z[-1]) + 1, int(labelled_z[0]), spec)
    rng = np.random.default_rng(seed)
    files: dict[str, bytes] = {}
    doc_items: dict[str, list[dict]] = {}
    for split in ("training", "validation", "test"):
        allowed = np.array([z for z, s in split_of_z.items() if s == split])
        new, doc_items[split] = _patch_files("colin27", split, image, affine, atlas, allowed, spec, regions, rng)
        files.update(new)
    # the Colin27 test slices in world z, then in MNI152 voxels
    test_z = np.array([z for z, s in split_of_z.items() if s == "test"])
    world_z = affine[2, 2] * test_z + affine[2, 3]
    mni_z = np.rint((world_z - mni.affine[2, 3]) / mni.affine[2, 2]).astype(int)
    new, doc_items["test_mni152"] = _patch_files(
        "mni152", "test_mni152", mni_image, mni.affine, mni_labels, mni_z, spec, regions, rng
    )
    files.update(new)

    coverage = {split: len({item["label"] for item in items}) for split, items in doc_items.items()}
    doc = {
        "name": variant,
        "task": "classification",
        "description": (
            f"{len(spec.size)}D patches ({'x'.join(map(str, spec.size))} voxels, 1 mm, NIfTI (x, y[, z]) order, raw "
            "uint8 intensities) of a T1 brain MRI centred on a random voxel of one of the 116 AAL regions; the class "
            "is the region (left/right homologues are different classes: do not flip left-right when augmenting). "
            f"Colin27 split by axial slabs of {spec.block} mm cycling through {list(SLAB_PATTERN)}: a patch is kept "
            f"only if all its slices, plus {spec.gap} on each side, lie in its split's slabs, so patches of different "
            "splits share no voxel. test_mni152: the MNI152 2009a template (another brain: a 152-subject average) "
            "at the world z of the Colin27 test slabs, with the AAL labels resampled onto it by nearest neighbour "
            "through the affines (both volumes are in MNI space). Caveats: one subject per brain; the AAL was drawn "
            "on Colin27, so on MNI152 region borders are only approximately right (no nonlinear registration); "
            "regions thinner than the slabs miss some splits (classes per split: "
            + ", ".join(f"{k} {v}" for k, v in coverage.items())
            + ")."
        ),
        "reference": "Holmes et al., JCAT 22, 324 (1998); Tzourio-Mazoyer et al., NeuroImage 15, 273 (2002); "
        "Fonov et al., NeuroImage 54, 313 (2011)",
        "licence": LICENCE,
        "tensorImageSize": f"{len(spec.size)}D",
        "modality": {"0": "T1w MRI"},
        "labels": {str(i): name for i, name in enumerate(names)},
        "patch_size": list(spec.size),
        "split_rule": {"slab_mm": spec.block, "gap_slices": spec.gap, "pattern": list(SLAB_PATTERN), "seed": seed},
        "classes_per_split": coverage,
        "source": [f"debian:{deb.name} ({MRICRON_DIR}/ch2.nii.gz, aal.nii.gz, aal.nii.txt)", mni_source],
        "prepare_data_version": prepare_version,
    }
    for split in SPLITS:
        doc[f"num_{split}"] = len(doc_items[split])
    doc.update(doc_items)
    files["dataset.json"] = json_bytes(doc)
    return files
