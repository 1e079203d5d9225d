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

"""Writes that a crash or kill cannot leave half done: write a temporary file beside the target, then rename."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

__all__ = ["write_json_atomic", "save_npy_atomic", "write_bytes_atomic"]


def _tmp_name(path: str) -> str:
    # pid-tagged so parallel writers of different files in one folder never share a temporary name
    return f"{path}.tmp{os.getpid()}"


def write_json_atomic(path: str | os.PathLike, doc: Any, indent: int | None = 1, sort_keys: bool = False) -> None:
    """Write ``doc`` as JSON to ``path`` atomically (the old file or the complete new one, never a partial one)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=indent, sort_keys=sort_keys)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())  # on disk before the rename publishes it: survives a power cut, not only a kill
    os.replace(tmp, path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (folders created), e.g. an encoded PNG or a CSV."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_npy_atomic(path: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` to ``path`` atomically; ``path`` must end in ``.npy``."""
    path = os.fspath(path)
    tmp = _tmp_name(path) + ".npy"
    with open(tmp, "wb") as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
