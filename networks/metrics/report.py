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

"""Every instance metric of one evaluation in one place: per-image rows and a dataset summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .coco import coco_mask_metrics
from .instance import aggregated_jaccard_index, instance_matching, instance_matching_dataset, panoptic_quality

__all__ = ["EVAL_THRESHOLDS", "instance_report"]

# IoU thresholds of the summary: 0.5, 0.55, ..., 0.9 (StarDist's and Cellpose's plots span this range)
EVAL_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(9))


def instance_report(
    y_trues: Sequence[np.ndarray],
    y_preds: Sequence[np.ndarray],
    names: Sequence[str],
    scores: Sequence[Mapping[int, float] | None] | None = None,
    thresholds: Sequence[float] = EVAL_THRESHOLDS,
    max_detections: int = 1000,
) -> tuple[list[dict], dict]:
    """
    Per-image rows and the dataset summary of an instance segmentation evaluation.

    Rows: counts and accuracy/F1 at IoU 0.5, AJI, AJI+, PQ/DQ/SQ of each image. Summary:

    - ``matching``: ``instance_matching_dataset`` at every threshold (counts summed over images, StarDist/DSB style);
      ``dsb_accuracy_0.5`` and ``mean_dsb_accuracy`` (its mean over the thresholds) repeat the headline numbers;
    - ``aji``, ``aji_plus``, ``pq``, ``dq``, ``sq``: means over images (how HoVer-Net and the nuclei benchmarks report
      them);
    - ``coco``: mask mAP@[.5:.95], AP50, AP75, AR over all images at ``max_detections`` per image.

    Args:
        y_trues: true label maps.
        y_preds: predicted label maps.
        names: one name per image.
        scores: per image, instance id -> confidence, for COCO AP (ties when absent).
        thresholds: IoU thresholds of matching.
        max_detections: COCO detections per image.
    """
    if not len(y_trues) == len(y_preds) == len(names):
        raise ValueError(f"got {len(y_trues)} truths, {len(y_preds)} predictions and {len(names)} names.")
    rows = []
    for name, t, p in zip(names, y_trues, y_preds):
        m = instance_matching(t, p, 0.5)
        pq = panoptic_quality(t, p)
        rows.append(
            {
                "image": name,
                "n_true": m["n_true"],
                "n_pred": m["n_pred"],
                "tp_0.5": m["tp"],
                "fp_0.5": m["fp"],
                "fn_0.5": m["fn"],
                "accuracy_0.5": m["accuracy"],
                "f1_0.5": m["f1"],
                "aji": aggregated_jaccard_index(t, p),
                "aji_plus": aggregated_jaccard_index(t, p, plus=True),
                "pq": pq["pq"],
                "dq": pq["dq"],
                "sq": pq["sq"],
            }
        )
    matching = instance_matching_dataset(y_trues, y_preds, list(thresholds))
    summary = {
        "num_images": len(rows),
        "dsb_accuracy_0.5": next((m["accuracy"] for m in matching if np.isclose(m["thresh"], 0.5)), None),
        "mean_dsb_accuracy": float(np.mean([m["accuracy"] for m in matching])),
        "f1_0.5": next((m["f1"] for m in matching if np.isclose(m["thresh"], 0.5)), None),
    }
    for key in ("aji", "aji_plus", "pq", "dq", "sq"):
        summary[key] = float(np.mean([r[key] for r in rows])) if rows else 0.0
    summary["coco"] = coco_mask_metrics(y_trues, y_preds, scores, max_detections)
    summary["matching"] = matching
    return rows, summary
