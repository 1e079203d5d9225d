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

"""Patch embedding, patch merging (2x down) and patch expanding (2x / 4x up) on channels-last maps."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PatchEmbed2D", "PatchMerging2D", "PatchExpand2D"]


class PatchEmbed2D(nn.Module):
    """
    Non-overlapping patch embedding: Conv2d(kernel = stride = patch_size), then LayerNorm on the channels-last
    result. Input (B, C, H, W), output (B, H/p, W/p, embed_dim). Keys: ``proj``, ``norm``.

    Args:
        in_channels: number of input channels.
        embed_dim: number of output channels.
        patch_size: patch side p. Defaults to 4.
        patch_norm: whether to apply the LayerNorm. Defaults to True.
    """

    def __init__(self, in_channels: int, embed_dim: int, patch_size: int = 4, patch_norm: bool = True) -> None:
        super().__init__()
        if patch_size < 1:
            raise ValueError(f"`patch_size` must be >= 1, got {patch_size}.")
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim) if patch_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class PatchMerging2D(nn.Module):
    """
    2x downsampling of a channels-last map: the 2x2 neighbours are concatenated in the order (0,0), (1,0), (0,1),
    (1,1), layer-normalised (4C) and reduced by a bias-free Linear to 2C. Keys: ``norm``, ``reduction``.

    Args:
        dim: number of input channels C.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] % 2 or x.shape[2] % 2:
            raise ValueError(f"PatchMerging2D needs even spatial sides (B, H, W, C), got shape {tuple(x.shape)}.")
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))


class PatchExpand2D(nn.Module):
    """
    ``scale``-times upsampling of a channels-last map (Swin-Unet style, https://arxiv.org/abs/2105.05537): a
    bias-free Linear to scale^2 * out_channels, a pixel shuffle to (H*scale, W*scale, out_channels), LayerNorm.
    Swin-UMamba-D uses (C -> C/2, scale 2) between stages and (C -> C, scale 4) at the end. Keys: ``expand``,
    ``norm``.

    Args:
        in_channels: number of input channels C.
        out_channels: number of output channels; None gives C/2 for scale 2 and C otherwise. Defaults to None.
        scale: upsampling factor. Defaults to 2.
    """

    def __init__(self, in_channels: int, out_channels: int | None = None, scale: int = 2) -> None:
        super().__init__()
        if scale < 2:
            raise ValueError(f"`scale` must be >= 2, got {scale}.")
        if out_channels is None:
            if scale == 2 and in_channels % 2:
                raise ValueError(f"`in_channels` must be even for the default 2x expand, got {in_channels}.")
            out_channels = in_channels // 2 if scale == 2 else in_channels
        self.scale = scale
        self.out_channels = out_channels
        self.expand = nn.Linear(in_channels, scale * scale * out_channels, bias=False)
        self.norm = nn.LayerNorm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        s, c = self.scale, self.out_channels
        x = self.expand(x).view(b, h, w, s, s, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h * s, w * s, c)
        return self.norm(x)
