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

"""``zoo-prepare-data brainregions`` / ``brainregions3d``: real patches, class coverage, disjoint splits, MNI152 set."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from networks.data.datasets.brain_regions import PATCH_SPECS, SLAB_PATTERN, extract_patch, slab_splits

SPLITS = ("training", "validation", "test", "test_mni152")


def load(folder):
    return json.loads((folder / "dataset.json").read_text())


def test_brainregions_patches_classes_and_sources(brainregions_dir):
    doc = load(brainregions_dir)
    assert doc["task"] == "classification" and len(doc["labels"]) == 116
    assert doc["labels"]["0"] == "Precentral_L" and doc["labels"]["1"] == "Precentral_R"  # homologues apart
    assert doc["classes_per_split"]["training"] == 116 and doc["classes_per_split"]["test"] >= 110
    for split in SPLITS:
        assert doc[f"num_{split}"] == len(doc[split]) > 0
        assert all(0 <= item["label"] < 116 for item in doc[split])
    item = doc["test_mni152"][0]
    img = nib.load(brainregions_dir / item["image"])
    assert img.shape == (32, 32) and img.get_data_dtype() == np.uint8
    # the patch affine keeps world coordinates: its centre voxel maps to the recorded centre (mm)
    centre = img.affine[:3, :3] @ np.array([16, 16, 0]) + img.affine[:3, 3]
    np.testing.assert_allclose(centre, item["centre_mm"], atol=0.1)
    assert any("nilearn-0.14.1" in s for s in doc["source"]) and any("mricron-data" in s for s in doc["source"])


def test_splits_share_no_slice_and_mni152_uses_the_test_slabs(brainregions_dir):
    doc = load(brainregions_dir)
    z = {split: {item["centre_mm"][2] for item in doc[split]} for split in SPLITS}
    gap = PATCH_SPECS["brainregions"].gap
    for a, b in (("training", "test"), ("training", "validation"), ("validation", "test")):
        distance = min(abs(p - q) for p in z[a] for q in z[b])
        assert distance >= 2 * gap + 1, (a, b, distance)
    assert z["test_mni152"] <= z["test"]  # the same world z-ranges, another brain


def test_3d_patches_do_not_overlap_across_splits(brainregions3d_dir):
    doc = load(brainregions3d_dir)
    depth = PATCH_SPECS["brainregions3d"].depth
    assert nib.load(brainregions3d_dir / doc["training"][0]["image"]).shape == (24, 24, 24)
    z = {split: np.array([item["centre_mm"][2] for item in doc[split]]) for split in SPLITS[:3]}
    # two 24-slice patches share a slice when their centres are closer than 24 mm
    for a, b in (("training", "test"), ("training", "validation"), ("validation", "test")):
        assert np.abs(z[a][:, None] - z[b][None, :]).min() >= depth, (a, b)


@pytest.mark.parametrize("variant", ["brainregions", "brainregions3d"])
def test_slab_rule_keeps_whole_patches_inside_their_split(variant):
    spec = PATCH_SPECS[variant]
    z_start = 10
    kept = slab_splits(200, z_start, spec)
    assert set(kept.values()) == {"training", "validation", "test"}
    lo, hi = spec.depth // 2 + spec.gap, (spec.depth - 1) // 2 + spec.gap
    for z, split in kept.items():  # every covered slice (and the gap) recomputed from the slab pattern
        for d in range(-lo, hi + 1):
            assert SLAB_PATTERN[((z + d - z_start) // spec.block) % len(SLAB_PATTERN)] == split, (z, d)


def test_patch_extraction_pads_with_zeros():
    volume = np.arange(5 * 6 * 4).reshape(5, 6, 4)
    patch, start = extract_patch(volume, np.array([0, 3, 1]), (4, 4))
    assert patch.shape == (4, 4) and start.tolist() == [-2, 1, 1]
    assert (patch[:2] == 0).all() and patch[2, 0] == volume[0, 1, 1]  # zero outside the volume


def _files(folder: Path) -> dict[str, tuple[int, str]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_prepare_is_idempotent(prepare_data, brainregions_dir, capsys):
    """A second preparation of a complete folder rewrites nothing: every file keeps its bytes and its mtime."""
    before = _files(brainregions_dir)
    assert len(before) > 100 and "dataset.json" in before
    prepare_data.prepare("brainregions", brainregions_dir)
    assert _files(brainregions_dir) == before
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.parametrize("variant", ["brainregions", "brainregions3d"])
def test_summary_names_the_classification_set(prepare_data, request, variant):
    text = prepare_data.summarise(request.getfixturevalue(f"{variant}_dir"))
    assert "116 classes" in text and "test_mni152" in text and text.startswith(f"{variant}: ")
