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
Compare attention variants of the brain region classifier with the same data, recipe, epochs and seed
(docs/results.md, "Brain regions: attention modules").

Rows: ResNet-18; + SE; + CBAM; + AAM; + AAM with the cross-channel loss. Each row trains the bundle
``bundle/aam_brain_region_classification`` through ``python -m monai.bundle run`` with ``--attention`` (and
``--cross_channel_weight``) overridden, then evaluates its best checkpoint on the Colin27 test slabs and on the MNI152
test set. Parameters and multiply-adds (conv/linear, ``torch.utils.flop_counter``) are counted on the same network.

Usage (repository root)::

    python -m networks.apps.prepare_data brainregions --out data/brainregions
    python scripts/attention_comparison.py run --epochs 12            # all rows, about 8 min each on 2 CPU cores
    python scripts/attention_comparison.py run --variants "['aam']" --epochs 1 --dry_run True

It writes ``<work_dir>/<row>/`` (models, eval), ``<work_dir>/comparison.json`` and the table between the
``<!-- results:attention_brainregions -->`` markers of ``docs/results.md`` and of the bundle's ``docs/README.md``.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import platform
import sys

import fire
import torch

from networks.apps.steps import replace_section, run_step, show_command
from networks.data.file_io import write_json_atomic
from networks.nets import AttentionResNet
from networks.nets.cost import count_macs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
__all__ = ["VARIANTS", "network_cost", "run"]

BUNDLE = os.path.join("bundle", "aam_brain_region_classification")
# row -> (label, bundle overrides)
VARIANTS = {
    # "none", not None: monai.bundle drops command-line overrides whose value parses to None
    "resnet": ("ResNet-18", ["--attention", "none"]),
    "se": ("+ SE", ["--attention", "se"]),
    "cbam": ("+ CBAM", ["--attention", "cbam"]),
    "aam": ("+ AAM (product)", ["--attention", "aam"]),
    "aam_ccl": ("+ AAM + cross-channel loss", ["--attention", "aam", "--cross_channel_weight", "0.5"]),
}
TEST_SPLITS = ("test", "test_mni152")


def network_cost(attention: str | None, num_classes: int = 116, patch_size: tuple[int, ...] = (32, 32)) -> dict:
    """Parameters and forward multiply-adds (conv/linear layers only) of the bundle's network with ``attention``."""
    stem = {"stem_kernel_size": 3, "stem_stride": 2, "stem_max_pool": False}
    return count_macs(AttentionResNet(2, 1, num_classes, "resnet18", attention, **stem), (1, 1) + tuple(patch_size))


def _bundle_command(config: list[str], bundle_root: str, dataset_dir: str, extra: list[str]) -> list[str]:
    files = config[0] if len(config) == 1 else "[" + ",".join(f"'{c}'" for c in config) + "]"
    return [
        sys.executable, "-m", "monai.bundle", "run",
        "--config_file", files,
        "--meta_file", f"{BUNDLE}/configs/metadata.json",
        "--logging_file", f"{BUNDLE}/configs/logging.conf",
        "--bundle_root", bundle_root,
        "--dataset_dir", dataset_dir,
        *extra,
    ]  # fmt: skip


def _recorded(path: str) -> str | None:
    """The train command stored in a run's ``run.json``, if any."""
    try:
        with open(path) as f:
            return json.load(f).get("train_command")
    except (OSError, ValueError):
        return None


def homologue_swaps(predictions_csv: str) -> dict:
    """Errors of an evaluation's ``predictions.csv``, and how many of them name the other hemisphere's homologue
    (``X_L`` for ``X_R`` and back): the fine-grained part of the task."""
    with open(predictions_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    errors = [r for r in rows if r["true_class"] != r["predicted_class"]]

    def other_side(name: str) -> str:
        return name[:-1] + {"L": "R", "R": "L"}[name[-1]] if name[-2:] in ("_L", "_R") else ""

    swaps = sum(r["predicted_name"] == other_side(r["true_name"]) for r in errors)
    return {"errors": len(errors), "homologue_swaps": swaps}


def _table(results: dict, epochs: int, seed: int) -> str:
    head = (
        "| model | params | M multiply-adds | Colin27 test top-1 | top-5 | macro F1 | L/R swaps "
        "| MNI152 top-1 | top-5 | macro F1 | L/R swaps |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for row in results["rows"]:
        t, m = row["test"], row["test_mni152"]
        swaps = [f"{s['homologue_swaps'] / max(s['errors'], 1):.1%}" for s in (t, m)]
        lines.append(
            f"| {row['label']} | {row['params'] / 1e6:.3f} M | {row['macs'] / 1e6:.1f} | {t['top1_accuracy']:.4f} | "
            f"{t['top5_accuracy']:.4f} | {t['macro_f1']:.4f} | {swaps[0]} | {m['top1_accuracy']:.4f} | "
            f"{m['top5_accuracy']:.4f} | {m['macro_f1']:.4f} | {swaps[1]} |"
        )
    lines.append("")
    lines.append(
        f"{epochs} epochs each, seed {seed}, the bundle's recipe (AdamW 1e-3, weight decay 0.05, warm-up + cosine, "
        f"batch 64), best validation top-1 checkpoint; {results['machine']}, {results['date']}. "
        f"Colin27 test: {results['rows'][0]['test']['num_samples']} patches, "
        f"{results['rows'][0]['test']['num_classes_present']} classes; MNI152: "
        f"{results['rows'][0]['test_mni152']['num_samples']} patches. L/R swaps: the share of errors that name the "
        "same region of the other hemisphere. Commands:"
    )
    lines.append("")
    for row in results["rows"]:
        lines.append(
            f"- {row['label']}: `{row['train_command']}`, then `{row['evaluate_command']}` and the same with "
            f"`--eval_split {TEST_SPLITS[1]}`"
        )
    return "\n".join(lines)


def run(
    dataset_dir: str = "data/brainregions",
    work_dir: str = "runs/attention",
    epochs: int = 12,
    seed: int = 0,
    variants: list[str] | tuple[str, ...] | None = None,
    dry_run: bool = False,
    write_docs: bool = True,
    reuse: bool = True,
) -> dict:
    """
    Train and evaluate each variant, then write the comparison table.

    Args:
        dataset_dir: prepared ``brainregions`` folder.
        work_dir: folder of one bundle root per variant.
        epochs: epochs per variant (the same for all).
        seed: seed of every run.
        variants: rows to run (default: all of ``VARIANTS``).
        dry_run: print the commands only.
        write_docs: write the table into docs/results.md and the bundle README (only when all rows ran).
        reuse: keep a variant's finished run (its two evaluation summaries exist and its ``run.json`` records the
            same train command: epochs, seed, overrides) instead of training it again, so an interrupted comparison
            resumes where it stopped.
    """
    names = [variants] if isinstance(variants, str) else list(variants) if variants else list(VARIANTS)
    unknown = set(names) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}, choose from {list(VARIANTS)}")
    rows = []
    for name in names:
        label, overrides = VARIANTS[name]
        root = os.path.join(work_dir, name)
        common = [*overrides, "--seed", str(seed)]
        train = _bundle_command([f"{BUNDLE}/configs/train.json"], root, dataset_dir, [*common, "--epochs", str(epochs)])
        summaries = [os.path.join(REPO, root, "eval", split, "classification_summary.json") for split in TEST_SPLITS]
        record = os.path.join(REPO, root, "run.json")  # the command a finished run was made with
        done = reuse and all(os.path.isfile(p) for p in summaries) and _recorded(record) == show_command(train)
        if done:
            print(f"{name}: reusing the finished run in {root} (same command)", flush=True)
        else:
            run_step(train, dry_run, REPO, log=os.path.join(REPO, root, "train.log"))
        row = {"name": name, "label": label, "train_command": show_command(train)}
        for split in TEST_SPLITS:
            evaluate = _bundle_command(
                [f"{BUNDLE}/configs/train.json", f"{BUNDLE}/configs/evaluate.json"],
                root,
                dataset_dir,
                [*common, "--eval_split", split],
            )
            if not done:
                run_step(evaluate, dry_run, REPO, log=os.path.join(REPO, root, f"evaluate_{split}.log"))
            if split == TEST_SPLITS[0]:
                row["evaluate_command"] = show_command(evaluate)
            if not dry_run:
                with open(os.path.join(REPO, root, "eval", split, "classification_summary.json")) as f:
                    row[split] = json.load(f)
                row[split].update(homologue_swaps(os.path.join(REPO, root, "eval", split, "predictions.csv")))
        row.update(network_cost(overrides[1]))
        if not dry_run and not done:
            write_json_atomic(record, {"train_command": show_command(train)})
        rows.append(row)
    results = {
        "epochs": epochs,
        "seed": seed,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}, torch {torch.__version__}",
        "date": datetime.date.today().isoformat(),
        "rows": rows,
    }
    if dry_run:
        return results
    write_json_atomic(os.path.join(REPO, work_dir, "comparison.json"), results)
    table = _table(results, epochs, seed)
    print(table)
    if write_docs and names == list(VARIANTS):
        for path in (os.path.join(REPO, "docs", "results.md"), os.path.join(REPO, BUNDLE, "docs", "README.md")):
            replace_section(path, "results:attention_brainregions", table)
    return results


if __name__ == "__main__":
    # results go to comparison.json and the docs: do not print the returned dictionary as well
    fire.Fire({"run": run, "network_cost": network_cost}, serialize=lambda result: None)
