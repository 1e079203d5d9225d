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

"""Dice and IoU per class as nnU-Net's ``evaluate_predictions`` computes and summarises them (``summary.json``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from networks.data.file_io import write_json_atomic

from ..image_io import read_seg

__all__ = ["label_metrics", "summarize", "evaluate_cases"]


def label_metrics(reference: np.ndarray, prediction: np.ndarray, labels: Sequence[int]) -> dict[str, dict]:
    """Per label: Dice, IoU (NaN when the label is in neither map), TP, FP, FN, TN, n_pred, n_ref."""
    if reference.shape != prediction.shape:
        raise ValueError(f"reference shape {reference.shape} differs from prediction shape {prediction.shape}")
    result = {}
    for label in labels:
        ref, pred = reference == label, prediction == label
        tp = int(np.count_nonzero(ref & pred))
        fp = int(np.count_nonzero(pred & ~ref))
        fn = int(np.count_nonzero(ref & ~pred))
        tn = int(ref.size - tp - fp - fn)
        union = tp + fp + fn
        result[str(label)] = {
            "Dice": 2 * tp / (2 * tp + fp + fn) if union else float("nan"),
            "IoU": tp / union if union else float("nan"),
            "TP": tp,
            "FP": fp,
            "FN": fn,
            "TN": tn,
            "n_pred": tp + fp,
            "n_ref": tp + fn,
        }
    return result


def summarize(per_case: Sequence[dict], labels: Sequence[int]) -> dict:
    """nnU-Net's summary: per-label means over cases (NaN cases ignored) and their mean over labels."""
    mean = {}
    for label in map(str, labels):
        metrics = per_case[0]["metrics"][label].keys() if per_case else ()
        mean[label] = {
            m: (
                float(np.nanmean([c["metrics"][label][m] for c in per_case]))
                if any(not np.isnan(c["metrics"][label][m]) for c in per_case)
                else float("nan")
            )
            for m in metrics
        }
    foreground = {
        m: float(np.mean([mean[label][m] for label in mean])) for m in (next(iter(mean.values())) if mean else {})
    }
    return {"foreground_mean": foreground, "mean": mean, "metric_per_case": list(per_case)}


def evaluate_cases(
    pairs: Mapping[str, tuple[str, str]],
    labels: Sequence[int],
    output_file: str | os.PathLike | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict:
    """Evaluate ``{case: (reference file, prediction file)}`` over the foreground ``labels``; write the summary
    to ``output_file`` (JSON, NaN as ``NaN`` like nnU-Net). ``transform`` is applied to each prediction first (a
    postprocessing candidate)."""
    per_case = []
    for case, (reference_file, prediction_file) in sorted(pairs.items()):
        reference = read_seg(reference_file)[0][0]
        prediction = read_seg(prediction_file)[0][0]
        if transform is not None:
            prediction = transform(prediction)
        per_case.append(
            {
                "case": case,
                "reference_file": str(reference_file),
                "prediction_file": str(prediction_file),
                "metrics": label_metrics(reference, prediction, labels),
            }
        )
    summary = summarize(per_case, labels)
    if output_file is not None:
        Path(output_file).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(output_file, summary, indent=2)
    return summary
