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

"""U-Net with a residual encoder and a plain decoder (the network of nnU-Net's ResEnc plans)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
from monai.networks.blocks import Convolution, UnetOutBlock
from monai.networks.layers.factories import Pool

__all__ = ["ResidualEncoderUNet"]

NORM = ("INSTANCE", {"affine": True})
ACT = ("LEAKYRELU", {"negative_slope": 0.01, "inplace": True})


def _conv(spatial_dims: int, cin: int, cout: int, kernel, stride=1, act: bool = True) -> Convolution:
    return Convolution(
        spatial_dims,
        cin,
        cout,
        strides=stride,
        kernel_size=kernel,
        norm=NORM,
        act=ACT if act else None,
        adn_ordering="NDA",
        padding=[(k - 1) // 2 for k in kernel] if isinstance(kernel, (list, tuple)) else (kernel - 1) // 2,
    )


class ResidualBlock(nn.Module):
    """Two convolutions with a residual path; when the block downsamples, the path average-pools then projects."""

    def __init__(self, spatial_dims: int, cin: int, cout: int, kernel, stride) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            _conv(spatial_dims, cin, cout, kernel, stride), _conv(spatial_dims, cout, cout, kernel, act=False)
        )
        stride = [stride] * spatial_dims if isinstance(stride, int) else list(stride)
        skip: list[nn.Module] = []
        if any(s != 1 for s in stride):
            skip.append(Pool[Pool.AVG, spatial_dims](kernel_size=stride, stride=stride))
        if cin != cout:
            skip.append(_conv(spatial_dims, cin, cout, 1, act=False))
        self.skip = nn.Sequential(*skip)
        self.act = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.convs(x) + self.skip(x))


class ResidualEncoderUNet(nn.Module):
    """
    nnU-Net's ``ResidualEncoderUNet``: a stem convolution, then per stage ``n_blocks_per_stage[s]`` residual blocks
    (the first one strided), and a decoder of transposed convolutions and ``n_conv_per_stage_decoder`` plain
    convolutions at each skip level, with the skip level's kernel. Instance norm (affine) and leaky ReLU 0.01.

    See Isensee et al., "nnU-Net Revisited: A Call for Rigorous Validation in 3D Medical Image Segmentation",
    MICCAI 2024 (https://arxiv.org/abs/2404.09556).

    Args:
        spatial_dims: 2 or 3.
        in_channels: input channels.
        out_channels: classes (background included).
        features_per_stage: channels of each encoder stage.
        kernel_sizes: convolution kernel of each stage.
        strides: stride of each stage (the first is usually all ones).
        n_blocks_per_stage: residual blocks per encoder stage (ResEnc M: 1, 3, 4, 6, 6, 6, ...).
        n_conv_per_stage_decoder: convolutions per decoder stage (one entry per decoder stage, or one int).
        deep_supervision: in training mode return a list of outputs from full to low resolution (nnU-Net's
            deep-supervision outputs: every decoder stage); eval mode always returns one tensor.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        features_per_stage: Sequence[int],
        kernel_sizes: Sequence[Sequence[int] | int],
        strides: Sequence[Sequence[int] | int],
        n_blocks_per_stage: Sequence[int] | int = 2,
        n_conv_per_stage_decoder: Sequence[int] | int = 1,
        deep_supervision: bool = False,
    ) -> None:
        super().__init__()
        n = len(features_per_stage)
        if not len(kernel_sizes) == len(strides) == n:
            raise ValueError(
                f"features_per_stage, kernel_sizes and strides need one entry per stage, got {n}, "
                f"{len(kernel_sizes)}, {len(strides)}"
            )
        blocks = [n_blocks_per_stage] * n if isinstance(n_blocks_per_stage, int) else list(n_blocks_per_stage)
        dec = [n_conv_per_stage_decoder] * (n - 1) if isinstance(n_conv_per_stage_decoder, int) else None
        dec = dec or list(n_conv_per_stage_decoder)  # type: ignore[arg-type]
        self.deep_supervision = deep_supervision
        self.stem = _conv(spatial_dims, in_channels, features_per_stage[0], kernel_sizes[0])
        self.encoder = nn.ModuleList()
        cin = features_per_stage[0]
        for s in range(n):
            layers = [ResidualBlock(spatial_dims, cin, features_per_stage[s], kernel_sizes[s], strides[s])]
            layers += [
                ResidualBlock(spatial_dims, features_per_stage[s], features_per_stage[s], kernel_sizes[s], 1)
                for _ in range(blocks[s] - 1)
            ]
            self.encoder.append(nn.Sequential(*layers))
            cin = features_per_stage[s]
        self.upsamples, self.decoder, self.heads = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for s in range(n - 1, 0, -1):  # from the bottleneck up to full resolution
            below, here = features_per_stage[s], features_per_stage[s - 1]
            up = Convolution(
                spatial_dims,
                below,
                here,
                strides=strides[s],
                kernel_size=strides[s],
                padding=0,
                output_padding=0,
                is_transposed=True,
                conv_only=True,
            )
            self.upsamples.append(up)
            convs = [_conv(spatial_dims, 2 * here, here, kernel_sizes[s - 1])]
            convs += [_conv(spatial_dims, here, here, kernel_sizes[s - 1]) for _ in range(dec[s - 1] - 1)]
            self.decoder.append(nn.Sequential(*convs))
            self.heads.append(UnetOutBlock(spatial_dims, here, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        skips = []
        x = self.stem(x)
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        outputs = []
        for up, convs, head in zip(self.upsamples, self.decoder, self.heads):
            x = convs(torch.cat([up(x), skips.pop()], dim=1))
            if self.training and self.deep_supervision:
                outputs.append(head(x))
        if not (self.training and self.deep_supervision):
            return self.heads[-1](x)
        return outputs[::-1]  # full resolution first
