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

"""Losses shared by the zoo's bundles."""

from __future__ import annotations

from .contrastive import ConVIRTLoss, GLoRIALoss, word_region_attention
from .cross_channel import CrossChannelLoss, channel_keep_mask, cross_channel_terms
from .deep_supervision import NNUNetDeepSupervisionLoss, deep_supervision_dice_ce, nnunet_deep_supervision_weights

__all__ = [
    "NNUNetDeepSupervisionLoss",
    "deep_supervision_dice_ce",
    "nnunet_deep_supervision_weights",
    "CrossChannelLoss",
    "cross_channel_terms",
    "channel_keep_mask",
    "ConVIRTLoss",
    "GLoRIALoss",
    "word_region_attention",
]
