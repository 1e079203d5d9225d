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

"""nnU-Net's plain convolutional U-Net as a MONAI ``DynUNet`` (the network of nnU-Net's default plans)."""

from __future__ import annotations

import torch
from monai.networks.blocks.dynunet_block import UnetUpBlock
from monai.networks.nets import DynUNet

__all__ = ["PlainConvUNet"]


class PlainConvUNet(DynUNet):
    """
    MONAI ``DynUNet`` with the two behaviours of nnU-Net's ``PlainConvUNet`` that ``DynUNet`` does not have:

    - each decoder stage convolves with the kernel of the encoder stage it joins (the skip's resolution); ``DynUNet``
      uses the kernel of the stage below, which differs for anisotropic plans (e.g. ``[1, 3, 3]`` at full resolution
      under ``[3, 3, 3]``);
    - in training mode with deep supervision the outputs are returned as a list at their own resolutions, full
      resolution first (nnU-Net downsamples the label instead of upsampling the logits; MONAI's
      ``DeepSupervisionLoss`` resizes the label to each output). ``DynUNet`` upsamples every head and stacks them.

    In eval mode, or without deep supervision, the output is one tensor as for ``DynUNet``. Arguments are those of
    ``DynUNet``; with ``deep_supervision=True``, ``deep_supr_num`` defaults to every decoder stage but the
    lowest-resolution one (nnU-Net's deep-supervision outputs).

    Example (a plan's ``conv_kernel_sizes`` and ``pool_op_kernel_sizes``)::

        net = PlainConvUNet(3, 1, 2, kernel_size=[[1, 3, 3], [3, 3, 3], [3, 3, 3]],
                            strides=[[1, 1, 1], [1, 2, 2], [2, 2, 2]], upsample_kernel_size=[[1, 2, 2], [2, 2, 2]],
                            filters=[32, 64, 128], deep_supervision=True)
    """

    def __init__(self, *args, deep_supr_num: int | None = None, **kwargs) -> None:
        if deep_supr_num is None:
            strides = kwargs.get("strides", args[4] if len(args) > 4 else None)
            deep_supr_num = max(1, len(strides) - 2) if strides is not None else 1
        super().__init__(*args, deep_supr_num=deep_supr_num, **kwargs)

    def get_upsamples(self):
        inp, out = self.filters[1:][::-1], self.filters[:-1][::-1]
        strides, kernel_size = self.strides[1:][::-1], self.kernel_size[:-1][::-1]
        return self.get_module_list(
            inp, out, kernel_size, strides, UnetUpBlock, self.upsample_kernel_size[::-1], trans_bias=self.trans_bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        out = self.output_block(self.skip_layers(x))
        if self.training and self.deep_supervision:
            return [out, *self.heads]
        return out
