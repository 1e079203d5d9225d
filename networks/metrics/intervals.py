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
the same order for both arms. The bootstrap resamples test cases (the same resampled cases for both arms: they are
paired) and, independently per arm, training seeds (a seed of one network has nothing to do with the same seed of
another), so the interval covers both the test-set and the training-run variation.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mean_sd", "paired_bootstrap_interval", "verdict"]


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


def verdict(low: float, high: float, higher_is_better: bool = True) -> str:
    """ "better" or "worse" only when the interval excludes 0; otherwise "no difference shown"."""
    if low > 0 or high < 0:
        return "better" if (low > 0) == higher_is_better else "worse"
    return "no difference shown"
