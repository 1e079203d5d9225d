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

"""``AutoSegRunner``: the recipe as one object whose methods are the pipeline's verbs (MONAI's runner style, as
``monai.apps.nnunet.nnUNetV2Runner``); the ``autoseg`` command is this object through ``fire``.

Each verb runs the earlier stages it needs (``train`` plans and preprocesses a fresh work folder) and keeps what
they already wrote (fingerprint, plans, complete preprocessed cases, finished folds).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from networks.data.file_io import write_json_atomic

from .dataset import RawDataset, case_problem, check_case, load_raw_dataset
from .evaluation.selection import find_best
from .evaluation.validation import validate_fold
from .inference.ensemble import ensemble_folders
from .inference.predict import ConfigurationModel, group_channel_files, predict_cases
from .parallel import map_cases
from .planning.fingerprint import extract_fingerprint
from .planning.planner import PLANNERS, plan_experiment, write_plans
from .preprocessing.preprocess import preprocess_dataset
from .training.train import FoldProgress, train_fold
from .work_folder import WorkFolder

__all__ = ["AutoSegRunner"]

logger = logging.getLogger(__name__)


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


def _check_only(dataset: RawDataset, case: str) -> None:
    check_case(dataset, case)


class AutoSegRunner:
    """nnU-Net v2's self-configuring segmentation recipe, from a raw dataset to predictions, built from MONAI parts.

    Args:
        dataset_dir: an nnU-Net v2 raw folder (``dataset.json``, ``imagesTr``, ``labelsTr``) or an MSD/Decathlon
            folder; read once. ``predict`` and ``ensemble`` do not need it.
        work_dir: where everything is written (layout in ``networks.apps.autoseg.work_folder``).
        plans_file: the plans to use, in ``work_dir`` or absolute (default ``plans.json``); nnunetv2's
            ``nnUNetPlans.json`` works too.
        network: ``auto`` (the plan's architecture), ``plain_conv_unet``, ``residual_encoder_unet`` or
            ``swin_umamba`` (2d configurations, patch rounded up to a multiple of 32).
        num_processes: worker processes for the case-by-case stages (default: the CPUs, at most 8).
        strict: stop on a bad case instead of reporting it in ``WORK/errors_<stage>.json`` and skipping it.

    Example::

        runner = AutoSegRunner("Dataset004_Hippocampus", "work")
        runner.run(epochs=1, iters_per_epoch=2)  # or: runner.plan(planner="cpu"); runner.train("3d_fullres", 0); ...
    """

    def __init__(
        self,
        dataset_dir: str | os.PathLike | None = None,
        work_dir: str | os.PathLike | None = None,
        plans_file: str | None = None,
        network: str = "auto",
        num_processes: int | None = None,
        strict: bool = False,
    ) -> None:
        self.dataset_dir = dataset_dir
        self.work_dir = work_dir
        self.plans_file = plans_file
        self.network = network
        self.num_processes = num_processes
        self.strict = strict

    @cached_property
    def dataset(self) -> RawDataset:
        if self.dataset_dir is None:
            raise ValueError("this step reads the raw dataset: give --dataset_dir")
        return load_raw_dataset(self.dataset_dir)

    @cached_property
    def work(self) -> WorkFolder:
        if self.work_dir is None:
            raise ValueError("this step uses a work folder: give --work_dir")
        return WorkFolder(self.work_dir, self.plans_file)

    def _problems(self) -> dict[str, str]:
        dataset = self.dataset
        if dataset.num_training_declared != len(dataset.cases):
            logger.warning(
                "%s: dataset.json declares numTraining=%d but %d training case(s) were found",
                dataset.root,
                dataset.num_training_declared,
                len(dataset.cases),
            )
        problems = {}
        check = functools.partial(_check_only, dataset)
        for case, _, err in map_cases(check, sorted(dataset.cases), self.num_processes, desc="verify"):
            if err is not None:
                problems[case] = case_problem(err)
        return problems

    def verify(self) -> dict[str, str]:
        """nnU-Net's ``--verify_dataset_integrity``: check every training case (files, shapes, spacings,
        channels, NaN, label values); print and return ``{case: problem}``."""
        problems = self._problems()
        for case, reason in sorted(problems.items()):
            print(f"{case}: {reason}")
        if not problems:
            print(f"{self.dataset.root}: every training case passed the integrity check")
        return problems

    def fingerprint(self, overwrite: bool = False) -> dict:
        """Write ``WORK/dataset.json`` (nnU-Net's form, also for MSD input) and ``WORK/dataset_fingerprint.json``
        (nnU-Net v2's keys); an existing fingerprint of the same cases is kept unless ``overwrite``."""
        work = self.work
        result = extract_fingerprint(self.dataset, work, self.num_processes, strict=self.strict, overwrite=overwrite)
        doc = self.dataset.nnunet_dataset_json()
        doc["numTraining"] = len(result["spacings"])  # bad cases left out are not training cases
        write_json_atomic(work.dataset_json_file, doc, indent=4)
        print(f"{len(result['spacings'])} case(s) -> {work.fingerprint_file}")
        return result

    def plan(
        self,
        planner: str = "default",
        memory_target_gb: float = 8,
        seconds_per_iteration: float = 2.0,
        training_hours: float = 12.0,
        overwrite_target_spacing: Sequence[float] | None = None,
        plans_name: str | None = None,
    ) -> dict:
        """Fingerprint if needed, then plan; write the plans file (nnunetv2's layout) and return it.

        ``planner``: ``default`` (nnU-Net's), ``resenc_m`` (ResEnc M) or ``cpu``, which fits patch and batch to
        ``seconds_per_iteration`` on this machine and plans the epochs that fit ``training_hours``.
        ``memory_target_gb`` scales the GPU planners as nnU-Net's option does; ``overwrite_target_spacing``
        ([z, y, x], array order) fixes the 3d_fullres spacing; ``plans_name`` renames the plans and their
        preprocessed folders (nnunetv2's ``-overwrite_plans_name``).
        """
        if planner not in PLANNERS:
            raise ValueError(f"planner must be one of {sorted(PLANNERS)}, got {planner!r}")
        work, dataset = self.work, self.dataset
        fingerprint = self.fingerprint()
        options = {
            "gpu_memory_target_in_gb": memory_target_gb,
            "dataset_name": dataset.name,
            "overwrite_target_spacing": overwrite_target_spacing,
            "plans_name": plans_name,
        }
        if planner == "cpu":
            options.update(seconds_per_iteration=seconds_per_iteration, training_hours=training_hours)
        dataset_json = json.loads(work.dataset_json_file.read_text())
        write_plans(plan_experiment(dataset_json, fingerprint, planner, **options), work.plans_file)
        work.reload_plans()
        print(work.plans.summary())
        print(f"-> {work.plans_file}")
        return work.plans.raw

    def preprocess(self, configurations: str | Sequence[str] | None = None) -> dict[str, Path]:
        """Preprocess the training cases for each configuration (default: every one with its own data), planning
        first with the defaults if the work folder has no plans; return each configuration's folder."""
        work = self.work
        if not work.plans_file.is_file():
            if self.plans_file is not None:
                raise FileNotFoundError(f"{work.plans_file}: plans file not found (run `autoseg plan` first)")
            self.plan()
        if not work.dataset_json_file.is_file():  # plans copied in from nnunetv2
            write_json_atomic(work.dataset_json_file, self.dataset.nnunet_dataset_json(), indent=4)
        names = _names(configurations, "configurations") or work.plans.preprocessed_configurations()
        work.plans.check_configurations(names)
        outputs = preprocess_dataset(self.dataset, work, names, self.num_processes, self.strict)
        for name, folder in outputs.items():
            print(f"{name}: {len(list(folder.glob('*.json')))} case(s) in {folder}")
        return outputs

    def train(
        self,
        configuration: str = "3d_fullres",
        fold: str | int = "0",
        epochs: int | None = None,
        iters_per_epoch: int | None = None,
        val_interval: int | None = None,
        num_workers: int | None = None,
        resume: bool = True,
    ) -> Path:
        """Train fold(s) of a configuration through its generated bundle (``python -m monai.bundle run``, printed
        before it starts), then validate each on its held-out cases; return the last fold's folder.

        ``fold``: a fold number, a list (``0,1``), ``all`` (every case; also the bundle's own ``models/model.pt``)
        or ``cv`` (every fold). ``epochs``/``iters_per_epoch`` shorten the plan's schedule (1000 x 250) for CPU
        runs. ``val_interval`` (default 50, or ``epochs`` when fewer) spaces the in-training validations; one that
        would only score the final model is skipped, since the fold's validation scores it right after. A finished
        fold is not trained again; an interrupted one resumes from its last epoch (``resume=False`` starts over).
        """
        self.preprocess([configuration])  # checks the configuration; plans first if there are none
        cases = self.work.preprocessed_cases(configuration)
        folds = self.work.folds(cases) if str(fold) == "cv" else _names(fold, "fold")
        progress = FoldProgress(len(folds))
        out = None
        for f in folds:
            out = self._train_and_validate(
                configuration, f, epochs, iters_per_epoch, val_interval, num_workers, resume, progress
            )
        return out

    def _train_and_validate(
        self, configuration, fold, epochs, iters_per_epoch, val_interval, num_workers, resume, progress
    ):
        out = train_fold(
            self.work, configuration, fold, self.network, epochs, iters_per_epoch, val_interval, num_workers, resume,
            progress=progress,
        )  # fmt: skip
        summary = validate_fold(self.work, self.dataset, configuration, fold, self.network)
        print(f"{configuration} fold {fold}: validation Dice {summary['foreground_mean'].get('Dice')} -> {out}")
        return out

    def find_best(self, configurations: str | Sequence[str] | None = None, folds: str | None = None) -> dict:
        """Cross-validation results of every trained configuration and pairwise ensemble, the best by mean
        foreground Dice and its postprocessing; write ``WORK/best_configuration.json`` and return it."""
        work = self.work
        names = _names(configurations, "configurations") or work.plans.trainable_configurations()
        fold_names = _names(folds, "folds") or work.folds(work.preprocessed_cases(names[0]))
        result = find_best(work, self.dataset, names, fold_names, self.network)
        for name, metrics in result["candidates"].items():
            print(f"  {name}: cross-validation Dice {metrics.get('Dice')}")
        dice, postprocessing = result["cross_validation_dice"], result["postprocessing"]
        print(f"best: {result['best']} (Dice {dice:.4f}, postprocessing {postprocessing})")
        print(f"-> {work.best_configuration_file}\npredict with:\n  {result['predict_command']}")
        return result

    def predict(
        self,
        input_dir: str,
        output_dir: str,
        configurations: str | Sequence[str] | None = None,
        folds: str | None = None,
        postprocessing_file: str | None = None,
        save_probabilities: bool = False,
        mirror_tta: bool = True,
        device: str | None = None,
        continue_prediction: bool = False,
    ) -> dict[str, str]:
        """Predict every ``<case>_0000<ending>`` of ``input_dir`` into ``output_dir`` with the folds of the
        configuration(s), averaged (default: the choice of ``best_configuration.json`` and its postprocessing).
        Bad cases are reported in ``OUT/errors.json`` and skipped; returns ``{case: problem}`` of those."""
        work = self.work
        best = json.loads(work.best_configuration_file.read_text()) if work.best_configuration_file.is_file() else None
        names = _names(configurations, "configurations") or (best["configurations"] if best else None)
        if not names:
            raise ValueError(f"{work.best_configuration_file} not found: name the --configurations to predict with")
        if postprocessing_file is None and best is not None and names == best["configurations"]:
            postprocessing = best["postprocessing"]
        else:
            postprocessing = json.loads(Path(postprocessing_file).read_text()) if postprocessing_file else None
        models = []
        for name in work.plans.check_configurations(names):
            fold_names = _names(folds, "folds") or work.trained_folds(name, self.network)
            checkpoints = [str(work.fold_dir(name, f, self.network) / "model.pt") for f in fold_names]
            if not checkpoints:
                raise FileNotFoundError(f"{name}: no trained folds under {work.results_dir(name, self.network)}")
            models.append(ConfigurationModel(str(work.bundle_dir(name, self.network)), checkpoints))
        cases = group_channel_files(input_dir, work.plans.num_channels, work.plans.file_ending)
        errors = predict_cases(
            cases,
            output_dir,
            models,
            device=device,
            mirror=mirror_tta,
            save_probabilities=save_probabilities,
            postprocessing=postprocessing,
            continue_prediction=continue_prediction,
        )
        print(f"predictions -> {output_dir}")
        return errors

    def ensemble(
        self, input_dirs: str | Sequence[str], output_dir: str, file_ending: str = ".nii.gz", save_probabilities=False
    ) -> list[str]:
        """Average the probabilities of prediction folders written with ``predict --save_probabilities``
        (nnU-Net's ensemble); return the cases written."""
        cases = ensemble_folders(_names(input_dirs, "input_dirs"), output_dir, file_ending, save_probabilities)
        print(f"{len(cases)} case(s) -> {output_dir}")
        return cases

    def run(
        self,
        planner: str = "default",
        configurations: str | Sequence[str] | None = None,
        folds: str | None = None,
        epochs: int | None = None,
        iters_per_epoch: int | None = None,
        num_workers: int | None = None,
        memory_target_gb: float = 8,
        seconds_per_iteration: float = 2.0,
        training_hours: float = 12.0,
    ) -> dict:
        """Raw dataset to ``best_configuration.json``: verify, plan, preprocess, train and validate every fold of
        every configuration (2d, 3d_fullres, 3d_lowres as planned; not the cascade), compare configurations and
        ensembles, decide the postprocessing. Finished folds are kept; an interrupted one resumes.

        ``planner``, ``memory_target_gb``, ``seconds_per_iteration`` and ``training_hours`` are ``plan``'s;
        ``epochs``/``iters_per_epoch``/``num_workers`` are ``train``'s (e.g. 1 x 2 for a smoke run).
        """
        problems = self._problems()
        if problems:
            logger.warning("%d case(s) fail the integrity check and are left out: %s", len(problems), problems)
        self.plan(planner, memory_target_gb, seconds_per_iteration, training_hours)
        names = _names(configurations, "configurations") or self.work.plans.trainable_configurations()
        self.preprocess(names)
        fold_names = _names(folds, "folds") or self.work.folds(self.work.preprocessed_cases(names[0]))
        progress = FoldProgress(len(names) * len(fold_names))
        for name in names:
            for fold in fold_names:
                self._train_and_validate(name, fold, epochs, iters_per_epoch, None, num_workers, True, progress)
        return self.find_best(names, fold_names)
