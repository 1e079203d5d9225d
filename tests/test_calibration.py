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
"""Per-class calibration of zero-shot scores: known answers on scores built to have them."""

from __future__ import annotations

import numpy as np
import pytest

from networks.metrics import apply_calibration, expected_calibration_error, fit_calibration

CLASSES = ["rising", "falling", "absent"]


def _scores():
    rng = np.random.default_rng(0)
    labels = np.zeros((200, 3), dtype=int)
    labels[:60, 0] = labels[:60, 1] = 1  # "absent" has no positive case
    # all scores squeezed near 0.5 (as a softmax at a low temperature gives), separable for "rising" above 0.52
    rising = np.where(labels[:, 0] == 1, rng.uniform(0.53, 0.56, 200), rng.uniform(0.47, 0.51, 200))
    falling = np.where(labels[:, 1] == 1, rng.uniform(0.40, 0.45, 200), rng.uniform(0.50, 0.55, 200))
    return np.stack([rising, falling, rng.uniform(0.4, 0.6, 200)], 1), labels


def test_fit_and_apply():
    probs, labels = _scores()
    calibration = fit_calibration(probs, labels, CLASSES)
    rising, falling, absent = (calibration["classes"][c] for c in CLASSES)
    assert rising["fitted"] and rising["informative"] and rising["slope"] > 0
    assert falling["informative"] is False and falling["threshold"] == 1.0
    assert absent["fitted"] is False and absent["threshold"] == 0.5 and absent["positives"] == 0
    scaled, thresholds = apply_calibration(probs, calibration, CLASSES)
    called = scaled[:, 0] >= thresholds[0]
    assert (called == labels[:, 0].astype(bool)).all()  # separable: the best-F1 threshold separates
    assert np.argsort(scaled[:, 0], kind="stable").tolist() == np.argsort(probs[:, 0], kind="stable").tolist()
    assert np.allclose(scaled[:, 1], 0.3)  # uninformative: the prevalence (60 of 200)
    assert np.allclose(scaled[:, 2], probs[:, 2])  # not fitted: unchanged
    # the calibrated "rising" probabilities are nearer the truth than the squeezed scores
    assert expected_calibration_error(scaled[:, :1], labels[:, :1]) < expected_calibration_error(
        probs[:, :1], labels[:, :1]
    )
    with pytest.raises(KeyError, match="no entry"):
        apply_calibration(probs, calibration, ["rising", "other", "absent"])


def test_expected_calibration_error_known_values():
    labels = np.array([1, 0, 1, 0])
    assert expected_calibration_error(np.array([1.0, 0.0, 1.0, 0.0]), labels) == 0
    assert expected_calibration_error(np.full(4, 0.5), labels) == pytest.approx(0.0)  # half present at 0.5
    assert expected_calibration_error(np.full(4, 0.9), labels) == pytest.approx(0.4)
