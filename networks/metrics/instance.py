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
Instance segmentation metrics of the nuclei literature, on integer label maps (0 = background, ids need not be
consecutive), computed as their reference implementations compute them:

- ``instance_matching``: StarDist's ``matching`` (one-to-one optimal assignment, a pair counts when IoU >= thresh;
  ``accuracy`` = TP / (TP + FP + FN) is the "AP" of DSB2018, StarDist and Cellpose); ``instance_matching_dataset``
  sums the counts over images before the ratios (StarDist's ``matching_dataset``);
- ``aggregated_jaccard_index``: AJI of Kumar et al. (IEEE TMI 2017) and AJI+ of HoVer-Net (Graham et al. 2019);
- ``panoptic_quality``: PQ = DQ x SQ of Kirillov et al. (CVPR 2019) with IoU > 0.5 pairs, as MONAI and HoVer-Net.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "instance_overlap",
    "instance_matching",
    "instance_matching_dataset",
    "summarize_matching",
    "aggregated_jaccard_index",
    "panoptic_quality",
    "same_instances",
    "COUNT_KEYS",
]

# the per-image numbers that add up over a dataset; every ratio is derived from them
COUNT_KEYS = ("tp", "fp", "fn", "n_true", "n_pred", "sum_matched_score")


def _as_label_map(array, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind == "f":
        if not np.all(np.mod(array, 1) == 0):
            raise ValueError(f"{name} must hold integer instance ids, got non-integer values ({array.dtype}).")
        array = array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise ValueError(f"{name} must be an integer label map, got dtype {array.dtype}.")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must hold non-negative ids (0 = background), got minimum {array.min()}.")
    return array


def same_instances(a, b) -> bool:
    """
    Whether two label maps split the pixels into the same instances, whatever their ids: the same foreground, and
    every instance of one covered by exactly one instance of the other (so stitched or streamed results can be
    compared with a reference run that numbered its instances in another order).
    """
    a, b = _as_label_map(a, "a"), _as_label_map(b, "b")
    if a.shape != b.shape or not np.array_equal(a > 0, b > 0):
        return False
    pairs = np.unique(a.astype(np.int64).ravel() * (int(b.max()) + 1) + b.ravel())
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def instance_overlap(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Pixel counts shared by every true and predicted instance.

    Args:
        y_true: integer label map, 0 = background.
        y_pred: integer label map of the same shape.

    Returns:
        ``(overlap, true_area, pred_area)``: overlap[i, j] = pixels of the i-th true and j-th predicted instance
        (ids in increasing order, background excluded), and the instances' areas.
    """
    y_true, y_pred = _as_label_map(y_true, "y_true"), _as_label_map(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must have the same shape.")
    # index 0 is always background: prepend a 0 so that np.unique's inverse maps background to 0 in both maps
    t_ids, t = np.unique(np.concatenate([[0], y_true.ravel()]), return_inverse=True)
    p_ids, p = np.unique(np.concatenate([[0], y_pred.ravel()]), return_inverse=True)
    t, p = t[1:], p[1:]
    n_t, n_p = len(t_ids), len(p_ids)
    counts = np.bincount(t * n_p + p, minlength=n_t * n_p).reshape(n_t, n_p)
    return counts[1:, 1:], counts[1:].sum(1), counts[:, 1:].sum(0)


def _iou(overlap: np.ndarray, true_area: np.ndarray, pred_area: np.ndarray) -> np.ndarray:
    union = true_area[:, None] + pred_area[None, :] - overlap
    return np.divide(overlap, union, out=np.zeros(overlap.shape), where=union > 0)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else 0.0


def summarize_matching(counts: dict, thresh: float | None = None) -> dict:
    """
    The metrics of ``instance_matching`` from its counts (those of one image, or summed over images).

    Ratios follow StarDist: precision, recall, accuracy and F1 are 0 when there is no true positive; the mean scores
    and PQ are 0 when their denominator is 0.
    """
    tp, fp, fn = int(counts["tp"]), int(counts["fp"]), int(counts["fn"])
    total = float(counts["sum_matched_score"])
    out = {k: counts[k] for k in COUNT_KEYS}
    out.update(
        precision=_ratio(tp, tp + fp) if tp else 0.0,
        recall=_ratio(tp, tp + fn) if tp else 0.0,
        accuracy=_ratio(tp, tp + fp + fn) if tp else 0.0,
        f1=_ratio(2 * tp, 2 * tp + fp + fn) if tp else 0.0,
        mean_matched_score=_ratio(total, tp),
        mean_true_score=_ratio(total, counts["n_true"]),
        panoptic_quality=_ratio(total, tp + fp / 2 + fn / 2),
    )
    if thresh is not None:
        out["thresh"] = float(thresh)
    return out


def _match_counts(iou: np.ndarray, thresh: float) -> dict:
    n_true, n_pred = iou.shape
    n_matched = min(n_true, n_pred)
    tp, total = 0, 0.0
    if n_matched > 0:
        # maximise the number of pairs at or above thresh first, then their IoU (the second term stays below 1/2)
        cost = -(iou >= thresh).astype(float) - iou / (2 * n_matched)
        rows, cols = linear_sum_assignment(cost)
        scores = iou[rows, cols]
        ok = scores >= thresh
        tp, total = int(ok.sum()), float(scores[ok].sum())
    return {
        "tp": tp,
        "fp": n_pred - tp,
        "fn": n_true - tp,
        "n_true": n_true,
        "n_pred": n_pred,
        "sum_matched_score": total,
    }


def instance_matching(y_true, y_pred, thresh: float | Sequence[float] = 0.5) -> dict | list[dict]:
    """
    Match true and predicted instances one-to-one and count them, as StarDist's ``stardist.matching.matching``.

    A true and a predicted instance form a true positive when the optimal one-to-one assignment pairs them and their
    IoU is at least ``thresh``. ``accuracy`` = TP / (TP + FP + FN) is what DSB2018, StarDist and Cellpose call
    "average precision" at that threshold; ``panoptic_quality`` = sum of matched IoUs / (TP + FP/2 + FN/2).

    Args:
        y_true: integer label map, 0 = background (ids need not be consecutive).
        y_pred: integer label map of the same shape.
        thresh: IoU threshold, or several (one result per threshold, the assignment is solved for each).

    Returns:
        dict with ``tp, fp, fn, n_true, n_pred, sum_matched_score, precision, recall, accuracy, f1,
        mean_matched_score, mean_true_score, panoptic_quality, thresh``; a list of them for several thresholds.
    """
    overlap, true_area, pred_area = instance_overlap(y_true, y_pred)
    iou = _iou(overlap, true_area, pred_area)
    if np.isscalar(thresh):
        return summarize_matching(_match_counts(iou, float(thresh)), thresh)
    return [summarize_matching(_match_counts(iou, float(t)), t) for t in thresh]


def instance_matching_dataset(y_trues, y_preds, thresh: float | Sequence[float] = 0.5) -> dict | list[dict]:
    """
    ``instance_matching`` over a dataset: counts summed over images before the ratios, as StarDist's
    ``matching_dataset(..., by_image=False)`` and the way the nuclei literature reports its scores.

    Args:
        y_trues: sequence of true label maps.
        y_preds: sequence of predicted label maps, same length and shapes.
        thresh: IoU threshold(s).
    """
    if len(y_trues) != len(y_preds):
        raise ValueError(f"got {len(y_trues)} true and {len(y_preds)} predicted label maps.")
    thresholds = [thresh] if np.isscalar(thresh) else list(thresh)
    sums = [dict.fromkeys(COUNT_KEYS, 0) for _ in thresholds]
    for y_true, y_pred in zip(y_trues, y_preds):
        for total, stats in zip(sums, instance_matching(y_true, y_pred, thresholds)):
            for k in COUNT_KEYS:
                total[k] += stats[k]
    out = [summarize_matching(total, t) for total, t in zip(sums, thresholds)]
    return out[0] if np.isscalar(thresh) else out


def aggregated_jaccard_index(y_true, y_pred, plus: bool = False) -> float:
    """
    Aggregated Jaccard Index.

    AJI (Kumar et al., "A Dataset and a Technique for Generalized Nuclear Segmentation for Computational Pathology",
    IEEE TMI 2017): every true instance is paired with the predicted instance of highest IoU with it (a prediction
    may serve several true instances); AJI = sum of the pairs' intersections / (sum of their unions + the areas of
    true instances without any overlap and of predictions never used).

    AJI+ (Graham et al., HoVer-Net, Medical Image Analysis 2019): the same sums over a one-to-one pairing that
    maximises the total IoU (pairs with IoU 0 dropped), so a prediction's pixels never count twice in the union.

    Args:
        y_true: integer label map, 0 = background.
        y_pred: integer label map of the same shape.
        plus: AJI+ instead of AJI.

    Returns:
        the index in [0, 1]; 1.0 when both maps are empty, 0.0 when only one is.
    """
    overlap, true_area, pred_area = instance_overlap(y_true, y_pred)
    n_true, n_pred = overlap.shape
    if n_true == 0 or n_pred == 0:
        return 1.0 if n_true == n_pred else 0.0
    iou = _iou(overlap, true_area, pred_area)
    if plus:
        rows, cols = linear_sum_assignment(-iou)
    else:
        rows, cols = np.arange(n_true), iou.argmax(1)
    keep = iou[rows, cols] > 0
    rows, cols = rows[keep], cols[keep]
    inter = overlap[rows, cols].sum()
    union = (true_area[rows] + pred_area[cols] - overlap[rows, cols]).sum()
    unpaired_true = np.setdiff1d(np.arange(n_true), rows)
    unused_pred = np.setdiff1d(np.arange(n_pred), cols)
    union += true_area[unpaired_true].sum() + pred_area[unused_pred].sum()
    return float(inter) / float(union)


def panoptic_quality(y_true, y_pred, thresh: float = 0.5) -> dict:
    """
    Panoptic quality of one class (Kirillov et al., "Panoptic Segmentation", CVPR 2019), as MONAI's
    ``PanopticQualityMetric``: pairs need IoU > ``thresh`` (unique for thresh >= 0.5);
    DQ = TP / (TP + FP/2 + FN/2), SQ = mean IoU of the pairs, PQ = DQ x SQ.

    Args:
        y_true: integer label map, 0 = background.
        y_pred: integer label map of the same shape.
        thresh: IoU a pair must exceed; at least 0.5 so that pairs are unique without an assignment.

    Returns:
        dict with ``pq, dq, sq, tp, fp, fn``.
    """
    if thresh < 0.5:
        raise ValueError(f"thresh must be >= 0.5 (pairs are unique only then), got {thresh}.")
    overlap, true_area, pred_area = instance_overlap(y_true, y_pred)
    iou = _iou(overlap, true_area, pred_area)
    paired = iou[iou > thresh]
    tp = len(paired)
    fp, fn = overlap.shape[1] - tp, overlap.shape[0] - tp
    dq = _ratio(tp, tp + fp / 2 + fn / 2)
    sq = _ratio(paired.sum(), tp)
    return {"pq": dq * sq, "dq": dq, "sq": sq, "tp": tp, "fp": fp, "fn": fn}
