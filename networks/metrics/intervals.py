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
"""How sure a comparison of two trained models is: the spread over training seeds, and a bootstrap interval of the
difference of their mean scores over the same test cases.

Scores are arrays of shape (seeds, cases): one row per training seed, one column per test case, the same cases in
the same order for both arms. A statistic that is not a mean over cases (a ROC AUC) is scored again on each
resample through case weights (:func:`bootstrap_mean_auc`), and the arms are then combined the same way
(:func:`paired_interval`). The bootstrap resamples test cases (the same resampled cases for both arms: they are
paired) and, independently per arm, training seeds (a seed of one network has nothing to do with the same seed of
another), so the interval covers both the test-set and the training-run variation.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "mean_sd",
    "paired_bootstrap_interval",
    "weighted_auc",
    "scored_classes",
    "bootstrap_mean_auc",
    "paired_interval",
    "paired_bootstrap_auc_interval",
    "paired_bootstrap_ratio_interval",
    "verdict",
]


def _scores(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.size == 0 or not np.isfinite(array).all():
        raise ValueError(f"{name} must be a non-empty, finite (seeds, cases) array, got shape {array.shape}.")
    return array


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; 0 for a single value) of per-seed scores."""
    values = np.asarray(values, dtype=np.float64).ravel()
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def _resampled_case_means(scores: np.ndarray, cases: np.ndarray, chunk_values: int = 1 << 24) -> np.ndarray:
    """(seeds, resamples) means of ``scores`` over each resample's cases, a block of resamples at a time so that
    thousands of test cases (per-image accuracies) do not need one (seeds, resamples, cases) array at once."""
    step = max(1, chunk_values // max(1, scores.shape[0] * cases.shape[1]))
    return np.concatenate([scores[:, cases[i : i + step]].mean(-1) for i in range(0, len(cases), step)], axis=1)


def paired_bootstrap_interval(
    scores_a, scores_b, confidence: float = 0.95, num_resamples: int = 10000, seed: int = 0
) -> tuple[float, float, float]:
    """
    The difference mean(a) - mean(b) and its percentile bootstrap interval.

    Args:
        scores_a, scores_b: (seeds, cases) scores of the two arms (a 1D array is one seed); the case axes must match.
        confidence: coverage of the interval.
        num_resamples: bootstrap resamples.
        seed: seed of the resampling, so that a table renders the same interval every time.

    Returns:
        (difference, low, high).
    """
    a, b = _scores(scores_a, "scores_a"), _scores(scores_b, "scores_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"both arms must score the same cases, got {a.shape[1]} and {b.shape[1]} cases.")
    rng = np.random.default_rng(seed)
    cases = rng.integers(0, a.shape[1], size=(num_resamples, a.shape[1]))
    seeds_a = rng.integers(0, a.shape[0], size=(num_resamples, a.shape[0]))
    seeds_b = rng.integers(0, b.shape[0], size=(num_resamples, b.shape[0]))
    # mean over resampled seeds and cases = mean over resampled seeds of the per-seed mean over resampled cases
    case_means_a = _resampled_case_means(a, cases)  # (seeds, resamples)
    case_means_b = _resampled_case_means(b, cases)
    diff = np.take_along_axis(case_means_a, seeds_a.T, 0).mean(0) - np.take_along_axis(case_means_b, seeds_b.T, 0).mean(
        0
    )
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diff, [tail, 100 - tail])
    return float(a.mean() - b.mean()), float(low), float(high)


def weighted_auc(scores, labels, weights) -> np.ndarray:
    """
    ROC AUC of ``scores`` against binary ``labels`` (one class, ``n`` cases) with case weights: the weighted
    Mann-Whitney statistic, ties counted half. ``weights`` of shape (resamples, n) give one AUC per row, so the case
    counts of many bootstrap resamples are scored at once (all ones: the plain AUC). NaN where a row has no
    positive or no negative weight.
    """
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels) > 0.5
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    order = np.argsort(scores, kind="stable")
    sorted_scores, positive = scores[order], labels[order]
    w = weights[:, order]
    negative_w = np.where(positive, 0.0, w)
    below_or_equal = np.cumsum(negative_w, axis=1)
    # runs of equal scores: their first and last positions, for the negatives strictly below and those tied
    starts = np.searchsorted(sorted_scores, sorted_scores, side="left")
    ends = np.searchsorted(sorted_scores, sorted_scores, side="right") - 1
    padded = np.concatenate([np.zeros((w.shape[0], 1)), below_or_equal], axis=1)
    below = padded[:, starts]
    tied = padded[:, ends + 1] - below
    positive_w = np.where(positive, w, 0.0)
    pairs = positive_w.sum(1) * negative_w.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, (positive_w * (below + 0.5 * tied)).sum(1) / pairs, np.nan)


def scored_classes(labels, min_positives: int = 5) -> np.ndarray:
    """Which classes (columns of (cases, classes) 0/1 ``labels``) an AUC is averaged over: those with at least
    ``min_positives`` positive and as many negative cases, so that bootstrap resamples almost never lose a class."""
    y = np.asarray(labels) > 0.5
    return (y.sum(0) >= min_positives) & ((~y).sum(0) >= min_positives)


def _mean_auc(probs: np.ndarray, labels: np.ndarray, weights: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Mean over the ``classes`` of the weighted AUC, one per weight row; a class a resample leaves without a
    positive or negative case (NaN) is left out of that resample's mean."""
    aucs = np.stack([weighted_auc(probs[:, c], labels[:, c], weights) for c in np.flatnonzero(classes)])
    with warnings.catch_warnings():  # all classes NaN: the row's mean is NaN, dropped by the percentiles
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(aucs, axis=0)


def bootstrap_mean_auc(
    probs, labels, num_resamples: int = 1000, seed: int = 0, min_positives: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """
    The class-mean ROC AUC of each seed on the test cases and on bootstrap resamples of them.

    Args:
        probs: (seeds, cases, classes) predicted probabilities.
        labels: (cases, classes) 0/1 truth.
        num_resamples: bootstrap resamples of the cases.
        seed: seed of the case resampling; it and the number of cases alone fix the resamples, so two arms scored
            with the same ``seed`` see the same resampled cases (paired).
        min_positives: classes with fewer positive (or negative) test cases are left out (:func:`scored_classes`).

    Returns:
        ((seeds,) AUC on all cases, (seeds, resamples) AUC per resample).
    """
    p, y = np.asarray(probs, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != y.shape or not np.isfinite(p).all():
        raise ValueError(f"probs must be finite (seeds, cases, classes) matching labels {y.shape}, got {p.shape}.")
    classes = scored_classes(y, min_positives)
    if not classes.any():
        raise ValueError(f"no class has {min_positives} positive and negative test cases: no AUC to average.")
    n = y.shape[0]
    picks = np.random.default_rng(seed).integers(0, n, size=(num_resamples, n))
    weights = np.bincount((picks + n * np.arange(num_resamples)[:, None]).ravel(), minlength=num_resamples * n)
    weights = weights.reshape(num_resamples, n).astype(np.float64)
    ones = np.ones((1, n))
    point = np.array([_mean_auc(q, y, ones, classes)[0] for q in p])
    return point, np.stack([_mean_auc(q, y, weights, classes) for q in p])


def paired_interval(
    point_a, resampled_a, point_b, resampled_b, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """
    mean(a) - mean(b) over seeds and its percentile bootstrap interval, from each arm's per-seed statistic on all
    cases (``point_*``, (seeds,)) and on the same case resamples (``resampled_*``, (seeds, resamples)): training
    seeds are resampled per arm, as :func:`paired_bootstrap_interval` does.
    """
    ra, rb = np.asarray(resampled_a), np.asarray(resampled_b)
    if ra.shape[1] != rb.shape[1]:
        raise ValueError(f"both arms need the same case resamples, got {ra.shape[1]} and {rb.shape[1]}.")
    rng = np.random.default_rng(seed + 1)
    seeds_a = rng.integers(0, ra.shape[0], size=(ra.shape[1], ra.shape[0]))
    seeds_b = rng.integers(0, rb.shape[0], size=(rb.shape[1], rb.shape[0]))
    diff = np.take_along_axis(ra, seeds_a.T, 0).mean(0) - np.take_along_axis(rb, seeds_b.T, 0).mean(0)
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(diff, [tail, 100 - tail])
    return float(np.mean(point_a) - np.mean(point_b)), float(low), float(high)


def paired_bootstrap_ratio_interval(
    num_a, den_a, num_b, den_b, confidence: float = 0.95, num_resamples: int = 10000, seed: int = 0
) -> tuple[float, float, float]:
    """
    The difference of a statistic pooled over cases, sum(numerator) / sum(denominator) per seed and then the mean
    over seeds (DSB accuracy: TP / (TP + FP + FN) counted over all images), and its percentile bootstrap interval:
    cases resampled (the same for both arms) and each resample pooled again, seeds resampled per arm.

    Args:
        num_a, den_a, num_b, den_b: (seeds, cases) per-case numerators and denominators of the two arms; the case
            axes must match.
        confidence, num_resamples, seed: as :func:`paired_bootstrap_interval`.

    Returns:
        (difference, low, high).
    """
    na, da = _scores(num_a, "num_a"), _scores(den_a, "den_a")
    nb, db = _scores(num_b, "num_b"), _scores(den_b, "den_b")
    if not na.shape[1] == da.shape[1] == nb.shape[1] == db.shape[1]:
        raise ValueError(f"both arms must score the same cases, got {na.shape[1]} and {nb.shape[1]} cases.")
    cases = np.random.default_rng(seed).integers(0, na.shape[1], size=(num_resamples, na.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):  # a resample without any denominator has no ratio
        ra = _resampled_case_means(na, cases) / _resampled_case_means(da, cases)  # a ratio of means = of sums
        rb = _resampled_case_means(nb, cases) / _resampled_case_means(db, cases)
        point_a, point_b = na.sum(1) / da.sum(1), nb.sum(1) / db.sum(1)
    return paired_interval(point_a, ra, point_b, rb, confidence=confidence, seed=seed)


def paired_bootstrap_auc_interval(
    probs_a, probs_b, labels, confidence: float = 0.95, num_resamples: int = 1000, seed: int = 0, min_positives: int = 5
) -> tuple[float, float, float]:
    """
    The difference of the class-mean ROC AUC of two arms, mean over seeds, and its percentile bootstrap interval:
    test cases resampled (the same cases for both arms), seeds resampled per arm, as
    :func:`paired_bootstrap_interval` does for per-case scores (an AUC is not a mean over cases, so each resample
    is scored again, through case weights). Arguments as :func:`bootstrap_mean_auc`; (difference, low, high).
    """
    a = bootstrap_mean_auc(probs_a, labels, num_resamples, seed, min_positives)
    b = bootstrap_mean_auc(probs_b, labels, num_resamples, seed, min_positives)
    return paired_interval(*a, *b, confidence=confidence, seed=seed)


def verdict(low: float, high: float, higher_is_better: bool = True) -> str:
    """ "better" or "worse" only when the interval excludes 0; otherwise "no difference shown"."""
    if low > 0 or high < 0:
        return "better" if (low > 0) == higher_is_better else "worse"
    return "no difference shown"
