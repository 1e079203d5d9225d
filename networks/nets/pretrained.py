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

"""Loading checkpoints trained with the original Swin-UMamba code (VMamba ImageNet weights:
``networks.nets.vmamba``)."""

from __future__ import annotations

import logging
import os
import re

from torch import nn

from networks.nets.state_dict import read_state_dict
from networks.nets.swin_umamba import SwinUMamba
from networks.nets.swin_umamba_d import SwinUMambaD

__all__ = ["load_original_checkpoint"]

logger = logging.getLogger(__name__)

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
