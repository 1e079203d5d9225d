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
Compare nuclei instance segmentations on the same test images with the same metrics, over training seeds
(docs/results.md).

Rows: the Mask R-CNN bundle; the Swin-UMamba nuclei bundle's foreground split into instances by connected components
and by a distance-transform watershed; Otsu thresholding + watershed on the raw image (scikit-image), the floor a
user would try first (no training: one run). For each seed both bundles are trained on nuclei2d with their defaults
and ``--seed k`` (the models are shared by every test set), then predict the test images; every label map is scored
by ``networks.metrics.instance_report``.

Usage (repository root)::

    python scripts/instance_comparison.py run --dataset nuclei2d --seeds 0,1,2
    python scripts/instance_comparison.py run --dataset nuclei2d_slices --seeds 0,1,2   # another microscope
    # other magnifications (issue 25): nuclei2d's test images resampled by 0.5 and 2 (prepared on first use), and
    # nuclei2d_slices, with the object-size rows; maskrcnn_zoom trains its own models (--scale_augmentation)
    python scripts/instance_comparison.py run --dataset nuclei2d_0.5x --seeds 0,1,2 \\
        --rows maskrcnn,maskrcnn_object_size,maskrcnn_auto,maskrcnn_zoom,otsu_watershed,otsu_watershed_scaled

Rows of other magnifications: ``maskrcnn_object_size`` (``--object_size`` the median diameter of the set's true
nuclei, what a user who measured a few nuclei would give), ``maskrcnn_auto`` (``--object_size auto``),
``maskrcnn_zoom`` (trained with ``--scale_augmentation "[0.5,2.0]"``, inference at the input scale) and
``otsu_watershed_scaled`` (marker distance scaled by the set's object size over the training median).

Each finished (row, seed) goes into ``docs/results/instances_<dataset>.json`` at once (per-image counts and scores,
commands, commit, date, machine); a run already there is skipped and an interrupted training resumes, so the
experiment can be split across sessions. The tables of docs/results.md and of the Mask R-CNN bundle's README (and, for
nuclei2d, that bundle's ``eval_metrics``) are rendered from the file (``scripts/render_results.py``).
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import sys
import time

import fire
import nibabel as nib
import numpy as np

from networks.apps.evidence import (
    add_run,
    bundle_targets,
    git_commit,
    load_results,
    machine_description,
    parse_seeds,
    write_rendered_targets,
)
from networks.apps.steps import run_step, show_command
from networks.metrics import instance_report
from networks.transforms import object_size_summary, split_foreground

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
__all__ = ["otsu_watershed", "run", "evaluate_folder"]

MASKRCNN = os.path.join("bundle", "maskrcnn_nuclei_instance_segmentation")
SEMANTIC = os.path.join("bundle", "swin_umamba_nuclei_segmentation")
TRAINING_DATA = os.path.join("data", "nuclei2d")  # both bundles train on nuclei2d whatever the test set
ROWS = {
    "maskrcnn": "Mask R-CNN (this bundle)",
    "maskrcnn_object_size": "Mask R-CNN, --object_size given (the set's median true diameter)",
    "maskrcnn_auto": "Mask R-CNN, --object_size auto",
    "maskrcnn_zoom": "Mask R-CNN trained with --scale_augmentation [0.5,2.0]",
    "swin_umamba_components": "Swin-UMamba foreground, connected components",
    "swin_umamba_watershed": "Swin-UMamba foreground, distance watershed",
    "otsu_watershed": "Otsu + distance watershed (scikit-image, no training: one run)",
    "otsu_watershed_scaled": "Otsu + distance watershed, marker distance scaled by the object size (one run)",
}
DEFAULT_ROWS = ("maskrcnn", "swin_umamba_components", "swin_umamba_watershed", "otsu_watershed")
SCALE_ROWS = ("maskrcnn", "maskrcnn_object_size", "maskrcnn_auto", "maskrcnn_zoom", "otsu_watershed",
              "otsu_watershed_scaled")  # fmt: skip
DETERMINISTIC_ROWS = ("otsu_watershed", "otsu_watershed_scaled")  # no training: recorded once, whatever the seed
# nuclei2d's test split resampled by these factors (images bilinear, antialiased when shrinking; labels nearest)
SCALED_SETS = {"nuclei2d_0.5x": 0.5, "nuclei2d_2x": 2.0}
ZOOM_RANGE = "[0.5,2.0]"
# besides each row against Mask R-CNN at the input scale: the object-size rows against the fairly scaled Otsu
CONTRASTS = [[row, "otsu_watershed_scaled"] for row in ("maskrcnn_object_size", "maskrcnn_auto", "maskrcnn_zoom")]
OTSU_MIN_DISTANCE = 7
METRICS = {
    "dsb_accuracy_0.5": {
        "label": "DSB acc@0.5",
        "higher_is_better": True,
        "pooled": {"numerator": "tp_0.5", "denominator": ["tp_0.5", "fp_0.5", "fn_0.5"]},
    },
    "aji": {"label": "AJI", "higher_is_better": True},
    "pq": {"label": "PQ", "higher_is_better": True},
    "mean_dsb_accuracy": {"label": "mean DSB acc@0.5:0.9", "higher_is_better": True, "per_run": True},
    "coco_map": {"label": "COCO mask mAP", "higher_is_better": True, "per_run": True},
}
# the Mask R-CNN bundle's eval_metrics names
METADATA_NAMES = {
    "dsb_accuracy_0.5": "test_dsb_accuracy_0.5",
    "aji": "test_aji",
    "pq": "test_pq",
    "mean_dsb_accuracy": "test_mean_dsb_accuracy_0.5_0.9",
    "coco_map": "test_coco_mask_map",
}


def otsu_watershed(image: np.ndarray, sigma: float = 1.0, min_distance: int = OTSU_MIN_DISTANCE) -> np.ndarray:
    """The classical floor: Gaussian smoothing, Otsu threshold, then the distance watershed of split_foreground."""
    from skimage.filters import gaussian, threshold_otsu

    smooth = gaussian(image.astype(np.float32), sigma=sigma)
    return split_foreground(smooth > threshold_otsu(smooth), "watershed", min_distance)


def _bundle_cmd(bundle: str, config: str) -> list[str]:
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", f"{bundle}/configs/{config}"]
    cmd += ["--meta_file", f"{bundle}/configs/metadata.json", "--logging_file", f"{bundle}/configs/logging.conf"]
    return cmd + ["--bundle_root", bundle]


def _train_cmd(bundle: str, model_dir: str, seed: int, overrides: list[str]) -> list[str]:
    """The bundle's default training on nuclei2d with a seed, into ``model_dir`` (models/, checkpoints/, eval/)."""
    cmd = _bundle_cmd(bundle, "train.json") + ["--dataset_dir", TRAINING_DATA, "--seed", str(seed)]
    cmd += ["--ckpt_dir", f"{model_dir}/models", "--resume_dir", f"{model_dir}/checkpoints"]
    return cmd + ["--output_dir", f"{model_dir}/eval", *overrides]


def prepare_scaled(dataset: str) -> str:
    """``data/<dataset>`` for a name of ``SCALED_SETS``: nuclei2d's test images and true instances resampled by the
    set's factor (NIfTI, ``dataset.json`` with the test split only). Returns the folder."""
    from skimage.transform import rescale

    factor, folder = SCALED_SETS[dataset], os.path.join(REPO, "data", dataset)
    if os.path.isfile(os.path.join(folder, "dataset.json")):
        return folder
    cases = []
    for case in _test_cases(TRAINING_DATA):
        out = {}
        for key, order in (("image", 1), ("instance", 0)):
            source = os.path.join(REPO, TRAINING_DATA, case[key])
            array = _load(source)
            scaled = rescale(array.astype(np.float32), factor, order=order, anti_aliasing=order == 1 and factor < 1,
                             preserve_range=True)  # fmt: skip
            scaled = np.round(scaled).astype(array.dtype)
            out[key] = os.path.join(f"{key}s", os.path.basename(case[key]))
            path = os.path.join(folder, out[key])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            affine = nib.load(source).affine.copy()
            affine[:3, :3] /= factor  # the same field of view in more or fewer pixels
            nib.save(nib.Nifti1Image(scaled, affine), path)
        cases.append(out)
    spec = {"name": dataset, "description": f"nuclei2d test split resampled by {factor:g} (images bilinear, "
            f"antialiased when shrinking; instances nearest neighbour), by scripts/instance_comparison.py",
            "scale": factor, "test": cases}  # fmt: skip
    with open(os.path.join(folder, "dataset.json"), "w") as f:
        json.dump(spec, f, indent=1)
    return folder


def given_object_size(dataset_dir: str) -> float:
    """The median equivalent diameter of the test split's true nuclei: the size a user who measured some would give."""
    maps = [_load(os.path.join(REPO, dataset_dir, c["instance"])) for c in _test_cases(dataset_dir)]
    return object_size_summary(maps)["median"]


def training_object_size() -> float:
    """The training median diameter the bundle's metadata records (what --object_size resizes to)."""
    with open(os.path.join(REPO, MASKRCNN, "configs", "metadata.json")) as f:
        return float(json.load(f)["training_object_size"]["median"])


def _inference_cmd(bundle: str, input_dir: str, output_dir: str, ckpt: str) -> list[str]:
    """The ``monai.bundle run`` command of a bundle's folder inference with given weights."""
    cmd = _bundle_cmd(bundle, "inference.json") + ["--input_dir", input_dir, "--output_dir", output_dir]
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


def evaluate_folder(dataset_dir: str, folder: str, suffix: str, scored: bool = False) -> tuple[dict, dict]:
    """Score a folder of label maps (``<case><suffix>``) against the test split's true instance maps: (per-image
    counts and scores, whole-set summary). ``scored``: rank COCO detections by the folder's ``instances_coco.json``."""
    cases = _test_cases(dataset_dir)
    names = [_stem(c["image"]) for c in cases]
    truths = [_load(os.path.join(REPO, dataset_dir, c["instance"])) for c in cases]
    preds = [_load(os.path.join(REPO, folder, f"{n}{suffix}")) for n in names]
    scores = _maskrcnn_scores(os.path.join(REPO, folder)) if scored else {}
    per_image, summary = instance_report(truths, preds, names, [scores.get(n) for n in names] if scores else None)
    keys = ("n_true", "n_pred", "tp_0.5", "fp_0.5", "fn_0.5", "f1_0.5", "aji", "aji_plus", "pq", "dq", "sq")
    images = {r["image"]: {k: round(float(r[k]), 6) for k in keys} for r in per_image}
    whole = {key: summary[key] for key in ("dsb_accuracy_0.5", "mean_dsb_accuracy", "f1_0.5")}
    whole.update(coco_map=summary["coco"]["mAP"], coco_ap50=summary["coco"]["AP50"])
    return images, {k: round(float(v), 6) for k, v in whole.items()}


def results_file(dataset: str) -> str:
    return os.path.join("docs", "results", f"instances_{dataset}.json")


def _header(dataset: str) -> dict:
    names = {"nuclei2d": "nuclei2d test split", "nuclei2d_slices": "nuclei2d_slices (another microscope)",
             **{d: f"nuclei2d test split resampled by {f:g}" for d, f in SCALED_SETS.items()}}  # fmt: skip
    targets = bundle_targets(MASKRCNN, f"results:instances_{dataset}", metadata=dataset == "nuclei2d",
                             metadata_names=METADATA_NAMES)  # fmt: skip
    return {
        "experiment": "instance_comparison",
        "title": f"{names.get(dataset, dataset)}: nuclei instance segmentation",
        "baseline": "maskrcnn",
        "setting": {"dataset": dataset, "training_data": TRAINING_DATA},
        "metrics": METRICS,
        "contrasts": CONTRASTS,
        "targets": targets,
        "rows": {},
    }


def _train(bundle: str, model_dir: str, seed: int, overrides: list[str], dry_run: bool) -> dict:
    """Train (or resume, or keep) one bundle's model of a seed; what the results file records of it."""
    cmd = _train_cmd(bundle, model_dir, seed, overrides)
    model = os.path.join(REPO, model_dir, "models", "model.pt")
    done = os.path.join(REPO, model_dir, "finished")  # written after training returns: model.pt alone may be an epoch's
    record = {"train_command": show_command(cmd), "checkpoint": f"{model_dir}/models/model.pt"}
    if dry_run:
        run_step(cmd, True, REPO)
        return record
    if os.path.isfile(done):
        return record
    if os.path.isfile(os.path.join(REPO, model_dir, "checkpoints", "checkpoint_last.pt")):
        cmd += ["--resume", "True"]
    start = time.monotonic()
    run_step(cmd, False, REPO, log=os.path.join(REPO, model_dir, "train.log"))
    if not os.path.isfile(model):
        raise RuntimeError(f"training wrote no {model}; log: {model_dir}/train.log")
    with open(done, "w") as f:
        f.write(f"{time.monotonic() - start:.0f}\n")
    return record


def _row_run(command: str, bundle_commands: list[str], images: dict, summary: dict, **extra) -> dict:
    return {"command": command, "bundle_commands": bundle_commands, "commit": git_commit(REPO),
            "date": datetime.date.today().isoformat(), "machine": machine_description(), **extra,
            "summary": summary, "cases": images}  # fmt: skip


def run(
    dataset: str = "nuclei2d",
    seeds: str | list[int] = "0,1,2",
    rows: str | list[str] | None = None,
    out_root: str | None = None,
    overrides: str | None = None,
    results: str | None = None,
    dry_run: bool = False,
) -> dict:
    """
    Train both bundles per seed (on nuclei2d), predict the test split of ``dataset`` with every row, score each row
    and record it; render the tables.

    Args:
        dataset: nuclei2d, nuclei2d_slices, or a name of ``SCALED_SETS`` (prepared under data/ if missing).
        seeds: training seeds, seed by seed across the rows.
        rows: subset of ``ROWS``, comma-separated (default: ``DEFAULT_ROWS``; other magnifications are measured with
            ``SCALE_ROWS``, as the usage above shows).
        out_root: folder of the models (``<out_root>/models/<bundle>/seed<k>``) and predictions (default
            ``runs/instances``, or ``runs/instances_<results name>`` with ``results``).
        overrides: extra ``--id value`` arguments of both trainings (e.g. ``--epochs 1`` for a check); they change
            the recipe, so they need ``results``.
        results: results file to record into instead of ``docs/results/instances_<dataset>.json`` (not rendered).
        dry_run: print the commands only.
    """
    rows = rows.split(",") if isinstance(rows, str) else list(rows or DEFAULT_ROWS)
    if set(rows) - set(ROWS):
        raise ValueError(f"rows must be in {list(ROWS)}, got {rows}")
    if overrides and not results:
        raise ValueError("--overrides changes the recipe: record the runs with --results FILE")
    extra = shlex.split(overrides or "")
    path = os.path.abspath(results) if results else os.path.join(REPO, results_file(dataset))
    out_root = out_root or os.path.join(
        "runs", "instances" + (f"_{os.path.splitext(os.path.basename(path))[0]}" if results else "")
    )
    data_dir = os.path.join("data", dataset)
    for prepared in sorted({TRAINING_DATA, data_dir} - {os.path.join("data", d) for d in SCALED_SETS}):
        if not os.path.isfile(os.path.join(REPO, prepared, "dataset.json")):
            run_step(
                [sys.executable, "-m", "networks.apps.prepare_data", os.path.basename(prepared), "--out", prepared],
                dry_run,
                REPO,
            )
    if dataset in SCALED_SETS and not dry_run:
        prepare_scaled(dataset)
    data = load_results(path, **_header(dataset))
    data["contrasts"] = CONTRASTS  # files begun before the contrasts existed get them with their next run
    images = os.path.join(out_root, dataset, "test_images")
    if not dry_run:
        os.makedirs(os.path.join(REPO, images), exist_ok=True)
        for case in _test_cases(data_dir):
            link = os.path.join(REPO, images, os.path.basename(case["image"]))
            if os.path.lexists(link) and not os.path.exists(link):
                os.remove(link)  # made from a checkout (e.g. a git worktree) that is gone
            if not os.path.lexists(link):
                os.symlink(os.path.realpath(os.path.join(REPO, data_dir, case["image"])), link)
    options = f" --overrides={shlex.quote(overrides)}" if overrides else ""
    for seed in parse_seeds(seeds):
        todo = [r for r in rows if str(seed) not in data["rows"].get(r, {}).get("runs", {})]
        todo = [r for r in todo if r not in DETERMINISTIC_ROWS or not data["rows"].get(r, {}).get("runs")]
        if not todo:
            continue
        command = f"python scripts/instance_comparison.py run --dataset {dataset} --seeds {seed}{options}"
        out = os.path.join(out_root, dataset, f"seed{seed}")
        for row in [r for r in todo if r.startswith("maskrcnn")]:
            variant = "maskrcnn_zoom" if row == "maskrcnn_zoom" else "maskrcnn"
            model_dir = os.path.join(out_root, "models", variant, f"seed{seed}")
            zoom = ["--scale_augmentation", ZOOM_RANGE] if variant == "maskrcnn_zoom" else []
            trained = _train(MASKRCNN, model_dir, seed, extra + zoom, dry_run)
            size = {"maskrcnn_object_size": given_object_size(data_dir) if not dry_run else "<median>",
                    "maskrcnn_auto": "auto"}.get(row)  # fmt: skip
            folder = os.path.join(out, row)
            infer = _inference_cmd(MASKRCNN, images, folder, trained["checkpoint"]) + ["--output_ext", ".nii.gz"]
            infer += [] if size is None else ["--object_size", str(size)]
            run_step(infer, dry_run, REPO, log=None if dry_run else os.path.join(REPO, out, f"{row}.log"))
            if not dry_run:
                scores, summary = evaluate_folder(data_dir, folder, "_instances.nii.gz", scored=True)
                commands = [trained["train_command"], show_command(infer)]
                run = _row_run(command + f" --rows {row}", commands, scores, summary,
                               **({} if size is None else {"object_size": size}))  # fmt: skip
                add_run(path, data, row, seed, run, label=ROWS[row])
        semantic_rows = [r for r in todo if r.startswith("swin_umamba")]
        if semantic_rows:
            model_dir = os.path.join(out_root, "models", "swin_umamba", f"seed{seed}")
            trained = _train(SEMANTIC, model_dir, seed, extra, dry_run)
            semantic = os.path.join(out, "swin_umamba_semantic")
            infer = _inference_cmd(SEMANTIC, images, semantic, trained["checkpoint"])
            run_step(infer, dry_run, REPO, log=None if dry_run else os.path.join(REPO, out, "swin_umamba.log"))
            for row in semantic_rows:
                if dry_run:
                    continue
                method = row.rsplit("_", 1)[1]
                for case in _test_cases(data_dir):
                    stem, like = _stem(case["image"]), os.path.join(REPO, data_dir, case["image"])
                    foreground = _load(os.path.join(REPO, semantic, f"{stem}_seg.nii.gz")) > 0
                    _write(split_foreground(foreground, method), like, os.path.join(REPO, out, row, f"{stem}.nii.gz"))
                scores, summary = evaluate_folder(data_dir, os.path.join(out, row), ".nii.gz")
                commands = [trained["train_command"], show_command(infer)]
                split = f"networks.transforms.split_foreground(foreground, '{method}')"
                run = _row_run(command + f" --rows {row}", commands, scores, summary, split=split)
                add_run(path, data, row, seed, run, label=ROWS[row])
        for row in [r for r in todo if r in DETERMINISTIC_ROWS and not dry_run]:
            scale = given_object_size(data_dir) / training_object_size() if row == "otsu_watershed_scaled" else 1.0
            min_distance = max(1, round(OTSU_MIN_DISTANCE * scale))
            folder = os.path.join(out, row)
            for case in _test_cases(data_dir):
                like = os.path.join(REPO, data_dir, case["image"])
                labels = otsu_watershed(_load(like), min_distance=min_distance)
                _write(labels, like, os.path.join(REPO, folder, f"{_stem(case['image'])}.nii.gz"))
            scores, summary = evaluate_folder(data_dir, folder, ".nii.gz")
            command = f"python scripts/instance_comparison.py run --dataset {dataset} --rows {row}"
            run = _row_run(command, [], scores, summary, min_distance=min_distance)
            add_run(path, data, row, seed, run, label=ROWS[row])
    if not dry_run and not results:
        write_rendered_targets(REPO, os.path.relpath(path, REPO))
    return data


if __name__ == "__main__":
    fire.Fire({"run": run, "otsu_watershed": otsu_watershed})
