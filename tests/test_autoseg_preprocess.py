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
"""Preprocessing cache of the nnU-Net recipe: complete-or-absent cases, resume after a kill, invalidation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests import warm_python

REPO_ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "networks.apps.autoseg"]
CASES = ("nuclei3d_q0", "nuclei3d_q1", "nuclei3d_q2", "nuclei3d_q3")


def _preprocess(dataset: Path, work: Path) -> subprocess.CompletedProcess:
    proc = warm_python.run(
        [*CLI, "preprocess", "--dataset_dir", str(dataset), "--work_dir", str(work), "--configurations", "3d_fullres"]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_preprocess_outputs_and_resume(nuclei3d_dir, tmp_path):
    work = tmp_path / "work"
    _preprocess(nuclei3d_dir, work)  # plans first (no plans.json yet), then preprocesses
    plans = json.loads((work / "plans.json").read_text())
    folder = work / plans["configurations"]["3d_fullres"]["data_identifier"]
    for case in CASES:
        data, seg = np.load(folder / f"{case}.npy"), np.load(folder / f"{case}_seg.npy")
        props = json.loads((folder / f"{case}.json").read_text())
        assert data.dtype == np.float32 and seg.dtype == np.int8 and data.shape[1:] == seg.shape[1:]
        assert data.shape == (1, 60, 128, 128) and props["spacing"] == [1.0, 1.0, 1.0]  # 3D TIFF + its JSON
        assert abs(float(data.mean())) < 1e-3 and abs(float(data.std()) - 1) < 1e-3  # z-score per image
        assert set(np.unique(seg)) <= {-1, 0, 1}
        locations = np.load(folder / f"{case}_locations.npz")["class_1"]
        assert locations.shape[1] == 4 and np.all(seg[tuple(locations.T)] == 1)  # sampled inside the class

    # a killed run leaves a case without its JSON (written last) and a temporary file: both are redone / removed
    (folder / "nuclei3d_q1.json").unlink()
    (folder / "nuclei3d_q2_seg.npy.tmp999999999.npy").write_bytes(b"partial")  # pid of no process
    before = _mtimes(folder)
    proc = _preprocess(nuclei3d_dir, work)
    after = _mtimes(folder)
    assert "nuclei3d_q2_seg.npy.tmp999999999.npy" not in after
    assert after["nuclei3d_q1.npy"] != before["nuclei3d_q1.npy"] and "nuclei3d_q1.json" in after
    for case in ("nuclei3d_q0", "nuclei3d_q2", "nuclei3d_q3"):
        assert after[f"{case}.npy"] == before[f"{case}.npy"], f"{case} was recomputed"
    assert "3 of 4 case(s) already preprocessed" in proc.stderr

    # a changed plan invalidates the cache: every case is redone
    plans["configurations"]["3d_fullres"]["spacing"] = [2.0, 2.0, 2.0]
    (work / "plans.json").write_text(json.dumps(plans))
    _preprocess(nuclei3d_dir, work)
    assert np.load(folder / "nuclei3d_q0.npy").shape == (1, 30, 64, 64)
