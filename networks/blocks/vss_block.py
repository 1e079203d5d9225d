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

"""VSS block (LayerNorm -> SS2D -> DropPath, residual) and a stage of such blocks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.utils.checkpoint as checkpoint
from monai.networks.layers import DropPath
from torch import nn

from networks.blocks.ss2d import SS2D

__all__ = ["VSSBlock", "VSSStage"]


class VSSBlock(nn.Module):
    """
    Visual State Space block of VMamba v0 (https://arxiv.org/abs/2401.10166) as used by Swin-UMamba:
    ``x + DropPath(SS2D(LayerNorm(x)))`` on channels-last tensors. There is no MLP branch: the VMamba-Tiny
    ImageNet weights (release 20240218, ``mlp_ratio=0``) have none. Keys: ``ln_1``, ``self_attention``.

    Args:
        hidden_dim: number of channels.
        drop_path: stochastic depth probability of the residual branch. Defaults to 0.0.
        d_state: SSM state size. Defaults to 16.
        attn_drop: dropout inside SS2D (on its output). Defaults to 0.0.
        ss2d_kwargs: further keyword arguments of :class:`SS2D`.
    """

    def __init__(
        self, hidden_dim: int, drop_path: float = 0.0, d_state: int = 16, attn_drop: float = 0.0, **ss2d_kwargs
    ) -> None:
        super().__init__()
        if not 0.0 <= drop_path < 1.0:
            raise ValueError(f"`drop_path` must be in [0, 1), got {drop_path}.")
        # channels-last token norm with the checkpoint's key name, hence nn.LayerNorm and not a MONAI norm factory
        self.ln_1 = nn.LayerNorm(hidden_dim)
        self.self_attention = SS2D(hidden_dim, d_state=d_state, dropout=attn_drop, **ss2d_kwargs)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.self_attention(self.ln_1(x)))


class VSSStage(nn.Module):
    """
    A stage of ``depth`` VSS blocks at one resolution (no down/upsampling). Keys: ``blocks.{j}``.

    Args:
        dim: number of channels.
        depth: number of blocks.
        drop_path: one stochastic depth rate for all blocks, or one per block. Defaults to 0.0.
        d_state: SSM state size. Defaults to 16.
        attn_drop: dropout inside SS2D. Defaults to 0.0.
        use_checkpoint: recompute the blocks in backward (gradient checkpointing) to save memory. Defaults to False.
        ss2d_kwargs: further keyword arguments of :class:`SS2D`.
    """

    def __init__(
        self,
        dim: int,
        depth: int,
        drop_path: float | Sequence[float] = 0.0,
        d_state: int = 16,
        attn_drop: float = 0.0,
        use_checkpoint: bool = False,
        **ss2d_kwargs,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"`depth` must be >= 1, got {depth}.")
        rates = [float(drop_path)] * depth if isinstance(drop_path, (int, float)) else [float(r) for r in drop_path]
        if len(rates) != depth:
            raise ValueError(f"`drop_path` must have one rate per block ({depth}), got {len(rates)}.")
        self.use_checkpoint = use_checkpoint
        self.blocks = nn.ModuleList(
            VSSBlock(dim, drop_path=r, d_state=d_state, attn_drop=attn_drop, **ss2d_kwargs) for r in rates
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            if self.use_checkpoint and self.training and torch.is_grad_enabled():
                x = checkpoint.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x
