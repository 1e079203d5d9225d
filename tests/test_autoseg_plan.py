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
"""Planning and preprocessing of the nnU-Net recipe against nnunetv2 2.8.1's own outputs on real datasets.

``tests/data/nnunetv2_2.8.1/<dataset>/`` holds what nnunetv2 wrote for the prepared datasets (fingerprint, default and
ResEnc M plans, and summaries of its preprocessed cases), made with ``python -m networks.apps.nnunet_reference run`` and
``reference_files``; these tests compare ours against them key by key without installing nnunetv2 (the slow test
in test_autoseg_nnunet_reference.py reruns nnunetv2 itself).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from networks.apps.autoseg import AutoSegRunner, CPUPlanner, plan_experiment
from networks.apps.autoseg.planning.topology import plain_unet_feature_map_size, residual_unet_feature_map_size
from tests import warm_python
from tests.conftest import prepared_raw_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).resolve().parent / "data" / "nnunetv2_2.8.1"
CLI = [sys.executable, "-m", "networks.apps.autoseg"]
# compute_conv_feature_map_size of dynamic_network_architectures 0.4.4 (nnunetv2's networks) for the cases below
PLAIN_3D_128, RESIDUAL_3D_128, PLAIN_ANISO = 452796416, 557420544, 539329280
DATASETS = ("lesion_ct", "lesion_mr", "brain3d", "nuclei3d", "nuclei2d_nnunet", "brain2d_nnunet")


def _reference_module():
    from networks.apps import nnunet_reference

    return nnunet_reference


differences = _reference_module().differences


def autoseg(command: str, name: str, work: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``autoseg command`` on a prepared dataset and check it succeeded."""
    cmd = [*CLI, command, "--dataset_dir", str(prepared_raw_dataset(name)), "--work_dir", str(work), *args]
    proc = warm_python.run(cmd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """Each dataset fingerprinted and planned once by the CLI (default planner)."""
    done = {}

    def run(name: str) -> Path:
        if name not in done:
            work = tmp_path_factory.mktemp(name)
            autoseg("plan", name, work)
            done[name] = work
        return done[name]

    return run


@pytest.mark.parametrize("name", DATASETS)
def test_fingerprint_and_plans_equal_nnunetv2(planned, name):
    work = planned(name)
    ours = json.loads((work / "dataset_fingerprint.json").read_text())
    ours.pop("cases")
    assert differences(ours, json.loads((REFERENCE / name / "dataset_fingerprint.json").read_text())) == []
    plans = json.loads((work / "plans.json").read_text())
    assert differences(plans, json.loads((REFERENCE / name / "nnUNetPlans.json").read_text())) == []


@pytest.mark.parametrize("name", DATASETS)
def test_resenc_m_plans_equal_nnunetv2(planned, name):
    work = planned(name)
    dataset_json = json.loads((work / "dataset.json").read_text())
    fingerprint = json.loads((work / "dataset_fingerprint.json").read_text())
    ours = plan_experiment(dataset_json, fingerprint, "resenc_m", dataset_name=name)
    assert differences(ours, json.loads((REFERENCE / name / "nnUNetResEncUNetMPlans.json").read_text())) == []


def _summary(folder: Path, case: str) -> dict:
    data = np.load(folder / f"{case}.npy").astype(np.float64)
    seg = np.load(folder / f"{case}_seg.npy")
    props = json.loads((folder / f"{case}.json").read_text())
    values, counts = np.unique(seg, return_counts=True)
    return {
        "shape": list(data.shape),
        "sum": float(data.sum()),
        "sum_of_squares": float((data**2).sum()),
        "seg_counts": {str(int(v)): int(c) for v, c in zip(values, counts)},
        "bbox_used_for_cropping": props["bbox_used_for_cropping"],
        "num_class_locations": props["num_foreground_locations"],
    }


@pytest.mark.parametrize(
    "name, configuration", [("lesion_ct", "3d_lowres"), ("lesion_mr", "3d_fullres"), ("nuclei2d_nnunet", "2d")]
)
def test_preprocessed_cases_equal_nnunetv2(planned, name, configuration):
    """Same shapes, crops, label voxels and foreground samples; intensities equal to float32 rounding."""
    work = planned(name)
    autoseg("preprocess", name, work, "--configurations", configuration)
    identifier = json.loads((work / "plans.json").read_text())["configurations"][configuration]["data_identifier"]
    reference = json.loads((REFERENCE / name / f"{identifier}.json").read_text())
    for case, theirs in reference.items():
        ours = _summary(work / identifier, case)
        for key in ("sum", "sum_of_squares"):
            assert ours.pop(key) == pytest.approx(theirs.pop(key), rel=1e-6, abs=1e-3), (case, key)
        assert ours == theirs, case


def test_preprocess_accepts_nnunetv2_plans(planned, tmp_path):
    """A plans file written by nnunetv2 drives our preprocessing, with the same result as our own plans."""
    work = planned("lesion_mr")
    shutil.copy(REFERENCE / "lesion_mr" / "nnUNetPlans.json", tmp_path / "nnUNetPlans.json")
    for plans_file, out in ((str(tmp_path / "nnUNetPlans.json"), tmp_path / "theirs"), (None, work)):
        args = ["--plans_file", plans_file] if plans_file else []
        autoseg("preprocess", "lesion_mr", out, "--configurations", "2d", *args)
    for case in ("brain1", "brain2", "breast1"):
        for suffix in (".npy", "_seg.npy"):
            np.testing.assert_array_equal(
                np.load(tmp_path / "theirs" / "nnUNetPlans_2d" / f"{case}{suffix}"),
                np.load(work / "nnUNetPlans_2d" / f"{case}{suffix}"),
            )


def test_feature_map_sizes_match_dynamic_network_architectures():
    """nnU-Net's VRAM proxy, counted from the arguments, equals compute_conv_feature_map_size of its networks
    (values computed with dynamic_network_architectures 0.4.4, deep_supervision=False)."""
    strides_3d = ((1, 1, 1), (2, 2, 2), (2, 2, 2), (2, 2, 2), (2, 2, 2), (2, 2, 2))
    features_3d = (32, 64, 128, 256, 320, 320)
    assert plain_unet_feature_map_size((128, 128, 128), strides_3d, features_3d, (2,) * 6, (2,) * 5, 3) == PLAIN_3D_128
    assert (
        residual_unet_feature_map_size((128, 128, 128), strides_3d, features_3d, (1, 3, 4, 6, 6, 6), (1,) * 5, 3)
        == RESIDUAL_3D_128
    )
    strides_aniso = ((1, 1, 1), (1, 2, 2), (2, 2, 2), (2, 2, 2), (1, 2, 2), (1, 2, 2))
    assert plain_unet_feature_map_size((40, 224, 224), strides_aniso, features_3d, (2,) * 6, (2,) * 5, 2) == PLAIN_ANISO


def test_cpu_planner_fits_the_time_budget(planned):
    """The CPU preset shrinks patch/batch to the budget with nnU-Net's rules; its prediction respects the budget."""
    work = planned("lesion_mr")
    dataset_json = json.loads((work / "dataset.json").read_text())
    fingerprint = json.loads((work / "dataset_fingerprint.json").read_text())
    default = plan_experiment(dataset_json, fingerprint)["configurations"]["3d_fullres"]
    throughput = {2: 1e11, 3: 1e11}  # fixed, so the test does not depend on this machine's speed
    # while the patch shrinks, two samples fill the budget; a budget above the full patch's cost holds a larger
    # batch, up to the cap (as if there were 300 cases: 3 cases cap every batch at the floor of 2)
    larger = dict(dataset_json, numTraining=300)
    batch_sizes = []
    for budget, dataset in ((0.5, dataset_json), (8.0, larger), (200.0, dataset_json), (200.0, larger)):
        plans = CPUPlanner(
            dataset, fingerprint, seconds_per_iteration=budget, throughput=throughput, dataset_name="lesion_mr"
        ).plan_experiment()
        config = plans["configurations"]["3d_fullres"]
        model = config["cpu_time_model"]
        # the budget rule, recomputed from the plan: one sample costs 3 x its multiply-adds / throughput; the patch
        # shrinks until two samples fit; the batch is what the budget holds, capped at 5% of the dataset's voxels
        per_sample = 3 * model["multiply_adds_per_sample"] / throughput[3]
        voxels = np.prod(config["median_image_size_in_voxels"]) * dataset["numTraining"]
        cap = round(voxels * 0.05 / np.prod(config["patch_size"]))
        assert 2 * per_sample <= budget, (budget, config["patch_size"])
        assert config["batch_size"] == max(min(math.floor(budget / per_sample), cap), 2), (budget, cap)
        assert model["predicted_seconds_per_iteration"] == pytest.approx(config["batch_size"] * per_sample)
        assert model["predicted_seconds_per_iteration"] <= budget
        if budget <= 8:  # the GPU plan's patch is larger than these budgets hold
            assert np.prod(config["patch_size"]) <= np.prod(default["patch_size"])
        assert config["spacing"] == default["spacing"]  # only patch, topology and batch are fitted
        batch_sizes.append((config["batch_size"], math.floor(budget / per_sample), cap))
    # each branch of the rule was taken: two samples fill the budget, the cap binds, the budget holds more than two
    assert [b[0] == b[1] == 2 for b in batch_sizes[:2]] == [True, True], batch_sizes
    assert batch_sizes[2][1] > batch_sizes[2][2] and 2 < batch_sizes[3][0] == batch_sizes[3][1], batch_sizes
    small = CPUPlanner(dataset_json, fingerprint, seconds_per_iteration=0.5, throughput=throughput).plan_experiment()
    large = CPUPlanner(dataset_json, fingerprint, seconds_per_iteration=8.0, throughput=throughput).plan_experiment()
    assert np.prod(small["configurations"]["3d_fullres"]["patch_size"]) < np.prod(
        large["configurations"]["3d_fullres"]["patch_size"]
    )


def test_plans_of_another_planner_are_replaced_not_merged(planned, tmp_path, caplog):
    """Re-planning keeps custom configurations of the same plans only; another planner's file is replaced whole
    (in-process: the ``plan`` command itself is run by ``planned``)."""
    work = planned("lesion_ct")
    plans_file = tmp_path / "plans.json"
    plans = json.loads((work / "plans.json").read_text())
    plans["configurations"]["3d_fullres_bigger"] = {"inherits_from": "3d_fullres", "patch_size": [32, 320, 320]}
    plans_file.write_text(json.dumps(plans))
    for planner in ("default", "cpu"):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            AutoSegRunner(prepared_raw_dataset("lesion_ct"), work, plans_file=str(plans_file)).plan(planner=planner)
        names = set(json.loads(plans_file.read_text())["configurations"])
        reference = set(json.loads((REFERENCE / "lesion_ct" / "nnUNetPlans.json").read_text())["configurations"])
        if planner == "default":
            assert names == reference | {"3d_fullres_bigger"}  # the user's configuration survives
        else:
            assert "3d_fullres_bigger" not in names and "replacing plans nnUNetPlans" in caplog.text


@pytest.mark.parametrize(
    "name, planner, options, reference",
    [
        ("lesion_ct", "default", {"gpu_memory_target_in_gb": 24}, "nnUNetPlans_24GB"),
        ("lesion_ct", "resenc_m", {"gpu_memory_target_in_gb": 4}, "nnUNetResEncUNetMPlans_4GB"),
        ("lesion_mr", "default", {"overwrite_target_spacing": [3.0, 1.0, 1.0]}, "nnUNetPlans_spacing_3_1_1"),
    ],
)
def test_non_default_options_equal_nnunetv2(planned, name, planner, options, reference):
    """--memory_target_gb and a fixed target spacing plan as nnunetv2's -gpu_memory_target /
    -overwrite_target_spacing (reference files from ``python -m networks.apps.nnunet_reference plan_variant``)."""
    work = planned(name)
    dataset_json = json.loads((work / "dataset.json").read_text())
    fingerprint = json.loads((work / "dataset_fingerprint.json").read_text())
    ours = plan_experiment(dataset_json, fingerprint, planner, dataset_name=name, plans_name=reference, **options)
    assert differences(ours, json.loads((REFERENCE / name / f"{reference}.json").read_text())) == []
