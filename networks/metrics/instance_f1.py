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

"""Instance F1 at an IoU threshold (the cell-segmentation metric used by Swin-UMamba for microscopy)."""

from __future__ import annotations

import numpy as np
import torch
from monai.metrics import CumulativeIterationMetric
from monai.metrics.utils import do_metric_reduction
from monai.utils import MetricReduction
from scipy import ndimage

__all__ = ["match_instances", "compute_instance_f1", "InstanceF1Metric"]


def match_instances(pred_instances: np.ndarray, gt_instances: np.ndarray, iou_threshold: float = 0.5) -> tuple:
    """
    Count true positives, false positives and false negatives between two instance maps.

    A predicted and a true instance match when their IoU is above iou_threshold; for thresholds
    >= 0.5 a match is unique (two instances cannot both overlap one object by more than half), so no
    assignment step is needed.

    Args:
        pred_instances: integer map, 0 = background, each other value one predicted instance.
        gt_instances: integer map of the same shape, 0 = background, each other value one true instance.
        iou_threshold: IoU above which a pair counts as a match. Defaults to 0.5.

    Returns:
        (tp, fp, fn) as ints.
    """
    if pred_instances.shape != gt_instances.shape:
        raise ValueError(f"shapes differ: pred {pred_instances.shape} vs ground truth {gt_instances.shape}.")
    if iou_threshold < 0.5:
        raise ValueError(f"iou_threshold must be >= 0.5 for unique matching, got {iou_threshold}.")
    _, p = np.unique(pred_instances, return_inverse=True)
    _, g = np.unique(gt_instances, return_inverse=True)
    p, g = p.reshape(-1), g.reshape(-1)
    # index 0 is background in both maps when background is present (value 0 is the smallest id)
    p_has_bg, g_has_bg = (pred_instances == 0).any(), (gt_instances == 0).any()
    n_p, n_g = int(p.max()) + 1, int(g.max()) + 1
    inter = np.bincount(p * n_g + g, minlength=n_p * n_g).reshape(n_p, n_g).astype(np.float64)
    area_p, area_g = inter.sum(1), inter.sum(0)
    if p_has_bg:
        inter, area_p = inter[1:], area_p[1:]
    if g_has_bg:
        inter, area_g = inter[:, 1:], area_g[1:]
    num_pred, num_gt = inter.shape
    if num_pred == 0 or num_gt == 0:
        return 0, num_pred, num_gt
    iou = inter / (area_p[:, None] + area_g[None, :] - inter)
    tp = int((iou > iou_threshold).sum())
    return tp, num_pred - tp, num_gt - tp


def compute_instance_f1(
    y_pred: torch.Tensor, y: torch.Tensor, iou_threshold: float = 0.5, connectivity: int = 1
) -> torch.Tensor:
    """
    Per-image instance F1: connected components of the predicted foreground against a true instance map.

    Args:
        y_pred: (B, C, *spatial) prediction, one-hot/probabilities (argmax over C when C > 1) or a
            label map (C == 1); every non-zero class is foreground.
        y: (B, 1, *spatial) true instance ids (0 = background).
        iou_threshold: IoU above which a pair matches. Defaults to 0.5.
        connectivity: neighbourhood of the connected components (1 = faces only, up to ndim).

    Returns:
        (B, 1) float tensor of F1 = 2TP / (2TP + FP + FN); 1.0 when both maps are empty.
    """
    if y_pred.ndim < 3 or y.ndim != y_pred.ndim:
        raise ValueError(f"expected (B, C, *spatial) inputs, got y_pred {tuple(y_pred.shape)} and y {tuple(y.shape)}.")
    if y.shape[1] != 1:
        raise ValueError(f"y must be a one-channel instance map, got shape {tuple(y.shape)}.")
    labels = y_pred.argmax(1) if y_pred.shape[1] > 1 else y_pred[:, 0]
    fg = labels.detach().cpu().numpy() > 0
    gt = y[:, 0].detach().cpu().numpy().astype(np.int64)
    structure = ndimage.generate_binary_structure(fg.ndim - 1, connectivity)
    scores = []
    for b in range(fg.shape[0]):
        pred_instances, _ = ndimage.label(fg[b], structure=structure)
        tp, fp, fn = match_instances(pred_instances, gt[b], iou_threshold)
        denom = 2 * tp + fp + fn
        scores.append(1.0 if denom == 0 else 2 * tp / denom)
    return torch.tensor(scores, dtype=torch.float32, device=y_pred.device).reshape(-1, 1)


class InstanceF1Metric(CumulativeIterationMetric):
    """
    Instance F1 at an IoU threshold, in MONAI's cumulative-metric form so it plugs into
    IgniteMetricHandler / evaluators and MetricsSaver (per-case values in the buffer).

    The predicted foreground is split into connected components and each is matched to the
    ground-truth instance map (an IoU above iou_threshold is a match); F1 is computed per image and
    reduced over images (mean by default).

    Args:
        iou_threshold: IoU above which a pair matches. Defaults to 0.5.
        connectivity: neighbourhood of the connected components (1 = 4-connected in 2D).
        reduction: MONAI metric reduction over the (B, 1) buffer. Defaults to "mean".
        get_not_nans: also return the number of non-NaN values.
    """

    def __init__(
        self,
        iou_threshold: float = 0.5,
        connectivity: int = 1,
        reduction: MetricReduction | str = MetricReduction.MEAN,
        get_not_nans: bool = False,
    ) -> None:
        super().__init__()
        self.iou_threshold = iou_threshold
        self.connectivity = connectivity
        self.reduction = reduction
        self.get_not_nans = get_not_nans

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore
        if y is None:
            raise ValueError("InstanceF1Metric needs the ground-truth instance map as y.")
        return compute_instance_f1(y_pred, y, self.iou_threshold, self.connectivity)

    def aggregate(self, reduction: MetricReduction | str | None = None) -> torch.Tensor | tuple:
        data = self.get_buffer()
        if not isinstance(data, torch.Tensor):
            raise ValueError("the data to aggregate must be a PyTorch Tensor.")
        f, not_nans = do_metric_reduction(data, reduction or self.reduction)
        return (f, not_nans) if self.get_not_nans else f
