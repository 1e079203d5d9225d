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

"""nnU-Net's validation of trained folds: predict each fold's held-out raw cases with TTA, export them to their own
geometry and score them; then score every fold's validation cases together (the cross-validation result)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence

from networks.data.file_io import write_json_atomic

from ..dataset import RawDataset
from ..inference.predict import PROPERTIES_SUFFIX, ConfigurationModel, predict_cases
from ..splits import fold_cases
from ..work_folder import WorkFolder
from .metrics import evaluate_cases

__all__ = ["validate_fold", "crossval_summary"]

logger = logging.getLogger(__name__)


def validate_fold(
    work: WorkFolder, dataset: RawDataset, configuration: str, fold: int | str, network: str = "auto"
) -> dict:
    """Predict the fold's validation cases from the raw files (TTA, original geometry, probabilities kept for
    ensembling) and write ``validation/summary.json`` in the fold folder; return the summary."""
    cases = work.preprocessed_cases(configuration)
    _, val = fold_cases(work.splits(cases), fold, cases)
    fold_dir = work.fold_dir(configuration, fold, network)
    model = ConfigurationModel(str(work.bundle_dir(configuration, network)), [str(fold_dir / "model.pt")])
    out = fold_dir / "validation"
    errors = predict_cases(
        {c: dataset.cases[c]["images"] for c in val}, out, [model], save_probabilities=True, output_ext=None
    )
    pairs = {c: (dataset.cases[c]["label"], str(out / f"{c}{dataset.file_ending}")) for c in val if c not in errors}
    summary = evaluate_cases(pairs, work.plans.foreground_labels, out / "summary.json")
    logger.info("%s fold %s: mean foreground Dice %.4f", configuration, fold, summary["foreground_mean"].get("Dice"))
    return summary


def crossval_summary(
    work: WorkFolder, dataset: RawDataset, configuration: str, folds: Sequence[str], network: str = "auto"
) -> dict:
    """Gather the validation predictions of ``folds`` in the configuration's ``crossval/`` folder and score them
    together."""
    out = work.crossval_dir(configuration, network)
    if out.exists():
        shutil.rmtree(out)  # predictions of an earlier split or fold set must not count
    out.mkdir(parents=True)
    pairs = {}
    cases = work.preprocessed_cases(configuration)
    splits = work.splits(cases)
    for fold in folds:
        validation = work.fold_dir(configuration, fold, network) / "validation"
        for case in fold_cases(splits, fold, cases)[1]:
            prediction = validation / f"{case}{dataset.file_ending}"
            if not prediction.is_file():
                continue
            for suffix in (dataset.file_ending, ".npz", PROPERTIES_SUFFIX, ".json"):
                source = validation / f"{case}{suffix}"
                if source.is_file():
                    shutil.copyfile(source, out / source.name)
            pairs[case] = (dataset.cases[case]["label"], str(out / prediction.name))
    if not pairs:
        root = work.results_dir(configuration, network)
        raise FileNotFoundError(f"{root}: no validation predictions for folds {list(folds)} (train them first)")
    summary = evaluate_cases(pairs, work.plans.foreground_labels, out / "summary.json")
    write_json_atomic(out / "folds.json", {"folds": list(map(str, folds)), "cases": sorted(pairs)})
    return summary
