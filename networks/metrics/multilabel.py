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
"""Multi-label (zero-shot) classification metrics and map-mask overlap scores, on scikit-learn."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

__all__ = ["multilabel_report", "map_mask_overlap"]


def multilabel_report(
    probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str], threshold: float | Sequence[float] = 0.5
) -> tuple[list[dict], dict]:
    """
    Per class: AUC (only where both labels occur), F1 and accuracy at ``threshold``, support; and their means over
    the classes with an AUC.

    Args:
        probs: (N, C) probabilities.
        labels: (N, C) 0/1 truths.
        class_names: C names.
        threshold: probability at which a class is called present: one for all, or one per class.

    Returns:
        the per-class rows and a summary with ``mean_auc``, ``mean_f1``, ``mean_acc`` and the counts.
    """
    probs, labels = np.asarray(probs, dtype=float), np.asarray(labels, dtype=int)
    if probs.shape != labels.shape or probs.ndim != 2 or probs.shape[1] != len(class_names):
        raise ValueError(f"probs {probs.shape} and labels {labels.shape} must both be (N, {len(class_names)})")
    thresholds = np.broadcast_to(np.asarray(threshold, dtype=float), (len(class_names),))
    rows = []
    for c, name in enumerate(class_names):
        truth, pred = labels[:, c], (probs[:, c] >= thresholds[c]).astype(int)
        both = 0 < truth.sum() < len(truth)
        rows.append(
            {
                "class": name,
                "positives": int(truth.sum()),
                "negatives": int(len(truth) - truth.sum()),
                "auc": float(roc_auc_score(truth, probs[:, c])) if both else float("nan"),
                "f1": float(f1_score(truth, pred, zero_division=0)),
                "acc": float(accuracy_score(truth, pred)),
            }
        )
    scored = [r for r in rows if not np.isnan(r["auc"])]
    summary = {
        "num_cases": int(len(labels)),
        "num_classes_scored": len(scored),
        "threshold": threshold if np.ndim(threshold) == 0 else [round(float(t), 4) for t in thresholds],
        **{
            f"mean_{k}": float(np.mean([r[k] for r in scored])) if scored else float("nan")
            for k in ("auc", "f1", "acc")
        },
    }
    return rows, summary


def map_mask_overlap(attention: np.ndarray, mask: np.ndarray, threshold: float = 0.5) -> dict:
    """IoU and Dice of ``attention >= threshold`` (a [0, 1] map) against a boolean mask of the same shape."""
    attention, mask = np.asarray(attention), np.asarray(mask).astype(bool)
    if attention.shape != mask.shape:
        raise ValueError(f"map {attention.shape} and mask {mask.shape} differ in shape")
    hit = attention >= threshold
    inter, union, total = np.logical_and(hit, mask).sum(), np.logical_or(hit, mask).sum(), hit.sum() + mask.sum()
    return {"iou": float(inter / union) if union else 1.0, "dice": float(2 * inter / total) if total else 1.0}
