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
"""Evaluation reports of the vision-language bundle: zero-shot classification and grounding."""

from __future__ import annotations

import json
import logging
import os
from typing import Sequence

import numpy as np
import torch
from ignite.engine import Engine

from networks.data.file_io import csv_bytes, write_bytes_atomic, write_json_atomic
from networks.handlers.collector import CaseCollector, case_file_name
from networks.metrics.calibration import apply_calibration, expected_calibration_error, fit_calibration
from networks.metrics.multilabel import map_mask_overlap, multilabel_report

__all__ = ["ZeroShotEvaluationSaver", "GroundingEvaluationSaver"]

logger = logging.getLogger(__name__)


def _round(row: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


class _VisionLanguageSaver(CaseCollector):
    """What both reports take: their folder, the class names, a threshold, extra summary entries."""

    def __init__(
        self, output_dir: str, class_names: Sequence[str], threshold: float = 0.5, extra: dict | None = None
    ) -> None:
        super().__init__()
        self.output_dir, self.class_names, self.threshold, self.extra = output_dir, list(class_names), threshold, extra


class ZeroShotEvaluationSaver(_VisionLanguageSaver):
    """
    Write zero-shot results into ``output_dir`` when the evaluator completes: ``zeroshot_predictions.csv`` (per
    image, P(class) for every class) always; with labels, ``zeroshot_per_class.csv`` (AUC, F1, ACC, support) and
    ``zeroshot_summary.json`` (their means, ``extra``).

    Calibration (:mod:`networks.metrics.calibration`): with ``fit_calibration``, the per-class probability scale and
    thresholds are fitted on this evaluation's cases (a validation set, with labels) and written to
    ``calibration_file``. Otherwise, when ``calibration_file`` exists, it is applied as well:
    ``zeroshot_predictions_calibrated.csv`` holds the calibrated probabilities and the classes called present, and
    with labels the summary's ``calibrated`` entry holds F1 and ACC at the calibrated thresholds and the expected
    calibration error before and after.

    Args:
        output_dir: folder of the files.
        class_names: the classes, in the order of the evaluator's ``pred`` columns.
        threshold: probability at which a class is called present (uncalibrated).
        extra: entries added to the summary.
        calibration_file: JSON file of the calibration to apply (or to write, with ``fit_calibration``).
        fit_calibration: fit the calibration on these cases and write it to ``calibration_file``.
    """

    def __init__(
        self,
        output_dir: str,
        class_names: Sequence[str],
        threshold: float = 0.5,
        extra: dict | None = None,
        calibration_file: str | None = None,
        fit_calibration: bool = False,
    ) -> None:
        super().__init__(output_dir, class_names, threshold, extra)
        if fit_calibration and not calibration_file:
            raise ValueError("ZeroShotEvaluationSaver: fit_calibration needs a calibration_file to write.")
        self.calibration_file, self.fit_calibration = calibration_file, fit_calibration

    def collect(self, engine: Engine) -> None:
        for item in engine.state.output:
            case = {
                "file": case_file_name(item, "image", len(self.cases)),
                "probs": torch.as_tensor(item["pred"]).detach().float().cpu().numpy().reshape(-1),
            }
            if item.get("label") is not None:
                case["labels"] = torch.as_tensor(item["label"]).cpu().numpy().reshape(-1)
            self.cases.append(case)

    def save(self, engine: Engine) -> None:
        if not self.cases:
            raise ValueError("ZeroShotEvaluationSaver: the evaluator saw no images.")
        os.makedirs(self.output_dir, exist_ok=True)
        probs = np.stack([c["probs"] for c in self.cases])
        labels = np.stack([c["labels"] for c in self.cases]) if all("labels" in c for c in self.cases) else None
        rows = [
            {"file": c["file"], **{n: round(float(p), 5) for n, p in zip(self.class_names, c["probs"])}}
            for c in self.cases
        ]
        write_bytes_atomic(os.path.join(self.output_dir, "zeroshot_predictions.csv"), csv_bytes(rows))
        if self.fit_calibration:
            if labels is None:
                raise ValueError("ZeroShotEvaluationSaver: fitting a calibration needs labelled cases.")
            self._write_calibration(probs, labels)
        calibrated = self._calibrated(probs)
        if labels is None:
            logger.info(f"zero-shot probabilities of {len(rows)} image(s) (no labels) in {self.output_dir}")
            return
        per_class, summary = multilabel_report(probs, labels, self.class_names, self.threshold)
        write_bytes_atomic(
            os.path.join(self.output_dir, "zeroshot_per_class.csv"), csv_bytes([_round(r) for r in per_class])
        )
        summary = {**_round(summary), "per_class": [_round(r) for r in per_class], **(self.extra or {})}
        summary["ece"] = round(expected_calibration_error(probs, labels), 4)
        if calibrated is not None:
            scaled, thresholds = calibrated
            per_class_cal, summary_cal = multilabel_report(scaled, labels, self.class_names, thresholds)
            summary["calibrated"] = {
                **_round(summary_cal),
                "calibration_file": self.calibration_file,
                "ece": round(expected_calibration_error(scaled, labels), 4),
                "per_class": [_round(r) for r in per_class_cal],
            }
        write_json_atomic(os.path.join(self.output_dir, "zeroshot_summary.json"), summary)
        logger.info(
            f"zero-shot on {summary['num_cases']} images: mean AUC {summary['mean_auc']:.4f}, "
            f"F1 {summary['mean_f1']:.4f}, ACC {summary['mean_acc']:.4f}"
            + (f"; calibrated F1 {summary['calibrated']['mean_f1']:.4f}" if calibrated is not None else "")
        )

    def _write_calibration(self, probs: np.ndarray, labels: np.ndarray) -> None:
        calibration = fit_calibration(probs, labels, self.class_names)
        scaled, _ = apply_calibration(probs, calibration, self.class_names)
        calibration.update(
            {
                "fitted_on": self.output_dir,
                "ece_before": round(expected_calibration_error(probs, labels), 4),
                "ece_after": round(expected_calibration_error(scaled, labels), 4),
                **(self.extra or {}),
            }
        )
        write_json_atomic(self.calibration_file, calibration)
        logger.info(f"calibration of {len(self.class_names)} classes on {len(probs)} cases in {self.calibration_file}")

    def _calibrated(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Calibrated probabilities and thresholds when a calibration file exists (also written out per image)."""
        if not self.calibration_file or not os.path.isfile(self.calibration_file):
            return None
        with open(self.calibration_file) as f:
            calibration = json.load(f)
        scaled, thresholds = apply_calibration(probs, calibration, self.class_names)
        rows = []
        for case, p in zip(self.cases, scaled):
            present = [n for n, v, t in zip(self.class_names, p, thresholds) if v >= t]
            row = {n: round(float(v), 5) for n, v in zip(self.class_names, p)}
            rows.append({"file": case["file"], **row, "present": "; ".join(present) or "none"})
        write_bytes_atomic(os.path.join(self.output_dir, "zeroshot_predictions_calibrated.csv"), csv_bytes(rows))
        return scaled, thresholds


class GroundingEvaluationSaver(_VisionLanguageSaver):
    """
    Compare each class's attention map (``pred``, C x H x W in [0, 1]) with its lesion mask (``label``, C x H x W)
    on the images that have a non-empty mask of that class: IoU and Dice at ``threshold``, per class and mean, in
    ``grounding_summary.json`` and ``grounding_per_class.csv``.
    """

    def collect(self, engine: Engine) -> None:
        for item in engine.state.output:
            maps = torch.as_tensor(item["pred"]).detach().float().cpu().numpy()
            masks = torch.as_tensor(item["label"]).cpu().numpy() > 0.5
            for c, name in enumerate(self.class_names):
                if masks[c].any():
                    self.cases.append({"class": name, **map_mask_overlap(maps[c], masks[c], self.threshold)})

    def save(self, engine: Engine) -> None:
        rows = []
        for name in self.class_names:
            scores = [c for c in self.cases if c["class"] == name]
            if scores:
                rows.append(
                    {
                        "class": name,
                        "cases": len(scores),
                        "iou": float(np.mean([s["iou"] for s in scores])),
                        "dice": float(np.mean([s["dice"] for s in scores])),
                    }
                )
        if not rows:
            raise ValueError("GroundingEvaluationSaver: no image had a lesion mask of any class.")
        summary = {
            "threshold": self.threshold,
            "mean_iou": float(np.mean([r["iou"] for r in rows])),
            "mean_dice": float(np.mean([r["dice"] for r in rows])),
            "per_class": [_round(r) for r in rows],
            **(self.extra or {}),
        }
        os.makedirs(self.output_dir, exist_ok=True)
        write_bytes_atomic(
            os.path.join(self.output_dir, "grounding_per_class.csv"), csv_bytes([_round(r) for r in rows])
        )
        write_json_atomic(
            os.path.join(self.output_dir, "grounding_summary.json"),
            _round(summary) | {"per_class": summary["per_class"]},
        )
        logger.info(f"grounding: mean IoU {summary['mean_iou']:.4f}, mean Dice {summary['mean_dice']:.4f}")
