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
"""The tables of the autoseg-against-nnunetv2 results files (``benchmarks/autoseg_vs_nnunet.py`` and
``benchmarks/autoseg_augmentation.py`` write them), rendered by :func:`networks.apps.evidence.rendered_targets` like
every other results file, so that ``scripts/render_results.py --check`` covers docs/autoseg.md too.

Each renderer takes the loaded file and its path relative to the repository root and returns the markdown between the
file's markers. The numbers (bootstrap intervals included) are computed when the benchmark records the file; these only
format them.
"""

from __future__ import annotations

import os

__all__ = ["comparison_section", "throughput_section", "augmentation_section", "short_commit"]


def short_commit(commit: str) -> str:
    """A commit as a table shows it: 10 hex digits, keeping a ``+uncommitted`` flag."""
    head, _, flag = commit.partition("+")
    return head[:10] + (f"+{flag}" if flag else "")


def comparison_section(data: dict, source: str) -> str:
    """``autoseg_vs_nnunet``: fold Dice of each side, the paired difference to nnunetv2, test Dice, time, memory."""
    summary = data["summary"]
    rows = [
        "| side | fold Dice (mean +- sd over folds) | paired difference vs nnunetv2 (95% CI over cases) | test Dice "
        "(5-fold ensemble) | s / epoch | peak RAM (MiB) |",
        "|---|---|---|---|---:|---:|",
    ]
    for side in sorted(summary, key=lambda name: (name == "nnunetv2", name != "ours", name)):  # ours first, theirs last
        s = summary[side]
        sd = f" +- {s['fold_dice_sd']:.3f}" if s["fold_dice_sd"] is not None else ""
        diff = s.get("difference_vs_nnunetv2")
        diff_text = (
            f"{diff['mean']:+.3f} [{diff['ci95'][0]:+.3f}, {diff['ci95'][1]:+.3f}] ({diff['cases']} cases)"
            if diff
            else ""
        )
        test = f"{s['test_dice']:.3f}" if s["test_dice"] is not None else ""
        rows.append(
            f"| {side} | {s['fold_dice_mean']:.3f}{sd} | {diff_text} | {test} | {s['seconds_per_epoch']:.1f} | "
            f"{s['peak_rss_mib']} |"
        )
    commands = data.get("commands") or {side: data["command"] for side in data["sides"]}
    by_command: dict[str, list[str]] = {}
    for side, command in commands.items():
        by_command.setdefault(command, []).append(side)
    runs = data.get("side_runs", {})

    def where(side: str) -> str:
        run = runs.get(side)
        return f" ({run['date'][:10]}, {run['machine']['cpu']})" if run else ""

    rows.append("")
    rows += [f"{', '.join(s + where(s) for s in sides)}: `{command}`" for command, sides in by_command.items()]
    rows += [
        "",
        f"(commits {', '.join(short_commit(c) for c in data.get('fold_commits', [data['commit']]))}, "
        f"latest run {data['date'][:10]}, "
        f"{data['machine']['cpu']}, {data['machine']['cores']} cores; {data['configuration']}, patch "
        f"{data['plans']['patch_size']}, batch {data['plans']['batch_size']}, {data['epochs']} epochs x "
        f"{data['iters_per_epoch']} iterations, {data['num_workers']} data workers, {data['device']}). "
        f"Curves: `{os.path.splitext(source)[0]}.png`.",
    ]
    return "\n".join(rows)


def throughput_section(data: dict, source: str) -> str:
    """``autoseg_throughput``: training patches per second of each side's loader and prediction seconds per case."""
    rows = [
        "| side | training patches / s (loader + augmentation, no network; median [range] of the repeats) | prediction "
        "s / case (window, mirroring, export) |",
        "|---|---:|---:|",
    ]
    for side, s in data["sides"].items():
        spread = s.get("patches_per_second_repeats", [s["patches_per_second"]])
        rows.append(
            f"| {side} | {s['patches_per_second']:.1f} [{min(spread):.1f}, {max(spread):.1f}] | "
            f"{s['predict_seconds_per_case']:.1f} |"
        )
    ratio = data["ratios_ours_over_nnunetv2"]
    rows.append(
        f"| ours / nnunetv2 | {ratio['patches_per_second']:.2f} (above 1: ours faster) | "
        f"{ratio['predict_seconds_per_case']:.2f} (below 1: ours faster) |"
    )
    rows += [
        "",
        f"`{data['command']}` (commit {short_commit(data['commit'])}, {data['date'][:10]}, {data['machine']['cpu']}, "
        f"{data['machine']['cores']} cores; {data['configuration']}, patch {data['plans']['patch_size']}, batch "
        f"{data['plans']['batch_size']}, {data['num_workers']} data workers, {data.get('repeats', 1)} x "
        f"{data['batches']} batches after the first, fold {data['fold']}'s model on {data['test_cases']} test cases).",
    ]
    return "\n".join(rows)


def augmentation_section(data: dict, source: str) -> str:
    """``autoseg_augmentation``: seconds per transform of the training chain, one column per recorded run."""
    runs = data["runs"]
    rows = ["| | " + " | ".join(runs) + " |", "|---|" + "---:|" * len(runs)]
    # rows in pipeline order: the last run's chain, each transform only an earlier chain has placed after the
    # transform it follows there
    names: list[str] = []
    for entry in reversed(list(runs.values())):
        chain = [key.split(" ", 1)[1] for key in sorted(entry["transform_seconds"])]  # keys start with the position
        for i, name in enumerate(chain):
            if name not in names:
                names.insert(names.index(chain[i - 1]) + 1 if i else 0, name)
    rows.append("| patch sampling (crop of the enlarged patch) | " + " | ".join(
        f"{e['sampling_seconds']:.2f}" for e in runs.values()) + " |")  # fmt: skip
    for name in names:
        cells = []
        for entry in runs.values():
            value = sum(v for k, v in entry["transform_seconds"].items() if " ".join(k.split()[1:]) == name)
            cells.append(f"{value:.2f}" if value else "")
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    rows.append("| **total seconds** | " + " | ".join(f"**{e['seconds']:.2f}**" for e in runs.values()) + " |")
    rows.append("| patches / s | " + " | ".join(f"{e['patches_per_second']:.1f}" for e in runs.values()) + " |")
    rows.append("")
    for label, e in runs.items():
        rows.append(
            f"{label}: `{e['command']}` (commit {short_commit(e['commit'])}, {e['date'][:10]}, {e['work_dir']} "
            f"{e['configuration']}, patch {e['patch_size']} from {e['initial_patch_size']}, {e['patches']} patches, "
            "one thread)"
        )
    return "\n".join(rows)
