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

"""The Mask R-CNN nuclei bundle run through ``monai.bundle`` on real prepared data, with tiny schedules."""

from __future__ import annotations

import csv
import json

import nibabel as nib
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from networks.transforms import object_size_summary
from tests.bundle_helpers import REPO_ROOT, check_ok, console_epochs, copy_bundle, run_bundle, subset_dataset

NAME = "maskrcnn_nuclei_instance_segmentation"
SCHEMA = str(REPO_ROOT / "configs" / "schema" / "meta_schema_20240725.json")
# untrained weights give up to ``max_detections`` junk masks per tile: fewer keep the tests fast
TINY = ["--patch_size", "[128,128]", "--max_detections", "100", "--batch_size", "1", "--num_samples", "1"]
TINY += ["--num_workers", "0"]
FAST = ["--max_detections", "100"]  # evaluation and inference tile at the bundle's 256 px: fewer tiles


@pytest.fixture(scope="module")
def trained(tmp_path_factory, nuclei2d_dir):
    """A bundle copy trained for one tiny epoch on 2 real cases (validation on 1)."""
    root = tmp_path_factory.mktemp("maskrcnn_bundle")
    bundle = copy_bundle(NAME, root)
    data = subset_dataset(nuclei2d_dir, root / "data")
    check_ok(
        run_bundle(bundle, ["train.json"], "--dataset_dir", str(data), "--epochs", "1", "--val_interval", "1", *TINY)
    )
    return bundle, data


def test_metadata_and_network_io(tmp_path):
    bundle = copy_bundle(NAME, tmp_path)
    meta = str(bundle / "configs" / "metadata.json")
    check_ok(run_bundle(bundle, [], "--meta_file", meta, "--filepath", SCHEMA, module="verify_metadata"))
    # a detection model returns boxes/masks per image: the check runs on the whole chain instead (model + tiling +
    # stitching), whose output is the (1, 2, H, W) instance id + score map the metadata declares
    args = ["instance_segmenter", "--meta_file", meta, "--config_file", str(bundle / "configs" / "inference.json")]
    check_ok(run_bundle(bundle, [], *args, "--device", "cpu", module="verify_net_in_out"))


def test_training_writes_plain_weights_and_resumes(trained):
    bundle, data = trained
    sd = torch.load(bundle / "models" / "model.pt", weights_only=True)
    assert (
        all(isinstance(v, torch.Tensor) for v in sd.values())
        and "roi_heads.mask_predictor.mask_fcn_logits.weight" in sd
    )
    last = torch.load(bundle / "checkpoints" / "checkpoint_last.pt", weights_only=True)
    assert {"model", "optimizer", "lr_scheduler", "trainer"} <= set(last)
    # the object sizes of the training labels, next to the weights, for inference's --object_size
    recorded = json.loads((bundle / "models" / "object_size.json").read_text())["object_size"]
    training = json.loads((data / "dataset.json").read_text())["training"]
    maps = [np.asarray(nib.load(item["instance"]).dataobj) for item in training]
    assert recorded == object_size_summary(maps)
    proc = run_bundle(bundle, ["train.json"], "--dataset_dir", str(data), "--epochs", "2", "--val_interval", "2",
                      "--resume", "True", *TINY)  # fmt: skip
    check_ok(proc)
    assert console_epochs(proc.stdout) == ["2/2"] and "resumed after epoch 1" in proc.stdout
    resumed = torch.load(bundle / "checkpoints" / "checkpoint_last.pt", weights_only=True)
    assert resumed["trainer"]["epoch_length"] == 2 and resumed["trainer"]["iteration"] == 4


def test_same_seed_same_weights(trained, tmp_path):
    bundle, data = trained
    again = copy_bundle(NAME, tmp_path)
    check_ok(
        run_bundle(again, ["train.json"], "--dataset_dir", str(data), "--epochs", "1", "--val_interval", "1", *TINY)
    )
    first = torch.load(bundle / "models" / "model.pt", weights_only=True)  # best of epoch 1 (validated once)
    second = torch.load(again / "models" / "model.pt", weights_only=True)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_scale_augmentation_zooms_the_nuclei_and_is_off_by_default(trained):
    """With a fixed zoom of 2 the training crops' nuclei are twice as wide; without the option no zoom transform is
    added, so the default's random transforms (and their seeds) are those of earlier versions."""
    from monai.bundle import ConfigParser
    from monai.transforms import RandZoomd

    bundle, data = trained
    sizes = {}
    for zoom in (None, [2.0, 2.0]):
        parser = ConfigParser()
        parser.read_config(str(bundle / "configs" / "train.json"))
        parser.update({"bundle_root": str(bundle), "dataset_dir": str(data), "scale_augmentation": zoom})
        parser.update({"num_samples": 4, "patch_size": [128, 128]})
        preprocessing = parser.get_parsed_content("train#preprocessing")
        assert any(isinstance(t, RandZoomd) for t in preprocessing.transforms) == (zoom is not None)
        preprocessing.set_random_state(seed=0)
        item = parser.get_parsed_content("train#dataset#data")[0]  # dsb2018_q0: nuclei about 24 px across
        masks = torch.cat([sample["masks"] for sample in preprocessing(item)])
        sizes[zoom is None] = float(np.median(2 * np.sqrt(masks.flatten(1).sum(1).numpy() / np.pi)))
    assert 1.6 < sizes[False] / sizes[True] < 2.4


def test_evaluation_writes_every_metric(trained):
    bundle, data = trained
    out = bundle / "eval_test"
    proc = run_bundle(bundle, ["train.json", "evaluate.json"], "--dataset_dir", str(data), "--output_dir", str(out),
                      *FAST, "--num_workers", "0")  # fmt: skip
    check_ok(proc)
    rows = list(csv.DictReader(open(out / "instance_metrics.csv")))
    assert [r["image"] for r in rows] == ["dsb2018_q3.nii.gz", "ndev_t08.nii.gz"]
    assert {"n_true", "accuracy_0.5", "aji", "aji_plus", "pq"} <= set(rows[0])
    assert int(rows[1]["n_true"]) == 79
    summary = json.loads((out / "instance_metrics_summary.json").read_text())
    assert [m["thresh"] for m in summary["matching"]] == pytest.approx([0.5 + 0.05 * i for i in range(9)])
    assert {"mAP", "AP50", "AP75", "AR"} <= set(summary["coco"]) and summary["coco"]["max_detections"] == 1000
    assert 0.0 <= summary["dsb_accuracy_0.5"] <= 1.0 and summary["matching"][0]["n_true"] == 29 + 79
    assert (out / "instances.png").stat().st_size > 10_000


def test_inference_on_a_png_folder_writes_label_maps_and_coco(trained, tmp_path):
    bundle, data = trained
    src = json.loads((data / "dataset.json").read_text())["test"]
    images = tmp_path / "images"
    images.mkdir()
    shapes = {}
    for item in src:
        arr = np.asarray(nib.load(item["image"]).dataobj).T.astype(np.uint16)  # (rows, columns) as a user's file
        name = item["image"].rsplit("/", 1)[-1].replace(".nii.gz", "")
        Image.fromarray(arr).save(images / f"{name}.png")
        shapes[name] = arr.shape
    (images / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    proc = run_bundle(bundle, ["inference.json"], "--input_dir", str(images), "--output_dir", str(out), *FAST)
    assert proc.returncode != 0 and "broken.png" in (proc.stdout + proc.stderr)[-2000:]  # reported, others written
    for name, shape in shapes.items():
        label = np.asarray(Image.open(out / f"{name}_instances.png"))
        assert label.shape == shape and label.dtype == np.uint16
    from pycocotools.coco import COCO

    coco = COCO(str(out / "instances_coco.json"))
    assert {img["file_name"] for img in coco.dataset["images"]} == {f"{n}.png" for n in shapes}
    assert {(img["height"], img["width"]) for img in coco.dataset["images"]} == set(shapes.values())


def test_inference_writes_tiff_for_tiff_input_and_large_image_streams_the_same_instances(trained, tmp_path):
    """inference.json writes a TIFF for a TIFF; large_image.json, which reads the file tile by tile, writes the same
    instances (ids aside) and their COCO file."""
    bundle, data = trained
    LOW = ["--score_thresh", "0.1", "--max_detections", "30"]  # the one-epoch model is unsure: compare those over 0.1
    item = json.loads((data / "dataset.json").read_text())["test"][1]  # ``ndev_t08``, 210x576: a transposition shows
    (tmp_path / "images").mkdir()
    arr = np.asarray(nib.load(item["image"]).dataobj).T.astype(np.uint16)
    tifffile.imwrite(tmp_path / "images" / "cells.tif", arr, tile=(64, 64))
    proc = run_bundle(bundle, ["inference.json"], "--input_dir", str(tmp_path / "images"),
                      "--output_dir", str(tmp_path / "out"), *FAST, *LOW)  # fmt: skip
    check_ok(proc)
    in_memory = tifffile.imread(tmp_path / "out" / "cells_instances.tif").astype(np.int64)
    assert arr.shape == (210, 576) and in_memory.shape == arr.shape
    proc = run_bundle(bundle, ["inference.json", "large_image.json"], "--input_dir", str(tmp_path / "images"),
                      "--output_dir", str(tmp_path / "large"), *FAST, *LOW)  # fmt: skip
    check_ok(proc)
    streamed = tifffile.imread(tmp_path / "large" / "cells_instances.tif").astype(np.int64)
    pairs = set(zip(streamed.ravel().tolist(), in_memory.ravel().tolist()))
    assert in_memory.max() > 0 and len(pairs) == len(np.unique(streamed)) == len(np.unique(in_memory))
    coco = json.loads((tmp_path / "large" / "cells_instances_coco.json").read_text())
    assert len(coco["annotations"]) == streamed.max() and all(0.1 <= a["score"] <= 1 for a in coco["annotations"])


def test_inference_at_another_object_size_maps_instances_back_to_the_input(trained, tmp_path):
    """--object_size resizes to the training size and back: outputs on the input grid; an image smaller than one
    object is skipped by name while the others are written; a bad --object_size stops before any output."""
    bundle, data = trained
    item = json.loads((data / "dataset.json").read_text())["test"][1]
    (tmp_path / "images").mkdir()
    arr = np.asarray(nib.load(item["image"]).dataobj).T.astype(np.uint16)
    tifffile.imwrite(tmp_path / "images" / "cells.tif", arr)
    tifffile.imwrite(tmp_path / "images" / "speck.tif", arr[:16, :16])
    out = tmp_path / "out"
    proc = run_bundle(bundle, ["inference.json"], "--input_dir", str(tmp_path / "images"), "--output_dir", str(out),
                      "--object_size", "24", *FAST)  # fmt: skip
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "speck.tif" in log and "smaller than one object (24 pixels" in log
    assert tifffile.imread(out / "cells_instances.tif").shape == arr.shape
    assert not (out / "speck_instances.tif").exists()
    # a bad size stops the run before any output (negative, text and nan sizes: tests/test_object_size.py)
    proc = run_bundle(bundle, ["inference.json"], "--input_dir", str(tmp_path / "images"),
                      "--output_dir", str(tmp_path / "bad"), "--object_size", "0")  # fmt: skip
    assert proc.returncode != 0 and "object_size must be a positive number of pixels" in proc.stdout + proc.stderr
    assert not (tmp_path / "bad").exists()
