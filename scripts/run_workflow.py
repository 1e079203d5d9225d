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

"""
Run a bundle's whole workflow (prepare data -> train -> evaluate -> infer), its default training with seeds into a
results file, or compare networks under one CPU budget.

Every step is a subprocess running the command a user would type (``python -m networks.apps.prepare_data ...``,
``python -m monai.bundle run ...``, the same commands as the bundle READMEs); each command is printed before it
runs. Run from anywhere; paths in the printed commands are relative to the repository root.

Usage::

    python scripts/run_workflow.py nuclei                       # 3 epochs; make main: --bundle_defaults
    python scripts/run_workflow.py brain --network unet --epochs 10 --out_dir runs/brain_unet
    python scripts/run_workflow.py nuclei --cpu_budget_s 150 --dry_run   # print the commands only
    python scripts/run_workflow.py compare nuclei --networks "[swin_umamba,unet]" --cpu_budget_s 150
    python scripts/run_workflow.py default brain --seeds 0,1,2   # the README's training -> bundle_training_brain2d.json
"""

from __future__ import annotations

import csv
import datetime
import glob
import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass

import fire

from networks.apps.steps import SMALL_SWIN_UMAMBA, SMALL_SWIN_UMAMBA_D, run_step, show_command
from networks.data.file_io import write_json_atomic

__all__ = ["DATASETS", "Workflow", "run", "compare", "converge", "default", "publish"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETWORKS_DIR = os.path.join("networks", "configs", "network_def")  # shipped with the package
RESULTS_FILE = os.path.join("docs", "results.md")

# workflow name -> (bundle folder name, prepared dataset name)
DATASETS = {
    "nuclei": ("swin_umamba_nuclei_segmentation", "nuclei2d"),
    "brain": ("swin_umamba_brain_segmentation", "brain2d"),
}
# what every segmentation results file reports per test case
SEGMENTATION_METRICS = {
    "dice": {"label": "Dice", "higher_is_better": True},
    "nsd": {"label": "NSD", "higher_is_better": True},
}
# ``--small``: a reduced-width Swin-UMamba(-D) for short CPU runs (make main, the READMEs' quick start)
NETWORK_NAMES = {
    "swin_umamba": "SwinUMamba",
    "swin_umamba_d": "SwinUMambaD",
    "unet": "UNet",
    "segresnet": "SegResNet",
    "swinunetr": "SwinUNETR",
}


def _arg(value) -> str:
    """A value as ``monai.bundle`` reads it from the command line (lists/tuples without spaces)."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_arg(v) for v in value) + "]"
    return str(value)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(v) for v in value]


@dataclass
class Workflow:
    """
    The commands of one bundle workflow.

    Args:
        dataset: ``nuclei`` or ``brain``.
        network: a fragment ``networks/configs/network_def/<network>.json`` stacked on the bundle configs; ``None``
            keeps the bundle's default network.
        data_dir: prepared dataset folder (default ``data/<nuclei2d|brain2d>``).
        out_dir: folder for ``models/``, ``checkpoints/``, ``eval/``, ``test_images/`` and ``predictions/``; ``None``
            writes into the bundle folder (``models/``, ``checkpoints/``, ``eval/``, ``outputs/``), as the bundle
            README commands do.
        epochs: training epochs (the upper bound when ``cpu_budget_s`` is set).
        cpu_budget_s: stop training once this many CPU seconds were spent in training iterations
            (``networks.handlers.CPUTimeBudget``); evaluation and inference then use the last weights
            (``checkpoints/checkpoint_last.pt``, no model selection on the validation split).
        patch_size: training/sliding-window patch (a multiple of 32); ``None`` keeps the bundle's.
        batch_size, num_samples, warmup_epochs, num_workers: training overrides.
        small: reduced-width Swin-UMamba(-D) (``SMALL_SWIN_UMAMBA``), for short CPU runs.
        scan_backend: Swin-UMamba's selective-scan backend (``torch``, ``numba``, ``mamba_ssm``), set through the
            ``ZOO_SELECTIVE_SCAN_BACKEND`` environment variable of the bundle commands; ``None`` keeps ``auto``.
        overrides: extra ``--id value`` arguments for every bundle command.
        seed: training seed (the bundle's ``seed``); ``None`` keeps the bundle's (0).
        bundle_defaults: train and evaluate with the bundle's own schedule, batch, patches and workers (the README's
            commands); ``epochs``, ``batch_size``, ``num_samples``, ``warmup_epochs`` and ``num_workers`` are then not
            passed.
    """

    dataset: str
    network: str | None = None
    data_dir: str | None = None
    out_dir: str | None = None
    epochs: int = 3
    cpu_budget_s: float | None = None
    patch_size: list[int] | None = None
    batch_size: int = 2
    num_samples: int = 2
    warmup_epochs: int = 1
    num_workers: int = 0
    small: bool = False
    scan_backend: str | None = None
    overrides: str | list[str] | None = None
    seed: int | None = None
    bundle_defaults: bool = False

    def __post_init__(self) -> None:
        if self.small and (self.network or "swin_umamba").startswith("swin_umamba"):
            small = SMALL_SWIN_UMAMBA_D if self.network == "swin_umamba_d" else SMALL_SWIN_UMAMBA
            self.overrides = small + _as_list(self.overrides)
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset '{self.dataset}' is not one of {sorted(DATASETS)}.")
        if self.network is not None and not os.path.isfile(os.path.join(REPO, self.network_file)):
            raise ValueError(f"network '{self.network}' has no fragment {self.network_file}.")

    @property
    def bundle(self) -> str:
        return os.path.join("bundle", DATASETS[self.dataset][0])

    @property
    def data(self) -> str:
        return self.data_dir or os.path.join("data", DATASETS[self.dataset][1])

    @property
    def network_file(self) -> str:
        return os.path.join(NETWORKS_DIR, f"{self.network}.json")

    @property
    def ckpt_dir(self) -> str:
        return os.path.join(self.out_dir, "models") if self.out_dir else os.path.join(self.bundle, "models")

    @property
    def resume_dir(self) -> str:
        return os.path.join(self.out_dir or self.bundle, "checkpoints")

    @property
    def last_checkpoint(self) -> str:
        return os.path.join(self.resume_dir, "checkpoint_last.pt")

    @property
    def eval_dir(self) -> str:
        return os.path.join(self.out_dir, "eval") if self.out_dir else os.path.join(self.bundle, "eval")

    @property
    def test_images(self) -> str:
        return os.path.join(self.out_dir or os.path.join(self.bundle, "outputs"), "test_images")

    @property
    def predictions(self) -> str:
        return os.path.join(self.out_dir or os.path.join(self.bundle, "outputs"), "predictions")

    def _bundle_cmd(self, *configs: str) -> list[str]:
        files = [os.path.join(self.bundle, "configs", c) for c in configs]
        if self.network:
            files.insert(1, self.network_file)  # after the standalone file, before evaluate.json
        config_arg = files[0] if len(files) == 1 else "[" + ",".join(f"'{f}'" for f in files) + "]"
        cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", config_arg]
        cmd += ["--meta_file", os.path.join(self.bundle, "configs", "metadata.json")]
        cmd += ["--logging_file", os.path.join(self.bundle, "configs", "logging.conf")]
        cmd += ["--bundle_root", self.bundle, "--ckpt_dir", self.ckpt_dir]
        if self.patch_size is not None:
            cmd += ["--patch_size", _arg(self.patch_size)]
        return cmd

    def prepare_cmd(self) -> list[str]:
        return [sys.executable, "-m", "networks.apps.prepare_data", DATASETS[self.dataset][1], "--out", self.data]

    def train_cmd(self) -> list[str]:
        cmd = self._bundle_cmd("train.json") + ["--dataset_dir", self.data, "--output_dir", self.eval_dir]
        cmd += ["--resume_dir", self.resume_dir]
        if not self.bundle_defaults:
            cmd += ["--epochs", str(self.epochs), "--val_interval", str(self.epochs)]  # validate at the end only
            cmd += ["--warmup_epochs", str(self.warmup_epochs), "--batch_size", str(self.batch_size)]
            cmd += ["--num_samples", str(self.num_samples), "--num_workers", str(self.num_workers)]
        if self.cpu_budget_s:
            cmd += ["--cpu_budget_s", str(self.cpu_budget_s)]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        return cmd + _as_list(self.overrides)

    def evaluate_cmd(self) -> list[str]:
        cmd = self._bundle_cmd("train.json", "evaluate.json") + ["--dataset_dir", self.data]
        cmd += ["--output_dir", self.eval_dir]
        if not self.bundle_defaults:
            cmd += ["--num_workers", str(self.num_workers)]
        if self.cpu_budget_s:  # the budget may end training before the validation: evaluate the last weights
            cmd += ["--ckpt_path", self.last_checkpoint]
        return cmd + _as_list(self.overrides)

    def infer_cmd(self) -> list[str]:
        cmd = self._bundle_cmd("inference.json") + ["--input_dir", self.test_images, "--output_dir", self.predictions]
        if self.cpu_budget_s:
            cmd += ["--checkpointloader#load_path", self.last_checkpoint]
        return cmd + _as_list(self.overrides)

    def link_test_images(self) -> None:
        """Symlink the test-split images into ``test_images`` (inference reads a folder)."""
        with open(os.path.join(REPO, self.data, "dataset.json")) as f:
            cases = json.load(f)["test"]
        target = os.path.join(REPO, self.test_images)
        os.makedirs(target, exist_ok=True)
        for case in cases:
            src = os.path.abspath(os.path.join(REPO, self.data, case["image"]))
            link = os.path.join(target, os.path.basename(case["image"]))
            if not os.path.lexists(link):
                os.symlink(src, link)

    @property
    def env(self) -> dict[str, str]:
        """Environment variables of the bundle commands."""
        return {"ZOO_SELECTIVE_SCAN_BACKEND": self.scan_backend} if self.scan_backend else {}

    def case_scores(self, per_class: bool = False) -> dict[str, dict]:
        """Per test case, the Dice and NSD of ``eval/test_{mean_dice,nsd}_raw.csv`` (mean over classes); with
        ``per_class``, also ``class_dice`` (``eval/test_dice_per_class_raw.csv``, ``None`` where a class is absent)."""
        cases: dict[str, dict] = {}
        columns = [("dice", "test_mean_dice"), ("nsd", "test_nsd")] + (
            [("class_dice", "test_dice_per_class")] * per_class
        )
        for metric, column in columns:
            with open(os.path.join(REPO, self.eval_dir, f"{column}_raw.csv")) as f:
                for record in csv.DictReader(f):
                    name = os.path.basename(record["filename"]).split(".")[0]
                    if metric == "class_dice":
                        values = [float(v) for k, v in record.items() if k.startswith("class")]
                        cases[name][metric] = [None if v != v else v for v in values]  # NaN: class absent
                    else:
                        cases.setdefault(name, {})[metric] = float(record["mean"])
        return cases

    def summary(self) -> dict:
        """Test-split metrics (``eval/metrics_summary.json``) plus the CPU budget record if training wrote one."""
        out = {}
        for name in ("metrics_summary.json", "cpu_budget.json"):
            path = os.path.join(REPO, self.eval_dir, name)
            if os.path.isfile(path):
                with open(path) as f:
                    out.update(json.load(f))
        return out


def _metrics_line(dataset: str, m: dict) -> str:
    line = f"== {DATASETS[dataset][1]} test split ({m.get('num_cases')} cases): Dice {m['test_mean_dice']:.4f}"
    line += f" | NSD@{m['nsd_tolerance_pixels']:g}px {m['test_nsd']:.4f}"
    if "test_instance_f1" in m:
        line += f" | instance F1@IoU0.5 {m['test_instance_f1']:.4f}"
    if "cpu_time_s" in m:
        line += f" | training: {m['iterations']} iterations, {m['cpu_time_s']:.0f} CPU-s"
    return line


def run(dataset: str, dry_run: bool = False, skip_prepare: bool = False, skip_infer: bool = False, **kwargs) -> dict:
    """
    Prepare the data, train, evaluate on the test split and run inference on the test images.

    Args:
        dataset: ``nuclei`` or ``brain``.
        dry_run: print the commands without running them.
        skip_prepare: do not run ``networks.apps.prepare_data`` (the data folder exists).
        skip_infer: stop after evaluation.
        kwargs: options of :class:`Workflow` (``network``, ``data_dir``, ``out_dir``, ``epochs``, ``cpu_budget_s``,
            ``patch_size``, ``batch_size``, ``num_samples``, ``warmup_epochs``, ``num_workers``, ``small``,
            ``overrides``).

    Returns:
        the test-split summary (empty for a dry run).
    """
    wf = Workflow(dataset, **kwargs)
    if not skip_prepare:
        run_step(wf.prepare_cmd(), dry_run, cwd=REPO)
    run_step(wf.train_cmd(), dry_run, REPO, env=wf.env)
    run_step(wf.evaluate_cmd(), dry_run, REPO, env=wf.env)
    if not skip_infer:
        if not dry_run:
            wf.link_test_images()
        run_step(wf.infer_cmd(), dry_run, REPO, env=wf.env)
    if dry_run:
        return {}
    m = wf.summary()
    print("\n" + _metrics_line(dataset, m))
    print(f"per-case metrics : {wf.eval_dir}/*_raw.csv, summary: {wf.eval_dir}/metrics_summary.json")
    print(f"figure           : {wf.eval_dir}/cases.png")
    best = "" if wf.cpu_budget_s else f"{wf.ckpt_dir}/model.pt (best), "
    print(f"checkpoint       : {best}{wf.last_checkpoint} (last, resume)")
    if not skip_infer:
        print(f"predictions      : {wf.predictions}/*_seg.nii.gz; TensorBoard: {wf.eval_dir}")
    return m


def count_parameters(wf: Workflow) -> int:
    """Trainable parameters of the workflow's network (bundle train.json + network fragment + overrides)."""
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    files = [os.path.join(REPO, wf.bundle, "configs", "train.json")]
    if wf.network:
        files.append(os.path.join(REPO, wf.network_file))
    parser.read_config(files)
    args = _as_list(wf.overrides)
    for key, value in zip(args[0::2], args[1::2]):
        try:
            parser[key.lstrip("-")] = json.loads(value)
        except json.JSONDecodeError:
            parser[key.lstrip("-")] = value
    net = parser.get_parsed_content("network_def")
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def _extra_args(kwargs: dict) -> str:
    return "".join(f" --{k} {shlex.quote(_arg(v))}" for k, v in kwargs.items() if k != "epochs")


def _row_command(dataset: str, network: str, cpu_budget_s: float, extra: str, seed: int) -> str:
    cmd = f"python scripts/run_workflow.py {dataset} --network {network} --cpu_budget_s {cpu_budget_s:g} --seed {seed}"
    return cmd + f" --epochs 1000 --skip_infer --out_dir runs/compare/{dataset}/{network}/seed{seed}" + extra


def results_file(dataset: str) -> str:
    return os.path.join("docs", "results", f"network_comparison_{DATASETS[dataset][1]}.json")


def compare(
    dataset: str,
    networks: str | list[str] = tuple(NETWORK_NAMES),
    cpu_budget_s: float = 120.0,
    seeds: str | list[int] = "0,1,2",
    results: str | None = None,
    dry_run: bool = False,
    **kwargs,
) -> dict:
    """
    Train and evaluate each network with each training seed on the same data and CPU budget; every finished run
    goes into ``docs/results/network_comparison_<data>.json`` at once (per-case test scores, command, commit, date,
    machine), and a run already there is not repeated, so an interrupted comparison continues where the file stops.
    Then :func:`publish` renders the table from that file.

    Each run gets ``runs/compare/<dataset>/<network>/seed<k>/{models,eval}`` and logs ``train.log``/``evaluate.log``;
    a run that fails (e.g. a network that cannot run at the bundle's patch size) is reported and left out.

    Args:
        dataset: ``nuclei`` or ``brain``.
        networks: names of ``networks/configs/network_def/*.json`` fragments; the first is the baseline row.
        cpu_budget_s: CPU seconds of training per run.
        seeds: training seeds (``"0,1,2"``).
        results: results file to record into instead of ``docs/results/network_comparison_<data>.json``; such a file
            is not rendered into the docs.
        dry_run: print the commands only (the results file is read, so a clash of settings shows up front).
        kwargs: further :class:`Workflow` options (``epochs`` defaults to 1000 so the budget ends training).
    """
    from networks.apps.evidence import add_run, git_commit, load_results, machine_description, parse_seeds

    networks = [networks] if isinstance(networks, str) else list(networks)
    kwargs.setdefault("epochs", 1000)
    if not kwargs.pop("skip_prepare", False):
        run_step(Workflow(dataset, data_dir=kwargs.get("data_dir")).prepare_cmd(), dry_run, cwd=REPO)
    path = os.path.abspath(results) if results else os.path.join(REPO, results_file(dataset))
    data = load_results(path, **_header(dataset, networks, cpu_budget_s, kwargs))
    machine = machine_description()
    for seed in parse_seeds(seeds):  # seed by seed, so that an interrupted run leaves every network with as many seeds
        for net in networks:
            if str(seed) in data["rows"].get(net, {}).get("runs", {}):
                continue
            wf = _compare_workflow(dataset, net, cpu_budget_s, kwargs, seed)
            try:
                for step, cmd in (("train", wf.train_cmd()), ("evaluate", wf.evaluate_cmd())):
                    log = None if dry_run else os.path.join(REPO, wf.out_dir, f"{step}.log")
                    run_step(cmd, dry_run, REPO, log=log, env=wf.env)
            except RuntimeError as err:
                print(f"== {net} seed {seed}: {err}")
                logs = [os.path.join(REPO, wf.out_dir, f"{step}.log") for step in ("evaluate", "train")]
                data.setdefault("failed", {})[f"{net} seed {seed}"] = next(
                    (e for e in map(_last_error, logs) if e), str(err)
                )
                write_json_atomic(path, data, indent=1)
                continue
            if dry_run:
                continue
            summary = wf.summary()
            run = {"command": _row_command(dataset, net, cpu_budget_s, _extra_args(kwargs), seed),
                   "commit": git_commit(REPO), "date": datetime.date.today().isoformat(), "machine": machine,
                   "iterations": summary.get("iterations"), "cpu_time_s": summary.get("cpu_time_s"),
                   "test_instance_f1": summary.get("test_instance_f1"), "cases": wf.case_scores()}  # fmt: skip
            data.get("failed", {}).pop(f"{net} seed {seed}", None)
            add_run(path, data, net, seed, run, label=NETWORK_NAMES.get(net, net), params=count_parameters(wf))
            print(_metrics_line(dataset, {**summary}), flush=True)
    if dry_run or results:
        return {}
    return publish(dataset)


def _header(dataset: str, networks: list[str], cpu_budget_s: float, kwargs: dict) -> dict:
    setting = {"cpu_budget_s": cpu_budget_s, **{k: v for k, v in sorted(kwargs.items()) if k != "data_dir"}}
    return {
        "experiment": "network_comparison",
        "title": f"{DATASETS[dataset][1]} (test split, {cpu_budget_s:g} CPU-seconds of training per run)",
        "baseline": networks[0],
        "setting": setting,
        "metrics": SEGMENTATION_METRICS,
        "targets": {"sections": _sections(dataset, f"results:{dataset}")},
    }


def _sections(dataset: str, tag: str) -> list[list[str]]:
    """The section ``tag`` in docs/results.md and in the bundle README, where a results file renders its table."""
    return [[RESULTS_FILE, tag], [os.path.join(Workflow(dataset).bundle, "docs", "README.md"), tag]]


def _compare_workflow(dataset: str, network: str, cpu_budget_s: float, kwargs: dict, seed: int) -> Workflow:
    out_dir = os.path.join("runs", "compare", dataset, network, f"seed{seed}")
    return Workflow(dataset, network=network, out_dir=out_dir, cpu_budget_s=cpu_budget_s, seed=seed, **kwargs)


def publish(dataset: str, source: str | None = None) -> dict:
    """Render a results file (default ``docs/results/network_comparison_<data>.json``) into the sections and metadata
    it names (docs/results.md, the bundle README; ``bundle_training_<data>.json`` also the bundle ``metadata.json``
    ``eval_metrics``)."""
    from networks.apps.evidence import rendered_targets

    source = source or results_file(dataset)
    for path, text in rendered_targets(REPO, source).items():
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        print(f"rendered {source} into {os.path.relpath(path, REPO)}")
    with open(os.path.join(REPO, source)) as f:
        return json.load(f)


def bundle_training_file(dataset: str) -> str:
    return os.path.join("docs", "results", f"bundle_training_{DATASETS[dataset][1]}.json")


def _training_line(log: str) -> dict:
    """Epochs run, wall time and best validation score from the console's last line of a training log."""
    text = open(log, errors="replace").read() if os.path.isfile(log) else ""
    found = re.findall(r"finished at epoch (\d+)/(\d+) in ([\d:]+)(?:; best (\w+) ([\d.]+) at epoch (\d+))?", text)
    if not found:
        return {}
    epoch, _, wall, name, best, best_epoch = found[-1]
    seconds = sum(int(p) * 60**i for i, p in enumerate(reversed(wall.split(":"))))
    out = {"epochs": int(epoch), "training_wall_s": seconds}
    if name:
        out.update({"validation_metric": name, "best_validation": float(best), "best_epoch": int(best_epoch)})
    return out


def default(dataset: str, seeds: str | list[int] = "0,1,2", results: str | None = None, dry_run: bool = False,
            skip_prepare: bool = False, data_dir: str | None = None, overrides: str | None = None,
            out_root: str = os.path.join("runs", "default")) -> dict:  # fmt: skip
    """
    Run the bundle's default training as its README does (no option but the seed and the output folders), evaluate
    the model it selects (``models/model.pt``, best validation Dice) on the test split, and record each seed's
    per-case (and per-class) test scores with the commands, commit, date and machine in
    ``docs/results/bundle_training_<data>.json``, which renders the bundle's ``metadata.json`` ``eval_metrics`` and
    the sections of its README and docs/results.md. A seed already in the file is not repeated; an interrupted
    training resumes from its ``checkpoints/checkpoint_last.pt``.

    Args:
        dataset: ``nuclei`` or ``brain``.
        seeds: training seeds (``"0,1,2"``).
        results: results file to record into instead of the committed one (not rendered).
        dry_run: print the commands only.
        skip_prepare: do not run ``networks.apps.prepare_data``.
        data_dir: prepared dataset folder (default ``data/<nuclei2d|brain2d>``).
        overrides: extra ``--id value`` arguments of every bundle command (e.g. a short schedule); these change the
            default training, so they need ``results``.
        out_root: each seed trains in ``<out_root>/<dataset>/seed<k>`` (``models``, ``checkpoints``, ``eval``, logs).
    """
    from networks.apps.evidence import add_run, git_commit, load_results, machine_description, parse_seeds

    if (overrides or data_dir) and not results:
        raise ValueError("--overrides/--data_dir change the default training: record it with --results FILE")
    if not skip_prepare:
        run_step(Workflow(dataset, data_dir=data_dir).prepare_cmd(), dry_run, cwd=REPO)
    path = os.path.abspath(results) if results else os.path.join(REPO, bundle_training_file(dataset))
    data = load_results(path, **_default_header(dataset))
    for seed in parse_seeds(seeds):
        if str(seed) in data["rows"].get("default", {}).get("runs", {}):
            continue
        out_dir = os.path.join(out_root, dataset, f"seed{seed}")
        wf = Workflow(dataset, data_dir=data_dir, out_dir=out_dir, seed=seed, overrides=overrides, bundle_defaults=True)
        train = wf.train_cmd()
        if not dry_run and os.path.isfile(os.path.join(REPO, wf.last_checkpoint)):
            train += ["--resume", "True"]
        logs = {step: None if dry_run else os.path.join(REPO, out_dir, f"{step}.log") for step in ("train", "evaluate")}
        run_step(train, dry_run, REPO, log=logs["train"], env=wf.env)
        run_step(wf.evaluate_cmd(), dry_run, REPO, log=logs["evaluate"], env=wf.env)
        if dry_run:
            continue
        relative = [show_command(c) for c in (wf.train_cmd(), wf.evaluate_cmd())]
        command = f"python scripts/run_workflow.py default {dataset} --seeds {seed}"
        command += "".join(
            f" --{k} {shlex.quote(v)}" for k, v in (("data_dir", data_dir), ("overrides", overrides)) if v
        )
        run = {"command": command, "bundle_commands": relative,
               "commit": git_commit(REPO), "date": datetime.date.today().isoformat(), "machine": machine_description(),
               **_training_line(logs["train"]), "cases": wf.case_scores(per_class=True)}  # fmt: skip
        if "figure" not in data:  # the evaluation's figure of test cases with their predictions, first seed only
            figure = os.path.splitext(path)[0] + ".png"
            shutil.copyfile(os.path.join(REPO, wf.eval_dir, "cases.png"), figure)
            data["figure"] = {"seed": seed, "path": os.path.relpath(figure, REPO)}
        add_run(path, data, "default", seed, run, label=_default_label(dataset), params=count_parameters(wf))
        print(_metrics_line(dataset, wf.summary()), flush=True)
    if dry_run or results:
        return {}
    return publish(dataset, bundle_training_file(dataset))


def convergence_file(dataset: str) -> str:
    return os.path.join("docs", "results", f"network_convergence_{DATASETS[dataset][1]}.json")


def converge(
    dataset: str,
    networks: str | list[str] = tuple(NETWORK_NAMES),
    seeds: str | list[int] = "0,1,2",
    small: bool = True,
    results: str | None = None,
    dry_run: bool = False,
    skip_prepare: bool = False,
    out_root: str | None = None,
    overrides: str | None = None,
    data_dir: str | None = None,
) -> dict:
    """
    Train every network with the bundle's own recipe (its epochs, schedule, patches, batch and validation every
    epoch; only the network changes) and evaluate the model each run selects (best validation Dice) on the test
    split. Each finished run goes into ``docs/results/network_convergence_<data>.json`` at once, with its per-case
    test scores, its validation curve (read back from the run's TensorBoard events), commands, commit, date and
    machine; a run already there is skipped and an interrupted training resumes from its last checkpoint. The
    curves of all runs are drawn into ``docs/results/network_convergence_<data>.png``.

    Args:
        dataset: ``nuclei`` or ``brain``.
        networks: names of ``networks/configs/network_def/*.json`` fragments; the first is the baseline row.
        seeds: training seeds (``"0,1,2"``).
        small: Swin-UMamba(-D) at the reduced width of the nuclei bundle's default (``SMALL_SWIN_UMAMBA``), so that
            80 epochs fit a CPU session; the other networks at their fragments' widths.
        results: results file to record into instead of the committed one (not rendered).
        dry_run: print the commands only.
        skip_prepare: do not run ``networks.apps.prepare_data``.
        out_root: each run trains in ``<out_root>/<dataset>/<network>/seed<k>`` (default ``runs/converge``, or
            ``runs/converge_<results file name>`` with ``results``, so that a check never resumes into the real runs).
        overrides: extra ``--id value`` arguments of every bundle command (e.g. a short schedule for a check); they
            change the recipe, so they need ``results``.
        data_dir: prepared dataset folder (default ``data/<nuclei2d|brain2d>``); another one needs ``results``.
    """
    from networks.apps.curves import plot_curves, scalar_curve
    from networks.apps.evidence import add_run, git_commit, load_results, machine_description, parse_seeds

    networks = [networks] if isinstance(networks, str) else list(networks)
    if (overrides or data_dir) and not results:
        raise ValueError("--overrides/--data_dir change the experiment: record the runs with --results FILE")
    if not skip_prepare:
        run_step(Workflow(dataset, data_dir=data_dir).prepare_cmd(), dry_run, cwd=REPO)
    path = os.path.abspath(results) if results else os.path.join(REPO, convergence_file(dataset))
    data = load_results(path, **_convergence_header(dataset, networks, small))
    if out_root is None:
        out_root = os.path.join(
            "runs", "converge" + (f"_{os.path.splitext(os.path.basename(path))[0]}" if results else "")
        )
    for seed in parse_seeds(seeds):  # seed by seed: an interrupted run leaves every network with as many seeds
        for net in networks:
            if str(seed) in data["rows"].get(net, {}).get("runs", {}):
                continue
            out_dir = os.path.join(out_root, dataset, net, f"seed{seed}")
            wf = Workflow(dataset, network=net, data_dir=data_dir, out_dir=out_dir, seed=seed, small=small,
                          overrides=overrides, bundle_defaults=True)  # fmt: skip
            logs = {s: None if dry_run else os.path.join(REPO, out_dir, f"{s}.log") for s in ("train", "evaluate")}
            segments = [] if dry_run else _training_segments(os.path.join(REPO, out_dir))
            if not (segments and segments[-1]["finished"]):  # an interrupted run resumes; a finished one is kept
                train = wf.train_cmd()
                if not dry_run and os.path.isfile(os.path.join(REPO, wf.last_checkpoint)):
                    train += ["--resume", "True"]
                if not dry_run and os.path.isfile(logs["train"]):  # keep the interrupted attempt's log: its time
                    earlier = len(glob.glob(os.path.join(REPO, out_dir, "train.*.log")))
                    os.replace(logs["train"], os.path.join(REPO, out_dir, f"train.{earlier}.log"))
                run_step(train, dry_run, REPO, log=logs["train"], env=wf.env)
            run_step(wf.evaluate_cmd(), dry_run, REPO, log=logs["evaluate"], env=wf.env)
            if dry_run:
                continue
            segments = _training_segments(os.path.join(REPO, out_dir))
            curve = scalar_curve(os.path.join(REPO, wf.eval_dir), "val_mean_dice")
            best_epoch, best = max(curve, key=lambda point: (point[1], -point[0]))
            command = f"python scripts/run_workflow.py converge {dataset} --networks {net} --seeds {seed}"
            command += (
                (f" --data_dir {data_dir}" if data_dir else "")
                + ("" if small else " --small False")
                + (f" --overrides={shlex.quote(overrides)}" if overrides else "")
            )
            bundle_commands = [show_command(c) for c in (wf.train_cmd(), wf.evaluate_cmd())]
            run = {"command": command, "bundle_commands": bundle_commands, "commit": git_commit(REPO),
                   "date": datetime.date.today().isoformat(), "machine": machine_description(),
                   "epochs": segments[-1].get("epochs"), "training_wall_s": sum(g["training_wall_s"] for g in segments),
                   "training_segments": len(segments), "best_validation": best, "best_epoch": int(best_epoch),
                   "validation_curve": curve, "cases": wf.case_scores()}  # fmt: skip
            data["figure"] = os.path.splitext(os.path.relpath(path, REPO))[0] + ".png"
            add_run(path, data, net, seed, run, label=NETWORK_NAMES.get(net, net), params=count_parameters(wf))
            curves = {e["label"]: [r["validation_curve"] for r in e["runs"].values()] for e in data["rows"].values()}
            plot_curves(curves, os.path.join(REPO, data["figure"]), data["title"], "validation Dice")
            print(_metrics_line(dataset, wf.summary()), flush=True)
    if dry_run or results:
        return {}
    return publish(dataset, convergence_file(dataset))


def _convergence_header(dataset: str, networks: list[str], small: bool) -> dict:
    with open(os.path.join(REPO, Workflow(dataset).bundle, "configs", "train.json")) as f:
        epochs = json.load(f)["epochs"]
    width = "Swin-UMamba(-D) at reduced width (SMALL_SWIN_UMAMBA)" if small else "every network at full width"
    return {
        "experiment": "network_convergence",
        "title": f"{DATASETS[dataset][1]} test split, every network trained with the bundle's recipe "
        f"({epochs} epochs)",
        "baseline": networks[0],
        "setting": {"recipe": "bundle defaults", "epochs": epochs, "small": small},
        "metrics": SEGMENTATION_METRICS,
        "notes": [
            f"One recipe for every row: the bundle's default training ({epochs} epochs, its schedule, patches, batch "
            f"and validation every epoch) with only the network fragment changed; {width}; SwinUNETR is MONAI's v2 "
            "with feature_size 24 (networks/configs/network_def/swinunetr.json)."
        ],
        "targets": {"sections": _sections(dataset, f"converged:{dataset}")},
    }


def _training_segments(out_dir: str) -> list[dict]:
    """What each training log of a run says (``train.0.log``, ``train.1.log``, ... of earlier, resumed attempts, then
    ``train.log``): epochs, wall time, and whether it finished its schedule."""
    logs = sorted(glob.glob(os.path.join(out_dir, "train.*.log")), key=lambda p: int(p.rsplit(".", 2)[-2]))
    logs += [os.path.join(out_dir, "train.log")] * os.path.isfile(os.path.join(out_dir, "train.log"))
    segments = []
    for log in logs:
        line = _training_line(log)
        text = open(log, errors="replace").read()
        done = re.findall(r"finished at epoch (\d+)/(\d+)", text)
        segments.append({"training_wall_s": 0, **line, "finished": bool(done) and done[-1][0] == done[-1][1]})
    return segments


def _default_label(dataset: str) -> str:
    return f"{DATASETS[dataset][0]} default training"


def _default_header(dataset: str) -> dict:
    bundle = Workflow(dataset).bundle
    with open(os.path.join(REPO, bundle, "configs", "metadata.json")) as f:
        channels = json.load(f)["network_data_format"]["outputs"]["pred"]["channel_def"]
    return {
        "experiment": "bundle_training",
        "title": f"{DATASETS[dataset][1]} test split, the bundle's default training",
        "baseline": "default",
        "setting": {"bundle": DATASETS[dataset][0]},
        "metrics": SEGMENTATION_METRICS,
        "classes": [channels[k] for k in sorted(channels, key=int)][1:],
        "targets": {
            "sections": _sections(dataset, f"default:{dataset}"),
            "metadata": os.path.join(bundle, "configs", "metadata.json"),
        },
    }


def _last_error(log: str) -> str | None:
    if not os.path.isfile(log):
        return None
    lines = [line.strip() for line in open(log, errors="replace") if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]*(Error|Exception)\b", line)]
    causes = [line for line in errors if "Failed to evaluate" not in line]  # monai.bundle wraps the cause
    return (causes or errors or lines or [None])[-1]


if __name__ == "__main__":

    def _cli(func, *args):
        def command(*more, **kwargs):
            func(*args, *more, **kwargs)  # results are printed; return nothing so fire prints nothing more

        command.__doc__ = func.__doc__
        return command

    commands = {"nuclei": _cli(run, "nuclei"), "brain": _cli(run, "brain")}
    fire.Fire({**commands, "compare": _cli(compare), "converge": _cli(converge), "default": _cli(default),
               "publish": _cli(publish)})  # fmt: skip
