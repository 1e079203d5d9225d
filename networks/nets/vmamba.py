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

"""VMamba (v0) encoder, usable alone and as a MONAI ``FlexibleUNet`` backbone."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence

import torch
from monai.networks.blocks import BaseEncoder
from monai.networks.layers.utils import get_norm_layer
from torch import nn

from networks.blocks import PatchEmbed2D, PatchMerging2D, VSSStage
from networks.nets.state_dict import read_state_dict

__all__ = ["VMambaEncoder", "VMambaBackbone", "load_vmamba_pretrained", "check_input_shape", "check_network_args"]

logger = logging.getLogger(__name__)


def check_network_args(
    name: str, spatial_dims: int, dims: Sequence[int], depths: Sequence[int], **channels: int
) -> None:
    """
    Validate the constructor arguments that every VMamba-based 2D network shares; errors quote the argument.

    Args:
        name: network name used in the messages.
        spatial_dims: must be 2.
        dims: channels per encoder stage; same length as ``depths``, at least 2 stages.
        depths: blocks per encoder stage.
        channels: channel-count arguments by name (e.g. ``in_channels=1``), each must be >= 1.
    """
    if spatial_dims != 2:
        raise ValueError(f"`spatial_dims` must be 2 ({name} is a 2D network), got {spatial_dims}.")
    for arg, value in channels.items():
        if value < 1:
            raise ValueError(f"`{arg}` must be >= 1, got {value}.")
    if len(dims) != len(depths) or len(dims) < 2:
        raise ValueError(f"`dims` and `depths` must have the same length (>= 2), got {dims} and {depths}.")


def check_input_shape(x: torch.Tensor, in_channels: int, multiple: int, name: str) -> None:
    """Raise a ValueError unless ``x`` is (B, in_channels, H, W) with H and W multiples of ``multiple``."""
    if x.ndim != 4:
        raise ValueError(f"{name} expects a 4D input (batch, channels, H, W), got shape {tuple(x.shape)}.")
    if x.shape[1] != in_channels:
        raise ValueError(f"{name} expects {in_channels} input channels, got shape {tuple(x.shape)}.")
    if x.shape[2] % multiple or x.shape[3] % multiple:
        raise ValueError(
            f"{name} needs spatial sides that are multiples of {multiple}, got shape {tuple(x.shape)}; "
            "pad or resize the input (e.g. monai.transforms.DivisiblePad(k=%d))." % multiple
        )


def _as_dims(dims: int | Sequence[int], num_stages: int) -> tuple[int, ...]:
    if isinstance(dims, int):
        return tuple(dims * 2**i for i in range(num_stages))
    return tuple(int(d) for d in dims)


class VMambaEncoder(nn.Module):
    """
    Hierarchical VMamba (v0) encoder of "VMamba: Visual State Space Model" (https://arxiv.org/abs/2401.10166), as
    used in "Swin-UMamba: Mamba-based UNet with ImageNet-based pretraining" (https://arxiv.org/abs/2402.03302):
    patch embedding, then stages of VSS blocks with patch merging in between. No classifier head, no final norm.

    ``forward`` returns ``[x, stage_1, ..., stage_n]`` as channels-first maps: the input itself, then the stage
    outputs at 1/p, 1/(2p), ... of the input size with ``dims`` channels. The input sides must be multiples of
    ``patch_size * 2 ** (n - 1)`` (32 for VMamba-Tiny with patch 4).

    Module names follow the VMamba checkpoints (``patch_embed``, ``layers.{i}.blocks.{j}``), except that the
    patch merging after stage i is ``downsamples.{i}`` (official: ``layers.{i}.downsample``), as in Swin-UMamba;
    ``load_vmamba_pretrained`` maps between the two.

    Args:
        spatial_dims: number of spatial dimensions; only 2 is supported. Defaults to 2.
        in_channels: number of input channels. Defaults to 3.
        dims: channels per stage, or the first stage's (doubled per stage). Defaults to (96, 192, 384, 768).
        depths: number of VSS blocks per stage. Defaults to (2, 2, 9, 2).
        patch_size: patch embedding size. Defaults to 4.
        d_state: SSM state size. Defaults to 16.
        drop_path_rate: stochastic depth, increased linearly from 0 to this over all blocks. Defaults to 0.2.
        attn_drop_rate: dropout inside SS2D. Defaults to 0.0.
        use_checkpoint: gradient checkpointing of the VSS blocks. Defaults to False.
    """

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 3,
        dims: int | Sequence[int] = (96, 192, 384, 768),
        depths: Sequence[int] = (2, 2, 9, 2),
        patch_size: int = 4,
        d_state: int = 16,
        drop_path_rate: float = 0.2,
        attn_drop_rate: float = 0.0,
        use_checkpoint: bool = False,
    ) -> None:
        super().__init__()
        if spatial_dims != 2:
            raise ValueError(f"`spatial_dims` must be 2 (VMamba scans 2D maps), got {spatial_dims}.")
        if in_channels < 1:
            raise ValueError(f"`in_channels` must be >= 1, got {in_channels}.")
        dims = _as_dims(dims, len(depths))
        if len(depths) < 1 or len(dims) != len(depths) or min(depths) < 1 or min(dims) < 1:
            raise ValueError(f"`dims` and `depths` must be positive and of the same length, got {dims}, {depths}.")
        if not 0.0 <= drop_path_rate < 1.0:
            raise ValueError(f"`drop_path_rate` must be in [0, 1), got {drop_path_rate}.")
        self.in_channels = in_channels
        self.dims = dims
        self.depths = tuple(depths)
        self.patch_size = patch_size
        self.size_multiple = patch_size * 2 ** (len(depths) - 1)

        rates = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        self.patch_embed = PatchEmbed2D(in_channels, dims[0], patch_size)
        self.layers = nn.ModuleList()
        for i, (dim, depth) in enumerate(zip(dims, depths)):
            stage_rates = rates[sum(depths[:i]) : sum(depths[: i + 1])]
            self.layers.append(VSSStage(dim, depth, stage_rates, d_state, attn_drop_rate, use_checkpoint))
        self.downsamples = nn.ModuleList(PatchMerging2D(dims[i]) for i in range(len(dims) - 1))
        for i in range(len(dims) - 1):
            if dims[i + 1] != 2 * dims[i]:
                raise ValueError(f"`dims` must double from stage to stage (patch merging C -> 2C), got {dims}.")
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        # as VMamba: truncated normal for Linear layers, unit LayerNorms; convs and the SS2D parameters keep theirs
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def set_trainable(self, trainable: bool, include_patch_embed: bool = False) -> None:
        """Set ``requires_grad`` of the encoder's parameters (those of the patch embedding only if asked)."""
        for name, param in self.named_parameters():
            if include_patch_embed or not name.startswith("patch_embed."):
                param.requires_grad_(trainable)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        check_input_shape(x, self.in_channels, self.size_multiple, type(self).__name__)
        features = [x]
        y = self.patch_embed(x)
        for i, stage in enumerate(self.layers):
            y = stage(y)
            features.append(y.permute(0, 3, 1, 2).contiguous())
            if i < len(self.downsamples):
                y = self.downsamples[i](y)
        return features


class VMambaBackbone(nn.Module, BaseEncoder):
    """
    Swin-UMamba's encoder path as a MONAI ``FlexibleUNet`` backbone (registered as ``"vmamba-tiny"``): a stride-2
    7x7 conv stem (instance norm) followed by a VMamba encoder with patch 2, giving five feature maps at 1/2 (stem),
    1/4, 1/8, 1/16 and 1/32 of the input, each 2x smaller than the last as ``FlexibleUNet`` requires.

    Args:
        spatial_dims: number of spatial dimensions; only 2 is supported. Defaults to 2.
        in_channels: number of input channels. Defaults to 1.
        stem_channels: channels of the stem output. Defaults to 48.
        dims: channels of the VMamba stages. Defaults to (96, 192, 384, 768).
        depths: VSS blocks per stage. Defaults to (2, 2, 9, 2).
        d_state: SSM state size. Defaults to 16.
        drop_path_rate: stochastic depth rate of the encoder. Defaults to 0.2.
        pretrained: False, or the path of a VMamba-Tiny ImageNet checkpoint to load with
            ``load_vmamba_pretrained`` (nothing is downloaded; ``True`` is an error). Defaults to False.
    """

    backbone_names = ["vmamba-tiny"]

    def __init__(
        self,
        spatial_dims: int = 2,
        in_channels: int = 1,
        stem_channels: int = 48,
        dims: Sequence[int] = (96, 192, 384, 768),
        depths: Sequence[int] = (2, 2, 9, 2),
        d_state: int = 16,
        drop_path_rate: float = 0.2,
        pretrained: bool | str = False,
    ) -> None:
        super().__init__()
        check_network_args(
            type(self).__name__, spatial_dims, dims, depths, in_channels=in_channels, stem_channels=stem_channels
        )
        self.in_channels = in_channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, kernel_size=7, stride=2, padding=3),
            get_norm_layer(("instance", {"affine": True}), spatial_dims, stem_channels),
        )
        self.encoder = VMambaEncoder(spatial_dims, stem_channels, dims, depths, 2, d_state, drop_path_rate)
        self.size_multiple = 2 * self.encoder.size_multiple
        if pretrained is True:
            raise ValueError(
                "`pretrained=True` is not supported (nothing is downloaded): pass the path of a local VMamba-Tiny "
                "checkpoint as `pretrained`, or call networks.nets.load_vmamba_pretrained(model, path)."
            )
        if pretrained:
            load_vmamba_pretrained(self, str(pretrained))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        check_input_shape(x, self.in_channels, self.size_multiple, type(self).__name__)
        # the encoder returns its own input (the stem output, 1/2) first, then the four stages
        return self.encoder(self.stem(x))

    @classmethod
    def get_encoder_parameters(cls) -> list[dict]:
        return [{"spatial_dims": 2, "in_channels": 1, "pretrained": False}]

    @classmethod
    def num_channels_per_output(cls) -> list[tuple[int, ...]]:
        return [(48, 96, 192, 384, 768)]

    @classmethod
    def num_outputs(cls) -> list[int]:
        return [5]

    @classmethod
    def get_encoder_names(cls) -> list[str]:
        return cls.backbone_names


def _find_encoder(model: nn.Module) -> tuple[VMambaEncoder, bool]:
    """The VMamba encoder of ``model`` and whether its patch embedding is always skipped (it takes a stem's
    output, not an image)."""
    if isinstance(model, VMambaEncoder):
        return model, False
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, VMambaEncoder):
        return encoder, hasattr(model, "stem")  # a stem feeds the encoder: the image-sized patch embedding is unused
    raise TypeError(f"Expected a VMambaEncoder, VMambaBackbone, SwinUMamba or SwinUMambaD, got {type(model).__name__}.")


def load_vmamba_pretrained(model: nn.Module, path: str | os.PathLike, trust_checkpoint: bool = False) -> dict:
    """
    Load the official VMamba-Tiny ImageNet checkpoint (e.g. ``vssmtiny_dp01_ckpt_epoch_292.pth``, release
    20240218; ``{"model": state_dict}`` or a bare state dict) into the encoder of a ``SwinUMamba``,
    ``SwinUMambaD``, ``VMambaBackbone`` or ``VMambaEncoder``, as the paper does.

    ``layers.{i}.downsample.*`` maps to ``downsamples.{i}.*``; other keys keep their names. Skipped: the classifier
    ``head.*`` and final ``norm.*``; ``patch_embed.*`` for SwinUMamba/VMambaBackbone (their patch embedding takes
    the stem's channels) and otherwise when its shape differs (another number of input channels).

    Returns:
        a dict with lists ``loaded`` (checkpoint keys copied), ``skipped`` (checkpoint keys not used) and
        ``missing`` (encoder keys left as they were); the same is logged.

    Raises:
        FileNotFoundError / ValueError: the file is missing or unreadable.
        ValueError: a mapped key's shape differs from the model's (message names the key and both shapes).
    """
    encoder, skip_patch_embed = _find_encoder(model)
    checkpoint = read_state_dict(path, ("model", "state_dict"), trust_checkpoint)
    own = encoder.state_dict()
    loaded, skipped, updates = [], [], {}
    for key, value in checkpoint.items():
        target = re.sub(r"^layers\.(\d+)\.downsample\.", r"downsamples.\1.", key)
        if key.startswith(("head.", "norm.")) or (skip_patch_embed and key.startswith("patch_embed.")):
            skipped.append(key)
            continue
        if target not in own:
            skipped.append(key)
            continue
        if value.shape != own[target].shape:
            if key.startswith("patch_embed."):  # another number of input channels: keep the model's own
                skipped.append(key)
                continue
            raise ValueError(
                f"Shape mismatch for '{key}' (model key '{target}'): checkpoint {tuple(value.shape)} vs model "
                f"{tuple(own[target].shape)}."
            )
        updates[target] = value
        loaded.append(key)
    if any(k.startswith("patch_embed.") for k in skipped):  # never load half a patch embedding
        for key in [k for k in loaded if k.startswith("patch_embed.")]:
            loaded.remove(key)
            skipped.append(key)
            updates.pop(key)
    encoder.load_state_dict(updates, strict=False)
    missing = sorted(set(own) - set(updates))
    logger.info(
        "VMamba weights from '%s': loaded %d tensors, skipped %d (%s), left %d encoder tensors as they were (%s).",
        path,
        len(loaded),
        len(skipped),
        ", ".join(skipped),
        len(missing),
        ", ".join(missing),
    )
    return {"loaded": loaded, "skipped": skipped, "missing": missing}
