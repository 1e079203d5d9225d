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

"""The nuclei bundle run through ``monai.bundle`` on real prepared data, with tiny schedules."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser

from tests import warm_python
from tests.bundle_helpers import (
    PYTHON,
    REPO_ROOT,
    TINY_NET,
    TINY_TRAIN,
    check_ok,
    copy_bundle,
    run_bundle,
    subset_dataset,
)

NAME = "swin_umamba_nuclei_segmentation"
SCHEMA = str(REPO_ROOT / "configs" / "schema" / "meta_schema_20240725.json")
EVAL_ARGS = ["--patch_size", "[64,64]", "--num_workers", "0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, nuclei_trained):
    """A copy of the run's trained nuclei bundle (two tiny epochs, conftest's ``nuclei_trained``) that this module's
    tests may change (resume, evaluate); its console output is ``console.txt`` beside the bundle."""
    root = tmp_path_factory.mktemp("nuclei_bundle")
    shutil.copytree(nuclei_trained, root, dirs_exist_ok=True)
    return root / NAME, root / "data"


def test_console_shows_one_line_per_epoch(trained):
    """Without a terminal: no bar, a bounded header, one summary line per epoch, a closing line; the per-iteration
    values are in the log file instead."""
    bundle, _ = trained
    lines = (bundle.parent / "console.txt").read_text().splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 2, lines
    for e, line in enumerate(epochs, 1):
        assert re.fullmatch(
            rf"epoch {e}/2 \| loss \d+\.\d{{4}} \| val_mean_dice \d\.\d{{4}} \(best \d\.\d{{4}} @ [12]\) \| "
            rf"\d+\.\d s \| ETA \d+:\d\d:\d\d",
            line,
        ), line
    start = next(i for i, line in enumerate(lines) if line.startswith("training epochs 1-2 of 2, 2 iterations each"))
    end = next(i for i, line in enumerate(lines) if line.startswith("finished at epoch 2/2 in "))
    assert start <= 20, lines[:start]  # before training: MONAI's summary of the command line, a warning
    assert [line for line in lines[start:end] if line in epochs] == epochs and end - start <= len(epochs) + 2
    assert len(lines) - end <= 8, lines[end:]  # after: the dataset caching bars of stderr, each its final line
    assert not [line for line in lines if "Iter:" in line or "Epoch[" in line or "epoch 1/2:" in line]  # no bar
    log = (bundle / "eval" / "training.log").read_text()
    assert log.count("Iter: 2/2 -- train_loss") == 2 and "Epoch[2] Complete" in log


def test_train_writes_model(trained):
    bundle, _ = trained
    sd = torch.load(bundle / "models" / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in sd.values()) and "stem.0.weight" in sd
    last = torch.load(bundle / "checkpoints" / "checkpoint_last.pt", weights_only=True)
    assert {"model", "optimizer", "lr_scheduler", "trainer", "best_model_saver"} <= set(last)
    assert sorted(p.name for p in (bundle / "models").glob("*.pt")) == ["model.pt"]  # resume state kept out of models/
    assert last["trainer"]["epoch"] == 2 if "epoch" in last["trainer"] else last["trainer"]["iteration"] > 0
    assert list((bundle / "eval").glob("events.out.tfevents*")), "no TensorBoard log"


def test_resume_continues_epochs(trained):
    bundle, data = trained
    before = torch.load(bundle / "checkpoints" / "checkpoint_last.pt", weights_only=True)["trainer"]["iteration"]
    log = bundle / "eval" / "training.log"
    logged = log.read_text()
    args = TINY_TRAIN[:-1] + ["3"]  # --epochs 3
    proc = run_bundle(bundle, ["train.json"], "--dataset_dir", str(data), "--resume", "True", *args, *TINY_NET)
    check_ok(proc)
    after = torch.load(bundle / "checkpoints" / "checkpoint_last.pt", weights_only=True)["trainer"]
    assert after["iteration"] == before * 3 // 2  # epoch 3 only was run on top of epochs 1-2
    assert "training epochs 3-3 of 3, 2 iterations each, resumed after epoch 2" in proc.stdout
    assert [line[:9] for line in proc.stdout.splitlines() if line.startswith("epoch ")] == ["epoch 3/3"]
    resumed = log.read_text()[len(logged) :]  # the log file is continued, not rewritten
    assert "Restored all variables" in resumed and "Epoch[3] Complete" in resumed and "Epoch[2]" not in resumed


def test_resume_without_checkpoint_fails_clearly(tmp_path, nuclei2d_dir):
    bundle = copy_bundle(NAME, tmp_path)
    data = subset_dataset(nuclei2d_dir, tmp_path / "data")
    proc = run_bundle(bundle, ["train.json"], "--dataset_dir", str(data), "--resume", "True", *TINY_TRAIN, *TINY_NET)
    assert proc.returncode != 0 and "cannot resume" in proc.stderr


def test_evaluate_writes_csv_json_png(trained):
    bundle, data = trained
    proc = run_bundle(bundle, ["train.json", "evaluate.json"], "--dataset_dir", str(data), *EVAL_ARGS, *TINY_NET)
    check_ok(proc)
    out = bundle / "eval"
    summary = json.loads((out / "metrics_summary.json").read_text())
    for key in ("test_mean_dice", "test_nsd", "test_instance_f1"):
        assert 0.0 <= summary[key] <= 1.0, summary
    assert summary["num_cases"] == 2 and summary["split"] == "test"
    with open(out / "test_mean_dice_raw.csv") as f:
        rows = list(csv.reader(f, delimiter=","))
    assert len(rows) == 3 and "dsb2018_q3" in rows[1][0] + rows[2][0]  # header + one row per case
    assert (out / "test_nsd_raw.csv").is_file() and (out / "cases.png").stat().st_size > 1000
    assert not (out / "test_instance_f1_raw.csv").exists()  # counts, not per-class values: left out of the CSVs


def test_inference_writes_outputs(trained, tmp_path, nuclei2d_dir):
    bundle, _ = trained
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("dsb2018_q3.nii.gz", "ndev_t09.nii.gz"):
        os.symlink(nuclei2d_dir / "images" / name, inputs / name)
    args = ["--input_dir", str(inputs), "--output_dir", str(tmp_path / "out"), "--use_mirror_tta", "True"]
    proc = run_bundle(bundle, ["inference.json"], *args, "--patch_size", "[64,64]", *TINY_NET)
    check_ok(proc)
    for name, shape in (("dsb2018_q3_seg.nii.gz", (256, 256)), ("ndev_t09_seg.nii.gz", (576, 210))):
        seg = nib.load(tmp_path / "out" / name)
        assert seg.shape[:2] == shape and seg.get_data_dtype() == np.uint8
        assert set(np.unique(np.asarray(seg.dataobj))) <= {0, 1}


def test_inference_empty_input_dir_fails_clearly(trained, tmp_path):
    bundle, _ = trained
    proc = run_bundle(bundle, ["inference.json"], "--input_dir", str(tmp_path), *TINY_NET)
    assert proc.returncode != 0 and "is empty" in proc.stderr


def test_verify_metadata():
    bundle = REPO_ROOT / "bundle" / NAME
    meta = str(bundle / "configs" / "metadata.json")
    proc = run_bundle(bundle, [], "--meta_file", meta, "--filepath", SCHEMA, module="verify_metadata")
    check_ok(proc)
    data = json.loads(open(meta).read())  # fields the conventions require beyond the schema
    assert data["version"] in data["changelog"]
    for io, key in (("inputs", "image"), ("outputs", "pred")):
        assert next(iter(data["network_data_format"][io])) == key
    assert data["network_data_format"]["outputs"]["pred"]["channel_def"] == {"0": "background", "1": "nucleus"}


def test_verify_net_in_out():
    bundle = REPO_ROOT / "bundle" / NAME
    args = ["network_def", "--meta_file", str(bundle / "configs" / "metadata.json")]
    args += ["--config_file", str(bundle / "configs" / "inference.json"), "--n", "2"]
    check_ok(run_bundle(bundle, [], *args, module="verify_net_in_out"))


def test_ckpt_export_traced(trained, tmp_path):
    bundle, _ = trained
    args = ["network_def", "--filepath", str(tmp_path / "model.ts"), "--ckpt_file", str(bundle / "models" / "model.pt")]
    args += ["--meta_file", str(bundle / "configs" / "metadata.json")]
    args += ["--config_file", str(bundle / "configs" / "inference.json"), "--use_trace", "True"]
    args += ["--input_shape", "[1,1,64,64]", *TINY_NET]
    check_ok(run_bundle(bundle, [], *args, module="ckpt_export"))
    ts = torch.jit.load(str(tmp_path / "model.ts"))
    assert ts(torch.rand(1, 1, 64, 64)).shape == (1, 2, 64, 64)


def test_torchrun_two_process_gloo(tmp_path, nuclei2d_dir):
    bundle = copy_bundle(NAME, tmp_path)
    data = subset_dataset(nuclei2d_dir, tmp_path / "data", n_train=2, n_val=2)
    configs = f"['{bundle}/configs/train.json','{bundle}/configs/multi_gpu_train.json']"
    cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "monai.bundle", "run"]
    cmd += ["--config_file", configs, "--meta_file", str(bundle / "configs" / "metadata.json")]
    cmd += ["--logging_file", str(bundle / "configs" / "logging.conf"), "--bundle_root", str(bundle)]
    cmd += ["--dataset_dir", str(data), *TINY_TRAIN, *TINY_NET]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run(cmd, cwd=bundle, env=env, capture_output=True, text=True, timeout=600)
    check_ok(proc)
    assert torch.load(bundle / "models" / "model.pt", weights_only=True)
    assert torch.load(bundle / "checkpoints" / "checkpoint_last.pt", weights_only=True)["trainer"]["iteration"] == 1


def _bad_dataset(tmp_path, nuclei2d_dir, mutate):
    """A one-case dataset (copied files) whose image/label the ``mutate`` callback breaks."""
    case = json.loads((nuclei2d_dir / "dataset.json").read_text())["training"][0]
    img = nib.load(nuclei2d_dir / case["image"])
    lab = nib.load(nuclei2d_dir / case["label"])
    image, label = np.asarray(img.dataobj).astype(np.float32), np.asarray(lab.dataobj)
    image, label = mutate(image, label)
    for key, arr in (("image", image), ("label", label)):
        nib.save(nib.Nifti1Image(arr, np.eye(4)), tmp_path / f"bad_{key}.nii.gz")
    item = {"image": str(tmp_path / "bad_image.nii.gz"), "label": str(tmp_path / "bad_label.nii.gz")}
    (tmp_path / "dataset.json").write_text(json.dumps({"training": [item], "validation": [item], "test": [item]}))
    return tmp_path


def _train_dataset(dataset_dir):
    parser = ConfigParser()
    parser.read_config(str(REPO_ROOT / "bundle" / NAME / "configs" / "train.json"))
    parser.update({"dataset_dir": str(dataset_dir), "num_workers": 0})
    return parser.get_parsed_content("train#dataset")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda im, lab: (im, lab[:-5]), "label"),
        (lambda im, lab: (np.stack([im, im, im], -1), lab), "spatial dimensions"),
        (
            lambda im, lab: (np.where(np.arange(im.size).reshape(im.shape) == 7, np.nan, im).astype(np.float32), lab),
            "NaN",
        ),
    ],
    ids=["shape_mismatch", "wrong_channels", "nan_image"],
)
def test_bad_inputs_name_the_case(tmp_path, nuclei2d_dir, mutate, message):
    data = _bad_dataset(tmp_path, nuclei2d_dir, mutate)
    with pytest.raises(Exception) as err:
        _train_dataset(data)
    text = "".join(str(e) for e in (err.value, err.value.__cause__, getattr(err.value.__cause__, "__cause__", None)))
    assert "bad_image.nii.gz" in text and message in text


def test_missing_file_in_datalist_names_the_case(tmp_path, nuclei2d_dir):
    item = {"image": str(tmp_path / "nope.nii.gz"), "label": str(nuclei2d_dir / "labels" / "dsb2018_q0.nii.gz")}
    (tmp_path / "dataset.json").write_text(json.dumps({"training": [item], "validation": [item]}))
    with pytest.raises(Exception) as err:
        _train_dataset(tmp_path)
    text = str(err.value) + str(err.value.__cause__)
    assert "nope.nii.gz" in text and "does not exist" in text


def test_generated_configs_up_to_date():
    proc = warm_python.run([PYTHON, str(REPO_ROOT / "scripts" / "build_bundles.py"), "check"], text=False)
    assert proc.returncode == 0, proc.stderr.decode()


@pytest.mark.parametrize("net", ["swin_umamba", "swin_umamba_d", "unet", "segresnet", "swinunetr"])
def test_network_fragments_stack(net):
    """Each network fragment stacks on the bundle's train config and gives 2-channel logits at the patch size."""
    parser = ConfigParser()
    parser.read_config([str(REPO_ROOT / "bundle" / NAME / "configs" / "train.json")])
    fragment = REPO_ROOT / "networks" / "configs" / "network_def" / f"{net}.json"
    parser.update(ConfigParser.load_config_file(str(fragment)))
    if net.startswith("swin_umamba"):
        parser.update({"network_def#dims": [16, 32, 64, 128], "network_def#depths": [1, 1, 1, 1]})
    model = parser.get_parsed_content("network_def").eval()
    with torch.no_grad():
        assert model(torch.rand(1, 1, 64, 64)).shape == (1, 2, 64, 64)
