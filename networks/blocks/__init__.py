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

"""Blocks of the zoo's networks: VMamba SS2D mixer, VSS blocks, patch operations, attention gates (AAM, CBAM)."""

from __future__ import annotations

from networks.blocks.attention import CBAM, AggregateAttention, CBAMChannelGate, ChannelAttention, SpatialAttention
from networks.blocks.patch_ops import PatchEmbed2D, PatchExpand2D, PatchMerging2D
from networks.blocks.ss2d import SS2D
from networks.blocks.vss_block import VSSBlock, VSSStage

__all__ = [
    "SS2D",
    "VSSBlock",
    "VSSStage",
    "PatchEmbed2D",
    "PatchMerging2D",
    "PatchExpand2D",
    "ChannelAttention",
    "SpatialAttention",
    "AggregateAttention",
    "CBAMChannelGate",
    "CBAM",
]
