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
Attention gates for convolutional features, 2D and 3D: ECA-style channel attention, CBAM-style spatial attention,
the Aggregate Attention Module (both gates in parallel) and CBAM (the two in sequence).

References:
    - Wang, Shi, Fujita, Zhao, "Aggregate attention module for fine-grained image classification", J. Ambient
      Intell. Humaniz. Comput. (2021), https://doi.org/10.1007/s12652-021-03599-7
    - Woo, Park, Lee, Kweon, "CBAM: Convolutional Block Attention Module", ECCV 2018,
      https://arxiv.org/abs/1807.06521
    - Wang et al., "ECA-Net: Efficient Channel Attention for Deep Convolutional Neural Networks", CVPR 2020,
      https://arxiv.org/abs/1910.03151
"""

import math
from typing import Optional  # no `from __future__ import annotations` here: TorchScript reads `last_gate`'s type

import torch
import torch.nn as nn
from monai.networks.layers.factories import Conv
from monai.utils import look_up_option

__all__ = ["eca_kernel_size", "ChannelAttention", "SpatialAttention", "AggregateAttention", "CBAM", "CBAMChannelGate"]

CHANNEL_POOLING = ("avg", "avgmax")
FUSIONS = ("product", "sum")


def eca_kernel_size(channels: int, gamma: int = 2, beta: int = 1) -> int:
    """ECA-Net's adaptive kernel size: the odd integer nearest to ``(log2(channels) + beta) / gamma``, at least 3."""
    k = int(abs((math.log2(channels) + beta) / gamma))
    k = k if k % 2 else k + 1
    return max(k, 3)


def _global_pool(x: torch.Tensor, mode: str) -> torch.Tensor:
    """(B, C, *spatial) -> (B, C), average or maximum over all spatial positions."""
    flat = x.flatten(2)
    return flat.mean(-1) if mode == "avg" else flat.amax(-1)


def _broadcast(gate: torch.Tensor, spatial_dims: int) -> torch.Tensor:
    """(B, C) -> (B, C, 1, ..., 1) so that it multiplies a feature map."""
    return gate.reshape(list(gate.shape) + [1] * spatial_dims)


class ChannelAttention(nn.Module):
    """
    Channel gate in the ECA style: global pooling, a 1D convolution across neighbouring channels (no
    dimensionality reduction, ``kernel_size`` weights in all), sigmoid. Returns the gate, shape (B, C, 1, ...),
    not the gated features, so that :py:class:`AggregateAttention` can fuse it with a spatial gate.

    The AAM paper describes a channel branch lighter than the MLP of SE/CBAM; ECA's 1D convolution is the
    lightest published form of it, so it is used here. With ``pooling="avgmax"`` the same convolution is applied
    to the average- and the max-pooled descriptors and the results are summed before the sigmoid, as CBAM does
    with its MLP.

    Args:
        spatial_dims: number of spatial dimensions of the input (1, 2 or 3).
        channels: number of input channels.
        kernel_size: size of the 1D convolution across channels, odd; ``None`` picks ECA's adaptive size
            (:py:func:`eca_kernel_size`).
        pooling: ``"avg"`` (ECA) or ``"avgmax"``.
    """

    def __init__(self, spatial_dims: int, channels: int, kernel_size: int | None = None, pooling: str = "avg"):
        super().__init__()
        self.spatial_dims = spatial_dims
        self.kernel_size = eca_kernel_size(channels) if kernel_size is None else int(kernel_size)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (channels keep their position), got {self.kernel_size}.")
        self.pooling = look_up_option(pooling, CHANNEL_POOLING)
        self.conv = nn.Conv1d(1, 1, self.kernel_size, padding=self.kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.conv(_global_pool(x, "avg").unsqueeze(1))  # (B, 1, C)
        if self.pooling == "avgmax":
            logits = logits + self.conv(_global_pool(x, "max").unsqueeze(1))
        return _broadcast(torch.sigmoid(logits.squeeze(1)), self.spatial_dims)


class SpatialAttention(nn.Module):
    """
    Spatial gate of CBAM: the channel-wise maximum and mean as two maps, a ``kernel_size`` convolution (with bias)
    to one map, sigmoid. Returns the gate, shape (B, 1, *spatial). ``2 * kernel_size**spatial_dims + 1``
    parameters. CBAM's reference code follows the convolution with batch norm; a bias does the same job for a single
    output map with one parameter less, and keeps the gate independent of the batch.

    The last gate computed is kept in ``self.last_gate`` (detached) when ``keep_gate`` is true, which is how the
    bundles draw attention maps without hooks.

    Args:
        spatial_dims: number of spatial dimensions of the input (1, 2 or 3).
        kernel_size: odd size of the convolution, 7 as in CBAM.
        keep_gate: store the last gate in ``last_gate``.
    """

    last_gate: Optional[torch.Tensor]  # spelled for TorchScript, which reads class annotations

    def __init__(self, spatial_dims: int, kernel_size: int = 7, keep_gate: bool = False):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the gate keeps the input's size), got {kernel_size}.")
        self.conv = Conv[Conv.CONV, spatial_dims](2, 1, kernel_size, padding=kernel_size // 2, bias=True)
        self.keep_gate = keep_gate
        self.last_gate = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)
        gate = torch.sigmoid(self.conv(pooled))
        if self.keep_gate:
            self.last_gate = gate.detach()
        return gate


class AggregateAttention(nn.Module):
    """
    Aggregate Attention Module (AAM): a channel gate (:py:class:`ChannelAttention`) and a spatial gate
    (:py:class:`SpatialAttention`) computed *in parallel from the same input*, then fused and applied to it.

    Fusion (the paper's text leaves it open, so it is an option):

    - ``"product"`` (default): ``y = x * c * s``. The effective attention is the outer product of the two gates,
      the same form CBAM ends with; the only changes from CBAM are the ones the paper claims (parallel branches
      and a lighter channel branch), so a comparison with CBAM measures those.
    - ``"sum"``: ``y = x * c + x * s`` (the scSE way of adding the two recalibrated maps); each gate keeps a path
      for the gradient when the other saturates at 0, and the output may be up to twice the input.

    Args:
        spatial_dims: number of spatial dimensions (1, 2 or 3).
        channels: number of input channels.
        fusion: ``"product"`` or ``"sum"``.
        channel_kernel_size: 1D kernel of the channel gate; ``None`` is ECA's adaptive size.
        channel_pooling: ``"avg"`` or ``"avgmax"`` (see :py:class:`ChannelAttention`).
        spatial_kernel_size: kernel of the spatial gate, 7 as in CBAM.
        keep_gate: keep the last spatial gate in ``spatial.last_gate`` (for attention-map pictures).
    """

    def __init__(
        self,
        spatial_dims: int,
        channels: int,
        fusion: str = "product",
        channel_kernel_size: int | None = None,
        channel_pooling: str = "avg",
        spatial_kernel_size: int = 7,
        keep_gate: bool = False,
    ):
        super().__init__()
        self.fusion = look_up_option(fusion, FUSIONS)
        self.channel = ChannelAttention(spatial_dims, channels, channel_kernel_size, channel_pooling)
        self.spatial = SpatialAttention(spatial_dims, spatial_kernel_size, keep_gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, s = self.channel(x), self.spatial(x)
        return x * c * s if self.fusion == "product" else x * c + x * s


class CBAMChannelGate(nn.Module):
    """
    CBAM's channel gate: a shared two-layer MLP (``channels -> channels // reduction -> channels``, with biases as
    in the reference code) on the average- and max-pooled descriptors, summed, sigmoid. Returns the gate.

    Args:
        spatial_dims: number of spatial dimensions (1, 2 or 3).
        channels: number of input channels.
        reduction: hidden size divisor, 16 as in CBAM (the hidden size is at least 1).
    """

    def __init__(self, spatial_dims: int, channels: int, reduction: int = 16):
        super().__init__()
        self.spatial_dims = spatial_dims
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.mlp(_global_pool(x, "avg")) + self.mlp(_global_pool(x, "max"))
        return _broadcast(torch.sigmoid(logits), self.spatial_dims)


class CBAM(nn.Module):
    """
    Convolutional Block Attention Module: the channel gate (:py:class:`CBAMChannelGate`, MLP reduction 16)
    applied first, then the spatial gate (:py:class:`SpatialAttention`, 7x7) computed on the channel-refined
    features: ``x' = x * Mc(x)``, ``y = x' * Ms(x')``.

    Args:
        spatial_dims: number of spatial dimensions (1, 2 or 3).
        channels: number of input channels.
        reduction: MLP reduction of the channel gate.
        spatial_kernel_size: kernel of the spatial gate.
        keep_gate: keep the last spatial gate in ``spatial.last_gate`` (for attention-map pictures).
    """

    def __init__(
        self,
        spatial_dims: int,
        channels: int,
        reduction: int = 16,
        spatial_kernel_size: int = 7,
        keep_gate: bool = False,
    ):
        super().__init__()
        self.channel = CBAMChannelGate(spatial_dims, channels, reduction)
        self.spatial = SpatialAttention(spatial_dims, spatial_kernel_size, keep_gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel(x)
        return x * self.spatial(x)
