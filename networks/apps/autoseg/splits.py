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

"""Cross-validation folds as nnU-Net makes them (``splits_final.json``) and the data lists a fold trains on."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from networks.data.file_io import write_json_atomic

__all__ = ["SPLIT_SEED", "kfold_splits", "load_or_create_splits", "fold_cases", "fold_datalist"]

logger = logging.getLogger(__name__)

SPLIT_SEED = 12345  # nnU-Net's generate_crossval_split seed


def kfold_splits(cases: Sequence[str], n_splits: int = 5, seed: int = SPLIT_SEED) -> list[dict[str, list[str]]]:
    """Shuffled k-fold splits of the sorted ``cases``, the same as nnU-Net's (scikit-learn ``KFold`` with
    ``shuffle=True, random_state=seed``): the first ``len % k`` folds hold one case more."""
    cases = sorted(cases)
    if not 2 <= n_splits <= len(cases):
        raise ValueError(f"{n_splits}-fold cross-validation needs at least {n_splits} cases, got {len(cases)}")
    order = np.arange(len(cases))
    np.random.RandomState(seed).shuffle(order)
    sizes = np.full(n_splits, len(cases) // n_splits)
    sizes[: len(cases) % n_splits] += 1
    splits, start = [], 0
    for size in sizes:
        val = set(order[start : start + size].tolist())
        start += size
        splits.append(
            {
                "train": [c for i, c in enumerate(cases) if i not in val],
                "val": [c for i, c in enumerate(cases) if i in val],
            }
        )
    return splits


def load_or_create_splits(
    path: str | os.PathLike, cases: Sequence[str], n_splits: int = 5
) -> list[dict[str, list[str]]]:
    """The splits in ``path`` if it exists (a user's file is honoured), else ``n_splits`` folds written there.

    With fewer cases than ``n_splits``, one fold per case (leave-one-out); a single case gets no folds (train on
    fold ``all``). Cases of the file that the dataset lacks are an error naming them.
    """
    path = Path(path)
    if path.is_file():
        try:
            splits = json.loads(path.read_text())
        except ValueError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        if not isinstance(splits, list) or not all(isinstance(s, dict) and {"train", "val"} <= set(s) for s in splits):
            raise ValueError(f"{path}: expected a list of {{'train': [...], 'val': [...]}} folds")
        unknown = sorted({c for s in splits for c in (*s["train"], *s["val"])} - set(cases))
        if unknown:
            raise ValueError(f"{path}: case(s) {unknown[:10]} are not training cases of this dataset")
        return splits
    k = min(n_splits, len(cases))
    splits = kfold_splits(cases, k) if k >= 2 else []
    if k < n_splits:
        logger.warning("%d training case(s): %d folds instead of %d", len(cases), k if k >= 2 else 0, n_splits)
    write_json_atomic(path, splits, indent=4)
    return splits


def fold_cases(splits: list[dict], fold: int | str, cases: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(train, val)`` cases of ``fold``; fold ``"all"`` trains and validates on every case (as nnU-Net)."""
    if str(fold) == "all":
        return sorted(cases), sorted(cases)
    fold = int(fold)
    if not 0 <= fold < len(splits):
        raise ValueError(f"fold {fold} does not exist: the splits define {len(splits)} fold(s) (or use fold 'all')")
    return list(splits[fold]["train"]), list(splits[fold]["val"])


def fold_datalist(preprocessed_dir: str, splits_file: str, fold: int | str, part: str) -> list[dict[str, str]]:
    """Data list of one part (``"train"`` or ``"val"``) of a fold over a preprocessed folder: one
    ``{"image": <case>.npy, "label": <case>_seg.npy, "case": <case>}`` per case (what the bundles' configs read)."""
    folder = Path(preprocessed_dir)
    cases = sorted(p.name[: -len(".json")] for p in folder.glob("*.json"))
    if not cases:
        raise FileNotFoundError(f"{folder}: no preprocessed cases (run `autoseg.py preprocess` first)")
    splits = json.loads(Path(splits_file).read_text()) if str(fold) != "all" else []
    train, val = fold_cases(splits, fold, cases)
    selected = {"train": train, "val": val}[part]
    missing = [c for c in selected if c not in cases]
    if missing:
        raise FileNotFoundError(f"{folder}: case(s) {missing[:10]} of fold {fold} are not preprocessed")
    return [{"image": str(folder / f"{c}.npy"), "label": str(folder / f"{c}_seg.npy"), "case": c} for c in selected]
