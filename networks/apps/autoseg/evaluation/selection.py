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

"""nnU-Net's choice of the best configuration or pairwise ensemble by cross-validation, and its postprocessing
(``best_configuration.json``, ``postprocessing.json``)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

from networks.data.file_io import write_json_atomic

from ..dataset import RawDataset
from ..inference.ensemble import ensemble_folders
from ..inference.postprocessing import apply_postprocessing, determine_postprocessing
from ..work_folder import WorkFolder
from .metrics import evaluate_cases
from .validation import crossval_summary

__all__ = ["find_best"]

logger = logging.getLogger(__name__)


def _candidate_dice(summary: dict) -> float:
    value = summary["foreground_mean"].get("Dice", float("nan"))
    return -1.0 if value != value else float(value)  # NaN (no foreground anywhere) ranks last


def find_best(
    work: WorkFolder,
    dataset: RawDataset,
    configurations: Sequence[str],
    folds: Sequence[str],
    network: str = "auto",
) -> dict:
    """Cross-validation summary of every configuration and of every pair's ensemble, the best of them by mean
    foreground Dice (ties: the first, single configurations before ensembles), nnU-Net's postprocessing decision
    for it, all written to ``best_configuration.json`` with the command that predicts new images that way."""
    labels = work.plans.foreground_labels
    candidates: dict[str, dict] = {}
    folders: dict[str, Path] = {}
    for configuration in configurations:
        summary = crossval_summary(work, dataset, configuration, folds, network)
        candidates[configuration] = {"configurations": [configuration], "foreground_mean": summary["foreground_mean"]}
        folders[configuration] = work.crossval_dir(configuration, network)
        logger.info("%s: cross-validation Dice %.4f", configuration, _candidate_dice(summary))
    for a, b in itertools.combinations(configurations, 2):
        key = f"ensemble__{a}__{b}"
        out = work.ensemble_dir(a, b)
        cases = ensemble_folders([folders[a], folders[b]], out, dataset.file_ending)
        pairs = {c: (dataset.cases[c]["label"], str(out / f"{c}{dataset.file_ending}")) for c in cases}
        summary = evaluate_cases(pairs, labels, out / "summary.json")
        candidates[key] = {"configurations": [a, b], "foreground_mean": summary["foreground_mean"]}
        folders[key] = out
    best = max(candidates, key=lambda k: _candidate_dice({"foreground_mean": candidates[k]["foreground_mean"]}))
    best_folder = folders[best]
    pairs = {
        p.name[: -len(dataset.file_ending)]: (dataset.cases[p.name[: -len(dataset.file_ending)]]["label"], str(p))
        for p in sorted(best_folder.glob(f"*{dataset.file_ending}"))
    }
    postprocessing = determine_postprocessing(
        lambda decision: evaluate_cases(pairs, labels, transform=lambda seg: apply_postprocessing(seg, decision)),
        labels,
    )
    decision = {
        k: postprocessing[k] for k in ("foreground_labels", "keep_largest_foreground", "keep_largest_per_label")
    }
    write_json_atomic(work.postprocessing_file, postprocessing, indent=2)
    chosen = candidates[best]["configurations"]
    command = (
        f"python -m networks.apps.autoseg predict --work_dir {work.root} --input_dir INPUT_FOLDER "
        f"--output_dir OUTPUT_FOLDER "
        f"--configurations {','.join(chosen)} --folds {','.join(map(str, folds))} "
        f"--postprocessing_file {work.postprocessing_file}"
        + ("" if network == "auto" else f" --network {network}")
        + (f" --plans_file {work.plans_file}" if work.custom_plans_file else "")
    )
    result = {
        "best": best,
        "configurations": chosen,
        "bundles": [str(work.bundle_dir(c, network)) for c in chosen],
        "folds": list(map(str, folds)),
        "network": network,
        "cross_validation_dice": _candidate_dice({"foreground_mean": candidates[best]["foreground_mean"]}),
        "postprocessing": decision,
        "dice_after_postprocessing": postprocessing["after"]["foreground_mean"]["Dice"],
        "candidates": {k: v["foreground_mean"] for k, v in candidates.items()},
        "predict_command": command,
    }
    write_json_atomic(work.best_configuration_file, result, indent=2)
    return result
