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

"""nnU-Net's ensemble of prediction folders: average the saved probabilities case by case."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from networks.data.file_io import write_json_atomic

from ..image_io import write_seg
from .predict import PROPERTIES_SUFFIX

__all__ = ["ensemble_folders"]


def ensemble_folders(
    input_dirs: Sequence[str | os.PathLike], output_dir: str | os.PathLike, file_ending: str, save_probabilities=False
) -> list[str]:
    """Average the ``<case>.npz`` probabilities of several prediction folders (``predict --save_probabilities``)
    case by case, take the argmax and write ``<case><file_ending>`` with the geometry of the inputs (nnU-Net's
    ``nnUNetv2_ensemble``). Cases missing from any folder are an error naming them. Returns the cases written."""
    dirs = [Path(d) for d in input_dirs]
    if len(dirs) < 2:
        raise ValueError("ensemble needs at least two prediction folders")
    case_sets = [{p.name[: -len(".npz")] for p in d.glob("*.npz")} for d in dirs]
    cases = sorted(set.union(*case_sets))
    missing = {str(d): sorted(set(cases) - s) for d, s in zip(dirs, case_sets) if set(cases) - s}
    if missing:
        raise FileNotFoundError(f"cases without probabilities (predict with --save_probabilities): {missing}")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for case in cases:
        total = None
        for d in dirs:
            with np.load(d / f"{case}.npz") as npz:
                probabilities = npz["probabilities"].astype(np.float32)
            total = probabilities if total is None else total + probabilities
        properties = json.loads((dirs[0] / f"{case}{PROPERTIES_SUFFIX}").read_text())
        probabilities = total / len(dirs)
        write_seg(np.argmax(probabilities, axis=0), properties, out / f"{case}{file_ending}")
        if save_probabilities:
            np.savez_compressed(out / f"{case}.npz", probabilities=probabilities.astype(np.float16))
            write_json_atomic(out / f"{case}{PROPERTIES_SUFFIX}", properties)
    return cases
