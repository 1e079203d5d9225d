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

"""Train a fold of a configuration through its generated bundle (``python -m monai.bundle run``), resuming an
interrupted fold; the bundle is written anew from the plans before each training, so it always matches the code.
Where the files go is :mod:`..work_folder`'s layout; validating the trained fold is :mod:`..evaluation`'s job.
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
from dataclasses import dataclass, field
from pathlib import Path

from networks.data.file_io import write_json_atomic

from ..splits import fold_cases
from ..work_folder import WorkFolder
from .bundle import write_bundle

__all__ = ["write_work_bundle", "train_parser", "FoldProgress", "train_fold"]

logger = logging.getLogger(__name__)


def write_work_bundle(work: WorkFolder, configuration: str, network: str = "auto") -> Path:
    """Write the bundle of ``configuration`` into the work folder (trained weights already there are kept)."""
    plans = work.plans
    return write_bundle(plans.raw, plans.dataset_json, configuration, work.bundle_dir(configuration, network), network)


def train_parser(
    work: WorkFolder, configuration: str, fold: int | str, num_workers: int, iters_per_epoch: int | None = None
):
    """A ``ConfigParser`` of the configuration's bundle ``train.json`` (written anew from the current code)
    pointed at the work folder's preprocessed data, splits and ``fold``: for timing its data pipeline alone."""
    from monai.bundle import ConfigParser

    bundle = write_work_bundle(work, configuration)
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "train.json"))
    values = {"bundle_root": str(bundle), "preprocessed_dir": str(work.preprocessed_dir(configuration))}
    values.update(splits_file=str(work.splits_file), fold=fold, num_workers=num_workers)
    parser.update(values if iters_per_epoch is None else {**values, "iters_per_epoch": iters_per_epoch})
    return parser


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
    work: WorkFolder,
    configuration: str,
    fold: int | str,
    network: str = "auto",
    epochs: int | None = None,
    iters_per_epoch: int | None = None,
    val_interval: int | None = None,
    num_workers: int | None = None,
    resume: bool = True,
    validated_after: bool = True,
    progress: FoldProgress | None = None,
) -> Path:
    """Train one fold with the configuration's bundle; return the fold folder.

    The training runs as ``python -m monai.bundle run`` (printed before it starts). A fold whose training finished
    is not trained again; one that was interrupted resumes from its last epoch (``resume=False`` starts over).
    ``progress`` (one object shared by the folds of a run) puts the fold's position and the run's ETA on its console.
    ``validated_after`` says the caller validates the fold next, so an in-training validation of the final model
    alone is skipped.
    """
    cases = work.preprocessed_cases(configuration)
    fold_cases(work.splits(cases), fold, cases)  # fails early, naming the folds that exist
    bundle = write_work_bundle(work, configuration, network)
    fold_dir = work.fold_dir(configuration, fold, network)
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
            "preprocessed_dir": str(work.preprocessed_dir(configuration)),
            "splits_file": str(work.splits_file),
            "fold": str(fold),
            "ckpt_dir": str(fold_dir),
            "resume_dir": str(fold_dir / "checkpoints"),
            "output_dir": str(fold_dir / "logs"),
        }
        for name, value in (("epochs", epochs), ("iters_per_epoch", iters_per_epoch), ("num_workers", num_workers)):
            if value is not None:
                overrides[name] = int(value)
        interval = val_interval or (max(1, min(50, int(epochs))) if epochs is not None else None)
        if interval is not None and validated_after and epochs is not None and int(interval) >= int(epochs):
            # the only in-training validation would score the final model, which the fold's validation scores next
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
    return fold_dir
