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

"""Evaluator handlers of instance segmentation: metric report (CSV, JSON, outline PNG) and COCO JSON of predictions."""

from __future__ import annotations

import json
import os

import numpy as np
import torch
from ignite.engine import Engine
from monai.utils import min_version, optional_import
from scipy import ndimage

from networks.data.file_io import csv_bytes, figure_png_bytes, write_bytes_atomic
from networks.handlers.collector import CaseCollector, case_file_name
from networks.metrics.coco import coco_dataset
from networks.metrics.report import EVAL_THRESHOLDS, instance_report

idist, _ = optional_import("ignite", "0.4.10", min_version, "distributed")

__all__ = ["InstanceEvaluationSaver", "COCOPredictionSaver", "save_outline_figure"]


def _label_map(x) -> np.ndarray:
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return np.rint(x[0] if x.ndim == 3 else x).astype(np.int32)


def _scores(ids: np.ndarray, score_map) -> dict[int, float]:
    """instance id -> score, read from the score channel at the instance's pixels."""
    if score_map is None:
        return {}
    index = np.unique(ids)
    index = index[index != 0]
    best = ndimage.maximum(_label_map_float(score_map), labels=ids, index=index) if len(index) else []
    return {int(i): float(v) for i, v in zip(index, best)}


def _label_map_float(x) -> np.ndarray:
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return (x[0] if x.ndim == 3 else x).astype(np.float32)


class _InstanceCollector(CaseCollector):
    """Collect (name, image, truth, prediction, scores) of every case an evaluator sees (decollated outputs)."""

    def __init__(self, pred_key: str, score_key: str | None, label_key: str | None, image_key: str) -> None:
        super().__init__()
        self.pred_key, self.score_key, self.label_key, self.image_key = pred_key, score_key, label_key, image_key

    def collect(self, engine: Engine) -> None:
        batch, output = engine.state.batch, engine.state.output
        if not isinstance(output, list) or not isinstance(batch, list):
            raise TypeError(f"{type(self).__name__} needs decollated outputs: give the evaluator a postprocessing.")
        for b, o in zip(batch, output):
            item = {**b, **o}  # the truth and image stay in the batch, the prediction is in the output
            pred = _label_map(item[self.pred_key])
            case = {
                "name": case_file_name(item, self.image_key, len(self.cases), "image"),
                "pred": pred,
                "scores": _scores(pred, item.get(self.score_key)) if self.score_key else {},
            }
            if self.label_key:
                if self.label_key not in item:
                    raise KeyError(f"{case['name']}: no true instance map under {self.label_key!r}.")
                case["true"] = _label_map(item[self.label_key])
            if self.image_key in item:
                case["image"] = _label_map_float(item[self.image_key])
            self.cases.append(case)


def save_outline_figure(cases: list[dict], path: str, num_cases: int = 4) -> None:
    """PNG with one row per case: the image with true outlines (green) | with predicted outlines (magenta)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage.segmentation import find_boundaries

    cases = [c for c in cases if "image" in c][:num_cases]
    if not cases:
        return
    fig, axes = plt.subplots(len(cases), 2, figsize=(8, 4 * len(cases)), squeeze=False)
    for row, case in enumerate(cases):
        image = case["image"].T  # MONAI (x, y) order -> rows, columns
        lo, hi = np.percentile(image, (1, 99.5))
        gray = np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1)
        for col, (key, colour, title) in enumerate(
            (("true", (0.1, 1.0, 0.1), "truth"), ("pred", (1.0, 0.1, 1.0), "prediction"))
        ):
            rgb = np.repeat(gray[..., None], 3, axis=-1)
            if key in case:
                edges = find_boundaries(case[key].T, mode="inner")
                rgb[edges] = colour
                title = f"{title}: {len(np.unique(case[key])) - 1} instances"
            ax = axes[row, col]
            ax.imshow(rgb, interpolation="nearest")
            ax.set_title(f"{case['name']}: {title}" if col == 0 else title, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    write_bytes_atomic(path, figure_png_bytes(fig, dpi=100))


class InstanceEvaluationSaver(_InstanceCollector):
    """
    When an evaluator completes, write every instance metric of ``networks.metrics.instance_report``:
    ``instance_metrics.csv`` (one row per image), ``instance_metrics_summary.json`` (dataset summary: DSB accuracy and
    the other matching metrics at IoU 0.5:0.05:0.9, AJI, AJI+, PQ/DQ/SQ, COCO mask AP/AR) and ``instances.png``
    (image with true and predicted outlines for the first cases). Rank 0 only.

    Args:
        output_dir: folder of the three files.
        pred_key: predicted instance map (C=1) in the decollated output.
        score_key: per-pixel score of the predicted instance (COCO AP ranks detections by it); ``None``: all tie.
        label_key: true instance map.
        image_key: image (for names and the figure).
        max_detections: COCO detections per image.
        num_figure_cases: cases drawn in the PNG.
        extra: items added to the summary (e.g. the checkpoint path).
    """

    def __init__(
        self,
        output_dir: str,
        pred_key: str = "pred_instance",
        score_key: str | None = "pred_score",
        label_key: str = "instance",
        image_key: str = "image",
        max_detections: int = 1000,
        num_figure_cases: int = 4,
        extra: dict | None = None,
    ) -> None:
        super().__init__(pred_key, score_key, label_key, image_key)
        self.output_dir = output_dir
        self.max_detections = max_detections
        self.num_figure_cases = num_figure_cases
        self.extra = dict(extra or {})

    def save(self, engine: Engine) -> None:
        if idist.get_rank() != 0 or not self.cases:
            return
        rows, summary = instance_report(
            [c["true"] for c in self.cases],
            [c["pred"] for c in self.cases],
            [c["name"] for c in self.cases],
            [c["scores"] for c in self.cases] if self.score_key else None,
            EVAL_THRESHOLDS,
            self.max_detections,
        )
        summary.update(self.extra)
        write_bytes_atomic(os.path.join(self.output_dir, "instance_metrics.csv"), csv_bytes(rows))
        doc = json.dumps(summary, indent=2, default=float) + "\n"
        write_bytes_atomic(os.path.join(self.output_dir, "instance_metrics_summary.json"), doc.encode())
        save_outline_figure(self.cases, os.path.join(self.output_dir, "instances.png"), self.num_figure_cases)


class COCOPredictionSaver(_InstanceCollector):
    """
    When an evaluator completes, write the predicted instances of every image as one COCO JSON (``images``,
    ``annotations`` with run-length encoded masks and ``score``, ``categories``), in the images' (row, column) order.
    Rank 0 only.

    Args:
        output_file: path of the JSON file.
        pred_key: predicted instance map in the decollated output.
        score_key: per-pixel score of the instance.
        image_key: image (for file names and sizes).
        category: name of the single category.
    """

    def __init__(
        self,
        output_file: str,
        pred_key: str = "pred_instance",
        score_key: str | None = "pred_score",
        image_key: str = "image",
        category: str = "nucleus",
    ) -> None:
        super().__init__(pred_key, score_key, None, image_key)
        self.output_file = output_file
        self.category = category

    def save(self, engine: Engine) -> None:
        if idist.get_rank() != 0:
            return
        doc = coco_dataset(
            [c["pred"] for c in self.cases],
            [c["name"] for c in self.cases],
            transpose=True,  # MONAI (x, y) order -> the image's rows and columns
            scores=[c["scores"] for c in self.cases],
            category=self.category,
        )
        write_bytes_atomic(self.output_file, (json.dumps(doc) + "\n").encode())
