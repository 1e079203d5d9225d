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

"""Train a fold of a configuration through its bundle (``python -m monai.bundle run``), then validate it like
nnU-Net: predict the fold's held-out raw cases with TTA, export them to their own geometry and score them.

Work folder layout (next to part 1's ``plans.json``, ``dataset.json`` and preprocessed caches)::

    splits_final.json
    bundles/<plans>_<configuration>/            the generated bundle (models/model.pt: fold "all" once trained)
    results/<bundle>/fold_<k>/model.pt          weights after the last epoch
    results/<bundle>/fold_<k>/checkpoints/      resume state, every epoch
    results/<bundle>/fold_<k>/logs/             TensorBoard, training.log (every iteration's values)
    results/<bundle>/fold_<k>/validation/       predictions (+ .npz probabilities) and summary.json
    results/<bundle>/crossval/summary.json      every fold's validation cases together
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from networks.data.atomic import write_json_atomic

from .bundle import bundle_name, write_bundle
from .dataset import RawDataset
from .evaluation import evaluate_cases
from .predict import PROPERTIES_SUFFIX, ConfigurationModel, predict_cases
from .preprocess import resolve_configuration
from .splits import fold_cases, load_or_create_splits
from .transforms import load_plans

__all__ = ["Experiment", "FoldProgress", "train_fold", "validate_fold", "crossval_summary"]

logger = logging.getLogger(__name__)


class Experiment:
    """The files of one planned dataset in a work folder: plans, dataset.json, splits, bundles and results."""

    def __init__(self, work_dir: str | os.PathLike, plans_file: str | None = None) -> None:
        self.work = Path(work_dir).expanduser().resolve()
        path = Path(plans_file).expanduser() if plans_file else self.work / "plans.json"
        self.plans_file = path if path.is_absolute() else self.work / path
        if not self.plans_file.is_file():
            raise FileNotFoundError(f"{self.plans_file}: no plans (run `autoseg.py plan` first)")
        self.plans, self.dataset_json = load_plans(self.plans_file, self.work / "dataset.json")
        self.splits_file = self.work / "splits_final.json"

    @property
    def foreground_labels(self) -> list[int]:
        return sorted({int(v) for v in self.dataset_json["labels"].values()} - {0})

    def trainable_configurations(self) -> list[str]:
        """Configurations with their own preprocessed data (the cascade needs a previous stage: not trained)."""
        return [n for n, c in self.plans["configurations"].items() if "data_identifier" in c and "patch_size" in c]

    def preprocessed_dir(self, configuration: str) -> Path:
        return self.work / resolve_configuration(self.plans, configuration)["data_identifier"]

    def preprocessed_cases(self, configuration: str) -> list[str]:
        folder = self.preprocessed_dir(configuration)
        cases = sorted(p.name[: -len(".json")] for p in folder.glob("*.json"))
        if not cases:
            raise FileNotFoundError(f"{folder}: no preprocessed cases (run `autoseg.py preprocess` first)")
        return cases

    def splits(self, cases: Sequence[str]) -> list[dict]:
        return load_or_create_splits(self.splits_file, cases)

    def folds(self, cases: Sequence[str]) -> list[str]:
        """Every fold of the splits, or ``["all"]`` when there are none (a single case)."""
        splits = self.splits(cases)
        return [str(k) for k in range(len(splits))] or ["all"]

    def bundle_dir(self, configuration: str, network: str = "auto") -> Path:
        return self.work / "bundles" / bundle_name(self.plans, configuration, network)

    def fold_dir(self, configuration: str, fold: int | str, network: str = "auto") -> Path:
        return self.work / "results" / bundle_name(self.plans, configuration, network) / f"fold_{fold}"

    def train_parser(self, configuration: str, fold: int | str, num_workers: int, iters_per_epoch: int | None = None):
        """A ``ConfigParser`` of the configuration's bundle ``train.json`` (written anew from the current code)
        pointed at this work folder's preprocessed data, splits and ``fold``: for timing its data pipeline alone."""
        from monai.bundle import ConfigParser

        bundle = self.write_bundle(configuration)
        parser = ConfigParser()
        parser.read_config(str(bundle / "configs" / "train.json"))
        values = {"bundle_root": str(bundle), "preprocessed_dir": str(self.preprocessed_dir(configuration))}
        values.update(splits_file=str(self.splits_file), fold=fold, num_workers=num_workers)
        parser.update(values if iters_per_epoch is None else {**values, "iters_per_epoch": iters_per_epoch})
        return parser

    def write_bundle(self, configuration: str, network: str = "auto") -> Path:
        return write_bundle(
            self.plans, self.dataset_json, configuration, self.bundle_dir(configuration, network), network
        )


@dataclass
class FoldProgress:
    """Where a sequence of fold trainings stands, so that each fold's console names its configuration, fold and
    position, and estimates the ETA of the whole sequence from the folds trained so far.

    Args:
        total: how many folds the sequence trains (finished ones, which are skipped, included).
    """

    total: int
    position: int = 0
    seconds: list[float] = field(default_factory=list)

    def overrides(self, configuration: str, fold: int | str) -> dict:
        """The console ids of the bundle's ``train.json`` for the next fold (``progress_label``, ``runs_after``,
        ``run_seconds``)."""
        label = f"{configuration} fold {fold} ({self.position + 1}/{self.total})"
        values: dict = {"progress_label": label, "runs_after": max(self.total - self.position - 1, 0)}
        if self.seconds:
            values["run_seconds"] = round(sum(self.seconds) / len(self.seconds), 1)
        return values

    def finished(self, seconds: float | None) -> None:
        """Count one fold as done; ``seconds`` is its training time, or None when it was already trained."""
        self.position += 1
        if seconds is not None:
            self.seconds.append(seconds)


def _bundle_key(bundle: Path, epochs, iters_per_epoch) -> str:
    """Hash of what a trained fold depends on: the plan, the training config and the schedule overrides."""
    digest = hashlib.sha256()
    for name in ("plans.json", "train.json"):
        digest.update((bundle / "configs" / name).read_bytes())
    digest.update(json.dumps([epochs, iters_per_epoch]).encode())
    return digest.hexdigest()[:16]


def _bundle_command(bundle: Path, overrides: dict) -> list[str]:
    cmd = [sys.executable, "-m", "monai.bundle", "run"]
    cmd += ["--config_file", str(bundle / "configs" / "train.json")]
    cmd += ["--meta_file", str(bundle / "configs" / "metadata.json")]
    cmd += ["--logging_file", str(bundle / "configs" / "logging.conf")]
    cmd += ["--bundle_root", str(bundle)]
    for key, value in overrides.items():
        # fire reads "True"/"1"/"[1, 2]" as Python values; json's "true" would stay a (truthy) string
        cmd += [
            f"--{key}",
            value if isinstance(value, str) else str(value) if isinstance(value, bool) else json.dumps(value),
        ]
    return cmd


def train_fold(
    experiment: Experiment,
    dataset: RawDataset,
    configuration: str,
    fold: int | str,
    network: str = "auto",
    epochs: int | None = None,
    iters_per_epoch: int | None = None,
    val_interval: int | None = None,
    num_workers: int | None = None,
    resume: bool = True,
    validate: bool = True,
    progress: FoldProgress | None = None,
) -> Path:
    """Train one fold with the configuration's bundle and validate it; return the fold folder.

    The training runs as ``python -m monai.bundle run`` (printed before it starts). A fold whose training finished
    is not trained again; one that was interrupted resumes from its last epoch (``resume=False`` starts over).
    ``progress`` (one object shared by the folds of a run) puts the fold's position and the run's ETA on its console.
    """
    cases = experiment.preprocessed_cases(configuration)
    fold_cases(experiment.splits(cases), fold, cases)  # fails early, naming the folds that exist
    bundle = experiment.write_bundle(configuration, network)
    fold_dir = experiment.fold_dir(configuration, fold, network)
    done = fold_dir / "training_complete.json"
    checkpoint = fold_dir / "checkpoints" / "checkpoint_last.pt"
    key = _bundle_key(bundle, epochs, iters_per_epoch)
    state = json.loads(done.read_text()) if done.is_file() else {}
    if not resume or state.get("bundle_key", key) != key:  # another plan or schedule: start this fold afresh
        done.unlink(missing_ok=True)
        checkpoint.unlink(missing_ok=True)
        state = {}
    retrained = not state
    if not state:
        overrides: dict = {
            "preprocessed_dir": str(experiment.preprocessed_dir(configuration)),
            "splits_file": str(experiment.splits_file),
            "fold": str(fold),
            "ckpt_dir": str(fold_dir),
            "resume_dir": str(fold_dir / "checkpoints"),
            "output_dir": str(fold_dir / "logs"),
        }
        for name, value in (("epochs", epochs), ("iters_per_epoch", iters_per_epoch), ("num_workers", num_workers)):
            if value is not None:
                overrides[name] = int(value)
        interval = val_interval or (max(1, min(50, int(epochs))) if epochs is not None else None)
        if interval is not None and validate and epochs is not None and int(interval) >= int(epochs):
            # the only in-training validation would score the final model, which validate_fold scores right after
            # (mirroring, input geometry): skip that duplicate pass over the same cases
            interval = int(epochs) + 1
        if interval is not None:
            overrides["val_interval"] = int(interval)
        if resume and checkpoint.is_file():
            overrides["resume"] = True
        overrides.update((progress or FoldProgress(1)).overrides(configuration, fold))
        cmd = _bundle_command(bundle, overrides)
        print("+ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        write_json_atomic(done, {"command": cmd, "bundle_key": key})
        if progress is not None:  # a resumed fold's time is not a whole fold's
            progress.finished(None if overrides.get("resume") else time.perf_counter() - start)
    elif progress is not None:
        progress.finished(None)
    own = bundle / "models" / "model.pt"  # what inference.json and MONAI Label load: fold "all", else the first fold
    if str(fold) == "all" or not own.is_file() or retrained and str(fold) == "0":
        shutil.copyfile(fold_dir / "model.pt", own.with_suffix(".tmp"))
        os.replace(own.with_suffix(".tmp"), own)
    if validate:
        validate_fold(experiment, dataset, configuration, fold, network)
    return fold_dir


def validate_fold(
    experiment: Experiment, dataset: RawDataset, configuration: str, fold: int | str, network: str = "auto"
) -> dict:
    """Predict the fold's validation cases from the raw files (TTA, original geometry, probabilities kept for
    ensembling) and write ``validation/summary.json``; return the summary."""
    cases = experiment.preprocessed_cases(configuration)
    _, val = fold_cases(experiment.splits(cases), fold, cases)
    fold_dir = experiment.fold_dir(configuration, fold, network)
    model = ConfigurationModel(str(experiment.bundle_dir(configuration, network)), [str(fold_dir / "model.pt")])
    out = fold_dir / "validation"
    errors = predict_cases(
        {c: dataset.cases[c]["images"] for c in val}, out, [model], save_probabilities=True, output_ext=None
    )
    pairs = {c: (dataset.cases[c]["label"], str(out / f"{c}{dataset.file_ending}")) for c in val if c not in errors}
    summary = evaluate_cases(pairs, experiment.foreground_labels, out / "summary.json")
    logger.info("%s fold %s: mean foreground Dice %.4f", configuration, fold, summary["foreground_mean"].get("Dice"))
    return summary


def crossval_summary(
    experiment: Experiment, dataset: RawDataset, configuration: str, folds: Sequence[str], network: str = "auto"
) -> dict:
    """Gather the validation predictions of ``folds`` in ``results/<bundle>/crossval`` and score them together."""
    root = experiment.work / "results" / bundle_name(experiment.plans, configuration, network)
    out = root / "crossval"
    out.mkdir(parents=True, exist_ok=True)
    pairs = {}
    shutil.rmtree(out)  # predictions of an earlier split or fold set must not count
    out.mkdir(parents=True)
    cases = experiment.preprocessed_cases(configuration)
    splits = experiment.splits(cases)
    for fold in folds:
        validation = root / f"fold_{fold}" / "validation"
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
        raise FileNotFoundError(f"{root}: no validation predictions for folds {list(folds)} (train them first)")
    summary = evaluate_cases(pairs, experiment.foreground_labels, out / "summary.json")
    write_json_atomic(out / "folds.json", {"folds": list(map(str, folds)), "cases": sorted(pairs)})
    return summary
