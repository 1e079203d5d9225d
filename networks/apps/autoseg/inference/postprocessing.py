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

"""nnU-Net's postprocessing decision: keep only the largest connected component (of the whole foreground, then of
each label) where that raises the cross-validation Dice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

__all__ = ["keep_largest_component", "apply_postprocessing", "determine_postprocessing"]


def keep_largest_component(seg: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """Set to background every voxel of ``labels`` outside the largest connected component of their union
    (full connectivity, as scikit-image's default that nnU-Net uses)."""
    mask = np.isin(seg, np.asarray(list(labels)))
    components, count = ndimage.label(mask, structure=np.ones((3,) * seg.ndim, dtype=bool))
    if count <= 1:
        return seg
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    out = seg.copy()
    out[mask & (components != int(np.argmax(sizes)))] = 0
    return out


def apply_postprocessing(seg: np.ndarray, decision: Mapping) -> np.ndarray:
    """Apply a decision of :func:`determine_postprocessing` to a label map."""
    if decision.get("keep_largest_foreground"):
        seg = keep_largest_component(seg, decision["foreground_labels"])
    for label in decision.get("keep_largest_per_label", []):
        seg = keep_largest_component(seg, [label])
    return seg


def determine_postprocessing(evaluate, labels: Sequence[int]) -> dict:
    """Decide the postprocessing as nnU-Net: keep the largest foreground component if the mean foreground Dice
    rises and no label's Dice falls; then, with several labels, keep the largest component of each label whose
    Dice rises.

    Args:
        evaluate: ``evaluate(decision) -> summary`` (see ``evaluation.evaluate_cases``) of the cross-validation
            predictions with a candidate decision applied.
        labels: the foreground labels.

    Returns:
        the decision (``foreground_labels``, ``keep_largest_foreground``, ``keep_largest_per_label``) with the
        summaries ``before`` and ``after`` it.
    """
    labels = [int(v) for v in labels]
    decision = {"foreground_labels": labels, "keep_largest_foreground": False, "keep_largest_per_label": []}
    baseline = evaluate(decision)
    best = baseline
    candidate = {**decision, "keep_largest_foreground": True}
    result = evaluate(candidate)
    if result["foreground_mean"]["Dice"] > best["foreground_mean"]["Dice"] and all(
        not result["mean"][k]["Dice"] < best["mean"][k]["Dice"] for k in best["mean"]
    ):
        decision, best = candidate, result
    if len(labels) > 1:
        for label in labels:
            candidate = {**decision, "keep_largest_per_label": [*decision["keep_largest_per_label"], label]}
            result = evaluate(candidate)
            if result["mean"][str(label)]["Dice"] > best["mean"][str(label)]["Dice"]:
                decision, best = candidate, result
    return {
        **decision,
        "before": {k: baseline[k] for k in ("foreground_mean", "mean")},
        "after": {k: best[k] for k in ("foreground_mean", "mean")},
    }
