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
Cross-channel loss of the Aggregate Attention Module paper (Wang et al., 2021), written in the form of the
mutual-channel loss (Chang et al., "The Devil is in the Channels: Mutual-Channel Loss for Fine-Grained Image
Classification", IEEE TIP 2020, https://arxiv.org/abs/2002.04264), which it builds on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.modules.loss import _Loss

__all__ = ["CrossChannelLoss", "cross_channel_terms", "channel_keep_mask"]


def channel_keep_mask(
    batch: int, num_classes: int, channels_per_class: int, n_drop: int, device: torch.device | None = None
) -> torch.Tensor:
    """(batch, num_classes, channels_per_class) of 0/1: exactly ``n_drop`` random zeros in every group."""
    # the ranks of random numbers are a random permutation: keep the channels ranked n_drop or higher
    rank = torch.rand(batch, num_classes, channels_per_class, device=device).argsort(-1).argsort(-1)
    return (rank >= n_drop).float()


def cross_channel_terms(
    features: torch.Tensor,
    target: torch.Tensor,
    num_classes: int,
    channels_per_class: int,
    drop_fraction: float = 0.5,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    The discriminality and diversity terms over per-class channel groups.

    The first ``num_classes * channels_per_class`` channels of ``features`` (B, C, *spatial) are split into one
    group of ``channels_per_class`` (xi) channels per class; the remaining channels are left free.

    - discriminality: in each group, a random ``floor(xi * drop_fraction)`` channels are zeroed (per sample), the
      group is max-pooled across its channels and averaged over space, giving one score per class; the term is the
      cross-entropy of these scores with the target. It asks every class's own channels to respond to it.
    - diversity: each channel is turned into a distribution over positions (softmax over space); per group, the
      maximum over its channels at each position is summed over space and divided by xi. The value is 1/xi when
      the channels of a group peak at the same place and 1 when they peak at different places; it is averaged over
      classes and samples. It asks the channels of a class to look at different parts.

    Returns:
        ``(discriminality, diversity)``, two scalars.
    """
    if features.ndim < 3:
        raise ValueError(f"features should be (B, C, *spatial), got shape {tuple(features.shape)}.")
    batch, channels = features.shape[:2]
    used = num_classes * channels_per_class
    if channels_per_class < 1 or used > channels:
        raise ValueError(
            f"features have {channels} channels: the cross-channel loss needs at least one channel per class, "
            f"here {num_classes} classes x {max(channels_per_class, 1)} channels per class."
        )
    if not 0.0 <= drop_fraction < 1.0:
        raise ValueError(f"drop_fraction must be in [0, 1) (a group keeps at least one channel), got {drop_fraction}.")
    groups = features[:, :used].reshape(batch, num_classes, channels_per_class, -1)
    n_drop = int(channels_per_class * drop_fraction)
    if n_drop > 0:
        mask = channel_keep_mask(batch, num_classes, channels_per_class, n_drop, features.device)
        groups_dis = groups * mask.unsqueeze(-1).to(groups.dtype)
    else:
        groups_dis = groups
    class_scores = groups_dis.amax(2).mean(-1)
    discriminality = F.cross_entropy(class_scores, target, label_smoothing=label_smoothing)
    spread = groups.softmax(-1).amax(2).sum(-1) / channels_per_class
    return discriminality, spread.mean()


class CrossChannelLoss(_Loss):
    """
    Cross-entropy plus the cross-channel term: ``CE(logits, y) + weight * (L_dis - diversity_weight * L_div)``
    (terms of :py:func:`cross_channel_terms`, on the network's last feature map).

    The network must return ``(logits, features)`` in training mode (``AttentionResNet(return_features=True)``);
    given a tensor (logits only) the loss is the cross-entropy alone when ``weight`` is 0 and an error otherwise (a
    network wired without its features would otherwise train without the cross-channel term, silently). The
    grouping uses the feature channels as they are, so the network is unchanged (ResNet-18's 512 channels give 4
    channels per class for 116 classes, the last 48 channels ungrouped). The diversity term enters with a minus
    sign because it is to be maximised.

    Args:
        num_classes: number of classes.
        channels_per_class: channels in each class's group; ``None`` uses ``C // num_classes`` of the features.
        weight: weight of the cross-channel term against the cross-entropy.
        diversity_weight: weight of the diversity term inside it (the mutual-channel loss's lambda).
        drop_fraction: fraction of each group's channels dropped for the discriminality term (0.5 as in MC-Loss).
        label_smoothing: label smoothing of both cross-entropies (the logits' and the discriminality term's).
    """

    def __init__(
        self,
        num_classes: int,
        channels_per_class: int | None = None,
        weight: float = 0.5,
        diversity_weight: float = 1.0,
        drop_fraction: float = 0.5,
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.channels_per_class = channels_per_class
        self.weight = weight
        self.diversity_weight = diversity_weight
        self.drop_fraction = drop_fraction
        self.label_smoothing = label_smoothing

    def forward(self, pred: torch.Tensor | tuple[torch.Tensor, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        logits, features = (pred, None) if isinstance(pred, torch.Tensor) else pred
        target = target.reshape(-1).long()
        loss = F.cross_entropy(logits, target, label_smoothing=self.label_smoothing)
        if self.weight == 0:
            return loss
        if features is None:
            raise ValueError(
                f"CrossChannelLoss(weight={self.weight}) got logits only: the network must return (logits, features) "
                "in training mode, e.g. AttentionResNet(return_features=True) (set weight=0 for plain cross-entropy)."
            )
        xi = self.channels_per_class or features.shape[1] // self.num_classes
        discriminality, diversity = cross_channel_terms(
            features, target, self.num_classes, xi, self.drop_fraction, self.label_smoothing
        )
        return loss + self.weight * (discriminality - self.diversity_weight * diversity)
