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
"""Tests of ``zoo-prepare-data`` (networks.apps.prepare_data) on the real prepared datasets (conftest.py fixtures)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from tests import warm_python

from .conftest import REPO_ROOT, prepared

SPLITS = ("training", "validation", "test")


@pytest.fixture(params=["nuclei2d", "brain2d"])
def dataset_dir(request) -> Path:
    """Each prepared dataset in turn."""
    return request.getfixturevalue(f"{request.param}_dir")


def _doc(folder: Path) -> dict:
    """Parsed dataset.json."""
    return json.loads((folder / "dataset.json").read_text())


def _items(folder: Path):
    """All (split, item) pairs of a dataset."""
    doc = _doc(folder)
    return [(key, item) for key in SPLITS for item in doc[key]]


def _load(folder: Path, rel: str) -> nib.Nifti1Image:
    """Load one output file."""
    return nib.load(folder / rel)


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_dataset_json_lists_existing_files(dataset_dir, prepare_data):
    doc = _doc(dataset_dir)
    for key in ("name", "description", "reference", "licence", "modality", "labels"):
        assert doc[key], key
    assert doc["tensorImageSize"] == "2D" and doc["labels"]["0"] == "background"
    assert doc["licence"] == prepare_data.licence_text(doc["name"])
    for key in SPLITS:
        assert doc[f"num{key[0].upper()}{key[1:]}"] == len(doc[key]) > 0
        for item in doc[key]:
            assert set(item) == ({"image", "label", "instance"} if doc["name"] == "nuclei2d" else {"image", "label"})
            assert all((dataset_dir / rel).is_file() for rel in item.values()), item


def test_monai_reads_datalist(dataset_dir):
    from monai.data import load_decathlon_datalist

    for key in SPLITS:
        items = load_decathlon_datalist(str(dataset_dir / "dataset.json"), True, key, str(dataset_dir))
        assert items and all(Path(path).is_file() for item in items for path in item.values())


def test_shapes_and_dtypes(dataset_dir):
    image_dtype = np.uint16 if _doc(dataset_dir)["name"] == "nuclei2d" else np.uint8
    for _, item in _items(dataset_dir):
        image, label = _load(dataset_dir, item["image"]), _load(dataset_dir, item["label"])
        assert image.ndim == 2 and min(image.shape) >= 128, item
        assert image.get_data_dtype() == image_dtype and label.get_data_dtype() == np.uint8
        assert label.shape == image.shape and np.allclose(label.affine, image.affine)
        if "instance" in item:
            instance = _load(dataset_dir, item["instance"])
            assert instance.get_data_dtype() == np.int32 and instance.shape == image.shape


def test_labels_within_declared_classes(dataset_dir):
    doc = _doc(dataset_dir)
    declared = {int(k) for k in doc["labels"]}
    assert declared == set(range(len(declared)))
    present = {key: set() for key in SPLITS}
    for key, item in _items(dataset_dir):
        values = set(np.unique(np.asarray(_load(dataset_dir, item["label"]).dataobj)).tolist())
        assert values <= declared and len(values) > 1, item
        present[key] |= values
    for key in SPLITS:  # the splits were chosen so that every class is seen in each of them
        assert present[key] == declared, key


def test_instances_match_semantic_labels(nuclei2d_dir):
    for _, item in _items(nuclei2d_dir):
        label = np.asarray(_load(nuclei2d_dir, item["label"]).dataobj)
        instance = np.asarray(_load(nuclei2d_dir, item["instance"]).dataobj)
        np.testing.assert_array_equal(instance > 0, label == 1)
        ids = np.unique(instance)
        np.testing.assert_array_equal(ids, np.arange(ids.size))  # renumbered 0 (background), 1..n


def test_splits_disjoint(dataset_dir):
    doc = _doc(dataset_dir)
    cases = {key: {item["image"] for item in doc[key]} for key in SPLITS}
    assert sum(map(len, cases.values())) == len(set.union(*cases.values()))


def _documented_nuclei_split() -> dict[str, list[str]]:
    """The split as the nuclei bundle's README states it ("training = dsb2018_q0, ndev_t00-t05; validation = ...")."""
    readme = (REPO_ROOT / "bundle" / "swin_umamba_nuclei_segmentation" / "docs" / "README.md").read_text()
    text = " ".join(readme.split("Fixed split written to `dataset.json`:", 1)[1].split(". ", 1)[0].split())
    split = {}
    for part in text.split(";"):
        key, names = (s.strip() for s in part.split("="))
        cases = []
        for name in (n.strip() for n in names.split(",")):
            ranged = re.fullmatch(r"(\w+_t)(\d+)-t(\d+)", name)  # ndev_t00-t05: frames 0 to 5
            if ranged:
                prefix, first, last = ranged.group(1), int(ranged.group(2)), int(ranged.group(3))
                cases += [f"{prefix}{t:02d}" for t in range(first, last + 1)]
            else:
                cases.append(name)
        split[key] = cases
    return split


def test_nuclei_split_is_the_documented_one(nuclei2d_dir):
    doc, documented = _doc(nuclei2d_dir), _documented_nuclei_split()
    assert sorted(documented) == sorted(SPLITS)
    for key in SPLITS:
        assert sorted(Path(item["image"]).name[: -len(".nii.gz")] for item in doc[key]) == sorted(documented[key])


def test_brain_splits_are_separated_in_z(brain2d_dir):
    doc = _doc(brain2d_dir)
    z = {key: np.array([int(item["image"][-10:-7]) for item in doc[key]]) for key in SPLITS}
    for a, b in (("training", "validation"), ("training", "test"), ("validation", "test")):
        assert np.abs(z[a][:, None] - z[b][None, :]).min() >= 5, (a, b)


def test_brain_label_groups_cover_aal(brain2d_dir):
    doc = _doc(brain2d_dir)
    groups = doc["label_groups"]
    assert list(groups) == [doc["labels"][str(i)] for i in range(1, len(groups) + 1)]
    regions = [r for g in groups.values() for r in g["regions"]]
    assert len(regions) == len(set(regions)) == 116
    assert groups["thalamus"]["regions"] == ["Thalamus_L", "Thalamus_R"]
    assert all(r.startswith("Vermis") for r in groups["vermis"]["regions"])


def test_rerun_changes_nothing(dataset_dir, prepare_data):
    before = _digests(dataset_dir)
    prepare_data.prepare(_doc(dataset_dir)["name"], dataset_dir)
    assert _digests(dataset_dir) == before


def test_rerun_repairs_damaged_output(nuclei2d_dir, prepare_data, tmp_path):
    out = shutil.copytree(nuclei2d_dir, tmp_path / "nuclei2d")
    (out / "labels" / "ndev_t03.nii.gz").unlink()
    (out / "images" / "dsb2018_q1.nii.gz").write_bytes(b"garbage")
    (out / "images" / "stale_case.nii.gz").write_bytes(b"left over")
    prepare_data.prepare("nuclei2d", out)
    assert {k: v[0] for k, v in _digests(out).items()} == {k: v[0] for k, v in _digests(nuclei2d_dir).items()}


def test_cli(nuclei2d_dir, tmp_path):
    out = tmp_path / "cli_out"
    cmd = [sys.executable, "-m", "networks.apps.prepare_data", "nuclei2d", "--out", str(out)]
    proc = warm_python.run(cmd, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "training 8, validation 3, test 3" in proc.stdout and "dataset.json" in proc.stdout
    assert (out / "checksums.sha256").read_text() == (nuclei2d_dir / "checksums.sha256").read_text()


def test_corrupt_wheel_gives_clear_error(prepare_data, tmp_path):
    wheel = prepare_data.fetch_wheel(prepare_data.DEFAULT_CACHE_DIR, "stardist", "0.9.2")
    bad = tmp_path / "cache" / "pypi" / wheel.name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(wheel.read_bytes()[:1000])  # truncated download
    with pytest.raises(prepare_data.SourceError, match=r"(?s)stardist==0\.9\.2.*delete"):
        prepare_data.prepare("nuclei2d", tmp_path / "out", cache_dir=tmp_path / "cache")


def test_wheel_missing_member_gives_clear_error(prepare_data, tmp_path, monkeypatch):
    wheel = prepare_data.fetch_wheel(prepare_data.DEFAULT_CACHE_DIR, "stardist", "0.9.2")
    bad = tmp_path / "cache" / "pypi" / wheel.name
    bad.parent.mkdir(parents=True)
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("stardist/__init__.py", "")
    monkeypatch.delitem(prepare_data.WHEEL_SHA256, ("stardist", "0.9.2"))  # let the member check be reached
    with pytest.raises(prepare_data.SourceError, match="no member stardist/data/images/img2d.tif"):
        prepare_data.prepare("nuclei2d", tmp_path / "out", cache_dir=tmp_path / "cache")


def test_corrupt_deb_gives_clear_error(prepare_data, tmp_path):
    deb = prepare_data.fetch_deb(prepare_data.DEFAULT_CACHE_DIR, "mricron-data")
    bad = tmp_path / "cache" / "debian" / deb.name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not a deb")
    with pytest.raises(prepare_data.SourceError, match="(?s)mricron-data.*delete"):
        prepare_data.prepare("brain2d", tmp_path / "out", cache_dir=tmp_path / "cache")


def test_aal_grouping_and_resampling_helpers(prepare_data):
    assert [prepare_data.aal_group(c) for c in (2001, 3001, 4201, 5401, 6401, 7021, 7101, 8101, 9081, 9170)] == list(
        range(1, 11)
    )
    with pytest.raises(prepare_data.SourceError, match="116 regions"):
        prepare_data.parse_aal_names("1 Precentral_L 2001\n")
    labels = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    shifted = np.eye(4)
    shifted[0, 3] = 1.0  # target grid starts one voxel further along x
    out = prepare_data.resample_nearest(nib.Nifti1Image(labels, np.eye(4)), nib.Nifti1Image(labels, shifted))
    np.testing.assert_array_equal(out[0], labels[1])
    assert not out[1].any()  # outside the atlas -> background


def test_apt_update_runs_once_when_package_unknown(prepare_data, tmp_path, monkeypatch):
    calls = []

    def fake_apt(args, cwd=None):
        calls.append(args[0])
        if args[0] == "download" and "update" in calls:  # known after the update: "download" the .deb
            (Path(cwd) / "mricron-data_1.0_all.deb").write_bytes(b"deb")
            return subprocess.CompletedProcess(args, 0, "", "")
        return subprocess.CompletedProcess(args, 0 if args[0] == "update" else 100, "", "E: Unable to locate package")

    import networks.data.datasets.sources as sources  # where fetch_deb lives

    monkeypatch.setattr(sources, "_run_apt", fake_apt)
    deb = prepare_data.fetch_deb(tmp_path, "mricron-data")
    assert calls == ["download", "update", "download"] and deb.name == "mricron-data_1.0_all.deb"


def test_missing_apt_get_gives_clear_error(prepare_data, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get on PATH
    with pytest.raises(prepare_data.SourceError, match="apt-get not found.*packages.debian.org"):
        prepare_data.fetch_deb(tmp_path, "mricron-data")


def test_nuclei_slices_are_a_test_set_of_another_microscope(prepare_data):
    out = prepared("nuclei2d_slices")
    doc = _doc(out)
    assert doc["training"] == [] and doc["validation"] == [] and len(doc["test"]) == 8
    for item in doc["test"]:
        image = np.asarray(_load(out, item["image"]).dataobj)
        instance = np.asarray(_load(out, item["instance"]).dataobj)
        assert image.shape == instance.shape == (256, 256) and image.dtype == np.uint16
        ids = np.unique(instance)
        np.testing.assert_array_equal(ids, np.arange(ids.size))
        assert ids.size - 1 >= 9  # slices with at least 9 nuclei (pieces of a cut nucleus count apart)
        for i in ids[1:]:  # every instance is one 4-connected piece
            assert ndimage.label(instance == i)[1] == 1


def test_nuclei3d_blocks_tile_the_volume():
    import tifffile

    blocks, quadrants = prepared("nuclei3d_blocks"), prepared("nuclei3d")
    doc = json.loads((blocks / "dataset.json").read_text())
    assert doc["numTraining"] == 6 and len(list((blocks / "imagesTr").glob("*_0000.tiff"))) == 6
    assert sorted(p.name for p in (blocks / "labelsTs").glob("*.tiff")) == ["nuclei3d_b03.tiff", "nuclei3d_b10.tiff"]

    def read(case: str, kind: str) -> np.ndarray:
        split = "Ts" if case in ("nuclei3d_b03", "nuclei3d_b10") else "Tr"
        return tifffile.imread(
            blocks / f"{kind}{split}" / (f"{case}_0000.tiff" if kind == "images" else f"{case}.tiff")
        )

    # the two left blocks of the top row are the top-left quadrant of nuclei3d, voxel for voxel
    for kind, quadrant in (("images", "imagesTr/nuclei3d_q0_0000.tiff"), ("labels", "labelsTr/nuclei3d_q0.tiff")):
        joined = np.concatenate([read("nuclei3d_b00", kind), read("nuclei3d_b01", kind)], axis=2)
        np.testing.assert_array_equal(joined, tifffile.imread(quadrants / quadrant))
    for case in ("nuclei3d_b03", "nuclei3d_b10", "nuclei3d_b12"):
        assert read(case, "images").shape == (60, 128, 64) and 0.1 < read(case, "labels").mean() < 0.3


def test_lesion_ctmr_joins_the_ct_and_mr_sets():
    joined, ct, mr = prepared("lesion_ctmr"), prepared("lesion_ct"), prepared("lesion_mr")
    doc = json.loads((joined / "dataset.json").read_text())
    assert doc["channel_names"] == {"0": "image"} and doc["numTraining"] == 5  # z-scored, not CT-normalised
    for source in (ct, mr):
        for path in sorted(source.glob("*Tr/*.nrrd")):
            assert (joined / path.parent.name / path.name).read_bytes() == path.read_bytes(), path.name
    assert len(list(joined.glob("*Tr/*.nrrd"))) == 10
