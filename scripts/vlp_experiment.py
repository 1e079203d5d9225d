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

with the same number of pairs, epochs, batch and seed, for ConVIRT and GLoRIA, then evaluate zero-shot
classification and grounding on the one fixed held-out test set (test-split reports, rendered from their MeSH
findings). Every step is the bundle's ``python -m monai.bundle run`` command, printed before it runs.

Usage (repository root)::

    python -m networks.apps.prepare_data cxr_reports --out data/cxr_reports
    python scripts/vlp_experiment.py run --losses "['convirt']"   # the 3 rows of docs/results.md (~8 min each here)
    python scripts/vlp_experiment.py run                          # + GLoRIA rows (~21 min each here)
    python scripts/vlp_experiment.py run --losses "['convirt']" --num_pairs 200 --epochs 1 --write_docs False

It writes ``<work_dir>/data/`` (pairs and test set), ``<work_dir>/<source>_<loss>/`` (models, eval),
``<work_dir>/experiment.json`` and the table between the ``<!-- results:synthetic_cxr_vlp -->`` markers of
``docs/results.md`` and of the bundle's ``docs/README.md``.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import platform
import sys

import fire
import torch

from networks.apps.steps import replace_section, run_step, show_command
from networks.data.file_io import write_json_atomic

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
__all__ = ["SOURCES", "LOSSES", "run"]

BUNDLE = os.path.join("bundle", "synthetic_cxr_vlp")
SOURCES = {"real": "(a) real-distribution", "synthetic": "(b) balanced synthetic", "both": "(c) both, half each"}
LOSSES = {"convirt": "ConVIRT", "gloria": "GLoRIA"}


def _command(config: str, bundle_root: str, work_dir: str, reports_dir: str, source: str, extra: list[str]):
    return [
        sys.executable, "-m", "monai.bundle", "run",
        "--config_file", f"{BUNDLE}/configs/{config}.json",
        "--meta_file", f"{BUNDLE}/configs/metadata.json",
        "--logging_file", f"{BUNDLE}/configs/logging.conf",
        "--bundle_root", bundle_root,
        "--prompts_file", f"{BUNDLE}/configs/prompts.json",
        "--reports_dir", reports_dir,
        "--source", source,
        "--pairs_dir", f"{work_dir}/data/pairs_{source}",
        "--test_dir", f"{work_dir}/data/test",
        *extra,
    ]  # fmt: skip


def _recorded(path: str) -> dict | None:
    """What a finished row's ``run.json`` records (its train command and data manifests), if anything."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _manifests(work_dir: str, source: str) -> list[str]:
    """sha256 of the pairs' and the test set's manifests (a regenerated dataset gets new ones)."""
    digests = []
    for folder in (f"pairs_{source}", "test"):
        path = os.path.join(REPO, work_dir, "data", folder, "manifest.json")
        digests.append(hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.isfile(path) else "")
    return digests


def _load(path: str) -> dict:
    with open(os.path.join(REPO, path)) as f:
        return json.load(f)


def _table(results: dict) -> str:
    classes = [r["class"] for r in results["rows"][0]["zeroshot"]["per_class"]]
    head = (
        "| pretraining pairs | loss | mean AUC | mean F1 | mean ACC | "
        + " | ".join(classes)
        + " | grounding IoU | Dice |"
    )
    lines = [head, "|" + "---|" * (7 + len(classes))]
    for row in results["rows"]:
        z, g = row["zeroshot"], row["grounding"]
        aucs = " | ".join(f"{c['auc']:.3f}" for c in z["per_class"])
        lines.append(
            f"| {SOURCES[row['source']]} | {LOSSES[row['loss']]} | {z['mean_auc']:.4f} | {z['mean_f1']:.4f} | "
            f"{z['mean_acc']:.4f} | {aucs} | {g['mean_iou']:.4f} | {g['mean_dice']:.4f} |"
        )
    test = results["rows"][0]["zeroshot"]
    positives = ", ".join(f"{c['class']} {c['positives']}" for c in test["per_class"])
    lines += [
        "",
        f"Per-class columns: zero-shot AUC. {results['num_pairs']} pairs per row, {results['epochs']} epochs, batch "
        f"{results['batch_size']}, seed {results['seed']}; test set: {test['num_cases']} held-out reports "
        f"(positives: {positives}); {results['machine']}, {results['date']}. Commands (the data once per source, "
        "then per row: train, zeroshot, grounding):",
        "",
    ]
    for source, command in results["generate_commands"].items():
        lines.append(f"- data ({source}): `{command}`")
    for row in results["rows"]:
        lines.append(
            f"- {row['source']} / {row['loss']}: `{row['train_command']}`; then the same with "
            "`configs/zeroshot.json` and `configs/grounding.json` in place of `configs/train.json`"
        )
    if results.get("dicom"):
        probs = ", ".join(f"{k} {float(v):.3f}" for k, v in results["dicom"]["probabilities"].items())
        lines += [
            "",
            f"Real radiograph (`RG1_UNCI.dcm` of pydicom-data, CR PA chest, MONOCHROME1), zero-shot with the "
            f"{results['dicom']['row']} model: {probs}. It shows that a real clinical DICOM loads and runs through the "
            f"workflow (`{results['dicom']['command']}`); the numbers mean nothing clinically (phantom-trained model).",
        ]
    return "\n".join(lines)


def run(
    reports_dir: str = "data/cxr_reports",
    work_dir: str = "runs/vlp",
    num_pairs: int = 1000,
    epochs: int = 8,
    batch_size: int = 32,
    seed: int = 0,
    sources: list[str] | tuple[str, ...] | None = None,
    losses: list[str] | tuple[str, ...] | None = None,
    dry_run: bool = False,
    write_docs: bool = True,
    reuse: bool = True,
) -> dict:
    """
    Generate the pairs of each source, then train and evaluate every (source, loss) row.

    Args:
        reports_dir: prepared ``cxr_reports`` folder.
        work_dir: folder of the data and of one bundle root per row.
        num_pairs: pairs per source (the same for all).
        epochs: training epochs of every row.
        batch_size: training batch of every row.
        seed: seed of generation and training.
        sources: subset of ``SOURCES`` (default: all).
        losses: subset of ``LOSSES`` (default: all).
        dry_run: print the commands only.
        write_docs: write the table into docs/results.md and the bundle README (only when every source ran).
        reuse: keep a row whose evaluations exist and whose ``run.json`` records the same train command and the same
            data manifests, so an interrupted experiment resumes where it stopped (generation of a finished dataset
            is skipped by the workflow itself).
    """
    sources = list(sources or SOURCES)
    losses = list(losses or LOSSES)
    if set(sources) - set(SOURCES) or set(losses) - set(LOSSES):
        raise ValueError(f"sources must be in {list(SOURCES)} and losses in {list(LOSSES)}")
    generate_commands = {}
    for source in sources:
        cmd = _command(
            "generate",
            f"{work_dir}/data",
            work_dir,
            reports_dir,
            source,
            ["--num_pairs", str(num_pairs), "--seed", str(seed)],
        )
        run_step(cmd, dry_run, REPO, log=os.path.join(REPO, work_dir, "data", f"generate_{source}.log"))
        generate_commands[source] = show_command(cmd)
    rows = []
    for source in sources:
        for loss in losses:
            root = f"{work_dir}/{source}_{loss}"
            train = _command(
                "train",
                root,
                work_dir,
                reports_dir,
                source,
                ["--loss_name", loss, "--epochs", str(epochs), "--batch_size", str(batch_size), "--seed", str(seed)],
            )
            summaries = [f"{root}/eval/zeroshot/zeroshot_summary.json", f"{root}/eval/grounding/grounding_summary.json"]
            record = os.path.join(REPO, root, "run.json")
            # the same command on the same data: the manifests of the pairs and of the test set as they are now
            identity = {"train_command": show_command(train), "data": _manifests(work_dir, source)}
            finished = all(os.path.isfile(os.path.join(REPO, p)) for p in summaries)
            done = reuse and finished and _recorded(record) == identity
            if done:
                print(f"{source}/{loss}: reusing the finished run in {root} (same command)", flush=True)
            else:
                run_step(train, dry_run, REPO, log=os.path.join(REPO, root, "train.log"))
                for config in ("zeroshot", "grounding"):
                    cmd = _command(config, root, work_dir, reports_dir, source, [])
                    run_step(cmd, dry_run, REPO, log=os.path.join(REPO, root, f"{config}.log"))
                if not dry_run:
                    write_json_atomic(record, identity)
            row = {"source": source, "loss": loss, "train_command": show_command(train)}
            if not dry_run:
                row["zeroshot"] = _load(f"{root}/eval/zeroshot/zeroshot_summary.json")
                row["grounding"] = _load(f"{root}/eval/grounding/grounding_summary.json")
            rows.append(row)
    results = {
        "num_pairs": num_pairs,
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}, torch {torch.__version__}",
        "date": datetime.date.today().isoformat(),
        "generate_commands": generate_commands,
        "rows": rows,
    }
    if "synthetic" in sources:  # item 8: the real radiograph through the zero-shot workflow
        root = f"{work_dir}/synthetic_{losses[0]}"
        out = f"{root}/eval/dicom"
        cmd = _command("zeroshot", root, work_dir, reports_dir, "synthetic", [])
        cmd += ["--input_dir", f"{reports_dir}/dicom", "--output_dir", out]
        run_step(cmd, dry_run, REPO, log=os.path.join(REPO, root, "dicom.log"))
        if not dry_run:
            with open(os.path.join(REPO, out, "zeroshot_predictions.csv")) as f:
                first = next(csv.DictReader(f))
            results["dicom"] = {
                "row": f"synthetic / {losses[0]}",
                "command": show_command(cmd),
                "probabilities": {k: v for k, v in first.items() if k != "file"},
            }
    if dry_run:
        return results
    write_json_atomic(os.path.join(REPO, work_dir, "experiment.json"), results)
    table = _table(results)
    print(table)
    if write_docs and sources == list(SOURCES):
        for path in (os.path.join(REPO, "docs", "results.md"), os.path.join(REPO, BUNDLE, "docs", "README.md")):
            replace_section(path, "results:synthetic_cxr_vlp", table)
    return results


if __name__ == "__main__":
    fire.Fire({"run": run}, serialize=lambda result: None)
