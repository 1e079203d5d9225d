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
SynCXR's experiment offline (docs/results.md, "Synthetic CXR vision-language pretraining"): pretrain on

- ``real``: real Indiana University report texts, images rendered from each report's own MeSH findings
  (the real, long-tailed distribution),
- ``synthetic``: balanced synthetic pairs (sampler -> verified reports from real sentences -> phantom images),
- ``both``: half of each,

with the same number of pairs, epochs and batch, for each seed (the seed draws the pairs and trains), then evaluate
every model the same way through the bundle's workflows:

- zero-shot classification on the held-out test phantoms drawn by the training renderer (``test``) and by a renderer
  style never used for training (``test_shifted``), with the calibration fitted on validation phantoms applied;
- zero-shot classification of the same held-out reports by the text tower (``text``), against their MeSH labels;
- grounding on the test phantoms, and the real radiograph (pydicom-data's ``RG1_UNCI.dcm``) as it comes out.

Usage (repository root)::

    python -m networks.apps.prepare_data cxr_reports --out data/cxr_reports
    python scripts/vlp_experiment.py run --seeds 0,1,2       # 9 ConVIRT runs, about 11 min each on 2 CPU cores
    python scripts/vlp_experiment.py run --seeds 0 --num_pairs 40 --epochs 1 --num_test_cases 40 \\
        --num_val_cases 40 --work_dir /tmp/vlp --results /tmp/vlp.json   # a small check, not rendered

Each finished run (a source, a loss and a seed, bundle root ``<work_dir>/<source>_<loss>/seed<k>``) is recorded at
once in ``docs/results/vlp_synthetic_cxr.json`` (commands, commit, date, machine, every test case's probabilities on
each evaluation, the summaries), and a run already there is skipped, so an interrupted experiment continues where the
file stops. The tables between the ``<!-- results:synthetic_cxr_vlp -->`` markers of ``docs/results.md`` and of the
bundle's ``docs/README.md`` are rendered from that file (``python scripts/render_results.py``).
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import sys
import time

import fire
import torch

from networks.apps.evidence import (
    add_run,
    bundle_targets,
    git_commit,
    load_results,
    machine_description,
    parse_seeds,
    write_rendered_targets,
)
from networks.apps.steps import run_step, show_command

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
__all__ = ["SOURCES", "LOSSES", "EVALUATIONS", "run"]

BUNDLE = os.path.join("bundle", "synthetic_cxr_vlp")
SOURCES = {"real": "(a) real-distribution", "synthetic": "(b) balanced synthetic", "both": "(c) both, half each"}
LOSSES = {"convirt": "ConVIRT", "gloria": "GLoRIA"}
# evaluation -> (label, bundle config, test set folder under <work_dir>/data, output folder under the bundle root)
EVALUATIONS = {
    "test": ("images, training renderer", "zeroshot", "test", "eval/zeroshot"),
    "test_shifted": ("images, shifted renderer", "zeroshot", "test_shifted", "eval/zeroshot_shifted"),
    "text": ("reports, text tower", "text_zeroshot", "test", "eval/text_zeroshot"),
}


# the experiment's settings as ``run`` defaults them (a recorded command names only the ones that differ)
DEFAULTS = {"num_pairs": 1000, "epochs": 8, "batch_size": 32, "num_test_cases": None, "num_val_cases": 800}


def results_file() -> str:
    return os.path.join("docs", "results", "vlp_synthetic_cxr.json")


def _command(config: str, bundle_root: str, reports_dir: str, source: str, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "monai.bundle", "run",
        "--config_file", f"{BUNDLE}/configs/{config}.json",
        "--meta_file", f"{BUNDLE}/configs/metadata.json",
        "--logging_file", f"{BUNDLE}/configs/logging.conf",
        "--bundle_root", bundle_root,
        "--prompts_file", f"{BUNDLE}/configs/prompts.json",
        "--reports_dir", reports_dir,
        "--source", source,
        *extra,
    ]  # fmt: skip


def _header(setting: dict, class_names: list[str]) -> dict:
    return {
        "experiment": "vlp_comparison",
        "title": f"Zero-shot findings after pretraining on {setting['num_pairs']} pairs of each kind, "
        f"{setting['epochs']} epochs",
        "baseline": "real_convirt",
        "setting": setting,
        "classes": class_names,
        "evaluations": {name: spec[0] for name, spec in EVALUATIONS.items()},
        "labels": {},
        "notes": [
            "Every row is the bundle's recipe (ResNet-18 from random weights + all-MiniLM-L6-v2 with its last 2 "
            "layers trained, AdamW 1e-4, batch 32) with only the pairs (--source) and the loss changed; the seed "
            "draws the pairs and trains. The test sets are fixed: the held-out IU test reports, each drawn from its "
            "own MeSH findings; both image sets are drawn from the same reports with the same image seeds."
        ],
        "targets": bundle_targets(
            BUNDLE,
            "results:synthetic_cxr_vlp",
            metadata_row="synthetic_convirt",  # the bundle's defaults: balanced synthetic pairs, ConVIRT
            metadata_names={
                "test": "zeroshot_mean_auc_training_renderer",
                "test_shifted": "zeroshot_mean_auc_shifted_renderer",
                "text": "text_zeroshot_mean_auc",
            },
            metadata_note="phantom test images drawn from held-out report findings, not clinical performance",
        ),
    }


def _datalist_labels(datalist_file: str, class_names: list[str]) -> dict[str, str]:
    """Case id (image name without extension) -> its 0/1 labels as text, in the datalist's order."""
    with open(datalist_file) as f:
        items = json.load(f)["test"]
    return {
        os.path.basename(i["image"]).split(".")[0]: " ".join(str(int(i["labels"][c])) for c in class_names)
        for i in items
    }


def _probabilities(predictions_csv: str, cases: list[str], class_names: list[str]) -> dict[str, str]:
    """Case id -> the probabilities of ``predictions_csv`` as text (5 decimals, as the workflow writes them, in
    ``class_names`` order). Rows are in the datalist's order; an image row must name its case."""
    with open(predictions_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(cases):
        raise ValueError(f"{predictions_csv}: {len(rows)} rows for {len(cases)} test cases")
    out = {}
    for case, row in zip(cases, rows):
        name = os.path.basename(row["file"]).split(".")[0]
        if not name.startswith("case_") and name != case:
            raise ValueError(f"{predictions_csv}: row of {row['file']} where {case} was expected")
        out[case] = " ".join(f"{float(row[c]):.5f}" for c in class_names)
    return out


def _summary(path: str) -> dict:
    with open(path) as f:
        summary = json.load(f)
    keep = {k: summary[k] for k in ("mean_auc", "mean_f1", "mean_acc", "ece", "num_cases") if k in summary}
    if "calibrated" in summary:
        keep["calibrated"] = {k: summary["calibrated"][k] for k in ("mean_f1", "mean_acc", "ece")}
    return keep


def _dicom(folder: str, class_names: list[str]) -> dict:
    """The real radiograph's probabilities, calibrated probabilities and classes called present."""
    with open(os.path.join(folder, "zeroshot_predictions.csv"), newline="") as f:
        raw = next(csv.DictReader(f))
    out = {"file": raw["file"], "probabilities": {c: round(float(raw[c]), 4) for c in class_names}}
    calibrated = os.path.join(folder, "zeroshot_predictions_calibrated.csv")
    if os.path.isfile(calibrated):
        with open(calibrated, newline="") as f:
            row = next(csv.DictReader(f))
        out["calibrated"] = {c: round(float(row[c]), 4) for c in class_names}
        out["present"] = row["present"]
    return out


def run(
    reports_dir: str = "data/cxr_reports",
    work_dir: str = "runs/vlp",
    num_pairs: int = 1000,
    epochs: int = 8,
    batch_size: int = 32,
    seeds: str | list[int] = "0,1,2",
    sources: list[str] | tuple[str, ...] | None = None,
    losses: list[str] | tuple[str, ...] | None = ("convirt",),
    num_test_cases: int | None = None,
    num_val_cases: int = 800,
    results: str | None = None,
    dry_run: bool = False,
) -> dict:
    """
    Generate the pairs of each source and seed, then train and evaluate every (source, loss, seed) run; record each
    finished run in the results file and render it.

    Args:
        reports_dir: prepared ``cxr_reports`` folder.
        work_dir: folder of the data and of one bundle root per run.
        num_pairs: pairs per source (the same for all).
        epochs: training epochs of every run.
        batch_size: training batch of every run.
        seeds: seeds, seed by seed across the rows, so an interrupted experiment leaves every row with as many
            seeds; a run already in the file is not repeated.
        sources: subset of ``SOURCES`` (default: all).
        losses: subset of ``LOSSES`` (default: ConVIRT only; a GLoRIA run takes about 3x as long on CPU).
        num_test_cases: test reports to use (default: all 863 test-split reports with text).
        num_val_cases: validation phantoms the calibration is fitted on.
        results: results file to record into instead of ``docs/results/vlp_synthetic_cxr.json`` (not rendered).
        dry_run: print the commands only.
    """
    sources = [sources] if isinstance(sources, str) else list(sources or SOURCES)
    losses = [losses] if isinstance(losses, str) else list(losses or LOSSES)
    if set(sources) - set(SOURCES) or set(losses) - set(LOSSES):
        raise ValueError(f"sources must be in {list(SOURCES)} and losses in {list(LOSSES)}")
    with open(os.path.join(REPO, BUNDLE, "configs", "prompts.json")) as f:
        class_names = list(json.load(f))
    setting = {"num_pairs": num_pairs, "epochs": epochs, "batch_size": batch_size, "num_test_cases": num_test_cases,
               "num_val_cases": num_val_cases}  # fmt: skip
    path = os.path.abspath(results) if results else os.path.join(REPO, results_file())
    data = load_results(path, **_header(setting, class_names))
    sets = {"test": "training", "test_shifted": "shifted"}
    sizes = ["--num_val_cases", str(num_val_cases)] + (
        ["--num_test_cases", str(num_test_cases)] if num_test_cases else []
    )
    val_dir = f"{work_dir}/data/val"
    for seed in parse_seeds(seeds):
        for source in sources:
            pairs = ["--pairs_dir", f"{work_dir}/data/seed{seed}/pairs_{source}"]
            # the pairs of this seed; the test sets and the validation phantoms once (the same for every run)
            generate = [
                _command("generate", f"{work_dir}/data", reports_dir, source,
                         [*pairs, "--test_dir", f"{work_dir}/data/{folder}", "--test_style", style, "--val_dir",
                          val_dir, "--num_pairs", str(num_pairs), "--seed", str(seed), *sizes])
                for folder, style in sets.items()
            ]  # fmt: skip
            for loss in losses:
                name = f"{source}_{loss}"
                if str(seed) in data["rows"].get(name, {}).get("runs", {}):
                    continue
                root = f"{work_dir}/{name}/seed{seed}"
                test = ["--test_dir", f"{work_dir}/data/test", "--val_dir", val_dir]
                steps = {f"generate_{folder}": cmd for folder, cmd in zip(sets, generate)}
                steps["train"] = _command(
                    "train", root, reports_dir, source,
                    [*pairs, *test, "--loss_name", loss, "--epochs", str(epochs), "--batch_size", str(batch_size),
                     "--seed", str(seed)],
                )  # fmt: skip
                steps["calibrate"] = _command("calibrate", root, reports_dir, source, test)
                for evaluation, (_, config, folder, output) in EVALUATIONS.items():
                    extra = ["--test_dir", f"{work_dir}/data/{folder}", "--output_dir", f"{root}/{output}"]
                    steps[evaluation] = _command(config, root, reports_dir, source, extra)
                steps["grounding"] = _command("grounding", root, reports_dir, source, test)
                steps["dicom"] = _command(
                    "zeroshot", root, reports_dir, source,
                    ["--input_dir", f"{reports_dir}/dicom", "--output_dir", f"{root}/eval/dicom"],
                )  # fmt: skip
                seconds = {}
                for step, cmd in steps.items():
                    log_dir = f"{work_dir}/data" if step.startswith("generate") else root
                    log = None if dry_run else os.path.join(REPO, log_dir, f"{step}_{source}_seed{seed}.log")
                    start = time.perf_counter()
                    run_step(cmd, dry_run, REPO, log=log)
                    seconds[step] = round(time.perf_counter() - start, 1)
                if dry_run:
                    continue
                options = {"num_pairs": num_pairs, "epochs": epochs, "batch_size": batch_size,
                           "num_test_cases": num_test_cases, "num_val_cases": num_val_cases}  # fmt: skip
                command = f"python scripts/vlp_experiment.py run --seeds {seed} --sources {source} --losses {loss} "
                command += f"--work_dir {work_dir}" + "".join(
                    f" --{k} {v}" for k, v in options.items() if v != DEFAULTS[k]
                )  # the options that differ from the defaults, so that the command reproduces the run
                _record(data, path, work_dir, root, name, seed, steps, class_names, seconds, command)
    if dry_run or results:
        return data
    write_rendered_targets(REPO, results_file())
    return data


def _record(
    data: dict,
    path: str,
    work_dir: str,
    root: str,
    name: str,
    seed: int,
    steps: dict,
    class_names: list,
    seconds: dict,
    command: str,
):
    """Read one finished run's evaluation files and add it to the results file (with each step's wall seconds; a
    generation step that found its data written takes seconds)."""
    labels = {folder: _datalist_labels(os.path.join(REPO, work_dir, "data", folder, "datalist.json"), class_names)
              for folder in ("test", "test_shifted")}  # fmt: skip
    if labels["test"] != labels["test_shifted"]:
        raise ValueError(f"{work_dir}/data: the two test sets hold different cases or labels")
    if data["labels"] and data["labels"] != labels["test"]:
        raise ValueError(f"{path} was recorded with another test set than {work_dir}/data/test")
    data["labels"] = labels["test"]
    cases = list(labels["test"])
    record = {
        "command": command,
        "commit": git_commit(REPO),
        "date": datetime.date.today().isoformat(),
        "machine": f"{machine_description()}, torch {torch.__version__}",
        "bundle_commands": [show_command(cmd) for cmd in steps.values()],
        "step_seconds": seconds,
        "summaries": {},
        "cases": {case: {} for case in cases},
    }
    for evaluation, (_, config, _, output) in EVALUATIONS.items():
        folder = os.path.join(REPO, root, output)
        record["summaries"][evaluation] = _summary(os.path.join(folder, "zeroshot_summary.json"))
        for case, probs in _probabilities(os.path.join(folder, "zeroshot_predictions.csv"), cases, class_names).items():
            record["cases"][case][evaluation] = probs
    with open(os.path.join(REPO, root, "models", "calibration.json")) as f:
        calibration = json.load(f)
    record["summaries"]["validation"] = {k: calibration[k] for k in ("ece_before", "ece_after")}
    with open(os.path.join(REPO, root, "eval", "grounding", "grounding_summary.json")) as f:
        grounding = json.load(f)
    record["summaries"]["grounding"] = {k: round(grounding[k], 4) for k in ("mean_iou", "mean_dice")}
    record["dicom"] = _dicom(os.path.join(REPO, root, "eval", "dicom"), class_names)
    source, loss = name.split("_", 1)
    add_run(path, data, name, seed, record, label=f"{SOURCES[source]}, {LOSSES[loss]}")
    print(f"{name} seed {seed}: " + ", ".join(
        f"{e} AUC {record['summaries'][e]['mean_auc']:.4f}" for e in EVALUATIONS), flush=True)  # fmt: skip


if __name__ == "__main__":
    # results go to the results file and the docs: do not print the returned dictionary as well
    fire.Fire({"run": run}, serialize=lambda result: None)
