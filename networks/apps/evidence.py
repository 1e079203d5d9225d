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
"""Results as data: a comparison's results file holds every run (network x training seed) with its command, commit,
date, machine and per-case test scores; tables are rendered from it, with the spread over seeds and a bootstrap
interval of each row's difference to the baseline row (:mod:`networks.metrics.intervals`).

A results file (JSON)::

    {"experiment": str, "title": str, "baseline": row, "setting": {...}, "notes": [str, ...],
     "metrics": {name: {"label": str, "higher_is_better": bool}},
      "failed": {"row seed k": error},
     "contrasts": [[row, reference row], ...] (differences rendered besides those to the baseline, optional),
     "targets": {"sections": [[markdown file, tag], ...], "metadata": metadata.json whose eval_metrics it sets,
                 "metadata_names": {metric: eval_metrics key (default test_mean_<metric>)},
                 "metadata_row": the row the bundle's defaults train (default: the baseline), "metadata_note": str},
     "rows": {row: {"label": str, "params": int,
                    "runs": {seed: {"command", "commit", "date", "machine", ..., "cases": {case: {metric: value}}}}}}}

A bundle's default training (``"experiment": "bundle_training"``) has one row, ``default``, whose runs also hold
``bundle_commands``, ``epochs``, ``training_wall_s``, ``best_validation``/``best_epoch`` and per case ``class_dice``
(one value per foreground class of ``"classes"``, ``null`` where the class is absent); it renders
:func:`bundle_training_section` and sets the bundle's ``eval_metrics``.

A classifier comparison (``"experiment": "classification_comparison"``) scores images per test split (``"splits"``:
{split: label}); its cases are images holding ``<split>_top1``/``<split>_top5`` (0 or 1), its runs ``splits`` with
each split's ``macro_f1``, ``errors`` and ``homologue_swaps``, its rows ``params`` and ``macs``; it renders
:func:`classification_comparison_section`.

Networks trained to a plateau with one recipe (``"experiment": "network_convergence"``) are rows of per-case test
scores like a network comparison; their runs also hold ``validation_curve`` ([[epoch, validation Dice], ...]),
``best_validation``/``best_epoch`` and ``training_wall_s``, and the file a ``figure`` of the curves; it renders
:func:`network_convergence_section`.

A metric is by default the per-seed mean over cases; ``"pooled": {"numerator": key, "denominator": [keys]}`` makes it
the ratio of sums over cases (DSB accuracy, TP / (TP + FP + FN) over all images), resampled as such; ``"per_run":
true`` reads it from each run's ``summary`` (a whole-set statistic, e.g. COCO mAP: spread over seeds, no interval).
A nuclei instance comparison (``"experiment": "instance_comparison"``) has rows of methods whose cases are test images
with matching counts and per-image AJI/PQ; it renders :func:`instance_comparison_section`.

A vision-language comparison (``"experiment": "vlp_comparison"``) scores multi-label zero-shot probabilities on several
evaluations of the same test cases (``"evaluations"``: {name: label}); ``"labels"`` holds each case's 0/1 truth over
``"classes"`` as space-separated text, and a run's cases hold per evaluation the probabilities in the same form (one
line per case however many classes); runs also hold ``summaries`` (per evaluation, the workflow's own summary with its
calibrated entry; ``validation``; ``grounding``) and ``dicom`` (the real radiograph's output); it renders
:func:`vlp_comparison_section`, whose AUC intervals rescore resampled cases.

A run is added as soon as it finishes (:func:`add_run`, atomic), so an interrupted experiment continues where its
file stops.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import subprocess
from typing import Any

import numpy as np

from networks.apps.autoseg_tables import augmentation_section, comparison_section, short_commit, throughput_section
from networks.data.file_io import write_bytes_atomic
from networks.metrics.intervals import (
    bootstrap_mean_auc,
    mean_sd,
    paired_bootstrap_interval,
    paired_bootstrap_ratio_interval,
    paired_interval,
    scored_classes,
    verdict,
    weighted_auc,
)

__all__ = [
    "git_commit",
    "machine_description",
    "parse_seeds",
    "bundle_targets",
    "load_results",
    "add_run",
    "case_scores",
    "seed_values",
    "difference_interval",
    "comparison_table",
    "contrast_table",
    "network_comparison_section",
    "network_convergence_section",
    "bundle_training_section",
    "classification_comparison_section",
    "instance_comparison_section",
    "vlp_comparison_section",
    "measurement_section",
    "record_measurement",
    "dumps_results",
    "rendered_targets",
    "write_rendered_targets",
]


# what the experiments themselves write (results files and the tables rendered from them): a change there does not
# change the code a run measured (a bundle's metadata.json stays in: runs read it, e.g. the training object size)
RESULT_PATHS = ("docs", "bundle/*/docs/README.md")


def git_commit(root: str | os.PathLike) -> str:
    """The commit checked out at ``root``, with ``+uncommitted`` when tracked files other than results and rendered
    documents (``RESULT_PATHS``) differ from it."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    excluded = [f":(exclude,glob){p}" if "*" in p else f":(exclude){p}" for p in RESULT_PATHS]
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excluded], cwd=root,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    return head + ("+uncommitted" if dirty else "")


def cpu_model() -> str:
    """The processor's name (``/proc/cpuinfo`` on Linux, ``platform.processor()`` elsewhere): CPU timings on two
    machines with the same core count differ by 2x, so a timing names its processor."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_description() -> str:
    """Architecture, processor, core count, system and Python version: the machine a run is recorded with."""
    return (
        f"{platform.machine()} ({cpu_model()}), {os.cpu_count()} CPU cores, {platform.system()}, "
        f"Python {platform.python_version()}"
    )


def parse_seeds(seeds) -> list[int]:
    """Training seeds from a command line: ``"0,1,2"``, one int, or a list."""
    return [int(s) for s in (str(seeds).split(",") if isinstance(seeds, (str, int)) else seeds)]


def bundle_targets(bundle: str, tag: str, metadata: bool = True, **metadata_options: Any) -> dict:
    """The ``targets`` of a results file that renders section ``tag`` into docs/results.md and the bundle's README
    and (``metadata``) sets the bundle's ``eval_metrics``, with ``metadata_options`` (``metadata_names``,
    ``metadata_row``, ``metadata_note``)."""
    targets: dict = {
        "sections": [[os.path.join("docs", "results.md"), tag], [os.path.join(bundle, "docs", "README.md"), tag]]
    }
    if metadata:
        targets.update(metadata=os.path.join(bundle, "configs", "metadata.json"), **metadata_options)
    return targets


def load_results(path: str | os.PathLike, **header: Any) -> dict:
    """The results file at ``path``, or a new one with ``header`` (experiment, title, baseline, setting, metrics)
    when missing. A file whose ``setting`` differs from ``header["setting"]`` is an error: its runs measured
    something else."""
    if os.path.isfile(path):
        with open(path) as f:
            results = json.load(f)
        if "setting" in header and results.get("setting") != header["setting"]:
            raise ValueError(
                f"{path} holds runs of another setting ({results.get('setting')}, not {header['setting']}); "
                "move it away or pass the same options"
            )
        return results
    return {**header, "rows": {}}


def add_run(path: str | os.PathLike, results: dict, row: str, seed: int, run: dict, **row_info: Any) -> None:
    """Record one finished run (a training seed of one row) and write the file at once."""
    entry = results["rows"].setdefault(row, {"runs": {}})
    entry.update(row_info)
    entry["runs"][str(seed)] = run
    write_bytes_atomic(path, dumps_results(results).encode())


# a JSON object of scalars only, as json.dumps(indent=1) lays it out over several lines
_SCALAR_OBJECT = re.compile(r'\{\n(?:\s*"[^"\n]*": (?:-?[\d.eE+-]+|true|false|null|"[^"\n]*"),?\n)+\s*\}')


def dumps_results(results: dict) -> str:
    """JSON of a results file, indented, with each object of scalars (a case's scores) on one line: thousands of
    per-case records stay readable in a diff without taking a line per value."""

    def one_line(match: re.Match) -> str:
        return json.dumps(json.loads(match.group(0)))

    return _SCALAR_OBJECT.sub(one_line, json.dumps(results, indent=1)) + "\n"


def case_scores(results: dict, row: str, metric: str) -> tuple[list[str], np.ndarray]:
    """(seeds, cases) scores of one row and metric, cases in sorted order; cases without a value are dropped in
    every seed of the row (a metric undefined on a case, e.g. Dice without foreground)."""
    runs = results["rows"][row]["runs"]
    seeds = sorted(runs, key=int)
    cases = sorted(set.intersection(*(set(runs[s]["cases"]) for s in seeds)))
    values = np.array([[runs[s]["cases"][c].get(metric, np.nan) for c in cases] for s in seeds], dtype=np.float64)
    keep = np.isfinite(values).all(0)
    return [c for c, k in zip(cases, keep) if k], values[:, keep]


def _aligned(results: dict, row: str, metrics: list[str]) -> tuple[list[str], list[np.ndarray]]:
    """(cases, [(seeds, cases) per metric]) over the cases where every metric has a value."""
    scored = [case_scores(results, row, m) for m in metrics]
    cases = sorted(set.intersection(*(set(c) for c, _ in scored)))
    return cases, [v[:, [c.index(x) for x in cases]] for c, v in scored]


def _pooled_parts(results: dict, row: str, pooled: dict) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(cases, numerators, denominators) of a metric pooled over cases (``"pooled": {"numerator": key,
    "denominator": [keys summed]}``), each (seeds, cases)."""
    cases, values = _aligned(results, row, [pooled["numerator"], *pooled["denominator"]])
    return cases, values[0], np.sum(values[1:], axis=0)


def seed_values(results: dict, row: str, metric: str) -> np.ndarray:
    """The per-seed statistic of one row and metric: the mean over test cases; for a ``pooled`` metric the ratio of
    the sums over cases; for a ``per_run`` metric the value each run recorded in its ``summary`` (a statistic of the
    whole test set that no per-case value gives back, e.g. COCO mAP)."""
    spec = results["metrics"][metric]
    if spec.get("per_run"):
        runs = results["rows"][row]["runs"]
        return np.array([runs[s]["summary"][metric] for s in sorted(runs, key=int)], dtype=np.float64)
    if "pooled" in spec:
        _, num, den = _pooled_parts(results, row, spec["pooled"])
        return num.sum(1) / den.sum(1)
    return case_scores(results, row, metric)[1].mean(1)


def difference_interval(
    results: dict, row: str, metric: str, reference: str | None = None
) -> tuple[float, float, float]:
    """(difference, low, high): the row's per-seed statistic minus the ``reference`` row's (default: the baseline),
    averaged over seeds, with the 95% bootstrap interval resampling the test cases both rows scored (paired) and each
    row's seeds."""
    spec, baseline = results["metrics"][metric], reference or results["baseline"]
    if spec.get("per_run"):
        raise ValueError(f"metric '{metric}' is recorded per run: no per-case values to resample.")
    if "pooled" in spec:
        (cases, num, den), (base_cases, base_num, base_den) = (
            _pooled_parts(results, r, spec["pooled"]) for r in (row, baseline)
        )
        pick, base_pick = _paired(cases, base_cases)
        return paired_bootstrap_ratio_interval(
            num[:, pick], den[:, pick], base_num[:, base_pick], base_den[:, base_pick]
        )
    cases, values = case_scores(results, row, metric)
    base_cases, base = case_scores(results, baseline, metric)
    pick, base_pick = _paired(cases, base_cases)
    return paired_bootstrap_interval(values[:, pick], base[:, base_pick])


def _paired(cases: list[str], base_cases: list[str]) -> tuple[list[int], list[int]]:
    """Column indices, in each row's own order, of the cases both rows scored."""
    shared = sorted(set(cases) & set(base_cases))
    return [cases.index(c) for c in shared], [base_cases.index(c) for c in shared]


def _spread_text(per_seed: np.ndarray) -> str:
    """``mean +- sd`` over seeds (the mean alone for one seed)."""
    mean, sd = mean_sd(per_seed)
    return f"{mean:.4f} +- {sd:.4f}" if len(per_seed) > 1 else f"{mean:.4f}"


def _cell(values: np.ndarray) -> str:
    return _spread_text(values.mean(1))


def comparison_table(results: dict, extra_columns: dict[str, str] | None = None, row_header: str = "network") -> str:
    """Markdown: per row and metric the mean +- sd over seeds of the per-seed statistic (:func:`seed_values`), and
    for each metric with per-case values the difference to the baseline row with its 95% bootstrap interval and what
    it shows."""
    baseline, metrics = results["baseline"], results["metrics"]
    extra_columns = extra_columns or {}
    paired = [m for m, spec in metrics.items() if not spec.get("per_run")]
    head = [row_header, "seeds"] + [m["label"] for m in metrics.values()]
    base_label = results["rows"].get(baseline, {}).get("label", baseline)  # a partial file may lack it yet
    head += [f"{metrics[m]['label']} - {base_label} [95% interval]" for m in paired]
    head += list(extra_columns.values())
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, entry in results["rows"].items():
        cells = [entry["label"], str(len(entry["runs"]))]
        cells += [_spread_text(seed_values(results, row, m)) for m in metrics]
        for metric in paired:
            if row == baseline or baseline not in results["rows"]:
                cells.append("(baseline)" if row == baseline else "-")
                continue
            diff, low, high = difference_interval(results, row, metric)
            cells.append(
                f"{diff:+.4f} [{low:+.4f}, {high:+.4f}] {verdict(low, high, metrics[metric]['higher_is_better'])}"
            )
        cells += [str(entry.get(key, "")) for key in extra_columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def contrast_table(results: dict) -> str:
    """Markdown: the differences of the pairs of rows in ``results["contrasts"]`` ([row, reference] each, besides the
    comparisons with the baseline), per metric with per-case values, with their 95% intervals; pairs of which a row
    has no runs yet are left out ("" when none is left)."""
    metrics = {m: spec for m, spec in results["metrics"].items() if not spec.get("per_run")}
    pairs = [(a, b) for a, b in results.get("contrasts", []) if a in results["rows"] and b in results["rows"]]
    if not pairs:
        return ""
    head = ["method", "against"] + [f"{spec['label']} difference [95% interval]" for spec in metrics.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, reference in pairs:
        cells = [results["rows"][row]["label"], results["rows"][reference]["label"]]
        for metric, spec in metrics.items():
            diff, low, high = difference_interval(results, row, metric, reference)
            cells.append(f"{diff:+.4f} [{low:+.4f}, {high:+.4f}] {verdict(low, high, spec['higher_is_better'])}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def network_comparison_section(data: dict, source: str) -> str:
    """The markdown section of a network comparison results file (``source``: its path, named in the text)."""
    extra = {}
    for entry in data["rows"].values():
        runs = entry["runs"].values()
        extra[entry["label"]] = (
            "/".join(str(r.get("iterations")) for r in runs),
            f"{entry.get('params', 0) / 1e6:.2f} M",
        )
    view = {**data, "rows": {k: {**v, "iterations": extra[v["label"]][0], "params_m": extra[v["label"]][1]}
                             for k, v in data["rows"].items()}}  # fmt: skip
    table = comparison_table(view, {"params_m": "params", "iterations": "iterations (per seed)"})
    text = (
        "Dice and NSD: per training seed the mean over the test cases, then mean +- sd over seeds; the interval of the "
        'difference resamples test cases (paired) and seeds; "better" only where it excludes 0. Rendered from '
        f"`{source}` by `python scripts/render_results.py`. Commands (one per run, from the repository root):"
    )
    return _comparison_section(data, table, text)


def network_convergence_section(data: dict, source: str) -> str:
    """The markdown section of networks trained to a plateau with one recipe: test scores with intervals against
    the baseline row, each run's best validation score and epoch, how flat each validation curve ends, training
    time, and the figure of the curves."""
    from networks.apps.curves import end_slope

    view = {**data, "rows": {}}
    for name, entry in data["rows"].items():
        runs = [entry["runs"][s] for s in sorted(entry["runs"], key=int)]
        slopes = np.array([end_slope(r["validation_curve"]) for r in runs])
        view["rows"][name] = {
            **entry,
            "params_m": f"{entry.get('params', 0) / 1e6:.2f} M",
            "best": "/".join(f"{r.get('best_validation', np.nan):.3f} @ {r.get('best_epoch')}" for r in runs),
            "end": f"{np.nanmean(slopes):+.3f}" if np.isfinite(slopes).any() else "-",
            "minutes": f"{np.mean([r.get('training_wall_s', np.nan) for r in runs]) / 60:.1f}",
        }
    extra = {"params_m": "params", "best": "best validation Dice @ epoch (per seed)",
             "end": "validation Dice, last 10 epochs - the 10 before", "minutes": "training minutes"}  # fmt: skip
    text = (
        "Dice and NSD of the model each run selects (best validation Dice): per training seed the mean over the test "
        "cases, then mean +- sd over seeds; the interval of the difference resamples test cases (paired) and seeds; "
        '"better" only where it excludes 0. The last-10-epochs column is the mean validation Dice of the last 10 '
        "epochs minus that of the 10 before, averaged over seeds: near 0 where the curve has flattened. "
        f"Curves: `{data.get('figure', '')}`. Rendered from `{source}` by `python scripts/render_results.py`. "
        "Commands (one per run, from the repository root):"
    )
    return _comparison_section(data, comparison_table(view, extra), text)


def instance_comparison_section(data: dict, source: str) -> str:
    """The markdown section of a nuclei instance comparison (rows: methods; runs: training seeds; cases: test images
    holding their matching counts and per-image AJI/PQ; runs also a ``summary`` of whole-set statistics)."""
    runs = next(iter(data["rows"].values()))["runs"]
    images = next(iter(runs.values()))["cases"]
    nuclei = int(sum(c["n_true"] for c in images.values()))
    text = (
        f"{len(images)} test images, {nuclei} nuclei. DSB accuracy@0.5 = TP / (TP + FP + FN) counted over all images "
        "(StarDist matching, IoU >= 0.5); AJI and PQ are means over images; both per training seed, then mean +- sd "
        "over seeds. The interval of each difference to the first row resamples test images (paired; DSB accuracy "
        'pooled again in each resample) and seeds; "better" only where it excludes 0. Mean DSB accuracy over IoU '
        "0.5:0.05:0.9 and COCO mask mAP (pycocotools, up to 1000 detections per image, ranked by Mask R-CNN's scores; "
        "the other rows have no scores, so all their instances tie) are whole-set statistics of each run, without an "
        f"interval. Rendered from `{source}` by `python scripts/render_results.py`. Commands (one per run, from the "
        "repository root; each run's bundle commands are in the file):"
    )
    table = comparison_table(data, row_header="method")
    contrasts = contrast_table(data)
    if contrasts:
        table += "\n\nOther pairs of rows (same intervals; the first row minus the second):\n\n" + contrasts
    return _comparison_section(data, table, text)


def _comparison_section(data: dict, table: str, text: str) -> str:
    """A comparison's section: title, table, the text saying how it was computed, one command per run, machines,
    failures and notes."""
    runs = [run for entry in data["rows"].values() for run in entry["runs"].values()]
    machines, dates = sorted({r["machine"] for r in runs}), sorted({r["date"] for r in runs})
    lines = [
        f"### {data['title']}",
        "",
        table,
        "",
        text,
        "",
        "```bash",
        *[r["command"] for r in runs],
        "```",
        "",
        f"Machine: {'; '.join(machines)}; run {', '.join(dates)}.",
    ]
    lines += [f"Failed: {run} ({error})" for run, error in data.get("failed", {}).items()]
    lines += [f"Note: {note}" for note in data.get("notes", [])]
    return "\n".join(lines)


def _class_dice_table(data: dict) -> list[str]:
    """Per foreground class: mean +- sd over seeds of the per-seed mean over the test cases holding the class."""
    runs = data["rows"][data["baseline"]]["runs"]
    lines = ["| class | Dice | test cases with the class |", "|---|---|---|"]
    for k, name in enumerate(data["classes"]):
        per_seed, count = [], 0
        for run in runs.values():
            values = [c["class_dice"][k] for c in run["cases"].values() if c["class_dice"][k] is not None]
            count = len(values)
            per_seed.append(float(np.mean(values)) if values else np.nan)
        lines.append(f"| {name} | {_spread_text(np.array(per_seed))} | {count} |")
    return lines


def bundle_training_section(data: dict, source: str) -> str:
    """The markdown section of a bundle's default-training results file: test scores over seeds, what training did
    per seed, per-class Dice, the commands and the figure."""
    entry = data["rows"][data["baseline"]]
    runs = [entry["runs"][s] for s in sorted(entry["runs"], key=int)]
    cells = {m: _cell(case_scores(data, data["baseline"], m)[1]) for m in data["metrics"]}
    per_seed = "/".join(f"{float(np.mean([c['dice'] for c in r['cases'].values()])):.4f}" for r in runs)
    best = "/".join(f"{r.get('best_validation', float('nan')):.4f} @ {r.get('best_epoch')}" for r in runs)
    epochs = "/".join(str(r.get("epochs")) for r in runs)
    minutes = "/".join(f"{r.get('training_wall_s', 0) / 60:.0f}" for r in runs)
    head = ["model", "seeds", *[m["label"] for m in data["metrics"].values()], "Dice per seed",
            "best validation Dice @ epoch", "epochs", "training minutes"]  # fmt: skip
    row = [entry["label"], str(len(runs)), *cells.values(), per_seed, best, epochs, minutes]
    machines, dates = sorted({r["machine"] for r in runs}), sorted({r["date"] for r in runs})
    lines = [
        f"### {data['title']}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        "| " + " | ".join(row) + " |",
        "",
        "Per test case the mean over the foreground classes present; per seed the mean over the test cases; then mean "
        "+- sd over seeds. The model evaluated is the one training selects (best validation Dice, `models/model.pt`). "
        f"Rendered from `{source}` by `python scripts/render_results.py`.",
        "",
        *_class_dice_table(data),
        "",
        "Commands (from the repository root), one per seed, and the bundle commands each ran:",
        "",
        "```bash",
        *[r["command"] for r in runs],
        f"# {runs[0]['command']} ran:",
        *runs[0].get("bundle_commands", []),
        "```",
        "",
        f"Machine: {'; '.join(machines)}; run {', '.join(dates)}.",
    ]
    if data.get("figure"):
        lines.append(f"Test cases with their predictions (seed {data['figure']['seed']}): `{data['figure']['path']}`.")
    lines += [f"Note: {note}" for note in data.get("notes", [])]
    return "\n".join(lines)


def _per_seed_text(runs: list[dict], read) -> str:
    """mean +- sd over seeds of a per-run value (``read(run)``)."""
    return _spread_text(np.array([read(r) for r in runs], dtype=np.float64))


def classification_comparison_section(data: dict, source: str) -> str:
    """The markdown section of a classifier comparison (rows of one bundle with overrides; per-image cases on each
    test split): accuracies with intervals against the baseline row, then per-split macro F1 and error kinds, the
    network cost and the commands."""
    splits = data["splits"]
    view = {**data, "rows": {}}
    for name, entry in data["rows"].items():
        runs = [entry["runs"][s] for s in sorted(entry["runs"], key=int)]
        cells = {"params": f"{entry['params'] / 1e6:.3f} M", "macs": f"{entry['macs'] / 1e6:.1f}"}
        for split, label in splits.items():
            cells[f"{split}_f1"] = _per_seed_text(runs, lambda r: r["splits"][split]["macro_f1"])
            cells[f"{split}_swaps"] = _per_seed_text(
                runs, lambda r: r["splits"][split]["homologue_swaps"] / max(r["splits"][split]["errors"], 1)
            )
        view["rows"][name] = {**entry, **cells}
    extra = {"params": "params", "macs": "M multiply-adds"}
    for split, label in splits.items():
        extra[f"{split}_f1"] = f"{label} macro F1"
        extra[f"{split}_swaps"] = f"{label} share of errors that are L/R swaps"
    runs = [run for entry in data["rows"].values() for run in entry["runs"].values()]
    first = runs[0]["splits"]
    sizes = "; ".join(
        f"{label}: {first[s]['num_samples']} images, {first[s]['num_classes_present']} classes" for s, label in
        splits.items()
    )  # fmt: skip
    text = (
        "Accuracies: per training seed the share of test images classified right (top-1) or with the truth among the "
        "5 most probable classes (top-5), then mean +- sd over seeds; the interval of the difference to the baseline "
        'row resamples test images (paired) and seeds; "better" only where it excludes 0. Macro F1 (classes present) '
        "and the L/R swap share (errors naming the same region of the other hemisphere): mean +- sd over seeds. "
        f"{sizes}. Rendered from `{source}` by `python scripts/render_results.py`. Commands (one per run, from the "
        "repository root; each runs the bundle commands below it in the file):"
    )
    return _comparison_section(data, comparison_table(view, extra, row_header="model"), text)


def _vlp_arrays(data: dict, row: str, evaluation: str) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, cases, classes) probabilities of one row on one evaluation and the (cases, classes) labels, cases in
    the order of ``data["labels"]``."""
    cases = list(data["labels"])
    labels = np.array([[float(v) for v in data["labels"][c].split()] for c in cases])
    runs = data["rows"][row]["runs"]
    probs = np.array(
        [[[float(v) for v in runs[s]["cases"][c][evaluation].split()] for c in cases] for s in sorted(runs, key=int)]
    )
    return probs, labels


def _class_aucs(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(seeds, classes) AUC of each seed and class (NaN for a class without positives)."""
    ones = np.ones((1, labels.shape[0]))
    return np.array([[weighted_auc(p[:, c], labels[:, c], ones)[0] for c in range(labels.shape[1])] for p in probs])


def _seed_mean_aucs(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(seeds,) class-mean AUC over the classes the intervals average (:func:`scored_classes`)."""
    return _class_aucs(probs, labels)[:, scored_classes(labels)].mean(1)


def _auc_table(data: dict) -> list[str]:
    """Class-mean AUC per row and evaluation, mean +- sd over seeds, with the interval against the baseline row (the
    baseline's case resamples scored once per evaluation)."""
    baseline, evaluations = data["baseline"], data["evaluations"]
    base_label = data["rows"].get(baseline, {}).get("label", baseline)
    head = ["pretraining pairs", "seeds", *[f"AUC, {label}" for label in evaluations.values()]]
    head += [f"{label}: - {base_label} [95% interval]" for label in evaluations.values()]
    base = {}
    if baseline in data["rows"]:
        base = {e: bootstrap_mean_auc(*_vlp_arrays(data, baseline, e)) for e in evaluations}
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, entry in data["rows"].items():
        cells, diffs = [entry["label"], str(len(entry["runs"]))], []
        for evaluation in evaluations:
            probs, labels = _vlp_arrays(data, row, evaluation)
            cells.append(_spread_text(_seed_mean_aucs(probs, labels)))
            if row == baseline or not base:
                diffs.append("(baseline)" if row == baseline else "(no baseline run)")
                continue
            diff, low, high = paired_interval(*bootstrap_mean_auc(probs, labels), *base[evaluation])
            diffs.append(f"{diff:+.4f} [{low:+.4f}, {high:+.4f}] {verdict(low, high)}")
        lines.append("| " + " | ".join(cells + diffs) + " |")
    return lines


def _per_class_table(data: dict) -> list[str]:
    """AUC per class, row and evaluation: mean over seeds."""
    head = ["pretraining pairs", "evaluation", *data["classes"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, entry in data["rows"].items():
        for evaluation, label in data["evaluations"].items():
            aucs = _class_aucs(*_vlp_arrays(data, row, evaluation)).mean(0)
            cells = [f"{a:.3f}" if np.isfinite(a) else "-" for a in aucs]  # "-": no positive test case
            lines.append("| " + " | ".join([entry["label"], label, *cells]) + " |")
    return lines


def _calibration_table(data: dict) -> list[str]:
    """Per row and image evaluation: F1 at 0.5 and at the calibrated thresholds, calibration error before and
    after; the validation phantoms' calibration error; grounding IoU (mean +- sd over seeds); training minutes (mean
    over seeds)."""
    images = [e for e in data["evaluations"] if e != "text"]
    head = ["pretraining pairs"]
    for e in images:
        label = data["evaluations"][e]
        head += [f"{label}: F1 at 0.5", "F1 calibrated", "ECE", "ECE calibrated"]
    head += ["validation ECE before / after", "grounding IoU", "training minutes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for entry in data["rows"].values():
        runs = [entry["runs"][s]["summaries"] for s in sorted(entry["runs"], key=int)]
        cells = [entry["label"]]
        for e in images:
            cells += [
                _per_seed_text(runs, lambda r: r[e]["mean_f1"]),
                _per_seed_text(runs, lambda r: r[e].get("calibrated", {}).get("mean_f1", np.nan)),
                _per_seed_text(runs, lambda r: r[e]["ece"]),
                _per_seed_text(runs, lambda r: r[e].get("calibrated", {}).get("ece", np.nan)),
            ]
        before = _per_seed_text(runs, lambda r: r["validation"]["ece_before"])
        cells += [f"{before} / {_per_seed_text(runs, lambda r: r['validation']['ece_after'])}"]
        cells += [_per_seed_text(runs, lambda r: r["grounding"]["mean_iou"])]
        minutes = [entry["runs"][s].get("step_seconds", {}).get("train", np.nan) / 60 for s in entry["runs"]]
        cells += [f"{np.mean(minutes):.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _radiograph_table(data: dict) -> list[str]:
    """The real radiograph: per row and class, the probability before and after calibration (mean over seeds), and
    the classes each seed's calibrated model calls present."""
    head = ["pretraining pairs", *data["classes"], "called present after calibration (per seed)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for entry in data["rows"].values():
        dicoms = [entry["runs"][s]["dicom"] for s in sorted(entry["runs"], key=int)]
        cells = [entry["label"]]
        for c in data["classes"]:
            raw = np.mean([d["probabilities"][c] for d in dicoms])
            calibrated = np.mean([d.get("calibrated", {}).get(c, np.nan) for d in dicoms])
            cells.append(f"{raw:.2f} -> {calibrated:.2f}")
        seeds = sorted(entry["runs"], key=int)
        cells.append("; ".join(f"{s}: {d.get('present', '').replace('; ', ', ')}" for s, d in zip(seeds, dicoms)))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def vlp_comparison_section(data: dict, source: str) -> str:
    """The markdown section of a vision-language comparison: class-mean AUC per evaluation with intervals against the
    baseline row, AUC per class, thresholds and calibration, the real radiograph, the commands."""
    labels = np.array([[float(v) for v in text.split()] for text in data["labels"].values()])
    positives = ", ".join(f"{c} {int(n)}" for c, n in zip(data["classes"], labels.sum(0)))
    first = next(iter(data["rows"].values()))["runs"]
    dicom = first[min(first, key=int)]["dicom"]["file"]
    tables = [
        *_auc_table(data),
        "",
        "AUC per class (mean over seeds):",
        "",
        *_per_class_table(data),
        "",
        "Thresholds and calibration (per class a Platt scale and the threshold of best F1, fitted on "
        f"{data['setting']['num_val_cases']} validation phantoms of training-split reports; ECE: expected calibration "
        "error over all classes' probabilities), and grounding on the training-renderer phantoms:",
        "",
        *_calibration_table(data),
        "",
        f"The real radiograph (`{dicom}`, pydicom-data's CR PA chest), probability before -> after calibration:",
        "",
        *_radiograph_table(data),
    ]
    text = (
        "AUC: per seed the mean over the classes (those with at least 5 positive test cases) of each class's ROC AUC "
        "on the test cases, then mean +- sd over seeds; the interval of the difference to the baseline row resamples "
        'test cases (paired; 1,000 resamples, each scored again) and seeds; "better" only where it excludes 0. '
        f"{len(labels)} test cases (held-out IU reports; positives: {positives}). Rendered from `{source}` by "
        "`python scripts/render_results.py`. Commands (one per run, from the repository root; each runs the bundle "
        "commands recorded with it in the file):"
    )
    return _comparison_section(data, "\n".join(tables), text)


def measurement_section(data: dict, source: str) -> str:
    """The markdown section of a one-off measurement (``"experiment": "measurement_table"``): its table as recorded
    (``"columns"``, ``"table"``: rows of cells), its command, commit, date and machine."""
    lines = [
        f"### {data['title']}",
        "",
        "| " + " | ".join(data["columns"]) + " |",
        "|" + "---|" * len(data["columns"]),
        *["| " + " | ".join(str(c) for c in row) + " |" for row in data["table"]],
        "",
        f"`{data['command']}` (commit {short_commit(data['commit'])}, "
        f"{data['date']}, {data['machine']}); rendered from "
        f"`{source}` by `python scripts/render_results.py`.",
    ]
    lines += [f"Note: {note}" for note in data.get("notes", [])]
    return "\n".join(lines)


def record_measurement(
    root: str | os.PathLike,
    path: str | os.PathLike,
    title: str,
    columns: list[str],
    table: list[list],
    command: str,
    doc: str,
    machine: str | None = None,
    notes: list[str] | None = None,
    **extra: Any,
) -> dict:
    """Write a one-off measurement's results file ``path`` (relative to the working directory or absolute) with the
    commit of ``root``, the date and the machine; when it lies inside ``root``, render it (:func:`measurement_section`,
    into ``doc`` between ``results:<file name>`` markers), otherwise only record it (a check). ``extra`` holds the raw
    values behind the table. Returns the file's content."""
    source = os.path.relpath(os.path.abspath(path), root)
    data = {
        "experiment": "measurement_table",
        "title": title,
        "columns": columns,
        "table": table,
        "command": command,
        "commit": git_commit(root),
        "date": datetime.date.today().isoformat(),
        "machine": machine or machine_description(),
        **({"notes": notes} if notes else {}),
        "targets": {"sections": [[doc, "results:" + os.path.splitext(os.path.basename(source))[0]]]},
        **extra,
    }
    write_bytes_atomic(os.path.join(root, source), dumps_results(data).encode())
    if not source.startswith(".."):
        write_rendered_targets(root, source)
    return data


SECTION_RENDERERS = {
    "network_comparison": network_comparison_section,
    "bundle_training": bundle_training_section,
    "classification_comparison": classification_comparison_section,
    "vlp_comparison": vlp_comparison_section,
    "measurement_table": measurement_section,
    "network_convergence": network_convergence_section,
    "instance_comparison": instance_comparison_section,
    "autoseg_vs_nnunet": comparison_section,
    "autoseg_throughput": throughput_section,
    "autoseg_augmentation": augmentation_section,
}


def _eval_metrics(data: dict, source: str) -> dict:
    """A bundle's ``eval_metrics``: the mean over seeds of each metric of the row the bundle's defaults train
    (``targets.metadata_row``, default the baseline), under the bundle's names (``targets.metadata_names``)."""
    targets = data.get("targets", {})
    row, names = targets.get("metadata_row", data["baseline"]), targets.get("metadata_names", {})
    if data.get("experiment") == "vlp_comparison":  # class-mean AUC per evaluation
        means = {e: round(float(_seed_mean_aucs(*_vlp_arrays(data, row, e)).mean()), 4) for e in data["evaluations"]}
    else:
        means = {m: round(float(seed_values(data, row, m).mean()), 4) for m in data["metrics"]}
    metrics = {names.get(m, f"test_mean_{m}"): v for m, v in means.items()}
    note = f"{data['title']}: mean over {len(data['rows'][row]['runs'])} training seed(s) of "
    metrics["note"] = note + f"{data['rows'][row]['label']} ({source})"
    if "metadata_note" in targets:
        metrics["note"] += f"; {targets['metadata_note']}"
    return metrics


def write_rendered_targets(root: str | os.PathLike, source: str) -> list[str]:
    """Render the results file ``source`` (relative to ``root``) and write every target it names, atomically; return
    the targets written."""
    written = []
    for path, text in rendered_targets(root, source).items():
        write_bytes_atomic(path, text.encode())
        written.append(path)
    return written


def rendered_targets(root: str | os.PathLike, source: str) -> dict[str, str]:
    """What the results file ``source`` (relative to ``root``) renders: ``{path: new text}`` for each markdown file
    with one of its sections and the ``metadata.json`` whose ``eval_metrics`` it sets."""
    from networks.apps.bundle_config import render_config
    from networks.apps.steps import with_section

    with open(os.path.join(root, source)) as f:
        data = json.load(f)
    section = SECTION_RENDERERS[data.get("experiment", "network_comparison")](data, source)
    out: dict[str, str] = {}
    for path, tag in data.get("targets", {}).get("sections", []):
        full = os.path.join(root, path)
        doc = out.get(full) or (open(full).read() if os.path.isfile(full) else "")
        out[full] = with_section(doc, tag, section)
    meta_file = data.get("targets", {}).get("metadata")
    if meta_file and data.get("targets", {}).get("metadata_row", data["baseline"]) in data["rows"]:
        full = os.path.join(root, meta_file)
        with open(full) as f:
            meta = json.load(f)
        meta["eval_metrics"] = _eval_metrics(data, source)
        out[full] = render_config(meta) + "\n"
    return out
