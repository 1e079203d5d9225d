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

"""autoseg from a raw 3D dataset to best_configuration.json through the command line, and the generated bundles
through ``python -m monai.bundle`` (model-zoo checks, resume, inference) on the real nuclei3d volumes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import tifffile
import torch
from monai.bundle import ConfigParser

from tests import warm_python
from tests.bundle_helpers import PYTHON, REPO_ROOT, check_ok, console_epochs, run_bundle

SCHEMA = REPO_ROOT / "configs" / "schema" / "meta_schema_20240725.json"
SHORT = ["--epochs", "1", "--iters_per_epoch", "2", "--num_workers", "0"]


def _autoseg(*args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    cmd = [PYTHON, "-m", "networks.apps.autoseg", *map(str, args)]
    return warm_python.run(cmd, cwd=REPO_ROOT, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def nuclei3d_crop(tmp_path_factory, nuclei3d_dir):
    """The real nuclei3d cases cropped to their central 32x64x64 voxels (a quarter to a third of them nuclei), in
    the same raw layout: the plans, patches and sliding windows of both configurations shrink 8-fold."""
    root = tmp_path_factory.mktemp("nuclei3d_crop")
    shutil.copytree(nuclei3d_dir, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.tiff", "checksums*"))
    for path in sorted(nuclei3d_dir.glob("*Tr/*.tiff")):
        tifffile.imwrite(root / path.parent.name / path.name, tifffile.imread(path)[14:46, 32:96, 32:96])
    return root


@pytest.fixture(scope="module")
def work(tmp_path_factory, nuclei3d_crop):
    """One short ``autoseg run`` (fold 0 of both configurations) shared by the tests of this module."""
    work = tmp_path_factory.mktemp("autoseg") / "work"
    check_ok(_autoseg("run", "--dataset_dir", nuclei3d_crop, "--work_dir", work, "--folds", "0", *SHORT))
    return work


def test_run_writes_best_configuration(work, nuclei3d_crop):
    best = json.loads((work / "best_configuration.json").read_text())
    assert set(best["candidates"]) == {"2d", "3d_fullres", "ensemble__2d__3d_fullres"}
    assert best["best"] in best["candidates"] and best["folds"] == ["0"]
    assert best["predict_command"].startswith(f"python -m networks.apps.autoseg predict --work_dir {work}")
    assert set(best["postprocessing"]) == {"foreground_labels", "keep_largest_foreground", "keep_largest_per_label"}
    splits = json.loads((work / "splits_final.json").read_text())
    (val_case,) = splits[0]["val"]
    reference = tifffile.imread(nuclei3d_crop / "labelsTr" / f"{val_case}.tiff")
    for name in ("nnUNetPlans_2d", "nnUNetPlans_3d_fullres"):
        fold = work / "results" / name / "fold_0"
        summary = json.loads((fold / "validation" / "summary.json").read_text())
        assert set(summary["mean"]) == {"1"} and {"Dice", "IoU"} <= set(summary["foreground_mean"])
        prediction = tifffile.imread(fold / "validation" / f"{val_case}.tiff")
        assert prediction.shape == reference.shape  # exported to the input's own array
        assert json.loads((fold / "validation" / f"{val_case}.json").read_text()) == {"spacing": [1.0, 1.0, 1.0]}
        assert (fold / "checkpoints" / "checkpoint_last.pt").is_file()
        # a 1-epoch run validates once, in validate_fold: its in-training validation is set past the last epoch
        command = json.loads((fold / "training_complete.json").read_text())["command"]
        assert command[command.index("--val_interval") + 1] == "2"
        assert any(p.name.startswith("events.out.tfevents") for p in (fold / "logs").iterdir())
        state = torch.load(fold / "model.pt", weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in state.values())
        assert (work / "bundles" / name / "models" / "model.pt").is_file()
        crossval = json.loads((work / "results" / name / "crossval" / "summary.json").read_text())
        assert crossval["foreground_mean"]["Dice"] == pytest.approx(best["candidates"][name[12:]]["Dice"])


@pytest.mark.parametrize("name, shape", [("nnUNetPlans_2d", "[1,1,64,64]"), ("nnUNetPlans_3d_fullres", None)])
def test_generated_bundles_pass_model_zoo_checks(work, name, shape):
    bundle = work / "bundles" / name
    meta = ["--meta_file", str(bundle / "configs" / "metadata.json")]
    check_ok(run_bundle(bundle, [], *meta, "--filepath", str(SCHEMA), module="verify_metadata"))
    inference = ["--config_file", str(bundle / "configs" / "inference.json")]
    check_ok(run_bundle(bundle, [], "network_def", *meta, *inference, module="verify_net_in_out"))
    patch = json.loads((bundle / "configs" / "metadata.json").read_text())
    patch = patch["network_data_format"]["inputs"]["image"]["spatial_shape"]
    export = ["--filepath", str(bundle / "models" / "model.ts"), "--ckpt_file", str(bundle / "models" / "model.pt")]
    input_shape = json.loads(shape) if shape else [1, 1, *patch]
    export += ["--use_trace", "True", "--input_shape", json.dumps(input_shape)]
    check_ok(run_bundle(bundle, [], "network_def", *meta, *inference, *export, module="ckpt_export"))
    exported = torch.jit.load(str(bundle / "models" / "model.ts"))
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "inference.json"))
    parser["bundle_root"] = str(bundle)
    eager = parser.get_parsed_content("network_def")
    eager.load_state_dict(torch.load(bundle / "models" / "model.pt", weights_only=True))
    image = torch.randn(input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = eager.eval()(image)
        torch.testing.assert_close(exported(image), expected, rtol=1e-4, atol=1e-4)  # the trained weights, traced
    assert expected.shape == (1, 2, *input_shape[2:]) and expected.std() > 0


def test_bundle_training_resumes_from_its_last_epoch(work):
    bundle = work / "bundles" / "nnUNetPlans_2d"
    fold = work / "results" / "nnUNetPlans_2d" / "fold_0"
    resumed = work / "resumed"
    shutil.copytree(fold / "checkpoints", resumed / "checkpoints")
    args = ["--preprocessed_dir", str(work / "nnUNetPlans_2d"), "--splits_file", str(work / "splits_final.json")]
    args += ["--fold", "0", "--ckpt_dir", str(resumed), "--resume_dir", str(resumed / "checkpoints")]
    args += ["--output_dir", str(resumed / "logs"), "--epochs", "2", "--iters_per_epoch", "2", "--num_workers", "0"]
    proc = run_bundle(bundle, ["train.json"], *args, "--resume", "True")
    check_ok(proc)
    assert console_epochs(proc.stdout) == ["2/2"] and "resumed after epoch 1" in proc.stdout
    log = (resumed / "logs" / "training.log").read_text()
    assert "Restored all variables from" in log and "Epoch[2] Complete" in log and "Epoch[1] Complete" not in log
    state = torch.load(resumed / "checkpoints" / "checkpoint_last.pt", weights_only=False)
    assert state["trainer"]["iteration"] == 4 and (resumed / "model.pt").is_file()


def test_predict_and_bundle_inference_skip_a_bad_case(work, nuclei3d_crop, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    case = sorted((nuclei3d_crop / "imagesTr").glob("*_0000.tiff"))[0]
    shutil.copy(case, images / case.name)
    shutil.copy(case.with_name(case.name[: -len("_0000.tiff")] + ".json"), images)
    (images / "broken_0000.tiff").write_bytes(b"not a tiff")
    stem = case.name[: -len("_0000.tiff")]
    proc = _autoseg("predict", "--work_dir", work, "--input_dir", images, "--output_dir", tmp_path / "out")
    assert proc.returncode == 1 and "broken" in proc.stderr, proc.stderr[-3000:]
    assert tifffile.imread(tmp_path / "out" / f"{stem}.tiff").shape == tifffile.imread(case).shape
    assert "broken" in json.loads((tmp_path / "out" / "errors.json").read_text())

    bundle = work / "bundles" / "nnUNetPlans_3d_fullres"
    out = tmp_path / "bundle_out"
    proc = run_bundle(bundle, ["inference.json"], "--input_dir", str(images), "--output_dir", str(out))
    assert proc.returncode != 0 and "broken_0000.tiff" in proc.stdout + proc.stderr  # reported, after the rest
    assert tifffile.imread(out / f"{stem}.tiff").shape == tifffile.imread(case).shape


def test_swin_umamba_trains_on_a_2d_configuration(work, nuclei3d_crop):
    proc = _autoseg(
        "train", "--dataset_dir", nuclei3d_crop, "--work_dir", work, "--configuration", "2d", "--fold", "0",
        "--network", "swin_umamba", "--epochs", "1", "--iters_per_epoch", "1", "--num_workers", "0",
    )  # fmt: skip
    check_ok(proc)
    bundle = work / "bundles" / "nnUNetPlans_2d_swin_umamba"
    train = json.loads((bundle / "configs" / "train.json").read_text())
    assert train["network_def"]["_target_"] == "networks.nets.SwinUMamba" and train["patch_size"] == [64, 64]
    summary = work / "results" / "nnUNetPlans_2d_swin_umamba" / "fold_0" / "validation" / "summary.json"
    assert "Dice" in json.loads(summary.read_text())["foreground_mean"]


def test_generated_bundle_evaluates_and_trains_with_two_gloo_processes(work, tmp_path):
    bundle = work / "bundles" / "nnUNetPlans_2d"
    data = ["--preprocessed_dir", str(work / "nnUNetPlans_2d"), "--splits_file", str(work / "splits_final.json")]
    data += ["--fold", "0"]
    fold = work / "results" / "nnUNetPlans_2d" / "fold_0"
    proc = run_bundle(
        bundle, ["train.json", "evaluate.json"], *data, "--ckpt_dir", str(fold), "--output_dir", str(tmp_path)
    )
    check_ok(proc)  # evaluate.json: the fold's model on its validation cases with TTA, in the preprocessed space
    validation = json.loads((fold / "validation" / "summary.json").read_text())["foreground_mean"]["Dice"]
    evaluated = json.loads((tmp_path / "metrics_summary.json").read_text())["val_mean_dice"]
    assert evaluated == pytest.approx(validation, abs=0.02)  # same TTA prediction, scored before/after export

    configs = f"['{bundle}/configs/train.json','{bundle}/configs/multi_gpu_train.json']"
    out = tmp_path / "ddp"
    cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "monai.bundle", "run"]
    cmd += ["--config_file", configs, "--bundle_root", str(bundle), *data, "--ckpt_dir", str(out)]
    cmd += ["--resume_dir", str(out / "checkpoints"), "--output_dir", str(out / "logs"), *SHORT, "--val_interval", "1"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run(cmd, cwd=bundle, env=env, capture_output=True, text=True, timeout=600)
    check_ok(proc)
    assert (out / "model.pt").is_file() and (out / "checkpoints" / "checkpoint_last.pt").is_file()


@pytest.mark.slow
def test_run_every_fold_smoke(tmp_path, nuclei3d_dir):
    """The issue's smoke command on a prepared 3D set: every fold of every configuration (about 6-10 minutes)."""
    work = tmp_path / "W"
    check_ok(
        _autoseg("run", "--dataset_dir", nuclei3d_dir, "--work_dir", work, "--epochs", "1", "--iters_per_epoch", "2")
    )
    best = json.loads((work / "best_configuration.json").read_text())
    assert best["folds"] == ["0", "1", "2", "3"]  # 4 cases: 4 folds
