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

"""ResNets (MONAI's :py:class:`monai.networks.nets.ResNet`, 2D or 3D) with an attention gate in every residual block."""

from __future__ import annotations

import torch
import torch.nn as nn
from monai.networks.blocks import ChannelSELayer
from monai.networks.nets import ResNet
from monai.utils import look_up_option

from networks.blocks.attention import CBAM, AggregateAttention

__all__ = ["AttentionResNet", "RESNET_LAYOUTS", "ATTENTIONS", "attention_block"]

RESNET_LAYOUTS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}
ATTENTIONS = ("aam", "cbam", "se", None)
STAGE_WIDTHS = (64, 128, 256, 512)


def _attention_name(attention: str | None) -> str | None:
    """``attention`` checked against ATTENTIONS; the string ``"none"`` (any case) means None, for command lines."""
    if isinstance(attention, str) and attention.lower() == "none":
        return None
    return look_up_option(attention, ATTENTIONS)


def attention_block(
    attention: str | None,
    spatial_dims: int,
    channels: int,
    fusion: str = "product",
    reduction: int = 16,
    spatial_kernel_size: int = 7,
) -> nn.Module:
    """
    One attention gate for a feature map of ``channels`` channels.

    Args:
        attention: ``"aam"`` (:py:class:`AggregateAttention`), ``"cbam"`` (:py:class:`CBAM`), ``"se"`` (MONAI's
            :py:class:`ChannelSELayer`) or ``None`` (identity).
        spatial_dims: number of spatial dimensions.
        channels: channels of the feature map.
        fusion: AAM's fusion of the two gates, ``"product"`` or ``"sum"``.
        reduction: MLP reduction of SE and CBAM.
        spatial_kernel_size: kernel of the spatial gates of AAM and CBAM.
    """
    attention = _attention_name(attention)
    if attention == "aam":
        return AggregateAttention(spatial_dims, channels, fusion=fusion, spatial_kernel_size=spatial_kernel_size)
    if attention == "cbam":
        return CBAM(spatial_dims, channels, reduction=reduction, spatial_kernel_size=spatial_kernel_size)
    if attention == "se":
        return ChannelSELayer(spatial_dims, channels, r=reduction, acti_type_1=("relu", {"inplace": True}))
    return nn.Identity()


class AttentionResNet(ResNet):
    """
    A ResNet (MONAI's implementation, ResNet-18/34/50 layouts, 2D or 3D) whose residual blocks gate their residual
    branch with an attention module before the addition, where SE-Net and CBAM put it: the block's last norm layer
    (``bn2`` of a basic block, ``bn3`` of a bottleneck) becomes ``Sequential(norm, attention)``.

    In eval mode the network returns logits ``(B, num_classes)``. With ``return_features=True`` it returns
    ``(logits, features)`` in training mode, ``features`` being the last stage's map before pooling, which is what
    :py:class:`networks.losses.CrossChannelLoss` needs.

    Args:
        spatial_dims: 2 or 3.
        in_channels: input channels.
        num_classes: output classes.
        layout: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``.
        attention: ``"aam"``, ``"cbam"``, ``"se"`` or ``None`` / ``"none"`` (plain ResNet).
        fusion: AAM's fusion, ``"product"`` or ``"sum"`` (see :py:class:`AggregateAttention`).
        reduction: MLP reduction of SE and CBAM (16 in both papers).
        spatial_kernel_size: kernel of the spatial gates (7 in CBAM).
        widen_factor: multiplies the stage widths (64, 128, 256, 512).
        stem_kernel_size: kernel of the first convolution (7 for ImageNet-sized inputs, 3 for small patches).
        stem_stride: stride of the first convolution.
        stem_max_pool: whether the stem ends with a stride-2 max pooling.
        return_features: also return the last feature map in training mode.
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        num_classes: int = 2,
        layout: str = "resnet18",
        attention: str | None = "aam",
        fusion: str = "product",
        reduction: int = 16,
        spatial_kernel_size: int = 7,
        widen_factor: float = 1.0,
        stem_kernel_size: int = 7,
        stem_stride: int = 2,
        stem_max_pool: bool = True,
        return_features: bool = False,
    ):
        block, layers = look_up_option(layout, RESNET_LAYOUTS)
        super().__init__(
            block=block,
            layers=list(layers),
            block_inplanes=list(STAGE_WIDTHS),
            spatial_dims=spatial_dims,
            n_input_channels=in_channels,
            conv1_t_size=stem_kernel_size,
            conv1_t_stride=stem_stride,
            no_max_pool=not stem_max_pool,
            widen_factor=widen_factor,
            num_classes=num_classes,
            bias_downsample=False,
        )
        self.attention = _attention_name(attention)
        self.return_features = return_features
        if self.attention is not None:
            for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
                for res_block in stage:
                    name = "bn3" if hasattr(res_block, "bn3") else "bn2"
                    norm = getattr(res_block, name)
                    gate = attention_block(
                        attention, spatial_dims, norm.num_features, fusion, reduction, spatial_kernel_size
                    )
                    setattr(res_block, name, nn.Sequential(norm, gate))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map, before global pooling."""
        x = self.act(self.bn1(self.conv1(x)))
        if not self.no_max_pool:
            x = self.maxpool(x)
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = self.features(x)
        logits = self.fc(torch.flatten(self.avgpool(features), 1))
        if self.return_features and self.training:
            return logits, features
        return logits
