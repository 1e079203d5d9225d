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

"""Read a state dict from a checkpoint file, whatever wraps it (a training checkpoint's dict, DataParallel/DDP or
``torch.compile`` key prefixes)."""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping

import torch

__all__ = ["read_state_dict"]

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DDP and torch.compile


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
