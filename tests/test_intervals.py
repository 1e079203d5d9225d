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
"""networks.metrics.intervals: the spread over seeds and the bootstrap interval of a paired difference."""

from __future__ import annotations

import numpy as np
import pytest

from networks.metrics.intervals import (
    mean_sd,
    paired_bootstrap_auc_interval,
    paired_bootstrap_interval,
    paired_bootstrap_ratio_interval,
    verdict,
    weighted_auc,
)


def test_a_constant_shift_of_one_seed_has_a_point_interval():
    b = np.linspace(0.2, 0.9, 12)
    assert paired_bootstrap_interval(b + 0.1, b) == pytest.approx((0.1, 0.1, 0.1))
    assert paired_bootstrap_interval(b, b) == (0.0, 0.0, 0.0)


def test_the_interval_covers_the_true_difference_about_95_times_in_100():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(200):
        case_difficulty = rng.normal(0.7, 0.1, 25)  # shared by both arms: the pairing
        a = case_difficulty + 0.03 + rng.normal(0, 0.05, (3, 25)) + rng.normal(0, 0.01, (3, 1))
        b = case_difficulty + rng.normal(0, 0.05, (3, 25)) + rng.normal(0, 0.01, (3, 1))
        _, low, high = paired_bootstrap_interval(a, b, num_resamples=2000, seed=int(rng.integers(1 << 30)))
        hits += low <= 0.03 <= high
    assert 0.88 <= hits / 200 <= 0.995


def test_same_seed_same_interval_and_clear_errors():
    rng = np.random.default_rng(3)
    a, b = rng.random((3, 10)), rng.random((3, 10))
    assert paired_bootstrap_interval(a, b, seed=5) == paired_bootstrap_interval(a, b, seed=5)
    with pytest.raises(ValueError, match="same cases, got 10 and 9"):
        paired_bootstrap_interval(a, b[:, :9])
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap_interval(a, np.full((3, 10), np.nan))


def test_mean_sd_and_verdict():
    assert mean_sd([0.5, 0.7, 0.6]) == pytest.approx((0.6, 0.1))
    assert mean_sd([0.4]) == (0.4, 0.0)
    assert verdict(0.01, 0.05) == "better" and verdict(-0.05, -0.01) == "worse"
    assert verdict(-0.01, 0.02) == "no difference shown"
    assert verdict(0.01, 0.05, higher_is_better=False) == "worse"


def test_weighted_auc_is_scikit_learns_with_case_weights_and_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    for _ in range(10):
        labels = rng.random(60) < 0.2
        scores = np.round(rng.random(60) + 0.4 * labels, 1)  # rounded: many ties
        weights = rng.integers(0, 3, (4, 60)).astype(float)
        expected = [roc_auc_score(labels, scores, sample_weight=w) for w in weights]
        assert weighted_auc(scores, labels, weights) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(weighted_auc([0.2, 0.4], [0, 0], np.ones((1, 2))))[0]


def test_auc_interval_of_a_perfect_against_a_chance_ranking():
    labels = np.zeros((40, 2))
    labels[:8, 0] = labels[20:30, 1] = 1
    perfect = np.repeat(labels[None] + 0.1, 3, 0)  # every positive above every negative
    chance = np.full((3, 40, 2), 0.5)  # all tied: AUC 0.5
    diff, low, high = paired_bootstrap_auc_interval(perfect, chance, labels, num_resamples=200)
    assert (diff, low, high) == pytest.approx((0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="seeds, cases, classes"):
        paired_bootstrap_auc_interval(perfect[:, :30], chance, labels)


def test_pooled_ratio_interval_pools_the_cases_of_each_resample():
    # per-image TP and TP + FP + FN: arm a pools 30/40 = 0.75, arm b 20/40 = 0.5; the image means differ from that
    num_a, den_a = np.array([[27.0, 3.0]]), np.array([[30.0, 10.0]])
    num_b, den_b = np.array([[15.0, 5.0]]), np.array([[30.0, 10.0]])
    diff, low, high = paired_bootstrap_ratio_interval(num_a, den_a, num_b, den_b, num_resamples=2000)
    assert diff == pytest.approx(0.25)
    # every resample is image 1 twice (0.9 - 0.5), image 2 twice (0.3 - 0.5) or both (0.25): the interval spans them
    assert low == pytest.approx(-0.2) and high == pytest.approx(0.4)
    same = paired_bootstrap_ratio_interval(num_a, den_a, num_a, den_a, num_resamples=200)
    assert same == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same cases"):
        paired_bootstrap_ratio_interval(num_a, den_a, num_b[:, :1], den_b[:, :1])
