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

"""Swin-UMamba: VMamba encoder + UNETR-style CNN decoder (2D)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.blocks.dynunet_block import UnetOutBlock
from monai.networks.blocks.unetr_block import UnetrBasicBlock, UnetrUpBlock
from monai.networks.layers.utils import get_norm_layer
from torch import nn

from networks.nets.vmamba import VMambaEncoder, check_input_shape, check_network_args

__all__ = ["SwinUMamba"]


class SwinUMamba(nn.Module):
    """
    Swin-UMamba of "Swin-UMamba: Mamba-based UNet with ImageNet-based pretraining", https://arxiv.org/abs/2402.03302
    (arXiv 2402.03302), in the form of the authors' current code (59.9M parameters for 14 classes; the deepest stage
    at 1/32 is decoded through an extra up block).

    A 7x7 stride-2 conv stem (instance norm) feeds a VMamba encoder with patch 2 (``dims`` at 1/4 ... 1/32).
    Residual ``UnetrBasicBlock`` skips refine the input, the stem output and the first three stages; a chain of
    ``UnetrUpBlock`` decodes from the deepest stage back to full resolution, then a ``UnetrBasicBlock`` and 1x1
    ``UnetOutBlock`` heads. The ImageNet VMamba-Tiny weights are loaded with ``load_vmamba_pretrained``; weights
    trained with the original code with ``load_original_checkpoint``. Only 2D is supported.

    In training mode with ``deep_supervision=True`` the output is a list of logits at 1, 1/2, 1/4, ... (one per
    encoder stage, full resolution first), the form ``monai.losses.DeepSupervisionLoss`` takes; in eval mode (or
    without deep supervision) one tensor at full resolution. The heads are always built, so weights load either way.

    Args:
        spatial_dims: number of spatial dimensions; only 2 is supported. Defaults to 2.
        in_channels: number of input channels. Defaults to 1.
        out_channels: number of output channels (classes). Defaults to 2.
        feature_size: channels of the stem and of the full-resolution decoder level. Defaults to 48.
        dims: channels of the VMamba stages (each twice the previous). Defaults to (96, 192, 384, 768).
        depths: VSS blocks per stage. Defaults to (2, 2, 9, 2).
        d_state: SSM state size. Defaults to 16.
        drop_path_rate: stochastic depth of the encoder, linear from 0 over all its blocks. Defaults to 0.2 (the
            original always uses 0.2: its own ``drop_path_rate`` argument is never passed on).
        norm_name: norm of the CNN skip/decoder blocks, a MONAI factory spec. Defaults to "instance".
        res_block: whether the skip/decoder blocks are residual. Defaults to True.
        deep_supervision: return the multi-scale logits in training mode. Defaults to False.
        use_checkpoint: gradient checkpointing of the VSS blocks. Defaults to False.

    Input sides must be multiples of 32 (2 for the stem times 16 for the encoder).
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        out_channels: int = 2,
        feature_size: int = 48,
        dims: Sequence[int] = (96, 192, 384, 768),
        depths: Sequence[int] = (2, 2, 9, 2),
        d_state: int = 16,
        drop_path_rate: float = 0.2,
        norm_name: tuple | str = "instance",
        res_block: bool = True,
        deep_supervision: bool = False,
        use_checkpoint: bool = False,
    ) -> None:
        super().__init__()
        check_network_args(
            "Swin-UMamba",
            spatial_dims,
            dims,
            depths,
            in_channels=in_channels,
            out_channels=out_channels,
            feature_size=feature_size,
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.deep_supervision = deep_supervision
        self.size_multiple = 2 * 2 * 2 ** (len(dims) - 1)
        channels = [feature_size, *dims]  # channels of decoder levels 0 (full res) ... n

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, feature_size, kernel_size=7, stride=2, padding=3),
            get_norm_layer(("instance", {"affine": True}), spatial_dims, feature_size),
        )
        self.encoder = VMambaEncoder(
            spatial_dims, feature_size, dims, depths, 2, d_state, drop_path_rate, use_checkpoint=use_checkpoint
        )
        self.skips = self._make_skips(spatial_dims, in_channels, channels, norm_name, res_block)
        self.up_blocks = self._make_up_blocks(spatial_dims, channels, norm_name, res_block)
        self.final_block = UnetrBasicBlock(spatial_dims, feature_size, feature_size, 3, 1, norm_name, res_block)
        self.heads = nn.ModuleList(UnetOutBlock(spatial_dims, c, out_channels) for c in channels[:-1])

    @staticmethod
    def _make_skips(spatial_dims, in_channels, channels, norm_name, res_block) -> nn.ModuleList:
        # skip l refines the level-l feature (input, stem, stage 1, ...) to the decoder's channels at level l
        sources = [in_channels, *channels[:-1]]
        return nn.ModuleList(
            UnetrBasicBlock(spatial_dims, c_in, c_out, 3, 1, norm_name, res_block)
            for c_in, c_out in zip(sources, channels)
        )

    @staticmethod
    def _make_up_blocks(spatial_dims, channels, norm_name, res_block) -> nn.ModuleList:
        # from the deepest stage (level n + 1) up to level 0; block j outputs level n - j
        n = len(channels) - 1
        ins = [channels[n]] + [channels[level + 1] for level in range(n - 1, -1, -1)]
        outs = [channels[level] for level in range(n, -1, -1)]
        return nn.ModuleList(
            UnetrUpBlock(spatial_dims, c_in, c_out, 3, 2, norm_name, res_block) for c_in, c_out in zip(ins, outs)
        )

    def freeze_encoder(self, freeze: bool = True) -> None:
        """Freeze (or with ``freeze=False`` unfreeze) the VMamba encoder except its patch embedding, as the
        paper does for the first epochs of fine-tuning from ImageNet weights."""
        self.encoder.set_trainable(not freeze, include_patch_embed=not freeze)

    def unfreeze_encoder(self) -> None:
        """Make every encoder parameter trainable again."""
        self.freeze_encoder(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        check_input_shape(x, self.in_channels, self.size_multiple, type(self).__name__)
        features = self.encoder(self.stem(x))  # [stem (1/2), stage 1 (1/4), ..., stage n (1/2^(n+1))]
        skips = [skip(f) for skip, f in zip(self.skips, [x, *features[:-1]])]
        y, decoded = features[-1], []
        for up, skip in zip(self.up_blocks, reversed(skips)):
            y = up(y, skip)
            decoded.append(y)
        y = self.final_block(y)
        if not (self.deep_supervision and self.training):
            return self.heads[0](y)
        by_level = [y, *decoded[-2::-1]]  # full resolution, 1/2, 1/4, ...
        return [head(f) for head, f in zip(self.heads, by_level)]
