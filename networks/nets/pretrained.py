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

"""Loading VMamba ImageNet weights and checkpoints trained with the original Swin-UMamba code."""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections.abc import Mapping

import torch
from torch import nn

from networks.nets.swin_umamba import SwinUMamba
from networks.nets.swin_umamba_d import SwinUMambaD
from networks.nets.vmamba import VMambaBackbone, VMambaEncoder

__all__ = ["load_vmamba_pretrained", "load_original_checkpoint", "read_state_dict"]

logger = logging.getLogger(__name__)

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DDP and torch.compile

# Module names: ours are chosen for reading (``skips``, ``up_blocks``, ``heads``...) rather than mirroring the
# original's numbered ``encoder1..5``/``decoder1..6`` (whose numbering does not follow the data flow), so the
# original layout is mapped by the explicit tables below: (regex on the original key, replacement).
_ORIGINAL_TO_OURS: dict[type, list[tuple[str, str]]] = {
    SwinUMamba: [
        (r"^stem\.", "stem."),
        (r"^vssm_encoder\.", "encoder."),
        (r"^encoder([1-5])\.", lambda m: f"skips.{int(m.group(1)) - 1}."),
        (r"^decoder([2-6])\.", lambda m: f"up_blocks.{6 - int(m.group(1))}."),
        (r"^decoder1\.", "final_block."),
        (r"^out_layers\.", "heads."),
    ],
    SwinUMambaD: [
        (r"^vssm_encoder\.", "encoder."),
        (r"^decoder\.expand_layers\.3\.", "final_expand."),
        (r"^decoder\.expand_layers\.([0-2])\.", r"up_expands.\1."),
        (r"^decoder\.stages\.([0-2])\.", r"up_stages.\1."),
        (r"^decoder\.concat_back_dim\.", "fuse."),
        (r"^decoder\.seg_layers\.", "heads."),
    ],
}


def read_state_dict(path: str | os.PathLike, keys: tuple[str, ...] = (), trust_checkpoint: bool = False) -> dict:
    """
    Read a state dict from ``path`` with ``torch.load(weights_only=True)``; if the file is a dict holding one of
    ``keys`` (e.g. "model", "network_weights"), return that entry. Pickled non-tensor objects (old checkpoints
    with a config object) need ``trust_checkpoint=True``, which loads with ``weights_only=False``: only for files
    you trust.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint file not found: '{path}'.")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not trust_checkpoint)
    except pickle.UnpicklingError as e:
        raise ValueError(
            f"Could not read checkpoint '{path}' with weights_only=True ({e}). If you trust the file, pass "
            "trust_checkpoint=True to load it with weights_only=False."
        ) from e
    except Exception as e:  # truncated/corrupt file, not a torch file...
        raise ValueError(f"Could not read checkpoint '{path}': {type(e).__name__}: {e}") from e
    if isinstance(obj, Mapping):
        for key in keys:
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"Checkpoint '{path}' does not hold a state dict (looked for {list(keys)} or a bare one).")
    return {_strip_wrappers(k): v for k, v in obj.items()}


def _strip_wrappers(key: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in _WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key


def _find_encoder(model: nn.Module) -> tuple[VMambaEncoder, bool]:
    """The VMamba encoder of ``model`` and whether its patch embedding is always skipped (it takes a stem's
    output, not an image)."""
    if isinstance(model, VMambaEncoder):
        return model, False
    if isinstance(model, (SwinUMamba, VMambaBackbone)):
        return model.encoder, True
    if isinstance(model, SwinUMambaD):
        return model.encoder, False
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


def load_original_checkpoint(model: nn.Module, path: str | os.PathLike, trust_checkpoint: bool = False) -> dict:
    """
    Load a checkpoint trained with the original Swin-UMamba code into our ``SwinUMamba`` / ``SwinUMambaD``:
    nnU-Net's ``{"network_weights": state_dict, ...}`` or a bare state dict, ``module.``/``_orig_mod.`` prefixes
    stripped, original module names mapped by the tables above. Strict: every checkpoint key must map onto a model
    key of the same shape and every model key must be covered.

    Returns:
        a dict ``{"loaded": [our keys]}``.

    Raises:
        ValueError: unmatched keys (both directions are listed) or shape mismatches; unreadable file.
        FileNotFoundError: missing file.
    """
    table = next((rules for cls, rules in _ORIGINAL_TO_OURS.items() if isinstance(model, cls)), None)
    if table is None:
        raise TypeError(f"Expected a SwinUMamba or SwinUMambaD, got {type(model).__name__}.")
    checkpoint = read_state_dict(path, ("network_weights", "state_dict", "model"), trust_checkpoint)
    own = model.state_dict()
    mapped, unmatched, mismatched = {}, [], []
    for key, value in checkpoint.items():
        target = _map_key(key, table)
        if target is None or target not in own:
            unmatched.append(key)
        elif value.shape != own[target].shape:
            mismatched.append(f"'{key}': checkpoint {tuple(value.shape)} vs model {tuple(own[target].shape)}")
        else:
            mapped[target] = value
    not_covered = sorted(set(own) - set(mapped))
    if unmatched or mismatched or not_covered:
        raise ValueError(
            f"Checkpoint '{path}' does not match {type(model).__name__}: "
            f"{len(unmatched)} checkpoint keys without a model key {unmatched[:20]}, "
            f"{len(mismatched)} shape mismatches {mismatched[:20]}, "
            f"{len(not_covered)} model keys not in the checkpoint {not_covered[:20]}."
        )
    model.load_state_dict(mapped, strict=True)
    logger.info("Loaded %d tensors from original checkpoint '%s'.", len(mapped), path)
    return {"loaded": sorted(mapped)}


def _map_key(key: str, table: list) -> str | None:
    for pattern, replacement in table:
        new, count = re.subn(pattern, replacement, key, count=1)
        if count:
            return new
    return None
