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
"""Ours against nnunetv2 2.8.1 itself (slow: builds nnunetv2's venv once, ~1 min, then runs both tools).

Bit for bit: fingerprint, default and ResEnc M plans, and every preprocessed array and label map of lesion_ct
(anisotropic CT, all four configurations including 3d_lowres and the cascade).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import prepared_raw_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_lesion_ct_equals_nnunetv2(tmp_path):
    from networks.apps import nnunet_reference as reference

    dataset = prepared_raw_dataset("lesion_ct")
    work = tmp_path / "ours"
    cli = [sys.executable, "-m", "networks.apps.autoseg"]
    for args in (["preprocess"], ["plan", "--planner", "resenc_m", "--plans_file", "plans_resenc_m.json"]):
        proc = subprocess.run(
            [*cli, *args, "--dataset_dir", str(dataset), "--work_dir", str(work)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    python = reference.venv()
    reference.run(str(dataset), str(tmp_path / "default"), "default", python=python)
    reference.run(str(dataset), str(tmp_path / "resenc_m"), "resenc_m", configurations="2d", python=python)
    report = reference.compare(str(work), str(tmp_path / "default"), "default", python=python)
    assert report["fingerprint"] == [] and report["plans"] == []
    assert set(report["cases"]) == {"nnUNetPlans_2d", "nnUNetPlans_3d_fullres", "nnUNetPlans_3d_lowres"}
    for identifier, cases in report["cases"].items():
        assert set(cases) == {"lung1", "lung2"}
        for case, entry in cases.items():
            assert entry["data_max_abs_diff"] == 0.0 and entry["seg_voxels_different"] == 0, (identifier, case)
            assert all(v for k, v in entry.items() if k.endswith("_equal")), (identifier, case, entry)
    assert (
        reference.compare(str(work), str(tmp_path / "resenc_m"), "resenc_m", python=python, cases=False)["plans"] == []
    )
