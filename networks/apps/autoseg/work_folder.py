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

"""The work folder model: every path autoseg reads or writes under ``WORK``, and nothing else builds one.

Layout (nnU-Net v2's files where it has them)::

    dataset.json, dataset_fingerprint.json, plans.json (or --plans_file)
    errors_<stage>.json                         bad cases a stage skipped
    <data_identifier>/                          preprocessed cases of a configuration
    splits_final.json
    bundles/<bundle>/                           the generated bundle (models/model.pt: fold "all" once trained)
    results/<bundle>/fold_<k>/model.pt          weights after the last epoch
    results/<bundle>/fold_<k>/checkpoints/      resume state, every epoch
    results/<bundle>/fold_<k>/logs/             TensorBoard, training.log (every iteration's values)
    results/<bundle>/fold_<k>/validation/       predictions (+ .npz probabilities) and summary.json
    results/<bundle>/crossval/                  every fold's validation cases together
    results/ensembles/<a>__<b>/                 the cross-validation ensemble of two configurations
    postprocessing.json, best_configuration.json

``<bundle>`` is ``Plans.bundle_name``: ``<plans_name>_<configuration>[_<network>]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from .plans import Plans
from .splits import load_or_create_splits

__all__ = ["WorkFolder"]


class WorkFolder:
    """The files of one dataset's work folder.

    Args:
        root: the work folder (created on first write, not here).
        plans_file: the plans to use, relative to ``root`` or absolute (default ``plans.json``); nnunetv2's
            ``nnUNetPlans.json`` works too.
    """

    def __init__(self, root: str | os.PathLike, plans_file: str | os.PathLike | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        path = Path(plans_file).expanduser() if plans_file else Path("plans.json")
        self.plans_file = path if path.is_absolute() else self.root / path
        self.custom_plans_file = plans_file is not None and self.plans_file != self.root / "plans.json"

    @classmethod
    def of(cls, work: WorkFolder | str | os.PathLike) -> WorkFolder:
        return work if isinstance(work, WorkFolder) else cls(work)

    def __repr__(self) -> str:
        return f"WorkFolder({str(self.root)!r}, plans_file={str(self.plans_file)!r})"

    # files of the planning stages
    @property
    def dataset_json_file(self) -> Path:
        return self.root / "dataset.json"

    @property
    def fingerprint_file(self) -> Path:
        return self.root / "dataset_fingerprint.json"

    def errors_file(self, stage: str) -> Path:
        return self.root / f"errors_{stage}.json"

    @cached_property
    def plans(self) -> Plans:
        """The plans and ``dataset.json`` of this folder (read once)."""
        if not self.plans_file.is_file():
            raise FileNotFoundError(f"{self.plans_file}: no plans (run `autoseg plan` first)")
        return Plans.load(self.plans_file, self.dataset_json_file)

    def reload_plans(self) -> None:
        """Read the plans file again on next use (after it was rewritten)."""
        self.__dict__.pop("plans", None)

    def preprocessed_dir(self, configuration: str) -> Path:
        return self.root / self.plans.data_identifier(configuration)

    def data_dir(self, data_identifier: str) -> Path:
        return self.root / data_identifier

    def preprocessed_cases(self, configuration: str) -> list[str]:
        folder = self.preprocessed_dir(configuration)
        cases = sorted(p.name[: -len(".json")] for p in folder.glob("*.json"))
        if not cases:
            raise FileNotFoundError(f"{folder}: no preprocessed cases (run `autoseg preprocess` first)")
        return cases

    # cross-validation
    @property
    def splits_file(self) -> Path:
        return self.root / "splits_final.json"

    def splits(self, cases: Sequence[str]) -> list[dict]:
        return load_or_create_splits(self.splits_file, cases)

    def folds(self, cases: Sequence[str]) -> list[str]:
        """Every fold of the splits, or ``["all"]`` when there are none (a single case)."""
        return [str(k) for k in range(len(self.splits(cases)))] or ["all"]

    # bundles and their results
    def bundle_dir(self, configuration: str, network: str = "auto") -> Path:
        return self.root / "bundles" / self.plans.bundle_name(configuration, network)

    def results_dir(self, configuration: str, network: str = "auto") -> Path:
        return self.root / "results" / self.plans.bundle_name(configuration, network)

    def fold_dir(self, configuration: str, fold: int | str, network: str = "auto") -> Path:
        return self.results_dir(configuration, network) / f"fold_{fold}"

    def trained_folds(self, configuration: str, network: str = "auto") -> list[str]:
        """Folds of ``configuration`` whose training finished (their ``model.pt`` exists)."""
        root = self.results_dir(configuration, network)
        return sorted(p.name[len("fold_") :] for p in root.glob("fold_[0-9]*") if (p / "model.pt").is_file())

    def crossval_dir(self, configuration: str, network: str = "auto") -> Path:
        return self.results_dir(configuration, network) / "crossval"

    def ensemble_dir(self, first: str, second: str) -> Path:
        return self.root / "results" / "ensembles" / f"{first}__{second}"

    # the choice
    @property
    def postprocessing_file(self) -> Path:
        return self.root / "postprocessing.json"

    @property
    def best_configuration_file(self) -> Path:
        return self.root / "best_configuration.json"
