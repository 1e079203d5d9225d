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

"""torchvision's Mask R-CNN for microscopy: n-channel input, native resolution, trainable norms, small anchors."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from torchvision.models import resnet
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool

from networks.nets.vmamba import VMambaEncoder

__all__ = ["MicroscopyMaskRCNN", "NativeResolutionTransform", "resnet_fpn", "VMambaFPN", "norm_factory"]

RESNETS = {"resnet18": (resnet.resnet18, 64), "resnet34": (resnet.resnet34, 64), "resnet50": (resnet.resnet50, 256)}


class NativeResolutionTransform(GeneralizedRCNNTransform):
    """
    torchvision's detection transform without resizing: images are only normalised and padded into a batch (to a
    multiple of ``size_divisible``), so a nucleus keeps its size in pixels whatever the tile size (the stock
    transform rescales every image to ``min_size`` = 800 pixels).
    """

    # typing's spelling, which TorchScript reads (the bundle's Mask R-CNN can be scripted)
    def resize(
        self, image: torch.Tensor, target: Optional[Dict[str, torch.Tensor]] = None
    ) -> Tuple[torch.Tensor, Optional[Dict[str, torch.Tensor]]]:
        return image, target


def norm_factory(norm: str) -> Callable[[int], nn.Module]:
    """
    A trainable normalisation layer factory: ``"batch"`` (BatchNorm2d) or ``"group"`` (GroupNorm, 32 groups or fewer
    for narrow layers). torchvision's detection default, FrozenBatchNorm2d, is a fixed affine map: on random weights
    it normalises nothing.
    """
    if norm == "batch":
        return nn.BatchNorm2d
    if norm == "group":
        return lambda channels: nn.GroupNorm(min(32, channels // 4) or 1, channels)
    raise ValueError(f"norm must be 'batch' or 'group', got {norm!r}.")


def resnet_fpn(
    depth: str = "resnet50", in_channels: int = 1, norm: str = "group", out_channels: int = 256
) -> BackboneWithFPN:
    """
    A randomly initialised torchvision ResNet (18/34/50) with an ``in_channels`` stem and trainable norms, under a
    feature pyramid (levels ``'0'``-``'3'`` at strides 4-32 and ``'pool'`` at 64). Nothing is downloaded.

    Args:
        depth: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``.
        in_channels: image channels.
        norm: ``"group"`` or ``"batch"`` (see ``norm_factory``); the pyramid uses the same.
        out_channels: channels of every pyramid level.
    """
    if depth not in RESNETS:
        raise ValueError(f"depth must be one of {sorted(RESNETS)}, got {depth!r}.")
    build, width = RESNETS[depth]
    norm_layer = norm_factory(norm)
    body = build(weights=None, norm_layer=norm_layer)
    if in_channels != 3:
        body.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(body.conv1.weight, mode="fan_out", nonlinearity="relu")
    return BackboneWithFPN(
        body,
        return_layers={f"layer{i}": str(i - 1) for i in range(1, 5)},
        in_channels_list=[width * 2**i for i in range(4)],
        out_channels=out_channels,
        extra_blocks=LastLevelMaxPool(),
        norm_layer=norm_layer,
    )


class VMambaFPN(nn.Module):
    """
    The project's VMamba encoder (``networks.nets.VMambaEncoder``, patch 4, four stages at strides 4-32) under a
    feature pyramid with the levels and keys of ``resnet_fpn``, so it drops into Mask R-CNN in place of a ResNet.
    Input sides must be multiples of 32; Mask R-CNN's transform pads batches to that.

    Args:
        in_channels: image channels.
        dims: channels of the four VMamba stages (doubling).
        depths: VSS blocks per stage.
        out_channels: channels of every pyramid level.
        norm: norm of the pyramid's convolutions (``"group"``, ``"batch"`` or ``None``).
        drop_path_rate: stochastic depth of the encoder.
    """

    def __init__(
        self,
        in_channels: int = 1,
        dims: Sequence[int] = (48, 96, 192, 384),
        depths: Sequence[int] = (2, 2, 2, 2),
        out_channels: int = 256,
        norm: str | None = "group",
        drop_path_rate: float = 0.1,
    ) -> None:
        super().__init__()
        if len(dims) != 4 or len(depths) != 4:
            raise ValueError(f"VMambaFPN needs four stages, got dims {dims} and depths {depths}.")
        self.body = VMambaEncoder(2, in_channels, dims, depths, patch_size=4, drop_path_rate=drop_path_rate)
        self.fpn = FeaturePyramidNetwork(
            list(dims), out_channels, extra_blocks=LastLevelMaxPool(), norm_layer=norm_factory(norm) if norm else None
        )
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        stages = self.body(x)[1:]  # the encoder's first output is the input itself
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(stages)))


def _load_backbone_weights(backbone: nn.Module, path: str) -> None:
    """Load a local state dict into the backbone's body (entries of another shape, e.g. an RGB stem, are skipped)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state.get("model", state)) if isinstance(state, dict) else state
    body = backbone.body.state_dict()
    usable = {k: v for k, v in state.items() if k in body and body[k].shape == v.shape}
    if not usable:
        raise ValueError(f"backbone_checkpoint {path}: no entry matches the backbone's parameters (names and shapes).")
    backbone.body.load_state_dict(usable, strict=False)
    logging.getLogger(__name__).info(f"loaded {len(usable)}/{len(body)} backbone tensors from {path}")


class MicroscopyMaskRCNN(MaskRCNN):
    """
    torchvision's Mask R-CNN (He et al., ICCV 2017) for n-channel microscopy, trained from random weights.

    What changes against ``torchvision.models.detection.maskrcnn_resnet50_fpn``:

    - nothing is downloaded (``weights=None`` everywhere); an optional local backbone checkpoint;
    - ``in_channels`` input channels, and no ImageNet normalisation inside the model (the bundle scales intensities
      to [0, 1] from percentiles before, as for its other networks);
    - native resolution: no resizing to 800 pixels (``NativeResolutionTransform``), so anchors are in image pixels;
    - trainable BatchNorm or GroupNorm instead of frozen batch norm (which does nothing on random weights);
    - one anchor size per pyramid level, sized for nuclei (default 8-128 px at strides 4-64);
    - ``max_detections`` per image (default 500: a DSB2018 image holds 125 nuclei, torchvision keeps 100).

    The forward contract is torchvision's: in training ``model(images, targets)`` returns the loss dict, in eval
    ``model(images)`` returns one dict per image with ``boxes, labels, scores, masks`` (N, 1, H, W probabilities).

    Args:
        in_channels: image channels.
        num_classes: classes including background (2: background + nucleus).
        backbone: ``"resnet18"``, ``"resnet34"``, ``"resnet50"`` or ``"vmamba"`` (``VMambaFPN``).
        norm: ``"group"`` (default; GroupNorm trains from scratch at small batches) or ``"batch"``.
        anchor_sizes: one anchor side per pyramid level (five levels).
        aspect_ratios: anchor height/width ratios, the same at every level.
        max_detections: detections kept per image.
        backbone_checkpoint: optional local state dict for the backbone's body.
        vmamba_dims: stage channels of the VMamba backbone.
        vmamba_depths: VSS blocks per stage of the VMamba backbone.
        kwargs: further ``torchvision.models.detection.MaskRCNN`` options (``box_score_thresh``,
            ``rpn_post_nms_top_n_test``, ...).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        backbone: str = "resnet50",
        norm: str = "group",
        anchor_sizes: Sequence[int] = (8, 16, 32, 64, 128),
        aspect_ratios: Sequence[float] = (0.5, 1.0, 2.0),
        max_detections: int = 500,
        backbone_checkpoint: str | None = None,
        vmamba_dims: Sequence[int] = (48, 96, 192, 384),
        vmamba_depths: Sequence[int] = (2, 2, 2, 2),
        **kwargs,
    ) -> None:
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}.")
        if len(anchor_sizes) != 5:
            raise ValueError(f"anchor_sizes needs one size per pyramid level (5), got {list(anchor_sizes)}.")
        if backbone == "vmamba":
            body = VMambaFPN(in_channels, vmamba_dims, vmamba_depths, norm=norm)
        else:
            body = resnet_fpn(backbone, in_channels, norm)
        if backbone_checkpoint:
            _load_backbone_weights(body, backbone_checkpoint)
        anchors = AnchorGenerator(tuple((int(s),) for s in anchor_sizes), (tuple(aspect_ratios),) * len(anchor_sizes))
        super().__init__(
            body,
            num_classes=num_classes,
            rpn_anchor_generator=anchors,
            box_detections_per_img=max_detections,
            image_mean=[0.0] * in_channels,
            image_std=[1.0] * in_channels,
            **kwargs,
        )
        self.transform = NativeResolutionTransform(
            min_size=1, max_size=1, image_mean=[0.0] * in_channels, image_std=[1.0] * in_channels, size_divisible=32
        )
        self.in_channels = in_channels
