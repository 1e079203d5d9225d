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

"""Ensembles of configurations and nnU-Net's choice of the best one (``best_configuration.json``)."""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from networks.data.atomic import write_json_atomic

from .dataset import RawDataset
from .evaluation import evaluate_cases
from .image_io import write_seg
from .postprocessing import apply_postprocessing, determine_postprocessing
from .predict import PROPERTIES_SUFFIX
from .training import Experiment, bundle_name, crossval_summary

__all__ = ["ensemble_folders", "find_best"]

logger = logging.getLogger(__name__)


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


def _candidate_dice(summary: dict) -> float:
    value = summary["foreground_mean"].get("Dice", float("nan"))
    return -1.0 if value != value else float(value)  # NaN (no foreground anywhere) ranks last


def find_best(
    experiment: Experiment,
    dataset: RawDataset,
    configurations: Sequence[str],
    folds: Sequence[str],
    network: str = "auto",
) -> dict:
    """Cross-validation summary of every configuration and of every pair's ensemble, the best of them by mean
    foreground Dice (ties: the first, single configurations before ensembles), nnU-Net's postprocessing decision
    for it, all written to ``best_configuration.json`` with the command that predicts new images that way."""
    work = experiment.work
    labels = experiment.foreground_labels
    candidates: dict[str, dict] = {}
    folders: dict[str, Path] = {}
    for configuration in configurations:
        summary = crossval_summary(experiment, dataset, configuration, folds, network)
        name = bundle_name(experiment.plans, configuration, network)
        candidates[configuration] = {"configurations": [configuration], "foreground_mean": summary["foreground_mean"]}
        folders[configuration] = work / "results" / name / "crossval"
        logger.info("%s: cross-validation Dice %.4f", configuration, _candidate_dice(summary))
    for a, b in itertools.combinations(configurations, 2):
        key = f"ensemble__{a}__{b}"
        out = work / "results" / "ensembles" / f"{a}__{b}"
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
    write_json_atomic(work / "postprocessing.json", postprocessing, indent=2)
    chosen = candidates[best]["configurations"]
    command = (
        f"python -m networks.apps.autoseg predict --work_dir {work} --input_dir INPUT_FOLDER "
        f"--output_dir OUTPUT_FOLDER "
        f"--configurations {','.join(chosen)} --folds {','.join(map(str, folds))} "
        f"--postprocessing_file {work / 'postprocessing.json'}"
        + ("" if network == "auto" else f" --network {network}")
        + (f" --plans_file {experiment.plans_file}" if experiment.plans_file != work / "plans.json" else "")
    )
    result = {
        "best": best,
        "configurations": chosen,
        "bundles": [str(experiment.bundle_dir(c, network)) for c in chosen],
        "folds": list(map(str, folds)),
        "network": network,
        "cross_validation_dice": _candidate_dice({"foreground_mean": candidates[best]["foreground_mean"]}),
        "postprocessing": decision,
        "dice_after_postprocessing": postprocessing["after"]["foreground_mean"]["Dice"],
        "candidates": {k: v["foreground_mean"] for k, v in candidates.items()},
        "predict_command": command,
    }
    write_json_atomic(work / "best_configuration.json", result, indent=2)
    return result
