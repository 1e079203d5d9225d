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

"""Swin-UMamba-D (Swin-UMamba†): VMamba encoder + Mamba (VSS block) decoder (2D)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from networks.blocks import PatchExpand2D, VSSStage
from networks.nets.vmamba import VMambaEncoder, check_input_shape, check_network_args

__all__ = ["SwinUMambaD"]


class SwinUMambaD(nn.Module):
    """
    Swin-UMamba-D (Swin-UMamba with a Mamba-based decoder) of "Swin-UMamba: Mamba-based UNet with ImageNet-based
    pretraining", https://arxiv.org/abs/2402.03302 (arXiv 2402.03302).

    A VMamba encoder with patch 4 runs directly on the image (``dims`` at 1/4 ... 1/32). The decoder, from the
    bottleneck up, repeats: 2x patch expanding (C -> C/2), concatenation with the encoder skip (channels-last),
    a Linear back to C/2 channels, a stage of VSS blocks (stochastic depth decreasing from
    ``decoder_drop_path_rate`` to 0 over the decoder) and a 1x1 conv head; a final 4x patch expanding restores
    full resolution for the last 1x1 head. Convolutions use He (kaiming, negative slope 1e-2) init.

    In training mode with ``deep_supervision=True`` the output is a list of logits at 1, 1/4, 1/8, 1/16 (full
    resolution first), the form ``monai.losses.DeepSupervisionLoss`` takes; otherwise one tensor. Only 2D.

    Args:
        spatial_dims: number of spatial dimensions; only 2 is supported. Defaults to 2.
        in_channels: number of input channels. Defaults to 1.
        out_channels: number of output channels (classes). Defaults to 2.
        dims: channels of the VMamba stages (each twice the previous). Defaults to (96, 192, 384, 768).
        depths: VSS blocks per encoder stage. Defaults to (2, 2, 9, 2).
        patch_size: patch embedding size of the encoder. Defaults to 4.
        d_state: SSM state size. Defaults to 16.
        drop_path_rate: stochastic depth of the encoder (linear from 0). Defaults to 0.2.
        decoder_depth: VSS blocks per decoder stage. Defaults to 2.
        decoder_drop_path_rate: stochastic depth of the decoder (linear down to 0). Defaults to 0.2.
        deep_supervision: return the multi-scale logits in training mode. Defaults to False.
        use_checkpoint: gradient checkpointing of the VSS blocks. Defaults to False.

    Input sides must be multiples of ``patch_size * 2 ** (len(dims) - 1)`` (32 by default).
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 2,
        dims: Sequence[int] = (96, 192, 384, 768),
        depths: Sequence[int] = (2, 2, 9, 2),
        patch_size: int = 4,
        d_state: int = 16,
        drop_path_rate: float = 0.2,
        decoder_depth: int = 2,
        decoder_drop_path_rate: float = 0.2,
        deep_supervision: bool = False,
        use_checkpoint: bool = False,
    ) -> None:
        super().__init__()
        check_network_args(
            "Swin-UMamba-D", spatial_dims, dims, depths, in_channels=in_channels, out_channels=out_channels
        )
        if decoder_depth < 1 or not 0.0 <= decoder_drop_path_rate < 1.0:
            raise ValueError(
                f"`decoder_depth` must be >= 1 and `decoder_drop_path_rate` in [0, 1), got {decoder_depth}, "
                f"{decoder_drop_path_rate}."
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.deep_supervision = deep_supervision
        self.encoder = VMambaEncoder(
            spatial_dims, in_channels, dims, depths, patch_size, d_state, drop_path_rate, use_checkpoint=use_checkpoint
        )
        self.size_multiple = self.encoder.size_multiple
        skip_dims = list(self.encoder.dims[-2::-1])  # channels of the decoder stages, deepest first
        rates = torch.linspace(decoder_drop_path_rate, 0, decoder_depth * len(skip_dims), device="cpu").tolist()
        self.up_expands = nn.ModuleList(PatchExpand2D(2 * c, c, scale=2) for c in skip_dims)
        self.fuse = nn.ModuleList(nn.Linear(2 * c, c) for c in skip_dims)
        self.up_stages = nn.ModuleList(
            VSSStage(c, decoder_depth, rates[i * decoder_depth : (i + 1) * decoder_depth], d_state, 0.0, use_checkpoint)
            for i, c in enumerate(skip_dims)
        )
        self.final_expand = PatchExpand2D(dims[0], dims[0], scale=patch_size)
        self.heads = nn.ModuleList(nn.Conv2d(c, out_channels, kernel_size=1) for c in [*skip_dims, dims[0]])
        self.apply(self._init_conv)

    @staticmethod
    def _init_conv(m: nn.Module) -> None:
        # He init of all convolutions (nnU-Net's InitWeights_He(1e-2)), applied after the encoder's own init
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, a=1e-2)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def freeze_encoder(self, freeze: bool = True) -> None:
        """Freeze (or with ``freeze=False`` unfreeze) the VMamba encoder except its patch embedding."""
        self.encoder.set_trainable(not freeze, include_patch_embed=not freeze)

    def unfreeze_encoder(self) -> None:
        """Make every encoder parameter trainable again."""
        self.freeze_encoder(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        check_input_shape(x, self.in_channels, self.size_multiple, type(self).__name__)
        features = self.encoder(x)  # [x, stage 1 (1/p), ..., bottleneck]
        skips = [f.permute(0, 2, 3, 1) for f in features[-2:0:-1]]  # channels-last, deepest first
        deep_supervision = self.deep_supervision and self.training
        y, outputs = features[-1].permute(0, 2, 3, 1), []
        for expand, fuse, stage, head, skip in zip(self.up_expands, self.fuse, self.up_stages, self.heads, skips):
            y = stage(fuse(torch.cat([expand(y), skip], dim=-1)))
            if deep_supervision:
                outputs.append(head(y.permute(0, 3, 1, 2)))
        full = self.heads[-1](self.final_expand(y).permute(0, 3, 1, 2))
        return [full, *outputs[::-1]] if deep_supervision else full
