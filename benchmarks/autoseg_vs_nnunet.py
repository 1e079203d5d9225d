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
"""autoseg's training against nnunetv2 2.8.1's own trainer, side by side on one dataset.

Usage::

    python benchmarks/autoseg_vs_nnunet.py run --dataset nuclei2d_nnunet --configuration 2d \\
        --epochs 20 --iters_per_epoch 10 [--folds 0,1,2,3,4] [--sides ours,nnunet] [--network auto]
    python benchmarks/autoseg_vs_nnunet.py report docs/results/autoseg_vs_nnunet_nuclei2d_nnunet.json

``run`` plans once with our planner (``--planner cpu`` by default: patch and batch fitted to this CPU) and hands the
same plans file to nnunetv2 (``nnUNetv2_preprocess -plans_name``), writes one ``splits_final.json`` that both use,
then for every fold trains with both trainers for the same epochs x iterations on the same device:

- ours: ``python -m networks.apps.autoseg train`` (the generated bundle through ``python -m monai.bundle run``,
  then the fold's validation cases predicted from the raw files with TTA and exported);
- nnunetv2: ``nnUNetv2_train`` with ``nnUNetTrainer_zooHarness``, a subclass written into nnunetv2's venv whose only
  change is ``num_epochs`` and ``num_iterations_per_epoch`` (nnunetv2 finds trainers inside its own package), which
  ends with nnunetv2's own validation of the fold.

Then each side's 5-fold ensemble predicts ``imagesTs`` with its own predictor (``autoseg.py predict`` /
``nnUNetv2_predict``), every prediction of both sides is scored by one evaluator (ours,
``networks.apps.autoseg.evaluation``), and nnunetv2's ``compute_metrics_on_folder`` numbers (its fold validation
``summary.json``) are checked against ours on the same files. Data-loading workers are the same number on both
sides (``--num_workers``; nnunetv2's ``nnUNet_n_proc_DA``). Each side's training runs alone on the machine.

Everything lands in ``--out_dir`` (default ``runs/autoseg_vs_nnunet/<dataset>``); a rerun skips the folds and
predictions already finished, so a long comparison can be split across sessions. The results file (default
``docs/results/autoseg_vs_nnunet_<dataset>.json``) holds the command, commit, machine, date, per-case Dice of every
fold and of the test cases, seconds per epoch, peak memory of each side and both validation curves; ``report``
renders its table into ``docs/autoseg.md`` and its curves into ``docs/results/autoseg_vs_nnunet_<dataset>.png``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import fire
import numpy as np

from networks.apps.autoseg import AutoSegRunner, WorkFolder
from networks.apps.autoseg.evaluation.metrics import evaluate_cases
from networks.apps.autoseg.training.train import train_parser

REPO = Path(__file__).resolve().parents[1]

DATASET_ID = 999
TRAINER = "nnUNetTrainer_zooHarness"
# the whole subclass: nnunetv2's trainer with the harness's schedule, nothing else changed
TRAINER_SOURCE = '''import os

import torch

from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


class nnUNetTrainer_zooHarness(nnUNetTrainer):
    """nnUNetTrainer with the epochs and iterations per epoch of the comparison harness (monai-mamba-zoo)."""

    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device("cuda")):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_epochs = int(os.environ.get("ZOO_HARNESS_EPOCHS", self.num_epochs))
        self.num_iterations_per_epoch = int(os.environ.get("ZOO_HARNESS_ITERS", self.num_iterations_per_epoch))
'''


class PeakMemory:
    """Peak resident memory of a process and all its descendants, sampled from /proc twice a second: the sum of
    their RSS, so pages that forked workers share are counted once per process (both sides fork their workers)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    @staticmethod
    def _tree_rss(root: int) -> int:
        parents: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
                rss[int(entry)] = int(stat.rsplit(")", 1)[1].split()[21]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                continue
        tree, frontier = {root}, [root]
        while frontier:
            parent = frontier.pop()
            children = [p for p, pp in parents.items() if pp == parent and p not in tree]
            tree.update(children)
            frontier += children
        return sum(rss.get(p, 0) for p in tree)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, self._tree_rss(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(cmd: list[str], log: Path, env: dict | None = None, cwd: str | None = None) -> dict:
    """Run ``cmd`` with its output in ``log``; return wall seconds and peak memory (MiB), raising on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    print("+ " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        memory = PeakMemory(proc.pid)
        code = proc.wait()
        peak = memory.stop()
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {code}); the end of {log}:\n{log.read_text()[-3000:]}")
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(peak / 2**20)}


def nnunet_python() -> str:
    """nnunetv2 2.8.1's cached venv (built on first use by networks.apps.nnunet_reference), with the harness's
    trainer subclass installed where nnunetv2 looks for trainers."""
    proc = subprocess.run(
        [sys.executable, "-m", "networks.apps.nnunet_reference", "venv"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"building nnunetv2's venv failed:\n{proc.stderr[-3000:]}")
    python = proc.stdout.strip().splitlines()[-1]
    folder = subprocess.run(
        [python, "-c", "import nnunetv2.training.nnUNetTrainer as t; print(t.__path__[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = Path(folder) / f"{TRAINER}.py"
    if not target.is_file() or target.read_text() != TRAINER_SOURCE:
        target.write_text(TRAINER_SOURCE)
    return python


def _commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    return proc.stdout.strip() + ("+uncommitted" if dirty.strip() else "")


def _machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    memory = int(open("/proc/meminfo").readline().split()[1]) // 2**20
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory, "python": platform.python_version()}


def _dataset_dir(dataset: str) -> Path:
    """A prepared dataset's folder (``data/<name>``, prepared by ``networks.apps.prepare_data`` when missing) or a
    path."""
    path = Path(dataset).expanduser()
    if path.is_dir():
        return path.resolve()
    folder = REPO / "data" / dataset
    proc = subprocess.run(
        [sys.executable, "-m", "networks.apps.prepare_data", dataset, "--out", str(folder)], text=True
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"error: could not prepare dataset {dataset!r} (a dataset name of networks.apps.prepare_data or a path)"
        )
    return folder


class Side:
    """What the two sides have in common: a work folder, a fold's files, its validation and the test predictions."""

    name = ""

    def __init__(self, root: Path, raw: Path, configuration: str, epochs: int, iters: int, workers: int, device: str):
        self.root, self.raw, self.configuration = root, raw, configuration
        self.epochs, self.iters, self.workers, self.device = epochs, iters, workers, device

    def fold_dir(self, fold: str) -> Path:
        raise NotImplementedError

    def validation_files(self, fold: str) -> Path:
        """Where the side's own validation wrote the fold's predictions in the input geometry."""
        return self.fold_dir(fold) / "validation"


class Ours(Side):
    name = "ours"

    def __init__(self, *args, network: str = "auto", **kwargs):
        super().__init__(*args, **kwargs)
        self.network = network
        self.name = "ours" if network == "auto" else f"ours_{network}"

    @property
    def work(self) -> Path:
        return self.root / "ours"

    def fold_dir(self, fold: str) -> Path:
        return WorkFolder(self.work).fold_dir(self.configuration, fold, self.network)

    def train(self, fold: str, logs: Path) -> dict:
        cmd = [sys.executable, "-m", "networks.apps.autoseg", "train", "--dataset_dir", str(self.raw)]
        cmd += ["--work_dir", str(self.work), "--configuration", self.configuration, "--fold", fold]
        cmd += ["--network", self.network, "--epochs", str(self.epochs), "--iters_per_epoch", str(self.iters)]
        # a fold not yet recorded starts afresh (as nnunetv2's does), so its curve and times cover every epoch
        cmd += ["--val_interval", "1", "--num_workers", str(self.workers), "--resume", "False"]
        env = dict(os.environ, PYTHONWARNINGS="ignore", CUDA_VISIBLE_DEVICES="" if self.device == "cpu" else "0")
        log = logs / f"{self.name}_fold{fold}.log"
        result = timed(cmd, log, env=env)
        result["curve"] = self.curve(log)
        pattern = r"(?:^|\| )epoch +\d+/\d+ \|.*?\| ([\d.]+) s \|"
        result["epoch_seconds"] = [float(s) for s in re.findall(pattern, log.read_text(), flags=re.M)]
        return result

    @staticmethod
    def curve(log: Path) -> list[float | None]:
        """Per epoch, the validation Dice on the fold's held-out cases (sliding window) from the console lines."""
        values = []
        for line in log.read_text().splitlines():
            if re.search(r"(^|\| )epoch +\d+/\d+ \| loss", line):
                dice = re.search(r"\| val_mean_dice ([\d.]+)", line)
                values.append(float(dice.group(1)) if dice else None)
        return values

    def predict_test(self, folds: list[str], out: Path, logs: Path) -> dict:
        cmd = [sys.executable, "-m", "networks.apps.autoseg", "predict", "--work_dir", str(self.work)]
        cmd += ["--input_dir", str(self.raw / "imagesTs"), "--output_dir", str(out)]
        cmd += ["--configurations", self.configuration, "--folds", ",".join(folds), "--network", self.network]
        cmd += ["--device", self.device]
        return timed(cmd, logs / f"{self.name}_test.log", env=dict(os.environ, PYTHONWARNINGS="ignore"))


class NnUNet(Side):
    name = "nnunetv2"

    def __init__(self, *args, python: str, plans_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.python, self.plans_name = python, plans_name
        self.dataset_name = f"Dataset{DATASET_ID:03d}_{self.raw.name}"

    @property
    def env(self) -> dict:
        base = self.root / "nnunetv2"
        return dict(
            os.environ,
            nnUNet_raw=str(base / "raw"),
            nnUNet_preprocessed=str(base / "preprocessed"),
            nnUNet_results=str(base / "results"),
            nnUNet_n_proc_DA=str(self.workers),
            nnUNet_def_n_proc=str(os.cpu_count() or 1),  # its predictor's torch threads: all cores, as ours
            ZOO_HARNESS_EPOCHS=str(self.epochs),
            ZOO_HARNESS_ITERS=str(self.iters),
            PYTHONWARNINGS="ignore",
        )

    def tool(self, name: str) -> str:
        return str(Path(self.python).parent / name)

    def prepare(self, plans: dict, splits_file: Path, logs: Path) -> dict | None:
        """Link the raw folder, give nnunetv2 our plans and splits, and preprocess with nnunetv2."""
        base = self.root / "nnunetv2"
        link = base / "raw" / self.dataset_name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(self.raw, target_is_directory=True)
        pre = base / "preprocessed" / self.dataset_name
        data_id = plans["configurations"][self.configuration]["data_identifier"]
        theirs = dict(plans, dataset_name=self.dataset_name)
        given = pre / f"{self.plans_name}.json"
        same_plans = given.is_file() and json.loads(given.read_text()) == theirs
        if same_plans and (pre / data_id).is_dir() and (pre / "splits_final.json").is_file():
            return None
        shutil.rmtree(pre / data_id, ignore_errors=True)  # preprocessed with other plans
        pre.mkdir(parents=True, exist_ok=True)
        result = timed(
            [self.tool("nnUNetv2_extract_fingerprint"), "-d", str(DATASET_ID), "-np", "2"],
            logs / "nnunetv2_fingerprint.log",
            env=self.env,
        )
        shutil.copyfile(self.raw / "dataset.json", pre / "dataset.json")  # as nnUNetv2_plan_experiment does
        given.write_text(json.dumps(theirs, indent=1))
        preprocess = [self.tool("nnUNetv2_preprocess"), "-d", str(DATASET_ID), "-plans_name", self.plans_name]
        preprocess += ["-c", self.configuration, "-np", "2"]
        result = timed(preprocess, logs / "nnunetv2_preprocess.log", env=self.env)
        shutil.copyfile(splits_file, pre / "splits_final.json")
        return result

    def fold_dir(self, fold: str) -> Path:
        trained = f"{TRAINER}__{self.plans_name}__{self.configuration}"
        return self.root / "nnunetv2" / "results" / self.dataset_name / trained / f"fold_{fold}"

    def train(self, fold: str, logs: Path) -> dict:
        cmd = [self.tool("nnUNetv2_train"), str(DATASET_ID), self.configuration, fold, "-tr", TRAINER]
        cmd += ["-p", self.plans_name, "-device", self.device]
        result = timed(cmd, logs / f"nnunetv2_fold{fold}.log", env=self.env)
        result["curve"] = self.curve(fold)
        text = self._training_log(fold)
        result["epoch_seconds"] = [float(s) for s in re.findall(r"Epoch time: ([\d.]+) s", text)]
        return result

    def _training_log(self, fold: str) -> str:
        """The newest training log of the fold (its names carry unpadded dates: sorted by time, not name)."""
        logs = sorted(self.fold_dir(fold).glob("training_log_*.txt"), key=lambda p: p.stat().st_mtime)
        return logs[-1].read_text() if logs else ""

    def curve(self, fold: str) -> list[float]:
        """Per epoch, nnunetv2's pseudo-Dice (foreground mean over its validation patches) from its training log."""
        text = self._training_log(fold)
        return [float(np.mean([float(v) for v in re.findall(r"[-\d.]+(?:e-?\d+)?", m)])) for m in
                re.findall(r"Pseudo dice \[(.*?)\]", text.replace("np.float32(", "").replace(")", ""))]  # fmt: skip

    def predict_test(self, folds: list[str], out: Path, logs: Path) -> dict:
        cmd = [self.tool("nnUNetv2_predict"), "-i", str(self.raw / "imagesTs"), "-o", str(out)]
        cmd += ["-d", str(DATASET_ID), "-c", self.configuration, "-tr", TRAINER, "-p", self.plans_name]
        cmd += ["-f", *folds, "-device", self.device, "-npp", "1", "-nps", "1"]
        return timed(cmd, logs / "nnunetv2_test.log", env=self.env)


def _dice_per_case(pairs: dict[str, tuple[str, str]], labels: list[int]) -> dict[str, float]:
    """Mean foreground Dice per case, by our evaluator."""
    summary = evaluate_cases(pairs, labels)
    return {
        c["case"]: float(np.nanmean([c["metrics"][str(k)]["Dice"] for k in labels])) for c in summary["metric_per_case"]
    }


def _names(value) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    return [str(v).strip() for v in items if str(v).strip()]


def bootstrap_interval(differences: list[float], n: int = 10000, seed: int = 0) -> list[float]:
    """95% percentile interval of the mean of ``differences`` (resampling cases)."""
    values = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n, len(values)))].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def run(
    dataset: str = "nuclei2d_nnunet",
    configuration: str = "2d",
    epochs: int = 20,
    iters_per_epoch: int = 10,
    folds: str = "0,1,2,3,4",
    sides: str = "ours,nnunet",
    network: str = "auto",
    planner: str = "cpu",
    seconds_per_iteration: float = 1.0,
    num_workers: int = 2,
    device: str = "cpu",
    out_dir: str | None = None,
    results: str | None = None,
    plans_file: str | None = None,
) -> str:
    """Compare the trainers on one dataset; write (and return the path of) the results JSON.

    The plans used are saved beside the results (``<results>.plans.json``). ``--plans_file`` trains with a given
    plans file instead of planning: the CPU planner sizes the patch from a timing of the machine it runs on, so a
    table row is reproduced on another machine with the plans file saved by the run that made it.
    """
    commit = _commit()  # the code that trains, taken before anything runs
    raw = _dataset_dir(dataset)
    name = raw.name
    root = Path(out_dir or REPO / "runs" / "autoseg_vs_nnunet" / name).resolve()
    results_file = Path(results or REPO / "docs" / "results" / f"autoseg_vs_nnunet_{name}.json")
    logs = root / "logs"
    fold_names, side_names = _names(folds), _names(sides)  # fire gives "0,1" as a tuple and "0" as an int
    state_file = root / "state.json"
    root.mkdir(parents=True, exist_ok=True)
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    schedule = [configuration, epochs, iters_per_epoch, num_workers, planner, device]
    if state.get("schedule", None) not in (None, schedule):
        raise SystemExit(f"error: {root} holds a run with another schedule {state['schedule']}; use another --out_dir")
    state["schedule"] = schedule

    def save() -> None:
        state_file.write_text(json.dumps(state, indent=1))

    # one plan (ours) and one split for both sides
    work = root / "ours"
    if plans_file is not None:
        given = json.loads(Path(plans_file).read_text())
        if (work / "plans.json").is_file() and json.loads((work / "plans.json").read_text()) != given:
            raise SystemExit(
                f"error: {work / 'plans.json'} differs from --plans_file {plans_file}; use another --out_dir"
            )
        if not (work / "plans.json").is_file():
            work.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(plans_file, work / "plans.json")
    elif not (work / "plans.json").is_file():
        AutoSegRunner(raw, work).plan(planner=planner, seconds_per_iteration=seconds_per_iteration)
    AutoSegRunner(raw, work).preprocess([configuration])
    work_folder = WorkFolder(work)
    plans = work_folder.plans.raw
    cases = work_folder.preprocessed_cases(configuration)
    work_folder.splits(cases)  # writes splits_final.json (nnU-Net's 5-fold rule and seed)
    labels = work_folder.plans.foreground_labels
    common = dict(epochs=epochs, iters=iters_per_epoch, workers=num_workers, device=device)
    runners: list[Side] = []
    if any(s.startswith("ours") for s in side_names):
        runners.append(Ours(root, raw, configuration, network=network, **common))
    if "nnunet" in side_names:
        python = nnunet_python()
        nnunet = NnUNet(root, raw, configuration, python=python, plans_name=plans["plans_name"], **common)
        prep = nnunet.prepare(plans, work_folder.splits_file, logs)
        if prep:
            state["nnunetv2_preprocess"] = prep
        runners.append(nnunet)
    save()

    for fold in fold_names:
        for side in runners:
            key = f"{side.name}/fold_{fold}"
            if key in state.get("folds", {}):
                continue
            state.setdefault("folds", {})[key] = dict(side.train(fold, logs), commit=commit)
            save()
    if (raw / "imagesTs").is_dir():
        for side in runners:
            key = f"{side.name}/test"
            if state.get("test", {}).get(key, {}).get("folds") != fold_names:  # the ensemble of these folds
                out = root / "test" / side.name
                shutil.rmtree(out, ignore_errors=True)
                state.setdefault("test", {})[key] = dict(side.predict_test(fold_names, out, logs), folds=fold_names)
                save()

    # one evaluator for every prediction of both sides
    splits = work_folder.splits(cases)
    report: dict = {
        **_targets("autoseg_vs_nnunet", name),
        "commit": commit,
        "fold_commits": sorted(
            {state["folds"][f"{s.name}/fold_{f}"].get("commit", commit) for s in runners for f in fold_names}
        ),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "dataset": name,
        "configuration": configuration,
        "plans": _plan_summary(plans, configuration),
        "planner": planner,
        "plans_file": plans_file,
        "epochs": epochs,
        "iters_per_epoch": iters_per_epoch,
        "num_workers": num_workers,
        "device": device,
        "folds": fold_names,
        "splits": splits,
        "sides": {},
    }
    command = _command_line("run")
    report["commands"] = {side.name: command for side in runners}
    # when and where each side trained: a later arm may run on another day and machine than the sides it joins
    report["side_runs"] = {side.name: {"date": report["date"], "machine": report["machine"]} for side in runners}
    ending = work_folder.plans.file_ending
    for side in runners:
        entry: dict = {"folds": {}, "seconds_per_epoch": [], "peak_rss_mib": []}
        for fold in fold_names:
            run_state = state["folds"][f"{side.name}/fold_{fold}"]
            val_cases = splits[int(fold)]["val"]
            pairs = {
                c: (str(raw / "labelsTr" / f"{c}{ending}"), str(side.validation_files(fold) / f"{c}{ending}"))
                for c in val_cases
            }
            entry["folds"][fold] = {
                "dice_per_case": _dice_per_case(pairs, labels),
                "train_seconds": run_state["seconds"],
                "curve": run_state["curve"],
            }
            entry["seconds_per_epoch"].append(round(float(np.mean(run_state["epoch_seconds"])), 2))
            entry["folds"][fold]["epoch_seconds"] = run_state["epoch_seconds"]
            entry["peak_rss_mib"].append(run_state["peak_rss_mib"])
        test_state = state.get("test", {}).get(f"{side.name}/test")
        if test_state:
            out = root / "test" / side.name
            test_cases = sorted(p.name[: -len(ending)] for p in (raw / "labelsTs").glob(f"*{ending}"))
            pairs = {c: (str(raw / "labelsTs" / f"{c}{ending}"), str(out / f"{c}{ending}")) for c in test_cases}
            entry["test"] = {"dice_per_case": _dice_per_case(pairs, labels), "predict_seconds": test_state["seconds"]}
        report["sides"][side.name] = entry
    if any(isinstance(side, NnUNet) for side in runners):
        report["nnunetv2_evaluator_check"] = _evaluator_check(report, runners, fold_names[0], ending)
    _keep_earlier_sides(report, results_file)
    report["summary"] = summarise(report)
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(report, indent=1))
    shutil.copyfile(work / "plans.json", results_file.with_suffix(".plans.json"))
    print(json.dumps(report["summary"], indent=1))
    return str(results_file)


# what makes two runs' sides comparable: the same data, plan, folds, schedule and device
SAME_RUN_KEYS = ("dataset", "configuration", "plans", "planner", "epochs", "iters_per_epoch", "num_workers", "device",
                 "folds", "splits")  # fmt: skip


def _command_line(verb: str, argv: list[str] | None = None) -> str:
    """The command that reproduces a results file, without the options that only say where work files go
    (``--out_dir``, ``--results``: a path of the machine that ran it)."""
    args, rest = [], list((argv if argv is not None else sys.argv)[2:])
    while rest:
        arg = rest.pop(0)
        if arg.split("=", 1)[0] in ("--out_dir", "--results"):
            if "=" not in arg and rest:
                rest.pop(0)
            continue
        args.append(arg)
    return " ".join(["python", "benchmarks/autoseg_vs_nnunet.py", verb, *args])


def _keep_earlier_sides(report: dict, results_file: Path) -> None:
    """Carry over the sides of an earlier results file that this run did not train (e.g. ``--sides ours --network
    swin_umamba`` added to an ours + nnunetv2 run), when that run had the same data, plan, folds and schedule; so a
    comparison can be continued by another session from the committed file alone."""
    if not results_file.is_file():
        return
    earlier = json.loads(results_file.read_text())
    others = {k: v for k, v in earlier.get("sides", {}).items() if k not in report["sides"]}
    if not others:
        return
    differ = [k for k in SAME_RUN_KEYS if earlier.get(k) != report[k]]
    if differ:
        print(f"warning: {results_file}'s sides {sorted(others)} ran with another {', '.join(differ)}: dropped")
        return
    report["sides"].update(others)
    old_commands = earlier.get("commands") or {name: earlier.get("command") for name in earlier["sides"]}
    report["commands"].update({k: old_commands.get(k) for k in others})
    old_runs = earlier.get("side_runs", {})
    report["side_runs"].update(
        {k: old_runs.get(k, {"date": earlier["date"], "machine": earlier["machine"]}) for k in others}
    )
    report["fold_commits"] = sorted(set(report["fold_commits"]) | set(earlier.get("fold_commits", [earlier["commit"]])))
    if "nnunetv2" in others and "nnunetv2_evaluator_check" in earlier:
        report["nnunetv2_evaluator_check"] = earlier["nnunetv2_evaluator_check"]


def _evaluator_check(report: dict, runners: list[Side], fold: str, ending: str) -> dict:
    """nnunetv2's own numbers (``compute_metrics_on_folder``, its fold validation summary.json) against ours on
    the same prediction files: the largest per-case Dice difference."""
    nnunet = next(s for s in runners if isinstance(s, NnUNet))
    theirs = json.loads((nnunet.validation_files(fold) / "summary.json").read_text())
    ours = report["sides"]["nnunetv2"]["folds"][fold]["dice_per_case"]
    per_case = {}
    for item in theirs["metric_per_case"]:
        case = Path(item["prediction_file"]).name[: -len(ending)]
        dice = [m["Dice"] for m in item["metrics"].values()]
        per_case[case] = float(np.nanmean(dice))
    return {
        "fold": fold,
        "cases": sorted(per_case),
        "max_abs_difference": max(abs(per_case[c] - ours[c]) for c in per_case) if per_case else None,
    }


def summarise(report: dict) -> dict:
    """Per side: mean fold Dice +- sd over folds, test Dice, seconds per epoch, peak memory; and the paired
    difference of the first side against nnunetv2 per validation case with a bootstrap 95% interval."""
    out: dict = {}
    for name, side in report["sides"].items():
        fold_means = [float(np.nanmean(list(f["dice_per_case"].values()))) for f in side["folds"].values()]
        out[name] = {
            "fold_dice_mean": float(np.mean(fold_means)),
            "fold_dice_sd": float(np.std(fold_means, ddof=1)) if len(fold_means) > 1 else None,
            "test_dice": float(np.nanmean(list(side["test"]["dice_per_case"].values()))) if "test" in side else None,
            "seconds_per_epoch": float(np.mean(side["seconds_per_epoch"])),
            "peak_rss_mib": max(side["peak_rss_mib"]),
        }
    if "nnunetv2" in report["sides"]:
        theirs = {c: d for f in report["sides"]["nnunetv2"]["folds"].values() for c, d in f["dice_per_case"].items()}
        for name, side in report["sides"].items():
            if name == "nnunetv2":
                continue
            ours = {c: d for f in side["folds"].values() for c, d in f["dice_per_case"].items()}
            common = sorted(set(ours) & set(theirs))
            differences = [ours[c] - theirs[c] for c in common if not np.isnan(ours[c] - theirs[c])]
            out[name]["difference_vs_nnunetv2"] = {
                "mean": float(np.mean(differences)),
                "ci95": bootstrap_interval(differences),
                "cases": len(differences),
            }
    return out


def report(results: str) -> None:
    """Render one results file's table into the file it names (``targets``: docs/autoseg.md between its
    ``autoseg_vs_nnunet:<dataset>`` markers) and its validation curves into a PNG next to the results file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(Path(results).read_text())
    png = Path(results).resolve().with_suffix(".png")
    fig, axes = plt.subplots(1, len(data["folds"]), figsize=(3 * len(data["folds"]), 2.8), sharey=True, squeeze=False)
    for ax, fold in zip(axes[0], data["folds"]):
        for side, entry in data["sides"].items():
            curve = entry["folds"][fold]["curve"]
            label = "nnunetv2 (pseudo-Dice on patches)" if side == "nnunetv2" else f"{side} (validation Dice)"
            ax.plot(range(1, len(curve) + 1), [np.nan if v is None else v for v in curve], label=label)
        ax.set_title(f"fold {fold}")
        ax.set_xlabel("epoch")
    axes[0][0].set_ylabel("foreground Dice")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    _render(results)


def _render(results: str | Path) -> None:
    """Write the tables a results file names (:mod:`networks.apps.autoseg_tables`, through the renderer every
    results file uses)."""
    from networks.apps.evidence import write_rendered_targets

    path = Path(results).resolve()
    if path.is_relative_to(REPO):
        write_rendered_targets(REPO, str(path.relative_to(REPO)))


def _targets(experiment: str, dataset: str) -> dict:
    """What a results file renders: its table in docs/autoseg.md between ``<experiment>:<dataset>`` markers."""
    return {"experiment": experiment, "targets": {"sections": [["docs/autoseg.md", f"{experiment}:{dataset}"]]}}


# nnunetv2's side of ``throughput``, run by nnunetv2's venv: its trainer's own training data loader (nnUNetDataLoader +
# its default augmentation in NonDetMultiThreadedAugmenter workers), then its predictor on the test images (its
# in-process path, as ours; nnUNetv2_predict also overlaps reading and export with inference in worker processes)
NNUNET_THROUGHPUT = """
import json, os, sys, time, torch
from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
from nnunetv2.run.run_training import get_trainer_from_args
dataset_id, plans_name, configuration, fold, batches, repeats, images, out, model_dir = sys.argv[1:]
trainer = get_trainer_from_args(dataset_id, configuration, int(fold), "nnUNetTrainer", plans_name,
                                device=torch.device("cpu"))
trainer.initialize()  # sets the batch size and the dataset class, as on_train_start does before its loaders
loader, val_loader = trainer.get_dataloaders()
next(loader)  # workers started and their queues filled once
loading = []
for _ in range(int(repeats)):
    start = time.perf_counter()
    for _ in range(int(batches)):
        next(loader)
    loading.append(time.perf_counter() - start)
for augmenter in (loader, val_loader):
    getattr(augmenter, "_finish", lambda: None)()
predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=True,
                            perform_everything_on_device=False, device=torch.device("cpu"), verbose=False,
                            verbose_preprocessing=False, allow_tqdm=False)
predictor.initialize_from_trained_model_folder(model_dir, use_folds=(int(fold),),
                                               checkpoint_name="checkpoint_final.pth")
os.makedirs(out, exist_ok=True)  # the sequential path does not create it
start = time.perf_counter()  # in this process, as ours: no worker start-up inside the timing
predictor.predict_from_files_sequential(images, out, save_probabilities=False, overwrite=True)
predicting = time.perf_counter() - start
axes = list(predictor.allowed_mirroring_axes or [])
print("THROUGHPUT " + json.dumps({"loading_seconds": loading, "batch_size": trainer.batch_size,
                                  "predict_seconds": predicting, "mirror_axes": axes}))
sys.stdout.flush()
os._exit(0)
"""


def _ours_throughput(work_folder: WorkFolder, raw: Path, configuration: str, fold: str, batches: int, repeats: int,
                     workers: int, out: Path) -> dict:  # fmt: skip
    """Our side of ``throughput``, in this process: the generated bundle's training data loader (``train#dataloader``:
    patch sampler + augmentation in DataLoader workers), then ``predict_cases`` with the fold's model."""
    import torch

    from networks.apps.autoseg.inference.predict import (
        ConfigurationModel,
        group_channel_files,
        predict_cases,
        window_inferer,
    )

    parser = train_parser(work_folder, configuration, fold, workers, batches * repeats + 1)  # the trained model is kept
    bundle = work_folder.bundle_dir(configuration)
    loader = iter(parser.get_parsed_content("train#dataloader"))
    batch_size = parser.get_parsed_content("batch_size")
    next(loader)  # workers started once
    loading = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(batches):
            next(loader)
        loading.append(time.perf_counter() - start)
    del loader, parser  # the parser holds the DataLoader and its persistent workers
    model = ConfigurationModel(str(bundle), [str(work_folder.fold_dir(configuration, fold) / "model.pt")])
    model.load(torch.device("cpu"))
    cases = group_channel_files(raw / "imagesTs", work_folder.plans.num_channels, work_folder.plans.file_ending)
    start = time.perf_counter()
    predict_cases(cases, out, [model], device="cpu")
    predicting = time.perf_counter() - start
    inferer = window_inferer(model.patch_size)  # what predict_cases mirrors, in the patch's axes
    axes = [a - (3 - len(model.patch_size)) for a in inferer.spatial_axes]
    return {"loading_seconds": loading, "batch_size": batch_size, "predict_seconds": predicting, "mirror_axes": axes}


def throughput(
    dataset: str = "nuclei2d_nnunet",
    configuration: str = "2d",
    fold: str = "0",
    batches: int = 400,
    repeats: int = 3,
    num_workers: int = 2,
    out_dir: str | None = None,
    results: str | None = None,
) -> str:
    """Each side's data pipeline and predictor alone, on the plan, fold and trained models of a finished ``run``:

    (a) training batches per second of each side's own loader and augmentation (no network), after a first batch
    that starts the workers: the median of ``repeats`` timings of ``batches`` batches in a row from one loader;
    same plan (patch, batch size), fold and number of workers;
    (b) seconds per test case of each side's predictor with the fold's trained model (same architecture from the
    same plan): Gaussian sliding window with step 0.5, mirroring over the plan's axes, export to the input's format
    included; loading the model and starting the process not included.

    Each measurement runs alone; the results file is ``docs/results/autoseg_throughput_<dataset>.json``, rendered
    into docs/autoseg.md by ``report``'s sibling ``report_throughput``.
    """
    commit = _commit()
    raw = _dataset_dir(dataset)
    root = Path(out_dir or REPO / "runs" / "autoseg_vs_nnunet" / raw.name).resolve()
    results_file = Path(results or REPO / "docs" / "results" / f"autoseg_throughput_{raw.name}.json")
    fold = str(fold)
    if not fold.isdigit():
        raise SystemExit(f"error: --fold must be one cross-validation fold (0, 1, ...), got {fold!r}")
    tests = len(list((raw / "imagesTs").glob("*_0000*")))
    if not tests:
        raise SystemExit(f"error: {raw / 'imagesTs'} has no <case>_0000 files to time the predictors on")
    work_folder = WorkFolder(root / "ours")
    plans = work_folder.plans.raw
    common = dict(epochs=0, iters=0, workers=num_workers, device="cpu")
    nnunet = NnUNet(root, raw, configuration, python=nnunet_python(), plans_name=plans["plans_name"], **common)
    model_dir = nnunet.fold_dir(fold).parent
    for needed in (
        work_folder.fold_dir(configuration, fold) / "model.pt",
        model_dir / f"fold_{fold}" / "checkpoint_final.pth",
    ):
        if not needed.is_file():
            raise SystemExit(
                f"error: {needed} is missing: run `run --dataset {dataset} --folds {fold}` into {root} first"
            )
    scratch = root / "throughput"
    shutil.rmtree(scratch, ignore_errors=True)
    print("+ ours: data loader, then predictor", flush=True)
    ours = _ours_throughput(work_folder, raw, configuration, fold, batches, repeats, num_workers, scratch / "ours")
    cmd = [nnunet.python, "-c", NNUNET_THROUGHPUT, str(DATASET_ID), nnunet.plans_name, configuration, fold]
    cmd += [str(batches), str(repeats)]
    cmd += [str(raw / "imagesTs"), str(scratch / "nnunetv2"), str(model_dir)]
    print("+ nnunetv2: data loader, then predictor", flush=True)
    proc = subprocess.run(cmd, env=nnunet.env, capture_output=True, text=True)
    line = [t for t in proc.stdout.splitlines() if t.startswith("THROUGHPUT ")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"nnunetv2's side failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    theirs = json.loads(line[-1][len("THROUGHPUT ") :])
    sides = {}
    for name, value in (("ours", ours), ("nnunetv2", theirs)):
        seconds = float(np.median(value["loading_seconds"]))
        sides[name] = {
            "batches_per_second": batches / seconds,
            "patches_per_second": batches * value["batch_size"] / seconds,
            "patches_per_second_repeats": [batches * value["batch_size"] / s for s in value["loading_seconds"]],
            "predict_seconds_per_case": value["predict_seconds"] / tests,
            **value,
        }
    report = {
        **_targets("autoseg_throughput", raw.name),
        "command": _command_line("throughput"),
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "dataset": raw.name,
        "configuration": configuration,
        "plans": _plan_summary(plans, configuration),
        "fold": fold,
        "batches": batches,
        "repeats": repeats,
        "num_workers": num_workers,
        "test_cases": tests,
        "sides": sides,
        "ratios_ours_over_nnunetv2": {
            "patches_per_second": sides["ours"]["patches_per_second"] / sides["nnunetv2"]["patches_per_second"],
            "predict_seconds_per_case": sides["ours"]["predict_seconds_per_case"]
            / sides["nnunetv2"]["predict_seconds_per_case"],
        },
    }
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: report[k] for k in ("sides", "ratios_ours_over_nnunetv2")}, indent=1))
    return str(results_file)


def report_throughput(results: str) -> None:
    """Render a ``throughput`` results file into docs/autoseg.md between its ``autoseg_throughput:<dataset>``
    markers."""
    _render(results)


def _plan_summary(plans: dict, configuration: str) -> dict:
    """What a results file records of the plan: what decides the network and its input."""
    return {k: plans["configurations"][configuration].get(k) for k in ("patch_size", "batch_size", "spacing")}


if __name__ == "__main__":
    fire.Fire({"run": run, "report": report, "throughput": throughput, "report_throughput": report_throughput})
