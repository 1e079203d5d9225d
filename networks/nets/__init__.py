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
Whole networks of the zoo: Swin-UMamba, Swin-UMamba-D, the VMamba encoder, nnU-Net's U-Nets, Mask R-CNN for
microscopy, attention ResNets, weight loaders.
"""

from __future__ import annotations

from monai.networks.nets.flexible_unet import FLEXUNET_BACKBONE

from networks.nets.attention_resnet import AttentionResNet
from networks.nets.image_text import (
    GroundingMapper,
    ImageTextDualEncoder,
    PretrainedTextEncoder,
    ReportZeroShotClassifier,
    ZeroShotClassifier,
)
from networks.nets.mask_rcnn import MicroscopyMaskRCNN, VMambaFPN, resnet_fpn
from networks.nets.plain_conv_unet import PlainConvUNet
from networks.nets.pretrained import load_original_checkpoint
from networks.nets.residual_encoder_unet import ResidualEncoderUNet
from networks.nets.swin_umamba import SwinUMamba
from networks.nets.swin_umamba_d import SwinUMambaD
from networks.nets.vmamba import VMambaBackbone, VMambaEncoder, load_vmamba_pretrained

__all__ = [
    "SwinUMamba",
    "SwinUMambaD",
    "VMambaEncoder",
    "VMambaBackbone",
    "PlainConvUNet",
    "MicroscopyMaskRCNN",
    "AttentionResNet",
    "VMambaFPN",
    "resnet_fpn",
    "ResidualEncoderUNet",
    "load_vmamba_pretrained",
    "load_original_checkpoint",
    "ImageTextDualEncoder",
    "PretrainedTextEncoder",
    "ZeroShotClassifier",
    "ReportZeroShotClassifier",
    "GroundingMapper",
]

# makes FlexibleUNet(spatial_dims=2, ..., backbone="vmamba-tiny") available once `networks.nets` is imported
FLEXUNET_BACKBONE.register_class(VMambaBackbone)
