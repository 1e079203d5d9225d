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
"""The ``autoseg`` command: nnU-Net's self-configuring recipe with MONAI parts, from a raw dataset to predictions.

Usage (``autoseg`` is the console script; ``python -m networks.apps.autoseg`` is the same command)::

    autoseg verify --dataset_dir RAW
    autoseg plan --dataset_dir RAW --work_dir WORK [--planner default|resenc_m|cpu]
        [--memory_target_gb 8] [--seconds_per_iteration 2 --training_hours 12]
    autoseg preprocess --dataset_dir RAW --work_dir WORK [--configurations 2d,3d_fullres]
        [--plans_file nnUNetPlans.json]
    autoseg train --dataset_dir RAW --work_dir WORK --configuration 3d_fullres --fold 0|all|cv
        [--network auto|swin_umamba] [--epochs 2 --iters_per_epoch 5] [--resume false]
    autoseg find_best --dataset_dir RAW --work_dir WORK [--configurations 2d,3d_fullres]
    autoseg predict --work_dir WORK --input_dir IMAGES --output_dir OUT [--configurations 3d_fullres]
        [--folds 0,1] [--save_probabilities]
    autoseg ensemble --input_dirs OUT_A,OUT_B --output_dir OUT --file_ending .nii.gz
    autoseg run --dataset_dir RAW --work_dir WORK [--epochs 1 --iters_per_epoch 2]

``RAW`` is an nnU-Net v2 raw folder or an MSD/Decathlon folder. ``WORK`` receives ``dataset.json``,
``dataset_fingerprint.json``, ``plans.json`` (nnunetv2's layout), one preprocessed folder per configuration,
``splits_final.json``, one generated MONAI bundle per configuration (``bundles/``), the folds' weights and
cross-validation predictions (``results/``) and ``best_configuration.json``. Training runs each bundle with
``python -m monai.bundle run`` (the command is printed) and resumes an interrupted fold from its last epoch.
Bad cases are reported, listed in ``WORK/errors_<stage>.json`` and skipped; ``--strict`` stops on them instead.
This module only parses arguments and prints summaries; the stages live in the other modules of
``networks.apps.autoseg``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from . import workflow
from .dataset import CaseError, DatasetIntegrityError
from .image_io import ImageReadError
from .preprocess import resolve_configuration

USER_ERRORS = (DatasetIntegrityError, CaseError, ImageReadError, FileNotFoundError, ValueError)


def _summary(plans: dict) -> str:
    lines = [
        f"plans {plans['plans_name']} ({plans['experiment_planner_used']}), transpose {plans['transpose_forward']}"
    ]
    for name, own in plans["configurations"].items():
        if "patch_size" not in own:
            lines.append(f"  {name}: inherits {own.get('inherits_from')}, previous stage {own.get('previous_stage')}")
            continue
        c = resolve_configuration(plans, name)
        arch = c["architecture"]["arch_kwargs"]
        line = (
            f"  {name}: spacing {[round(s, 4) for s in c['spacing']]}, patch {c['patch_size']}, batch "
            f"{c['batch_size']}, stages {arch['n_stages']}, median shape "
            f"{[round(s) for s in c['median_image_size_in_voxels']]}, norm {c['normalization_schemes']}"
        )
        if "cpu_time_model" in c:
            model = c["cpu_time_model"]
            line += (
                f", predicted {model['predicted_seconds_per_iteration']:.2f} s/iteration, "
                f"{model['planned_num_epochs']} epochs x {model['num_iterations_per_epoch']} in "
                f"{model['training_hours']:g} h"
            )
        lines.append(line)
    return "\n".join(lines)


def _run(fn, *args, **kwargs):
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        return fn(*args, **kwargs)
    except USER_ERRORS as err:
        sys.exit(f"error: {err}")
    except subprocess.CalledProcessError as err:
        sys.exit(f"error: training stopped with exit status {err.returncode}; its log is above. Command: {err.cmd}")


def verify(dataset_dir: str, num_processes: int | None = None) -> None:
    """Check every training case (files, shapes, spacings, channels, NaN, label values); exit 1 on problems."""
    problems = _run(workflow.verify, dataset_dir, num_processes)
    for case, reason in sorted(problems.items()):
        print(f"{case}: {reason}")
    if problems:
        sys.exit(f"error: {len(problems)} bad case(s) in {dataset_dir}")
    print(f"{dataset_dir}: every training case passed the integrity check")


def fingerprint(
    dataset_dir: str, work_dir: str, num_processes: int | None = None, strict: bool = False, overwrite: bool = False
) -> None:
    """Write WORK/dataset_fingerprint.json (nnU-Net v2's keys)."""
    result = _run(workflow.fingerprint, dataset_dir, work_dir, num_processes, strict, overwrite)
    print(f"{len(result['spacings'])} case(s) -> {Path(work_dir) / 'dataset_fingerprint.json'}")
    print(json.dumps(result["foreground_intensity_properties_per_channel"], indent=1))


def plan(
    dataset_dir: str,
    work_dir: str,
    planner: str = "default",
    memory_target_gb: float = 8,
    seconds_per_iteration: float = 2.0,
    training_hours: float = 12.0,
    plans_file: str | None = None,
    num_processes: int | None = None,
    strict: bool = False,
    overwrite_target_spacing: tuple | None = None,
    plans_name: str | None = None,
) -> None:
    """Fingerprint if needed, then plan; write WORK/plans.json (nnunetv2's plans layout).

    ``--planner cpu`` fits patch and batch to ``--seconds_per_iteration`` on this machine and plans the epochs that
    fit ``--training_hours``; ``--memory_target_gb`` scales the GPU planners as nnU-Net's option does;
    ``--overwrite_target_spacing [z,y,x]`` fixes the 3d_fullres spacing (array order); ``--plans_name`` renames the
    plans and their preprocessed folders (nnunetv2's ``-overwrite_plans_name``).
    """
    plans = _run(
        workflow.plan,
        dataset_dir,
        work_dir,
        planner,
        memory_target_gb,
        seconds_per_iteration,
        plans_file,
        num_processes,
        strict,
        overwrite_target_spacing=overwrite_target_spacing,
        training_hours=training_hours,
        plans_name=plans_name,
    )
    print(_summary(plans))
    print(f"-> {Path(work_dir) / (plans_file or 'plans.json')}")


def preprocess(
    dataset_dir: str,
    work_dir: str,
    plans_file: str | None = None,
    configurations: str | None = None,
    num_processes: int | None = None,
    strict: bool = False,
) -> None:
    """Preprocess the training cases for each configuration (plans first if WORK has none)."""
    if isinstance(configurations, (list, tuple)):
        configurations = ",".join(configurations)
    outputs = _run(workflow.preprocess, dataset_dir, work_dir, plans_file, configurations, num_processes, strict)
    for name, folder in outputs.items():
        print(f"{name}: {len(list(folder.glob('*.json')))} case(s) in {folder}")


def train(
    dataset_dir: str,
    work_dir: str,
    configuration: str = "3d_fullres",
    fold: str = "0",
    plans_file: str | None = None,
    network: str = "auto",
    epochs: int | None = None,
    iters_per_epoch: int | None = None,
    val_interval: int | None = None,
    num_workers: int | None = None,
    resume: bool = True,
) -> None:
    """Train fold(s) of a configuration through its generated bundle, then validate them on their held-out cases.

    ``--fold`` is a fold number, a list (``0,1``), ``all`` (every case; also the bundle's own ``models/model.pt``)
    or ``cv`` (every fold). ``--network swin_umamba`` trains Swin-UMamba on a 2d configuration (patch rounded up to
    a multiple of 32). ``--epochs``/``--iters_per_epoch`` shorten the plan's schedule (1000 x 250) for CPU runs.
    ``--val_interval`` (default 50, or ``--epochs`` when fewer) spaces the in-training validations; one that would
    only score the final model is skipped, since the fold's validation (with mirroring) scores it right after.
    """
    out = _run(
        workflow.train,
        dataset_dir,
        work_dir,
        configuration,
        fold,
        plans_file,
        network,
        epochs,
        iters_per_epoch,
        val_interval,
        num_workers,
        resume,
    )
    summary = json.loads((out / "validation" / "summary.json").read_text())
    print(f"{configuration} fold {out.name[5:]}: validation Dice {summary['foreground_mean'].get('Dice')} -> {out}")


def predict(
    work_dir: str,
    input_dir: str,
    output_dir: str,
    configurations: str | None = None,
    folds: str | None = None,
    plans_file: str | None = None,
    network: str = "auto",
    postprocessing_file: str | None = None,
    save_probabilities: bool = False,
    mirror_tta: bool = True,
    device: str | None = None,
    continue_prediction: bool = False,
) -> None:
    """Predict every ``<case>_0000<ending>`` in INPUT (default: the best configuration and its postprocessing);
    bad cases are reported in OUT/errors.json and skipped (exit status 1)."""
    errors = _run(
        workflow.predict,
        work_dir,
        input_dir,
        output_dir,
        configurations,
        folds,
        plans_file,
        network,
        postprocessing_file,
        save_probabilities,
        mirror_tta,
        device,
        continue_prediction,
    )
    print(f"predictions -> {output_dir}")
    if errors:
        sys.exit(f"error: {len(errors)} case(s) skipped, see {Path(output_dir) / 'errors.json'}: {errors}")


def ensemble(input_dirs: str, output_dir: str, file_ending: str = ".nii.gz", save_probabilities: bool = False) -> None:
    """Average the probabilities of prediction folders written with ``predict --save_probabilities``."""
    cases = _run(workflow.ensemble, input_dirs, output_dir, file_ending, save_probabilities)
    print(f"{len(cases)} case(s) -> {output_dir}")


def find_best(
    dataset_dir: str,
    work_dir: str,
    configurations: str | None = None,
    folds: str | None = None,
    plans_file: str | None = None,
    network: str = "auto",
) -> None:
    """Cross-validation results of every configuration and pairwise ensemble; write WORK/best_configuration.json."""
    result = _run(workflow.find_best_configuration, dataset_dir, work_dir, configurations, folds, plans_file, network)
    _print_best(result, work_dir)


def _print_best(result: dict, work_dir: str) -> None:
    for name, metrics in result["candidates"].items():
        print(f"  {name}: cross-validation Dice {metrics.get('Dice')}")
    dice, postprocessing = result["cross_validation_dice"], result["postprocessing"]
    print(f"best: {result['best']} (Dice {dice:.4f}, postprocessing {postprocessing})")
    print(f"-> {Path(work_dir) / 'best_configuration.json'}\npredict with:\n  {result['predict_command']}")


def run(
    dataset_dir: str,
    work_dir: str,
    planner: str = "default",
    configurations: str | None = None,
    folds: str | None = None,
    network: str = "auto",
    epochs: int | None = None,
    iters_per_epoch: int | None = None,
    num_workers: int | None = None,
    plans_file: str | None = None,
    memory_target_gb: float = 8,
    seconds_per_iteration: float = 2.0,
    training_hours: float = 12.0,
) -> None:
    """Raw dataset to best_configuration.json: verify, plan, preprocess, train every fold of every configuration,
    validate, compare configurations and ensembles, decide the postprocessing. Rerunning resumes.

    ``--planner``, ``--memory_target_gb``, ``--seconds_per_iteration`` and ``--training_hours`` are those of
    ``plan``; ``--epochs``/``--iters_per_epoch`` override the planned schedule (e.g. 1 x 2 for a smoke run).
    """
    result = _run(
        workflow.run,
        dataset_dir,
        work_dir,
        planner,
        configurations,
        folds,
        network,
        epochs,
        iters_per_epoch,
        num_workers,
        plans_file,
        memory_target_gb=memory_target_gb,
        seconds_per_iteration=seconds_per_iteration,
        training_hours=training_hours,
    )
    _print_best(result, work_dir)


def main() -> None:
    import fire

    fire.Fire(
        {
            "verify": verify,
            "fingerprint": fingerprint,
            "plan": plan,
            "preprocess": preprocess,
            "train": train,
            "predict": predict,
            "ensemble": ensemble,
            "find_best": find_best,
            "run": run,
        }
    )


if __name__ == "__main__":
    main()
