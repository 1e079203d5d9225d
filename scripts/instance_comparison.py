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
"""
Compare nuclei instance segmentations on the same test images with the same metrics (docs/results.md).

Rows: the Mask R-CNN bundle; the Swin-UMamba nuclei bundle's foreground split into instances by connected components
and by a distance-transform watershed; Otsu thresholding + watershed on the raw image (scikit-image), the floor a
user would try first. Each row is a folder of instance label maps; all are scored by ``networks.metrics``.

Usage (repository root)::

    python scripts/instance_comparison.py run --dataset nuclei2d \
        --maskrcnn_ckpt runs/maskrcnn/models/model.pt \
        --semantic_ckpt bundle/swin_umamba_nuclei_segmentation/models/model.pt --semantic_small True
    python scripts/instance_comparison.py run --dataset nuclei2d_slices ...   # the other microscope

It prints and runs each bundle command, writes ``<out_dir>/<row>/`` label maps, ``<out_dir>/comparison.json`` and the
table between ``<!-- results:instances_<dataset> -->`` markers of ``docs/results.md`` and of the Mask R-CNN bundle's
``docs/README.md``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys

import fire
import nibabel as nib
import numpy as np

from networks.apps.steps import SMALL_SWIN_UMAMBA, replace_section, run_step, show_command
from networks.data.file_io import write_json_atomic
from networks.metrics import instance_report
from networks.transforms import split_foreground

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
__all__ = ["otsu_watershed", "run", "evaluate_folders"]

MASKRCNN = os.path.join("bundle", "maskrcnn_nuclei_instance_segmentation")
SEMANTIC = os.path.join("bundle", "swin_umamba_nuclei_segmentation")
ROWS = {
    "maskrcnn": "Mask R-CNN (this bundle)",
    "swin_umamba_components": "Swin-UMamba foreground, connected components",
    "swin_umamba_watershed": "Swin-UMamba foreground, distance watershed",
    "otsu_watershed": "Otsu + distance watershed (scikit-image)",
}


def otsu_watershed(image: np.ndarray, sigma: float = 1.0, min_distance: int = 7) -> np.ndarray:
    """The classical floor: Gaussian smoothing, Otsu threshold, then the distance watershed of split_foreground."""
    from skimage.filters import gaussian, threshold_otsu

    smooth = gaussian(image.astype(np.float32), sigma=sigma)
    return split_foreground(smooth > threshold_otsu(smooth), "watershed", min_distance)


def _inference_cmd(bundle: str, input_dir: str, output_dir: str, ckpt: str) -> list[str]:
    """The ``monai.bundle run`` command of a bundle's folder inference with given weights."""
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", f"{bundle}/configs/inference.json"]
    cmd += ["--meta_file", f"{bundle}/configs/metadata.json", "--logging_file", f"{bundle}/configs/logging.conf"]
    cmd += ["--bundle_root", bundle, "--input_dir", input_dir, "--output_dir", output_dir]
    return cmd + ["--checkpointloader#load_path", ckpt]


def _test_cases(dataset_dir: str) -> list[dict]:
    with open(os.path.join(REPO, dataset_dir, "dataset.json")) as f:
        return json.load(f)["test"]


def _stem(path: str) -> str:
    name = os.path.basename(path)
    return name[: -len(".nii.gz")] if name.endswith(".nii.gz") else os.path.splitext(name)[0]


def _load(path: str) -> np.ndarray:
    return np.asarray(nib.load(path).dataobj)


def _write(array: np.ndarray, like: str, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    nib.save(nib.Nifti1Image(array.astype(np.int32), nib.load(like).affine), path)


def _maskrcnn_scores(folder: str) -> dict[str, dict[int, float]]:
    """Per image (stem), instance id -> score from the bundle's COCO JSON (the label map itself has no scores)."""
    path = os.path.join(folder, "instances_coco.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        doc = json.load(f)
    names = {img["id"]: _stem(img["file_name"]) for img in doc["images"]}
    out: dict[str, dict[int, float]] = {}
    for ann in doc["annotations"]:
        out.setdefault(names[ann["image_id"]], {})[int(ann["instance_id"])] = float(ann["score"])
    return out


def evaluate_folders(dataset_dir: str, folders: dict[str, str], suffixes: dict[str, str]) -> dict[str, dict]:
    """Score each folder of label maps (<case><suffix>) against the test split's true instance maps."""
    cases = _test_cases(dataset_dir)
    truths = [_load(os.path.join(REPO, dataset_dir, c["instance"])) for c in cases]
    names = [_stem(c["image"]) for c in cases]
    results = {}
    for row, folder in folders.items():
        preds = [_load(os.path.join(REPO, folder, f"{n}{suffixes[row]}")) for n in names]
        scores = _maskrcnn_scores(os.path.join(REPO, folder)) if row == "maskrcnn" else {}
        per_image, summary = instance_report(truths, preds, names, [scores.get(n) for n in names] if scores else None)
        results[row] = {"summary": summary, "per_image": per_image}
    return results


def _table(dataset: str, results: dict[str, dict], commands: list[str]) -> str:
    head = "| method | DSB acc@0.5 | mean DSB acc@0.5:0.9 | F1@0.5 | AJI | AJI+ | PQ | COCO mAP | AP50 |"
    lines = [f"### {dataset} test split: nuclei instance segmentation", "", head, "|" + "---|" * 9]
    for row, res in results.items():
        s = res["summary"]
        cells = [s["dsb_accuracy_0.5"], s["mean_dsb_accuracy"], s["f1_0.5"], s["aji"], s["aji_plus"], s["pq"]]
        cells += [s["coco"]["mAP"], s["coco"]["AP50"]]
        lines.append(f"| {ROWS[row]} | " + " | ".join(f"{v:.4f}" for v in cells) + " |")
    n = next(iter(results.values()))["summary"]["num_images"]
    lines += [
        "",
        f"{n} test images. DSB accuracy = TP / (TP + FP + FN) with TP counted over all images (StarDist matching, "
        "IoU >= threshold); AJI, AJI+ and PQ are means over images; COCO mask AP by pycocotools with up to 1000 "
        "detections per image, ranked by Mask R-CNN's scores (the other rows have no scores: all their instances "
        "tie). Commands (repository root):",
        "",
        "```bash",
        *commands,
        "```",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}, Python "
        f"{platform.python_version()}; run {datetime.date.today().isoformat()}.",
    ]
    return "\n".join(lines)


def run(
    dataset: str = "nuclei2d",
    maskrcnn_ckpt: str = os.path.join("runs", "maskrcnn", "models", "model.pt"),
    semantic_ckpt: str = os.path.join(SEMANTIC, "models", "model.pt"),
    semantic_small: bool = True,
    semantic_patch: str = "[128,128]",
    out_dir: str | None = None,
    results: str = os.path.join("docs", "results.md"),
    dry_run: bool = False,
) -> None:
    """
    Predict the test split of a prepared nuclei dataset with every method, score them and publish the table.

    Args:
        dataset: nuclei2d or nuclei2d_slices (prepared under data/ if missing).
        maskrcnn_ckpt: weights of the Mask R-CNN bundle.
        semantic_ckpt: weights of the Swin-UMamba nuclei bundle.
        semantic_small: the Swin-UMamba weights are the reduced-width network of ``make main``.
        semantic_patch: the Swin-UMamba bundle's patch size used in training (sliding window).
        out_dir: working folder (default ``runs/instances/<dataset>``).
        results: markdown file of the table.
        dry_run: print the commands only.
    """
    out_dir = out_dir or os.path.join("runs", "instances", dataset)
    data = os.path.join("data", dataset)
    py = sys.executable
    commands = [[py, "-m", "networks.apps.prepare_data", dataset, "--out", data]]
    run_step(commands[0], dry_run, cwd=REPO)
    images = os.path.join(out_dir, "test_images")
    if not dry_run:
        os.makedirs(os.path.join(REPO, images), exist_ok=True)
        for case in _test_cases(data):
            link = os.path.join(REPO, images, os.path.basename(case["image"]))
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(os.path.join(REPO, data, case["image"])), link)
    folders = {row: os.path.join(out_dir, row) for row in ROWS}
    semantic = os.path.join(out_dir, "swin_umamba_semantic")
    commands.append(_inference_cmd(MASKRCNN, images, folders["maskrcnn"], maskrcnn_ckpt) + ["--output_ext", ".nii.gz"])
    commands.append(
        _inference_cmd(SEMANTIC, images, semantic, semantic_ckpt)
        + ["--patch_size", semantic_patch]
        + (SMALL_SWIN_UMAMBA if semantic_small else [])
    )
    for cmd in commands[1:]:
        run_step(cmd, dry_run, cwd=REPO)
    shown = [show_command(c) for c in commands]
    shown.append(f"python scripts/instance_comparison.py run --dataset {dataset} (splits and scores the folders)")
    if dry_run:
        return
    for case in _test_cases(data):
        stem, like = _stem(case["image"]), os.path.join(REPO, data, case["image"])
        foreground = _load(os.path.join(REPO, semantic, f"{stem}_seg.nii.gz")) > 0
        for method in ("components", "watershed"):
            path = os.path.join(REPO, folders[f"swin_umamba_{method}"], f"{stem}.nii.gz")
            _write(split_foreground(foreground, method), like, path)
        _write(otsu_watershed(_load(like)), like, os.path.join(REPO, folders["otsu_watershed"], f"{stem}.nii.gz"))
    suffixes = {row: ".nii.gz" for row in ROWS} | {"maskrcnn": "_instances.nii.gz"}
    scored = evaluate_folders(data, folders, suffixes)
    write_json_atomic(os.path.join(REPO, out_dir, "comparison.json"), {r: v["summary"] for r, v in scored.items()})
    for row, res in scored.items():
        s = res["summary"]
        print(f"{ROWS[row]}: DSB acc@0.5 {s['dsb_accuracy_0.5']:.4f}, AJI {s['aji']:.4f}, PQ {s['pq']:.4f}")
    table = _table(dataset, scored, shown)
    replace_section(os.path.join(REPO, results), f"results:instances_{dataset}", table)
    replace_section(os.path.join(REPO, MASKRCNN, "docs", "README.md"), f"results:instances_{dataset}", table)
    print(f"\ntable written to {results} and {MASKRCNN}/docs/README.md")


if __name__ == "__main__":
    fire.Fire({"run": run, "otsu_watershed": otsu_watershed})
