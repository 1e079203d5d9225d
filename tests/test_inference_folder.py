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

"""Bundle inference on a folder of users' files, built from real images shipped in packages.

The reliability set: a DSB2018 nuclei image exported as RGB PNG (stain in blue), the full scratch-assay frame as TIFF
(576x210: sides not multiples of 32), a Colin27 T1 MRI slice as NRRD, the Colin27 3D volume, a truncated NIfTI, a
NIfTI with a NaN, and a text file. Usable files are segmented, the others are skipped with one line each, listed in
``outputs/errors.json``, and the run exits non-zero with a last line naming each skipped file and its problem.
"""

from __future__ import annotations

import json
import logging
import os
import shutil

import nibabel as nib
import numpy as np
import pytest
import tifffile
import torch
from monai.data import MetaTensor
from PIL import Image

from networks.data import distinct_output_name, image_datalist
from networks.transforms import CheckInput, RGBToLuminance
from tests.bundle_helpers import TINY_NET, check_ok, run_bundle

NAME = "swin_umamba_nuclei_segmentation"
USABLE = {  # file -> spatial shape of its segmentation (as LoadImage reads it)
    "a_rgb_nuclei.png": (256, 256),
    "c_mri_slice.nrrd": (181, 217),
    "e_scratch_assay.tif": (576, 210),
    "g_dsb.nii.gz": (256, 256),
}
SKIPPED = {  # file -> words of its reason
    "b_volume.nii.gz": "3 spatial dimensions",
    "d_truncated.nii.gz": "Compressed file ended",
    "f_nan.nii.gz": "NaN",
}


def _array(path) -> np.ndarray:
    return np.asarray(nib.load(path).dataobj)


@pytest.fixture(scope="module")
def reliability_dir(tmp_path_factory, nuclei2d_dir, brain2d_dir):
    folder = tmp_path_factory.mktemp("reliability")
    dsb = _array(nuclei2d_dir / "images" / "dsb2018_q3.nii.gz").astype(np.float32)
    blue = np.zeros((*dsb.T.shape, 3), np.uint8)  # PNG rows x cols; LoadImage reads it back transposed, like NIfTI
    blue[..., 2] = np.round(255 * (dsb.T - dsb.min()) / (dsb.max() - dsb.min())).astype(np.uint8)
    Image.fromarray(blue).save(folder / "a_rgb_nuclei.png")
    frame = _array(nuclei2d_dir / "images" / "ndev_t09.nii.gz")
    tifffile.imwrite(folder / "e_scratch_assay.tif", frame.T)  # TIFF rows x cols
    brain_case = json.loads((brain2d_dir / "dataset.json").read_text())["test"][0]["image"]
    import itk

    mri = _array(brain2d_dir / brain_case).astype(np.float32)
    itk.imwrite(itk.image_from_array(np.ascontiguousarray(mri.T)), str(folder / "c_mri_slice.nrrd"))
    from networks.data.datasets.aal import MRICRON_DIR
    from networks.data.datasets.sources import DEFAULT_CACHE_DIR, extract_deb, fetch_deb

    deb_root = extract_deb(fetch_deb(DEFAULT_CACHE_DIR, "mricron-data"), folder / "deb")
    (folder / "b_volume.nii.gz").write_bytes((deb_root / MRICRON_DIR / "ch2.nii.gz").read_bytes())
    raw = (nuclei2d_dir / "images" / "dsb2018_q0.nii.gz").read_bytes()
    (folder / "d_truncated.nii.gz").write_bytes(raw[: len(raw) // 2])
    nan = _array(nuclei2d_dir / "images" / "dsb2018_q1.nii.gz").astype(np.float32)
    nan[10, 20] = np.nan
    nib.save(nib.Nifti1Image(nan, np.eye(4)), folder / "f_nan.nii.gz")
    (folder / "g_dsb.nii.gz").write_bytes((nuclei2d_dir / "images" / "dsb2018_q3.nii.gz").read_bytes())
    (folder / "notes.txt").write_text("not an image: ignored by the default input pattern\n")

    shutil.rmtree(folder / "deb")
    return folder


@pytest.fixture(scope="module")
def trained_bundle(nuclei_trained):
    """The run's trained nuclei bundle (conftest's ``nuclei_trained``); inference only reads it."""
    return nuclei_trained / NAME


@pytest.fixture(scope="module")
def mixed_run(trained_bundle, reliability_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed_out")
    args = ["--input_dir", str(reliability_dir), "--output_dir", str(out), "--patch_size", "[64,64]", *TINY_NET]
    return run_bundle(trained_bundle, ["inference.json"], *args), out


def test_usable_files_are_segmented(mixed_run):
    _, out = mixed_run
    for name, shape in USABLE.items():
        stem = name.split(".")[0]
        seg = _array(out / f"{stem}_seg.nii.gz")
        assert seg.shape[:2] == shape and seg.dtype == np.uint8 and set(np.unique(seg)) <= {0, 1}, name
    assert not list(out.glob("b_volume*")) and not list(out.glob("notes*"))


def test_bad_files_are_skipped_and_listed(mixed_run):
    proc, out = mixed_run
    assert proc.returncode != 0
    errors = {e["file"].rsplit("/", 1)[-1]: e["error"] for e in json.loads((out / "errors.json").read_text())}
    assert set(errors) == set(SKIPPED)
    for name, words in SKIPPED.items():
        assert words in errors[name], errors[name]
        assert f"skipped {out.parent}" not in proc.stderr  # one line per file, naming the input, not the output
        assert any("skipped " in line and name in line for line in proc.stderr.splitlines()), name
    last = proc.stderr.strip().splitlines()[-1]
    assert all(name in last and words in last for name, words in SKIPPED.items()), last
    assert "Traceback" not in proc.stderr


def test_rgb_conversion_is_logged(mixed_run):
    proc, _ = mixed_run
    assert "a_rgb_nuclei.png: RGB image converted to one channel by luminance" in proc.stdout + proc.stderr


def test_clean_folder_exits_zero(trained_bundle, reliability_dir, tmp_path):
    args = ["--input_dir", str(reliability_dir), "--input_pattern", "*.tif", "--output_dir", str(tmp_path)]
    proc = run_bundle(trained_bundle, ["inference.json"], *args, "--patch_size", "[64,64]", *TINY_NET)
    check_ok(proc)
    assert json.loads((tmp_path / "errors.json").read_text()) == []
    assert (tmp_path / "e_scratch_assay_seg.nii.gz").is_file()


def test_folder_of_only_bad_files_fails_clearly(trained_bundle, reliability_dir, tmp_path):
    args = ["--input_dir", str(reliability_dir), "--input_pattern", "d_*", "--output_dir", str(tmp_path)]
    proc = run_bundle(trained_bundle, ["inference.json"], *args, "--patch_size", "[64,64]", *TINY_NET)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "no usable input file" in last and "d_truncated.nii.gz" in last


def test_image_datalist_takes_loadimage_formats(reliability_dir):
    names = [d["image"].rsplit("/", 1)[-1] for d in image_datalist(str(reliability_dir))]
    assert names == sorted([*USABLE, *SKIPPED])


def test_rgb_to_luminance_weights(caplog):
    rgb = MetaTensor(torch.tensor([[[100.0]], [[50.0]], [[10.0]]]), meta={"filename_or_obj": "x.png"})
    with caplog.at_level(logging.WARNING):
        gray = RGBToLuminance(num_channels=1)(rgb)
    assert gray.shape == (1, 1, 1) and torch.isclose(gray, torch.tensor(0.299 * 100 + 0.587 * 50 + 0.114 * 10)).all()
    assert "x.png" in caplog.text
    rgba = torch.ones(4, 2, 2) * 7
    assert torch.allclose(RGBToLuminance()(rgba), torch.full((1, 2, 2), 7.0))  # grey stays grey, alpha dropped
    assert RGBToLuminance(num_channels=3)(rgba[:3]).shape == (3, 2, 2)  # 3-channel networks keep colour


def test_label_values_outside_classes_name_the_file():
    image = MetaTensor(torch.zeros(1, 4, 4), meta={"filename_or_obj": "img.nii.gz"})
    label = MetaTensor(torch.zeros(1, 4, 4), meta={"filename_or_obj": "mask.png"})
    label[0, 0, :2] = 255
    with pytest.raises(ValueError, match=r"mask.png' has values \[255\].*0..10"):
        CheckInput(num_classes=11)(image, label)
    label[0, 0, :2] = 10
    CheckInput(num_classes=11)(image, label)


def test_distinct_output_names(tmp_path):
    for name in ("a.png", "a.tif", "b.nii.gz"):
        (tmp_path / name).write_bytes(b"")
    names = {
        n: distinct_output_name({"filename_or_obj": str(tmp_path / n)}, None)["subject"] for n in os.listdir(tmp_path)
    }
    assert names["a.png"].endswith("a_png") and names["a.tif"].endswith("a_tif")
    assert names["b.nii.gz"] == str(tmp_path / "b.nii.gz")  # unambiguous names keep MONAI's default
