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
"""The timing benchmarks record what they print in a results file (the tables of docs/benchmarks.md are rendered
from such files); at a tiny size, so nothing here is a timing measurement."""

from __future__ import annotations

import json
import sys

from networks.apps.evidence import measurement_section
from tests import warm_python
from tests.conftest import REPO_ROOT


def _record(script: str, args: list[str], results) -> dict:
    cmd = [sys.executable, str(REPO_ROOT / "benchmarks" / script), *args, "--results", str(results)]
    proc = warm_python.run(cmd, cwd=REPO_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(results.read_text())
    printed = proc.stdout
    for row in data["table"]:  # the file holds the table the run printed
        assert "| " + " | ".join(row) + " |" in printed
    assert data["command"].startswith(f"python benchmarks/{script} ") and "--results" in data["command"]
    assert data["targets"]["sections"] == [["docs/benchmarks.md", f"results:{results.stem}"]]
    assert data["table"][0][0] in measurement_section(data, results.name)
    return data


def test_train_step_records_its_table(tmp_path):
    args = ["--nets", "UNet,SegResNet", "--size", "32", "--batch", "1", "--repeats", "1", "--warmup", "0"]
    data = _record("train_step.py", args, tmp_path / "train_step_check.json")
    assert [r["net"] for r in data["measurements"]] == ["UNet", "SegResNet"]
    assert all(r["train_s"] > 0 and r["macs"] > 0 for r in data["measurements"])


def test_selective_scan_records_its_table(tmp_path):
    args = ["--stages", "4", "--repeats", "1", "--numba", "False", "--reference", "False"]  # the reference is slow
    data = _record("selective_scan.py", args, tmp_path / "scan_check.json")
    assert [(r["stage"], r["pass"]) for r in data["measurements"]] == [(4, "fwd"), (4, "fwd+bwd")]
    assert data["columns"] == ["stage", "L", "dim", "pass", "torch (ms)"]
    assert data["notes"] == ["best of 1 run(s)"]
