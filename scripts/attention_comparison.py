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
    python scripts/attention_comparison.py run --epochs 12 --seeds 0,1,2   # 15 runs, about 8 min each on 2 CPU cores
    python scripts/attention_comparison.py run --variants "['aam']" --epochs 1 --dry_run True

Each finished run (a variant and a seed: ``<work_dir>/<variant>/seed<k>/`` with models and eval) is recorded at once in
``docs/results/attention_brainregions.json`` (commands, commit, date, machine, per-image top-1/top-5 on both test
sets, per-split macro F1 and error kinds), and a run already there is skipped, so an interrupted comparison continues
where the file stops. The table between the ``<!-- results:attention_brainregions -->`` markers of
``docs/results.md`` and of the bundle's ``docs/README.md`` is rendered from that file
(``python scripts/render_results.py``), with mean +- sd over seeds and intervals against the AAM row.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import sys

import fire
import torch

from networks.apps.evidence import bundle_targets
from networks.apps.steps import run_step, show_command
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
# the bundle's eval_metrics keys (the names its evaluate workflow writes) of the baseline row's accuracies
METADATA_NAMES = {f"{split}_{k}": f"{split}_{k}_accuracy" for split in TEST_SPLITS for k in ("top1", "top5")}


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


def results_file() -> str:
    return os.path.join("docs", "results", "attention_brainregions.json")


def _header(epochs: int) -> dict:
    return {
        "experiment": "classification_comparison",
        "title": f"Colin27 test slabs and MNI152: 116 AAL regions from 32x32 patches, {epochs} epochs per run",
        "baseline": "aam",
        "setting": {"epochs": epochs},
        "splits": {"test": "Colin27", "test_mni152": "MNI152"},
        "metrics": {
            f"{split}_{k}": {"label": f"{name} {k.replace('top', 'top-')}", "higher_is_better": True}
            for split, name in (("test", "Colin27"), ("test_mni152", "MNI152"))
            for k in ("top1", "top5")
        },
        "notes": [
            "Every row is the bundle's recipe (AdamW 1e-3, weight decay 0.05, warm-up + cosine, batch 64) with only "
            "--attention (and --cross_channel_weight) changed; the model evaluated is each run's best validation "
            "top-1 checkpoint. The baseline row is the bundle's default, AAM."
        ],
        "targets": bundle_targets(
            BUNDLE,
            "results:attention_brainregions",
            metadata_names=METADATA_NAMES,
            metadata_note=f"{epochs} epochs per run, not the bundle's default 30",
        ),
    }


def image_scores(predictions_csv: str, split: str) -> dict[str, dict[str, int]]:
    """Per test image (file name without folder and extension): top-1 and top-5 correct, 0 or 1."""
    with open(predictions_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        os.path.basename(r["file"]).split(".")[0]: {
            f"{split}_top1": int(r["true_class"] == r["predicted_class"]),
            f"{split}_top5": int(r["true_name"] in r["top5"].split()),
        }
        for r in rows
    }


def run(
    dataset_dir: str = "data/brainregions",
    work_dir: str = "runs/attention",
    epochs: int = 12,
    seeds: str | list[int] = "0,1,2",
    variants: list[str] | tuple[str, ...] | None = None,
    results: str | None = None,
    dry_run: bool = False,
) -> dict:
    """
    Train and evaluate each variant with each seed; record every finished run in the results file and render it.

    Args:
        dataset_dir: prepared ``brainregions`` folder.
        work_dir: runs go to ``<work_dir>/<variant>/seed<k>`` (one bundle root each).
        epochs: epochs per run (the same for all; the file refuses runs of another value).
        seeds: training seeds, seed by seed across the variants, so an interrupted comparison leaves every row with
            as many seeds; a run already in the file is not repeated.
        variants: rows to run (default: all of ``VARIANTS``).
        results: results file to record into instead of ``docs/results/attention_brainregions.json`` (not rendered).
        dry_run: print the commands only.
    """
    from networks.apps.evidence import (
        add_run,
        git_commit,
        load_results,
        machine_description,
        parse_seeds,
        write_rendered_targets,
    )

    names = [variants] if isinstance(variants, str) else list(variants) if variants else list(VARIANTS)
    unknown = set(names) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}, choose from {list(VARIANTS)}")
    path = os.path.abspath(results) if results else os.path.join(REPO, results_file())
    data = load_results(path, **_header(epochs))
    for seed in parse_seeds(seeds):
        for name in names:
            if str(seed) in data["rows"].get(name, {}).get("runs", {}):
                continue
            label, overrides = VARIANTS[name]
            root = os.path.join(work_dir, name, f"seed{seed}")
            common = [*overrides, "--seed", str(seed)]
            steps = [
                _bundle_command([f"{BUNDLE}/configs/train.json"], root, dataset_dir, [*common, "--epochs", str(epochs)])
            ]
            evaluate = [f"{BUNDLE}/configs/train.json", f"{BUNDLE}/configs/evaluate.json"]
            steps += [_bundle_command(evaluate, root, dataset_dir, [*common, "--eval_split", s]) for s in TEST_SPLITS]
            for step, cmd in zip(("train", *(f"evaluate_{s}" for s in TEST_SPLITS)), steps):
                run_step(cmd, dry_run, REPO, log=None if dry_run else os.path.join(REPO, root, f"{step}.log"))
            if dry_run:
                continue
            record = {
                "command": f"python scripts/attention_comparison.py run --epochs {epochs} --seeds {seed} "
                f"--variants {name} --work_dir {work_dir} --dataset_dir {dataset_dir}",
                "commit": git_commit(REPO),
                "date": datetime.date.today().isoformat(),
                "machine": f"{machine_description()}, torch {torch.__version__}",
                "bundle_commands": [show_command(cmd) for cmd in steps],
                "splits": {},
                "cases": {},
            }
            for split in TEST_SPLITS:
                folder = os.path.join(REPO, root, "eval", split)
                with open(os.path.join(folder, "classification_summary.json")) as f:
                    summary = json.load(f)
                predictions = os.path.join(folder, "predictions.csv")
                record["splits"][split] = {
                    **{k: summary[k] for k in ("top1_accuracy", "top5_accuracy", "macro_f1", "num_samples")},
                    "num_classes_present": summary["num_classes_present"],
                    **homologue_swaps(predictions),
                }
                for case, scores in image_scores(predictions, split).items():
                    record["cases"].setdefault(case, {}).update(scores)
            add_run(path, data, name, seed, record, label=label, **network_cost(overrides[1]))
            print(
                f"{name} seed {seed}: "
                + ", ".join(f"{split} top-1 {record['splits'][split]['top1_accuracy']:.4f}" for split in TEST_SPLITS),
                flush=True,
            )
    if dry_run or results:
        return data
    write_rendered_targets(REPO, results_file())
    return data


if __name__ == "__main__":
    # results go to comparison.json and the docs: do not print the returned dictionary as well
    fire.Fire({"run": run, "network_cost": network_cost}, serialize=lambda result: None)
