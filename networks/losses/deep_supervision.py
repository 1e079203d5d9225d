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

"""Deep-supervision loss with nnU-Net's scale weights, built on MONAI's ``DeepSupervisionLoss``."""

from __future__ import annotations

from typing import Any

from monai.losses import DeepSupervisionLoss, DiceCELoss
from torch.nn.modules.loss import _Loss

__all__ = ["nnunet_deep_supervision_weights", "NNUNetDeepSupervisionLoss", "deep_supervision_dice_ce"]


def nnunet_deep_supervision_weights(num_scales: int) -> list[float]:
    """
    nnU-Net's deep-supervision weights: 1 / 2**i for scale i (0 = full resolution), the
    lowest-resolution output weighted 0, normalised to sum to 1. With one scale the weight is [1.0].

    Example: 4 scales give [8/14, 4/14, 2/14, 0].

    Args:
        num_scales: number of outputs of the network.
    """
    if num_scales < 1:
        raise ValueError(f"num_scales must be >= 1, got {num_scales}.")
    if num_scales == 1:
        return [1.0]
    weights = [0.5**i for i in range(num_scales - 1)] + [0.0]
    total = sum(weights)
    return [w / total for w in weights]


class NNUNetDeepSupervisionLoss(DeepSupervisionLoss):
    """
    MONAI DeepSupervisionLoss whose weights follow nnU-Net (see :py:func:`nnunet_deep_supervision_weights`),
    computed from the number of outputs the network returns, so one config serves networks with 4
    outputs (SwinUMamba), other counts, or a single tensor (no deep supervision: plain loss).
    Targets are resized to each output with nearest-neighbour interpolation (MONAI's behaviour).

    Args:
        loss: the loss applied at each scale, e.g. DiceCELoss(to_onehot_y=True, softmax=True).
    """

    def __init__(self, loss: _Loss) -> None:
        super().__init__(loss, weight_mode="exp", weights=None)

    def get_weights(self, levels: int = 1) -> list[float]:
        return nnunet_deep_supervision_weights(max(1, levels))


def deep_supervision_dice_ce(**dice_ce_kwargs: Any) -> NNUNetDeepSupervisionLoss:
    """
    Build the bundles' default loss: DiceCELoss wrapped by :py:class:`NNUNetDeepSupervisionLoss`.

    Args:
        dice_ce_kwargs: arguments of monai.losses.DiceCELoss; defaults to_onehot_y=True,
            softmax=True, squared_pred=True, batch=True (nnU-Net's batch Dice).
    """
    kwargs = {"to_onehot_y": True, "softmax": True, "squared_pred": True, "batch": True}
    kwargs.update(dice_ce_kwargs)
    return NNUNetDeepSupervisionLoss(DiceCELoss(**kwargs))
