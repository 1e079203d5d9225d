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
"""Per-class probability calibration of multi-label scores: Platt scaling (a logistic fit on the score's logit) and
the threshold of best F1, both chosen on a validation set, and the expected calibration error that shows whether
the scale means anything."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

__all__ = ["fit_calibration", "apply_calibration", "expected_calibration_error"]

_EPS = 1e-6


def _logit(probs: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def fit_calibration(probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> dict:
    """
    Fit each class's calibration on validation scores.

    Per class, ``P(present) = sigmoid(slope * logit(score) + intercept)`` (Platt scaling, scikit-learn's logistic
    regression on the standardised logit with its default L2 penalty, which keeps the fit finite when a class has
    few positives or is separable), and the
    threshold on the calibrated probability that gives the best F1 on these cases. A class without both positives
    and negatives here keeps the identity scale and threshold 0.5, marked ``"fitted": false``. A class whose score
    falls as the truth rises (fitted slope <= 0) is marked ``"informative": false``: its probability is the
    validation prevalence, whatever the score, and it is never called present (threshold 1).

    Args:
        probs: (N, C) scores in (0, 1), e.g. zero-shot probabilities.
        labels: (N, C) 0/1 truths.
        class_names: the C class names.

    Returns:
        ``{"classes": {name: {"slope", "intercept", "threshold", "fitted", "informative", "positives",
        "negatives"}}, "num_cases"}``.
    """
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels, dtype=int)
    if probs.shape != labels.shape or probs.ndim != 2 or probs.shape[1] != len(class_names):
        raise ValueError(f"probs {probs.shape} and labels {labels.shape} must both be (N, {len(class_names)})")
    classes = {}
    for c, name in enumerate(class_names):
        truth, x = labels[:, c], _logit(probs[:, c])
        entry = {"positives": int(truth.sum()), "negatives": int(len(truth) - truth.sum())}
        if not 0 < truth.sum() < len(truth):
            classes[name] = {"slope": 1.0, "intercept": 0.0, "threshold": 0.5, "fitted": False, "informative": None,
                             **entry}  # fmt: skip
            continue
        # standardised, so that the penalty does not depend on how squeezed the scores are (a low softmax
        # temperature puts them all near 0.5)
        centre, spread = x.mean(), max(x.std(), _EPS)
        fit = LogisticRegression().fit(((x - centre) / spread)[:, None], truth)
        slope = float(fit.coef_[0, 0]) / spread
        intercept = float(fit.intercept_[0]) - slope * centre
        if slope <= 0:  # the score does not rise with the truth here: it says nothing, so the prevalence is the answer
            prevalence = float(truth.mean())
            classes[name] = {"slope": 0.0, "intercept": float(_logit(prevalence)), "threshold": 1.0, "fitted": True,
                             "informative": False, **entry}  # fmt: skip
            continue
        calibrated = 1 / (1 + np.exp(-(slope * x + intercept)))
        candidates = np.unique(calibrated)
        f1 = [f1_score(truth, calibrated >= t, zero_division=0) for t in candidates]
        threshold = float(candidates[int(np.argmax(f1))])
        classes[name] = {"slope": slope, "intercept": intercept, "threshold": threshold, "fitted": True,
                         "informative": True, **entry}  # fmt: skip
    return {"classes": classes, "num_cases": int(len(labels))}


def apply_calibration(
    probs: np.ndarray, calibration: dict, class_names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(N, C) calibrated probabilities and the (C,) thresholds of ``calibration`` (:func:`fit_calibration`) for
    ``class_names``; a class the calibration does not name is an error."""
    missing = [n for n in class_names if n not in calibration.get("classes", {})]
    if missing:
        raise KeyError(f"the calibration has no entry for {missing}; fit it with these classes")
    entries = [calibration["classes"][n] for n in class_names]
    slope = np.array([e["slope"] for e in entries])
    intercept = np.array([e["intercept"] for e in entries])
    calibrated = 1 / (1 + np.exp(-(slope * _logit(probs) + intercept)))
    return calibrated, np.array([e["threshold"] for e in entries])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, num_bins: int = 10) -> float:
    """Mean over all (case, class) scores of |observed frequency - mean score| in ``num_bins`` equal-width bins,
    weighted by the bins' counts: 0 when a score of p means present a fraction p of the time."""
    p, y = np.asarray(probs, dtype=np.float64).ravel(), np.asarray(labels, dtype=np.float64).ravel()
    bins = np.minimum((p * num_bins).astype(int), num_bins - 1)
    error = 0.0
    for b in np.unique(bins):
        inside = bins == b
        error += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return float(error / len(p))
