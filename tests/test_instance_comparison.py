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
"""scripts/instance_comparison.py: every (method, seed) of the nuclei instance comparison recorded per test image in a
results file, and its table rendered from it."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from networks.apps.evidence import instance_comparison_section, seed_values
from tests.conftest import REPO_ROOT, prepared

SCRIPT = REPO_ROOT / "scripts" / "instance_comparison.py"


def _module():
    """Import scripts/instance_comparison.py once (a script, not a package module)."""
    if "instance_comparison" not in sys.modules:
        spec = importlib.util.spec_from_file_location("instance_comparison", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["instance_comparison"] = module
        spec.loader.exec_module(module)
    return sys.modules["instance_comparison"]


def test_the_untrained_row_is_recorded_per_image_once_and_rendered(tmp_path):
    prepared("nuclei2d")
    results = tmp_path / "instances.json"
    data = _module().run("nuclei2d", seeds="0,1", rows="otsu_watershed", out_root=str(tmp_path / "out"),
                         results=str(results))  # fmt: skip
    saved = json.loads(results.read_text())
    assert saved == json.loads(json.dumps(data)) and list(saved["rows"]) == ["otsu_watershed"]
    runs = saved["rows"]["otsu_watershed"]["runs"]
    assert list(runs) == ["0"]  # no training, so one run whatever the seeds
    run = runs["0"]
    assert sorted(run["cases"]) == ["dsb2018_q3", "ndev_t08", "ndev_t09"]
    assert sum(c["n_true"] for c in run["cases"].values()) == 191
    # the pooled DSB accuracy the table shows is the one the metrics code computed for the whole set
    assert seed_values(saved, "otsu_watershed", "dsb_accuracy_0.5")[0] == pytest.approx(
        run["summary"]["dsb_accuracy_0.5"], abs=1e-6
    )
    assert "--rows otsu_watershed" in run["command"]
    text = instance_comparison_section(saved, "instances.json")
    assert "3 test images, 191 nuclei" in text and "| Otsu + distance watershed" in text
    again = _module().run("nuclei2d", seeds="2", rows="otsu_watershed", out_root=str(tmp_path / "out"),
                          results=str(results))  # fmt: skip
    assert list(again["rows"]["otsu_watershed"]["runs"]) == ["0"]
    with pytest.raises(ValueError, match="rows must be in"):
        _module().run("nuclei2d", rows="stardist", results=str(results))
    with pytest.raises(ValueError, match="--results FILE"):
        _module().run("nuclei2d", overrides="--epochs 1")


@pytest.mark.slow
def test_both_bundles_trained_per_seed_predict_and_are_scored(tmp_path):
    """The whole experiment at one epoch (validation after it, so each training selects a model)."""
    prepared("nuclei2d")
    results = tmp_path / "instances.json"
    data = _module().run("nuclei2d", seeds="0", out_root=str(tmp_path / "out"), results=str(results),
                         overrides="--epochs 1 --val_interval 1 --num_workers 0")  # fmt: skip
    assert set(data["rows"]) == set(_module().ROWS)
    for row, entry in data["rows"].items():
        run = entry["runs"]["0"]
        assert len(run["cases"]) == 3 and 0 <= run["summary"]["coco_map"] <= 1, row
    assert "--seed 0" in data["rows"]["maskrcnn"]["runs"]["0"]["bundle_commands"][0]
    text = instance_comparison_section(data, "instances.json")
    assert text.count("[95% interval]") == 3 and "| Mask R-CNN (this bundle) | 1 |" in text
