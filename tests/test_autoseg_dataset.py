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
"""Dataset layouts and the integrity check of the nnU-Net recipe (networks.apps.autoseg), on real lesion cases."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import itk
import numpy as np
import pytest

from networks.apps.autoseg import DatasetIntegrityError, extract_fingerprint, load_raw_dataset, plan_experiment
from networks.apps.autoseg.dataset import CaseError, check_case
from tests import warm_python

REPO_ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "networks.apps.autoseg"]


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("checksums.sha256"))
    return dst


def _rewrite(path: Path, change) -> None:
    """Read an NRRD with ITK, let ``change(array, image)`` return a new array, write it back with the geometry."""
    image = itk.imread(str(path))
    array = change(np.asarray(itk.array_from_image(image)).copy(), image)
    out = itk.image_from_array(array)
    out.CopyInformation(image)
    if hasattr(change, "spacing"):
        out.SetSpacing(change.spacing)
    itk.imwrite(out, str(path))


def _add_case(root: Path, source: str, name: str) -> None:
    shutil.copy(root / "imagesTr" / f"{source}_0000.nrrd", root / "imagesTr" / f"{name}_0000.nrrd")
    shutil.copy(root / "labelsTr" / f"{source}.nrrd", root / "labelsTr" / f"{name}.nrrd")


@pytest.fixture
def broken_dataset(lesion_mr_dir, tmp_path) -> tuple[Path, dict[str, str]]:
    """lesion_mr plus five copies of brain1, each broken in one way; returns the folder and case -> expected text."""
    root = _copy(lesion_mr_dir, tmp_path / "broken")
    for name in ("missing", "shape", "spacing", "values", "nan"):
        _add_case(root, "brain1", name)
    (root / "labelsTr" / "missing.nrrd").unlink()
    shutil.copy(root / "labelsTr" / "brain2.nrrd", root / "labelsTr" / "shape.nrrd")  # 23 slices, image has 25

    def coarser(array, image):
        return array

    coarser.spacing = [0.78125, 0.78125, 3.0]
    _rewrite(root / "labelsTr" / "spacing.nrrd", coarser)

    def add_two(array, image):
        array[array == 1] = 2
        return array

    _rewrite(root / "labelsTr" / "values.nrrd", add_two)

    def with_nan(array, image):
        array = array.astype(np.float32)
        array[3, 100, 100] = np.nan
        return array

    _rewrite(root / "imagesTr" / "nan_0000.nrrd", with_nan)
    doc = json.loads((root / "dataset.json").read_text())
    doc["numTraining"] = 8
    (root / "dataset.json").write_text(json.dumps(doc))
    expected = {
        "missing": "missing file",
        "shape": "image shape (25, 256, 256) != label shape (23, 256, 256)",
        "spacing": "image spacing",
        "values": "label values [2] not in dataset.json labels [0, 1]",
        "nan": "NaN values",
    }
    return root, expected


def test_layout_nnunet_v2(lesion_mr_dir):
    dataset = load_raw_dataset(lesion_mr_dir)
    assert dataset.layout == "nnunet"
    assert sorted(dataset.cases) == ["brain1", "brain2", "breast1"]
    assert dataset.labels == {"background": 0, "lesion": 1} and dataset.channel_names == {"0": "MR"}
    data, seg, props = check_case(dataset, "brain1")
    assert data.shape == seg.shape == (1, 25, 256, 256)  # (c, z, y, x): ITK's array order
    assert props["spacing"] == pytest.approx([6.5, 0.78125, 0.78125])


def test_layout_msd_matches_nnunet(lesion_mr_dir, tmp_path):
    """An MSD/Decathlon folder (training list, modality, value -> name labels) reads as the same dataset."""
    root = tmp_path / "Task01_LesionMR"
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    training = []
    for case in ("brain1", "brain2", "breast1"):
        shutil.copy(lesion_mr_dir / "imagesTr" / f"{case}_0000.nrrd", root / "imagesTr" / f"{case}.nrrd")
        shutil.copy(lesion_mr_dir / "labelsTr" / f"{case}.nrrd", root / "labelsTr" / f"{case}.nrrd")
        training.append({"image": f"./imagesTr/{case}.nrrd", "label": f"./labelsTr/{case}.nrrd"})
    doc = {
        "name": "LesionMR",
        "modality": {"0": "MR"},
        "labels": {"0": "background", "1": "lesion"},
        "numTraining": 3,
        "training": training,
        "test": [],
    }
    (root / "dataset.json").write_text(json.dumps(doc))
    msd = load_raw_dataset(root)
    assert msd.layout == "msd" and sorted(msd.cases) == ["brain1", "brain2", "breast1"]
    assert msd.nnunet_dataset_json()["labels"] == {"background": 0, "lesion": 1}
    nnunet = load_raw_dataset(lesion_mr_dir)
    for case in msd.cases:
        a, b = check_case(msd, case), check_case(nnunet, case)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[2]["spacing"] == b[2]["spacing"]
    plans = [
        plan_experiment(d.nnunet_dataset_json(), extract_fingerprint(d, tmp_path / d.layout, 1), dataset_name="x")
        for d in (msd, nnunet)
    ]
    assert plans[0] == plans[1]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda doc: doc.pop("file_ending"), "lacks ['file_ending']"),
        (lambda doc: doc.update(labels={"background": 0, "lesion": 2}), "consecutive"),
        (lambda doc: doc.update(labels={"lesion": 1}), "background with value 0"),
        (lambda doc: doc.update(labels={"background": 0, "both": [1, 2]}), "region-based labels"),
        (lambda doc: doc["labels"].update(ignore=2), "'ignore' label"),
    ],
)
def test_bad_dataset_json_stops_at_once(lesion_mr_dir, tmp_path, change, message):
    root = _copy(lesion_mr_dir, tmp_path / "ds")
    doc = json.loads((root / "dataset.json").read_text())
    change(doc)
    (root / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(DatasetIntegrityError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_raw_dataset(root)


def test_missing_dataset_json(tmp_path):
    with pytest.raises(DatasetIntegrityError, match="dataset.json"):
        load_raw_dataset(tmp_path)


def test_wrong_channel_count_names_the_case(lesion_mr_dir, tmp_path):
    root = _copy(lesion_mr_dir, tmp_path / "ds")
    doc = json.loads((root / "dataset.json").read_text())
    doc["channel_names"] = {"0": "T1", "1": "T2"}
    (root / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(CaseError, match="case brain1: .* hold 1 channel"):
        check_case(load_raw_dataset(root), "brain1")


def test_verify_cli_names_every_bad_case(broken_dataset):
    root, expected = broken_dataset
    proc = warm_python.run([*CLI, "verify", "--dataset_dir", str(root)])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = {line.split(":", 1)[0]: line for line in proc.stdout.splitlines() if ":" in line}
    assert set(lines) == set(expected), proc.stdout
    for case, text in expected.items():
        assert text in lines[case], (case, lines[case])
    assert "5 bad case(s)" in proc.stderr


def test_plan_skips_bad_cases_or_stops_when_strict(broken_dataset, tmp_path):
    root, expected = broken_dataset
    work = tmp_path / "work"
    proc = warm_python.run([*CLI, "plan", "--dataset_dir", str(root), "--work_dir", str(work), "--strict", "True"])
    assert proc.returncode == 1 and "5 bad case(s)" in proc.stderr, proc.stderr[-2000:]
    assert not (work / "plans.json").exists()
    proc = warm_python.run([*CLI, "plan", "--dataset_dir", str(root), "--work_dir", str(work)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    for case in expected:
        assert f"skipped case {case}:" in proc.stderr
    assert set(json.loads((work / "errors_fingerprint.json").read_text())) == set(expected)
    fingerprint = json.loads((work / "dataset_fingerprint.json").read_text())
    assert fingerprint["cases"] == ["brain1", "brain2", "breast1"]
    assert json.loads((work / "dataset.json").read_text())["numTraining"] == 3
    assert "3d_fullres" in json.loads((work / "plans.json").read_text())["configurations"]


def test_int64_nifti_labels_read(lesion_mr_dir, tmp_path):
    """nibabel writes int64 label maps, a pixel type the ITK wheels do not wrap: they still read (as float32)."""
    import nibabel as nib

    root = tmp_path / "nifti"
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    for case in ("brain1", "breast1"):
        image = itk.imread(str(lesion_mr_dir / "imagesTr" / f"{case}_0000.nrrd"))
        itk.imwrite(image, str(root / "imagesTr" / f"{case}_0000.nii.gz"))
        reference = nib.load(root / "imagesTr" / f"{case}_0000.nii.gz")
        label = np.asarray(itk.array_from_image(itk.imread(str(lesion_mr_dir / "labelsTr" / f"{case}.nrrd"))))
        nib.save(
            nib.Nifti1Image(label.T.astype(np.int64), reference.affine, dtype=np.int64),
            root / "labelsTr" / f"{case}.nii.gz",
        )
    doc = {
        "channel_names": {"0": "MR"},
        "labels": {"background": 0, "lesion": 1},
        "numTraining": 2,
        "file_ending": ".nii.gz",
    }
    (root / "dataset.json").write_text(json.dumps(doc))
    dataset = load_raw_dataset(root)
    for case in ("brain1", "breast1"):
        data, seg, props = check_case(dataset, case)
        nrrd = check_case(load_raw_dataset(lesion_mr_dir), case)
        np.testing.assert_array_equal(seg, nrrd[1])
        np.testing.assert_allclose(props["spacing"], nrrd[2]["spacing"], rtol=1e-5)


def test_cli_lists_the_verbs_and_refuses_unknown_words(tmp_path):
    from networks.apps.autoseg.cli import check_options

    proc = warm_python.run([*CLI, "--help"])
    assert proc.returncode == 0 and all(f"autoseg {verb} " in proc.stdout for verb in ("plan", "train", "predict"))
    assert check_options(["--dataset_dir", "plan", "verify"]) == "verify"  # an option's value is not the verb
    assert check_options(["--work_dir=w", "train", "--fold", "0"]) == "train"
    with pytest.raises(ValueError, match="unknown command 'planx'; choose from ensemble, find_best"):
        check_options(["planx", "--dataset_dir", "x"])
    with pytest.raises(ValueError, match="autoseg train: unknown option --epoch; its options are"):
        check_options(["train", "--epoch", "3"])
    proc = warm_python.run([*CLI, "preprocess", "--dataset_dir", str(tmp_path), "--configuration", "2d"])
    assert proc.returncode == 1 and proc.stderr.strip().startswith("error: autoseg preprocess: unknown option")
