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

"""``instance_matching`` as a MONAI cumulative metric, for evaluators and ``IgniteMetricHandler``."""

from __future__ import annotations

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric

from networks.transforms.instances import split_foreground

from .instance import COUNT_KEYS, instance_matching, summarize_matching

__all__ = ["InstanceMatchingMetric", "foreground_instances"]


def foreground_instances(y_pred: torch.Tensor, connectivity: int = 1) -> np.ndarray:
    """
    Instances of a semantic prediction: the connected components of its foreground, one label map per image.

    Args:
        y_pred: (B, C, *spatial) one-hot/probabilities (argmax over C when C > 1) or a label map (C == 1).
        connectivity: neighbourhood of the components (1 = faces only, up to the number of spatial dims).

    Returns:
        (B, *spatial) int32 label maps.
    """
    labels = y_pred.argmax(1) if y_pred.shape[1] > 1 else y_pred[:, 0]
    fg = labels.detach().cpu().numpy() > 0
    return np.stack([split_foreground(f, "components", connectivity=connectivity) for f in fg]).astype(np.int32)


class InstanceMatchingMetric(CumulativeIterationMetric):
    """
    One metric of ``networks.metrics.instance_matching`` (StarDist's semantics) over a dataset: each image's counts
    (TP, FP, FN, numbers of instances, sum of matched IoUs) are buffered, and ``aggregate`` sums them over all images
    before the ratio, as the nuclei literature reports it (not a mean of per-image ratios).

    The buffer holds the counts per image, in the order of ``networks.metrics.COUNT_KEYS`` (``MetricsSaver`` would
    label them as classes: leave this metric out of its ``metric_details``; ``networks.metrics.instance_report``
    writes per-image instance metrics with their names).

    Args:
        metric: which value ``aggregate`` returns: ``accuracy`` (DSB2018 "AP"), ``f1``, ``precision``, ``recall``,
            ``panoptic_quality``, ``mean_matched_score`` or ``mean_true_score``.
        thresh: IoU a matched pair needs (>=). Defaults to 0.5.
        split_foreground: ``y_pred`` is a semantic prediction whose foreground is split into instances by connected
            components (``foreground_instances``); otherwise ``y_pred`` is an instance label map (B, 1, *spatial).
        connectivity: neighbourhood of those components (1 = 4-connected in 2D).
    """

    METRICS = ("accuracy", "f1", "precision", "recall", "panoptic_quality", "mean_matched_score", "mean_true_score")

    def __init__(
        self, metric: str = "accuracy", thresh: float = 0.5, split_foreground: bool = False, connectivity: int = 1
    ) -> None:
        super().__init__()
        if metric not in self.METRICS:
            raise ValueError(f"metric must be one of {self.METRICS}, got {metric!r}.")
        self.metric = metric
        self.thresh = float(thresh)
        self.split_foreground = split_foreground
        self.connectivity = connectivity

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore
        if y is None:
            raise ValueError("InstanceMatchingMetric needs the true instance map as y.")
        if y.ndim != y_pred.ndim or y.shape[1] != 1:
            raise ValueError(
                f"y must be a (B, 1, *spatial) instance map, got {tuple(y.shape)} for {tuple(y_pred.shape)}."
            )
        if self.split_foreground:
            pred = foreground_instances(y_pred, self.connectivity)
        elif y_pred.shape[1] == 1:
            pred = y_pred[:, 0].detach().cpu().numpy().astype(np.int64)
        else:
            raise ValueError(f"y_pred must be a (B, 1, *spatial) instance map, got {tuple(y_pred.shape)}.")
        true = y[:, 0].detach().cpu().numpy().astype(np.int64)
        rows = []
        for t, p in zip(true, pred):
            stats = instance_matching(t, p, self.thresh)
            rows.append([float(stats[k]) for k in COUNT_KEYS])
        return torch.tensor(rows, dtype=torch.float64, device=y_pred.device)

    def summary(self) -> dict:
        """All matching metrics of the images seen so far (counts summed over images)."""
        data = self.get_buffer()
        if not isinstance(data, torch.Tensor):
            raise ValueError("the data to aggregate must be a PyTorch Tensor.")
        totals = data.sum(0).tolist() if data.numel() else [0.0] * len(COUNT_KEYS)
        return summarize_matching(dict(zip(COUNT_KEYS, totals)), self.thresh)

    def aggregate(self) -> torch.Tensor:  # type: ignore[override]
        return torch.tensor(self.summary()[self.metric])
