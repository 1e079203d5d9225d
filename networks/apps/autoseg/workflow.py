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

"""The front half of the recipe as functions of folders: verify, fingerprint, plan, preprocess.

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
from .preprocess import preprocess_dataset

__all__ = ["verify", "fingerprint", "plan", "preprocess"]

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
