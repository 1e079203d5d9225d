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

"""scripts/run_workflow.py: the commands it builds (dry run) and one tiny real end-to-end run."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from networks.apps.steps import replace_section
from tests import warm_python
from tests.bundle_helpers import PYTHON, REPO_ROOT, subset_dataset

SCRIPT = REPO_ROOT / "scripts" / "run_workflow.py"


def _module():
    """Import scripts/run_workflow.py once (a script, not a package module)."""
    if "run_workflow" not in sys.modules:
        spec = importlib.util.spec_from_file_location("run_workflow", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["run_workflow"] = module  # dataclasses resolve annotations through sys.modules
        spec.loader.exec_module(module)
    return sys.modules["run_workflow"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return warm_python.run([PYTHON, str(SCRIPT), *args], env=env, timeout=300)


def _commands(stdout: str) -> list[str]:
    return [line[2:] for line in stdout.splitlines() if line.startswith("$ ")]


def test_dry_run_prints_bundle_commands():
    net = "--network_def#feature_size 16 --network_def#dims [32,64,128,256]"
    proc = _cli("nuclei", "--dry_run", "--epochs", "2", "--patch_size", "[128,128]", f"--overrides={net}")
    assert proc.returncode == 0, proc.stderr
    prepare, train, evaluate, infer = _commands(proc.stdout)
    assert prepare == "python -m networks.apps.prepare_data nuclei2d --out data/nuclei2d"
    bundle = "bundle/swin_umamba_nuclei_segmentation"
    assert train.startswith(f"python -m monai.bundle run --config_file {bundle}/configs/train.json ")
    assert "--epochs 2 --val_interval 2" in train and "--dataset_dir data/nuclei2d" in train
    assert "--cpu_budget_s" not in train
    assert f"\"['{bundle}/configs/train.json','{bundle}/configs/evaluate.json']\"" in evaluate
    assert f"--input_dir {bundle}/outputs/test_images --output_dir {bundle}/outputs/predictions" in infer
    for cmd in (train, evaluate, infer):
        assert "--patch_size '[128,128]'" in cmd and "--network_def#dims '[32,64,128,256]'" in cmd
        assert f"--meta_file {bundle}/configs/metadata.json --logging_file {bundle}/configs/logging.conf" in cmd


def test_network_fragment_budget_and_out_dir():
    wf = _module().Workflow("brain", network="unet", out_dir="runs/x", cpu_budget_s=30)
    bundle = "bundle/swin_umamba_brain_segmentation"
    train, evaluate = " ".join(wf.train_cmd()), " ".join(wf.evaluate_cmd())
    assert f"['{bundle}/configs/train.json','networks/configs/network_def/unet.json']" in train
    assert (
        f"['{bundle}/configs/train.json','networks/configs/network_def/unet.json','{bundle}/configs/evaluate.json']"
        in evaluate
    )
    assert "--cpu_budget_s 30" in train and "--ckpt_dir runs/x/models --dataset_dir data/brain2d" in train
    assert "--ckpt_path runs/x/checkpoints/checkpoint_last.pt" in evaluate and "--output_dir runs/x/eval" in evaluate
    assert "--checkpointloader#load_path runs/x/checkpoints/checkpoint_last.pt" in " ".join(wf.infer_cmd())
    small = " ".join(_module().Workflow("nuclei", small=True).train_cmd())
    assert "--network_def#feature_size 16" in small and "--network_def#depths [1,1,1,1]" in small
    assert "--network_def#depths" not in " ".join(_module().Workflow("nuclei", network="unet", small=True).train_cmd())
    small_d = " ".join(_module().Workflow("nuclei", network="swin_umamba_d", small=True).train_cmd())
    assert "--network_def#depths [1,1,1,1]" in small_d and "feature_size" not in small_d  # SwinUMambaD has none


def test_bad_arguments_fail_clearly():
    module = _module()
    with pytest.raises(ValueError, match="networks/configs/network_def/nope.json"):
        module.Workflow("nuclei", network="nope")
    with pytest.raises(ValueError, match="'liver'"):
        module.Workflow("liver")


def test_compare_dry_run_and_sections(tmp_path):
    # a setting other than the committed results file's goes to a file of its own
    proc = _cli("compare", "brain", "--networks", "[unet,segresnet]", "--cpu_budget_s", "20", "--seeds", "0,1",
                "--results", str(tmp_path / "cmp.json"), "--dry_run")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cmds = _commands(proc.stdout)
    assert len(cmds) == 9 and "runs/compare/brain/segresnet/seed1/eval" in cmds[-1] and "--seed 1" in cmds[-2]
    proc = _cli(
        "compare",
        "brain",
        "--networks",
        "[swin_umamba]",
        "--scan_backend",
        "torch",
        "--seeds",
        "0",
        "--dry_run",
        "--results",
        str(tmp_path / "cmp_torch.json"),
    )
    assert _commands(proc.stdout)[1].startswith("ZOO_SELECTIVE_SCAN_BACKEND=torch python -m monai.bundle run")
    md = tmp_path / "results.md"
    md.write_text("# Results\n\nintro\n")
    replace_section(str(md), "results:brain", "old table")
    replace_section(str(md), "results:brain", "new table")
    assert md.read_text() == "# Results\n\nintro\n\n<!-- results:brain -->\nnew table\n<!-- /results:brain -->\n"


def test_tiny_end_to_end(tmp_path, brain2d_dir):
    """prepare is skipped (fixture data); train -> evaluate -> infer with a tiny UNet schedule under a CPU budget."""
    data = subset_dataset(brain2d_dir, tmp_path / "data")
    out = tmp_path / "out"
    args = ["brain", "--skip_prepare", "--network", "unet", "--data_dir", str(data), "--out_dir", str(out)]
    args += ["--epochs", "2", "--cpu_budget_s", "0.001", "--patch_size", "[64,64]", "--batch_size", "1"]
    proc = _cli(*args, "--num_samples", "1")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "== brain2d test split (2 cases): Dice" in proc.stdout
    budget = json.loads((out / "eval" / "cpu_budget.json").read_text())
    assert budget["exhausted"] and budget["iterations"] >= 1
    assert len(list((out / "predictions").glob("*_seg.nii.gz"))) == 2
    scores = _module().Workflow("brain", out_dir=str(out)).case_scores()  # what compare records per run
    assert len(scores) == 2 and all(set(v) == {"dice", "nsd"} and 0 <= v["dice"] <= 1 for v in scores.values())


def test_default_training_recorded_and_rendered(tmp_path, brain2d_dir):
    """`default` runs the bundle's own schedule (here shortened through --overrides, which needs --results), records
    per-case and per-class scores with the commands and the figure, and renders the bundle's section and metadata."""
    from networks.apps.evidence import bundle_training_section

    data = subset_dataset(brain2d_dir, tmp_path / "data")
    results = tmp_path / "bundle_training.json"
    short = "--epochs 1 --patch_size [64,64] --batch_size 1 --num_workers 0 --warmup_epochs 1"
    refused = _cli("default", "brain", "--skip_prepare", f"--overrides={short}", "--dry_run")
    assert refused.returncode != 0 and "--results FILE" in refused.stderr
    args = ["default", "brain", "--skip_prepare", "--data_dir", str(data), "--seeds", "0", f"--overrides={short}"]
    proc = _cli(*args, "--results", str(results), "--out_root", str(tmp_path / "runs"))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    train = _commands(proc.stdout)[0]
    assert "--seed 0 --epochs 1 --patch_size" in train and "--val_interval" not in train
    recorded = json.loads(results.read_text())
    run = recorded["rows"]["default"]["runs"]["0"]
    assert run["epochs"] == 1 and run["best_epoch"] == 1 and "--overrides" in run["command"]
    assert len(run["cases"]) == 2 and all(len(c["class_dice"]) == 10 for c in run["cases"].values())
    assert recorded["classes"][0] == "frontal" and (tmp_path / "bundle_training.png").is_file()
    section = bundle_training_section(recorded, "bundle_training.json")
    assert "| swin_umamba_brain_segmentation default training | 1 |" in section and "| vermis |" in section
    assert run["bundle_commands"] == _commands(proc.stdout)[:2]  # as printed, and as the README writes them
    assert run["bundle_commands"][1] in section
    again = _cli(*args, "--results", str(results), "--out_root", str(tmp_path / "runs"), "--dry_run")
    assert _commands(again.stdout) == []  # a seed already recorded is not trained again


def test_converge_records_the_validation_curve_and_skips_recorded_runs(tmp_path, brain2d_dir):
    """`converge` trains with the bundle's recipe (shortened here through --overrides, which needs --results), reads
    the per-epoch validation Dice back from the run's TensorBoard events, draws the curves and skips recorded runs."""
    data = subset_dataset(brain2d_dir, tmp_path / "data")
    results = tmp_path / "converged.json"
    short = "--epochs 2 --patch_size [64,64] --batch_size 1 --num_workers 0 --warmup_epochs 1"
    args = ["converge", "brain", "--networks", "[unet]", "--skip_prepare", "--data_dir", str(data), "--seeds", "0"]
    args += [f"--overrides={short}", "--results", str(results), "--out_root", str(tmp_path / "runs")]
    proc = _cli(*args)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    run = json.loads(results.read_text())["rows"]["unet"]["runs"]["0"]
    assert [epoch for epoch, _ in run["validation_curve"]] == [1, 2] and run["best_epoch"] in (1, 2)
    assert run["training_segments"] == 1 and run["epochs"] == 2 and len(run["cases"]) == 2
    assert (tmp_path / "converged.png").read_bytes()[:4] == b"\x89PNG"
    assert _commands(_cli(*args, "--dry_run").stdout) == []  # a run already recorded is not trained again
