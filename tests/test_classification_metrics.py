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

"""Classification metrics (against scikit-learn) and the class-label check of classification datalists."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, top_k_accuracy_score

from networks.metrics import TopKAccuracyMetric, classification_report
from networks.transforms import check_class_labels


@pytest.mark.parametrize("k", [1, 3, 5])
def test_top_k_accuracy_metric_matches_scikit_learn_on_decollated_outputs(k):
    rng = np.random.default_rng(k)
    scores, labels = rng.normal(size=(40, 9)), rng.integers(0, 9, 40)
    metric = TopKAccuracyMetric(k=k)
    for start in range(0, 40, 16):  # batches of decollated (K,) score rows and scalar labels, as an evaluator gives
        rows = slice(start, start + 16)
        metric([torch.as_tensor(s) for s in scores[rows]], [torch.tensor(v) for v in labels[rows]])
    expected = top_k_accuracy_score(labels, scores, k=k, labels=np.arange(9))
    assert metric.aggregate().item() == pytest.approx(expected)


def test_classification_report_counts_present_classes_only():
    names = ["a", "b", "c", "d"]
    labels = np.array([0, 0, 1, 1, 2, 2])  # class d never occurs
    predicted = np.array([0, 1, 1, 1, 3, 2])  # one prediction of the absent class
    probs = np.eye(4)[predicted] * 0.7 + 0.075
    rows, summary, confusion = classification_report(probs, labels, names)
    assert summary["top1_accuracy"] == pytest.approx(4 / 6)
    assert summary["macro_f1"] == pytest.approx(f1_score(labels, predicted, labels=[0, 1, 2], average="macro"))
    assert summary["num_classes_present"] == 3 and summary["top5_accuracy"] == 1.0
    assert confusion.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]]
    assert rows[3] == {
        "class": 3,
        "name": "d",
        "support": 0,
        "predicted": 1,
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
    }
    assert rows[1]["precision"] == pytest.approx(2 / 3) and rows[1]["recall"] == 1.0
    with pytest.raises(ValueError, match="probabilities should be"):
        classification_report(probs[:, :3], labels, names)


def test_check_class_labels_names_the_bad_entry():
    good = [{"image": "a.nii.gz", "label": 0}, {"image": "b.nii.gz", "label": np.int64(4)}]
    assert check_class_labels(good, 5) == good
    for bad in (5, -1, "3", None, 2.0, True):
        with pytest.raises(ValueError, match=r"training entry 1 \(b.nii.gz\).*\[0, 5\)"):
            check_class_labels([good[0], {"image": "b.nii.gz", "label": bad}], 5, name="training")
