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
"""Datalists of the vision-language bundle and the batch preparation of image-text training."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import torch
from monai.utils import CommonKeys

__all__ = ["load_pairs", "load_test_datalist", "prepare_image_text_batch", "prepare_report_batch"]


def _read_datalist(path: str | os.PathLike, key: str, hint: str) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; {hint}")
    try:
        items = json.loads(path.read_text())[key]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: expected a JSON object with a {key!r} list ({err}); {hint}") from err
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: {key!r} must be a non-empty list; {hint}")
    return items


def load_pairs(pairs_dir: str | os.PathLike, min_items: int = 2) -> list[dict]:
    """
    The training pairs of a ``generate`` output folder as ``{"image": absolute path, "report": text}`` items,
    every file checked before training starts.

    Args:
        pairs_dir: the folder written by the ``generate`` workflow.
        min_items: fewest pairs accepted (the training batch size: a contrastive batch needs them all).
    """
    hint = "run the bundle's generate workflow first (configs/generate.json)"
    items = _read_datalist(Path(pairs_dir) / "datalist.json", "training", hint)
    if len(items) < min_items:
        raise ValueError(
            f"{pairs_dir}/datalist.json has {len(items)} pairs, fewer than the batch size {min_items}: generate more "
            "pairs (--num_pairs) or lower --batch_size"
        )
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("report"), str) or "image" not in item:
            raise ValueError(f"{pairs_dir}/datalist.json: training item {i} needs 'image' and a 'report' string")
        image = Path(pairs_dir) / item["image"]
        if not image.is_file():
            raise FileNotFoundError(f"{pairs_dir}/datalist.json: training item {i}: image {image} does not exist")
        out.append({"image": str(image), "report": item["report"]})
    return out


def load_test_datalist(
    datalist_file: str | os.PathLike,
    class_names: Sequence[str],
    masks: bool = False,
    key: str = "test",
    reports: bool = False,
) -> list[dict]:
    """
    Test items as ``{"image", "label"}``: ``label`` is the 0/1 vector over ``class_names`` (from each item's
    ``labels``) or, with ``masks``, the path of the item's mask file (items without one are left out); with
    ``reports``, each item also holds its ``report`` text (for the text-side evaluation).
    """
    hint = "run the bundle's generate workflow first (it writes the test set)"
    root = Path(datalist_file).parent
    out = []
    for i, item in enumerate(_read_datalist(datalist_file, key, hint)):
        labels = item.get("labels")
        missing = [c for c in class_names if not isinstance(labels, dict) or c not in labels]
        if missing:
            raise KeyError(f"{datalist_file}: {key} item {i} has no label for {missing}")
        entry = {"image": str(root / item["image"])}
        if reports:
            if not isinstance(item.get("report"), str) or not item["report"].strip():
                raise KeyError(f"{datalist_file}: {key} item {i} has no report text")
            entry["report"] = item["report"]
        if masks:
            if "mask" not in item:
                continue
            entry["label"] = str(root / item["mask"])
        else:
            entry["label"] = torch.tensor([float(labels[c]) for c in class_names])
        out.append(entry)
    return out


def prepare_image_text_batch(batchdata: dict, device=None, non_blocking: bool = False, **kwargs):
    """
    ``prepare_batch`` of a ``SupervisedTrainer`` on image-report pairs: the network is called as
    ``network(images, reports)`` and the loss gets its output dict (no target).
    """
    images = batchdata[CommonKeys.IMAGE].to(device=device, non_blocking=non_blocking, **kwargs)
    reports = list(batchdata["report"])
    return images, None, (reports,), {}


def prepare_report_batch(batchdata: dict, device=None, non_blocking: bool = False, **kwargs):
    """
    ``prepare_batch`` of a ``SupervisedEvaluator`` that classifies report texts: the network is called as
    ``network(reports)`` and the label vector is the target.
    """
    labels = batchdata[CommonKeys.LABEL].to(device=device, non_blocking=non_blocking, **kwargs)
    return list(batchdata["report"]), labels
