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

"""Classification metrics: top-k accuracy as a MONAI cumulative metric, and a per-class report (scikit-learn)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support, top_k_accuracy_score

__all__ = ["TopKAccuracyMetric", "classification_report"]


class TopKAccuracyMetric(CumulativeIterationMetric):
    """
    Top-k accuracy: the fraction of samples whose true class is among the ``k`` highest scores. ``y_pred`` holds
    one row of scores per sample (logits or probabilities, (B, K) or a list of (K,) tensors, decollated),
    ``y`` the class indices ((B,), (B, 1) or a list of scalars).

    Args:
        k: how many of the highest scores count.
    """

    def __init__(self, k: int = 1) -> None:
        super().__init__()
        self.k = k

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore
        if y is None:
            raise ValueError("TopKAccuracyMetric needs the true classes y.")
        scores = y_pred.reshape(1, -1) if y_pred.ndim <= 1 else y_pred.reshape(y_pred.shape[0], -1)
        target = torch.as_tensor(y, device=scores.device).reshape(-1).long()
        if target.numel() != scores.shape[0]:
            raise ValueError(f"{scores.shape[0]} score rows for {target.numel()} labels.")
        top = scores.topk(min(self.k, scores.shape[1]), dim=1).indices
        return (top == target[:, None]).any(1, keepdim=True).float()

    def aggregate(self) -> torch.Tensor:  # type: ignore[override]
        data = self.get_buffer()
        if not isinstance(data, torch.Tensor) or data.numel() == 0:
            raise ValueError("TopKAccuracyMetric has seen no samples.")
        return data.float().mean()


def classification_report(
    probabilities: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> tuple[list[dict], dict, np.ndarray]:
    """
    Per-class rows, summary and confusion matrix of a classifier on one split.

    Macro F1 averages the F1 of the classes present in ``labels`` (classes that never occur in a split, e.g. a
    region missing from a test slab, would otherwise count as 0 for reasons unrelated to the model); a prediction of
    an absent class still lowers the recall of the true class. Top-5 accuracy is scikit-learn's
    ``top_k_accuracy_score`` over all classes.

    Args:
        probabilities: (N, K) class probabilities (or any scores; top-k uses their order).
        labels: (N,) true class indices.
        class_names: K names.

    Returns:
        ``(rows, summary, confusion)``: one dict per class (support, precision, recall, F1), the summary (top-1,
        top-5, macro F1, counts) and the (K, K) confusion matrix (rows: truth, columns: prediction).
    """
    probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels).astype(int).reshape(-1)
    num_classes = len(class_names)
    if probabilities.shape != (len(labels), num_classes):
        raise ValueError(f"probabilities should be ({len(labels)}, {num_classes}), got {probabilities.shape}.")
    predicted = probabilities.argmax(1)
    everything = np.arange(num_classes)
    present = np.unique(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=everything, zero_division=0
    )
    rows = [
        {
            "class": int(c),
            "name": class_names[c],
            "support": int(support[c]),
            "predicted": int((predicted == c).sum()),
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "f1": float(f1[c]),
        }
        for c in everything
    ]
    summary = {
        "top1_accuracy": float((predicted == labels).mean()),
        # with 5 classes or fewer every label is in the top 5 (scikit-learn warns that the score is meaningless)
        "top5_accuracy": (
            1.0 if num_classes <= 5 else float(top_k_accuracy_score(labels, probabilities, k=5, labels=everything))
        ),
        "macro_f1": float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0)),
        "num_samples": int(len(labels)),
        "num_classes_present": int(len(present)),
    }
    return rows, summary, confusion_matrix(labels, predicted, labels=everything)
