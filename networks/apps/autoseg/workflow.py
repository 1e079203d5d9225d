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

"""The recipe as functions of folders: verify, fingerprint, plan, preprocess, train, predict, ensemble, find_best.

Each takes the raw dataset folder and a work folder and writes nnU-Net v2's files there: ``dataset.json`` (the
nnU-Net form, also for MSD input), ``dataset_fingerprint.json``, ``plans.json`` (any name via ``plans_file``) and
one ``<data_identifier>/`` cache per configuration. A later stage runs the earlier ones it needs.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from networks.data.atomic import write_json_atomic

from .dataset import CaseError, RawDataset, check_case, load_raw_dataset
from .fingerprint import extract_fingerprint
from .parallel import map_cases
from .planner import PLANNERS, plan_experiment, write_plans
from .predict import ConfigurationModel, group_channel_files, predict_cases
from .preprocess import preprocess_dataset
from .selection import ensemble_folders, find_best
from .training import Experiment, FoldProgress, train_fold

__all__ = [
    "verify",
    "fingerprint",
    "plan",
    "preprocess",
    "train",
    "predict",
    "ensemble",
    "find_best_configuration",
    "run",
]

logger = logging.getLogger(__name__)


def _prepare(dataset_dir, work_dir) -> tuple[RawDataset, Path]:
    dataset = load_raw_dataset(dataset_dir)
    work = Path(work_dir).expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)
    return dataset, work


def _check_only(dataset: RawDataset, case: str) -> None:
    check_case(dataset, case)


def verify(dataset_dir: str | os.PathLike, num_processes: int | None = None) -> dict[str, str]:
    """nnU-Net's ``--verify_dataset_integrity``: check every training case; return ``{case: problem}``."""
    dataset = load_raw_dataset(dataset_dir)
    if dataset.num_training_declared != len(dataset.cases):
        logger.warning(
            "%s: dataset.json declares numTraining=%d but %d training case(s) were found",
            dataset.root,
            dataset.num_training_declared,
            len(dataset.cases),
        )
    problems = {}
    for case, _, err in map_cases(
        functools.partial(_check_only, dataset), sorted(dataset.cases), num_processes, desc="verify"
    ):
        if err is not None:
            problems[case] = err.reason if isinstance(err, CaseError) else f"{type(err).__name__}: {err}"
    return problems


def _fingerprint(dataset: RawDataset, work: Path, num_processes, strict: bool, overwrite: bool = False):
    result = extract_fingerprint(dataset, work, num_processes, strict=strict, overwrite=overwrite)
    doc = dataset.nnunet_dataset_json()
    doc["numTraining"] = len(result["spacings"])  # bad cases left out are not training cases
    write_json_atomic(work / "dataset.json", doc, indent=4)
    return result, doc


def fingerprint(
    dataset_dir, work_dir, num_processes: int | None = None, strict: bool = False, overwrite: bool = False
) -> dict:
    """Write ``work_dir/dataset.json`` and ``work_dir/dataset_fingerprint.json``; return the fingerprint."""
    dataset, work = _prepare(dataset_dir, work_dir)
    return _fingerprint(dataset, work, num_processes, strict, overwrite)[0]


def plan(
    dataset_dir,
    work_dir,
    planner: str = "default",
    memory_target_gb: float = 8,
    seconds_per_iteration: float = 2.0,
    plans_file: str | None = None,
    num_processes: int | None = None,
    strict: bool = False,
    overwrite_target_spacing: Sequence[float] | None = None,
    training_hours: float = 12.0,
    plans_name: str | None = None,
) -> dict:
    """Fingerprint (if needed) and plan; write ``work_dir/plans.json`` (or ``plans_file``); return the plans."""
    if planner not in PLANNERS:
        raise ValueError(f"planner must be one of {sorted(PLANNERS)}, got {planner!r}")
    dataset, work = _prepare(dataset_dir, work_dir)
    result, dataset_json = _fingerprint(dataset, work, num_processes, strict)
    kwargs = {
        "gpu_memory_target_in_gb": memory_target_gb,
        "dataset_name": dataset.name,
        "overwrite_target_spacing": overwrite_target_spacing,
        "plans_name": plans_name,
    }
    if planner == "cpu":
        kwargs.update(seconds_per_iteration=seconds_per_iteration, training_hours=training_hours)
    plans = plan_experiment(dataset_json, result, planner, **kwargs)
    write_plans(plans, _plans_path(work, plans_file))
    return json.loads(_plans_path(work, plans_file).read_text())


def _plans_path(work: Path, plans_file: str | None) -> Path:
    if plans_file is None:
        return work / "plans.json"
    path = Path(plans_file).expanduser()
    return path if path.is_absolute() else work / path


def preprocess(
    dataset_dir,
    work_dir,
    plans_file: str | None = None,
    configurations: Sequence[str] | None = None,
    num_processes: int | None = None,
    strict: bool = False,
) -> dict[str, Path]:
    """Preprocess the training cases for each configuration (default: all with their own data); plan if needed.

    ``plans_file`` may be a plans file written by nnunetv2 (``nnUNetPlans.json``).
    """
    dataset, work = _prepare(dataset_dir, work_dir)
    path = _plans_path(work, plans_file)
    if not path.is_file():
        if plans_file is not None:
            raise FileNotFoundError(f"{path}: plans file not found (run `autoseg.py plan` first)")
        plan(dataset_dir, work, num_processes=num_processes, strict=strict)
    try:
        plans = json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    missing = [
        k
        for k in ("configurations", "transpose_forward", "foreground_intensity_properties_per_channel")
        if k not in plans
    ]
    if missing:
        raise ValueError(f"{path}: not a plans file, keys {missing} are missing")
    if configurations is None:
        configurations = [name for name, c in plans["configurations"].items() if "data_identifier" in c]
    elif isinstance(configurations, str):
        configurations = [c.strip() for c in configurations.split(",") if c.strip()]
    unknown = [c for c in configurations if c not in plans["configurations"]]
    if unknown:
        raise ValueError(f"{path}: no configuration(s) {unknown}; choose from {sorted(plans['configurations'])}")
    if not (work / "dataset.json").is_file():
        write_json_atomic(work / "dataset.json", dataset.nnunet_dataset_json(), indent=4)
    return preprocess_dataset(dataset, plans, configurations, work, num_processes, strict)


def _names(value, what: str) -> list[str] | None:
    """A comma-separated string, a number or a sequence from the command line as a list of strings."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    items = [v.strip() for v in str(value).split(",") if v.strip()]
    if not items:
        raise ValueError(f"{what}: empty list")
    return items


def _experiment(dataset_dir, work_dir, plans_file) -> tuple[RawDataset, Experiment]:
    dataset, work = _prepare(dataset_dir, work_dir)
    return dataset, Experiment(work, plans_file)


def train(
    dataset_dir,
    work_dir,
    configuration: str = "3d_fullres",
    fold="0",
    plans_file: str | None = None,
    network: str = "auto",
    epochs: int | None = None,
    iters_per_epoch: int | None = None,
    val_interval: int | None = None,
    num_workers: int | None = None,
    resume: bool = True,
) -> Path:
    """Train fold(s) of one configuration through its bundle and validate them (preprocessing first if needed).

    ``fold`` is one fold, a comma-separated list, ``all`` (every case) or ``cv`` (every fold of the splits).
    """
    dataset, experiment = _experiment(dataset_dir, work_dir, plans_file)
    if configuration not in experiment.plans["configurations"]:
        raise ValueError(f"{experiment.plans_file}: no configuration {configuration!r}")
    preprocess(dataset_dir, work_dir, plans_file, [configuration])
    cases = experiment.preprocessed_cases(configuration)
    folds = experiment.folds(cases) if str(fold) == "cv" else _names(fold, "fold")
    out, progress = None, FoldProgress(len(folds))
    for f in folds:
        out = train_fold(
            experiment, dataset, configuration, f, network, epochs, iters_per_epoch, val_interval, num_workers, resume,
            progress=progress,
        )  # fmt: skip
    return out


def predict(
    work_dir,
    input_dir,
    output_dir,
    configurations=None,
    folds=None,
    plans_file: str | None = None,
    network: str = "auto",
    postprocessing_file: str | None = None,
    save_probabilities: bool = False,
    mirror_tta: bool = True,
    device: str | None = None,
    continue_prediction: bool = False,
) -> dict[str, str]:
    """Predict every ``<case>_0000<ending>`` of ``input_dir`` with the folds of the configuration(s) (default: the
    choice of ``best_configuration.json`` and its postprocessing); return ``{case: problem}`` of skipped cases."""
    experiment = Experiment(work_dir, plans_file)
    best_file = experiment.work / "best_configuration.json"
    best = json.loads(best_file.read_text()) if best_file.is_file() else None
    names = _names(configurations, "configurations") or (best["configurations"] if best else None)
    if not names:
        raise ValueError(f"{best_file} not found: name the --configurations to predict with")
    if postprocessing_file is None and best is not None and names == best["configurations"]:
        postprocessing = best["postprocessing"]
    else:
        postprocessing = json.loads(Path(postprocessing_file).read_text()) if postprocessing_file else None
    models = []
    for name in names:
        fold_names = _names(folds, "folds")
        if fold_names is None:
            root = experiment.fold_dir(name, "0", network).parent
            fold_names = sorted(p.name[len("fold_") :] for p in root.glob("fold_[0-9]*") if (p / "model.pt").is_file())
        checkpoints = [str(experiment.fold_dir(name, f, network) / "model.pt") for f in fold_names]
        if not checkpoints:
            raise FileNotFoundError(f"{name}: no trained folds under {experiment.work / 'results'}")
        models.append(ConfigurationModel(str(experiment.bundle_dir(name, network)), checkpoints))
    channels = len(experiment.dataset_json["channel_names"])
    cases = group_channel_files(input_dir, channels, experiment.dataset_json["file_ending"])
    return predict_cases(
        cases,
        output_dir,
        models,
        device=device,
        mirror=mirror_tta,
        save_probabilities=save_probabilities,
        postprocessing=postprocessing,
        continue_prediction=continue_prediction,
    )


def ensemble(input_dirs, output_dir, file_ending: str = ".nii.gz", save_probabilities: bool = False) -> list[str]:
    """Average the probabilities of several ``predict --save_probabilities`` folders (nnU-Net's ensemble)."""
    return ensemble_folders(_names(input_dirs, "input_dirs"), output_dir, file_ending, save_probabilities)


def find_best_configuration(
    dataset_dir, work_dir, configurations=None, folds=None, plans_file: str | None = None, network: str = "auto"
) -> dict:
    """Compare the trained configurations and their pairwise ensembles; write ``best_configuration.json``."""
    dataset, experiment = _experiment(dataset_dir, work_dir, plans_file)
    names = _names(configurations, "configurations") or experiment.trainable_configurations()
    cases = experiment.preprocessed_cases(names[0])
    fold_names = _names(folds, "folds") or experiment.folds(cases)
    return find_best(experiment, dataset, names, fold_names, network)


def run(
    dataset_dir,
    work_dir,
    planner: str = "default",
    configurations=None,
    folds=None,
    network: str = "auto",
    epochs: int | None = None,
    iters_per_epoch: int | None = None,
    num_workers: int | None = None,
    plans_file: str | None = None,
    **plan_kwargs,
) -> dict:
    """Everything from a raw dataset to ``best_configuration.json``: verify, plan, preprocess, train and validate
    every fold of every configuration (2d, 3d_fullres, 3d_lowres as planned; not the cascade), find the best.
    Finished folds are kept; an interrupted one resumes from its last epoch."""
    problems = verify(dataset_dir)
    if problems:
        logger.warning("%d case(s) fail the integrity check and are left out: %s", len(problems), problems)
    plan(dataset_dir, work_dir, planner=planner, plans_file=plans_file, **plan_kwargs)
    experiment = Experiment(_prepare(dataset_dir, work_dir)[1], plans_file)
    names = _names(configurations, "configurations") or experiment.trainable_configurations()
    preprocess(dataset_dir, work_dir, plans_file, names)
    dataset = load_raw_dataset(dataset_dir)
    fold_names = _names(folds, "folds") or experiment.folds(experiment.preprocessed_cases(names[0]))
    progress = FoldProgress(len(names) * len(fold_names))
    for name in names:
        for fold in fold_names:
            train_fold(
                experiment, dataset, name, fold, network, epochs, iters_per_epoch, None, num_workers, progress=progress
            )
    return find_best(experiment, dataset, names, fold_names, network)
