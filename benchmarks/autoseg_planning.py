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
Fingerprint + planning + preprocessing: ours (``python -m networks.apps.autoseg``) against nnunetv2 2.8.1's CLI, same
data, same number of worker processes, timed in one run; then every difference of fingerprint, plans and preprocessed
arrays.

    python benchmarks/autoseg_planning.py                       # all prepared nnU-Net raw sets under data/
    python benchmarks/autoseg_planning.py --datasets=lesion_mr --out=runs/autoseg_bench

Datasets are prepared with ``python -m networks.apps.prepare_data <name> --out data/<name>`` if missing; nnunetv2 runs
in its cached venv (``python -m networks.apps.nnunet_reference venv``). Both tools start from empty output folders and
include their process start-up. Writes ``<out>/results.json`` and prints a markdown table with the ratio nnunetv2 /
ours.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import fire

from networks.apps import nnunet_reference

REPO = Path(__file__).resolve().parents[1]

DATASETS = ("lesion_ct", "lesion_mr", "brain3d", "nuclei3d", "nuclei2d_nnunet", "brain2d_nnunet")


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def ours(dataset_dir: Path, work: Path, num_processes: int) -> dict:
    """Time our three stages from an empty work folder; also plan ResEnc M (no timing comparison needed)."""
    shutil.rmtree(work, ignore_errors=True)
    cli = [sys.executable, "-m", "networks.apps.autoseg"]
    common = ["--dataset_dir", str(dataset_dir), "--work_dir", str(work), "--num_processes", str(num_processes)]
    timings = {
        "fingerprint": _timed([*cli, "fingerprint", *common]),
        "plan": _timed([*cli, "plan", *common]),
        "preprocess": _timed([*cli, "preprocess", *common]),
    }
    _timed([*cli, "plan", *common, "--planner", "resenc_m", "--plans_file", "plans_resenc_m.json"])
    return timings


def _count(differences: dict) -> dict:
    cases = differences["cases"]
    worst = max(
        (e.get("data_max_abs_diff", float("inf")) for c in cases.values() for e in c.values() if isinstance(e, dict)),
        default=None,
    )
    seg = sum(e.get("seg_voxels_different", 0) for c in cases.values() for e in c.values() if isinstance(e, dict))
    return {
        "fingerprint": len(differences["fingerprint"]),
        "plans": len(differences["plans"]),
        "preprocessed_max_abs_diff": worst,
        "seg_voxels_different": seg,
    }


def main(datasets: str | tuple = DATASETS, out: str = "runs/autoseg_bench", num_processes: int = 2) -> None:
    """Run the benchmark (see the module docstring)."""
    names = datasets.split(",") if isinstance(datasets, str) else list(datasets)
    python = nnunet_reference.venv()
    out_dir = (REPO / out).resolve()
    results = {
        "date": str(date.today()),
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()}"
        f", {len(__import__('os').sched_getaffinity(0))} CPUs)",
        "num_processes": num_processes,
        "nnunetv2": nnunet_reference.NNUNET_VERSION,
        "datasets": {},
    }
    for name in names:
        dataset_dir = REPO / "data" / name
        if not (dataset_dir / "dataset.json").is_file():
            subprocess.run(
                [sys.executable, "-m", "networks.apps.prepare_data", name, "--out", str(dataset_dir)],
                cwd=REPO,
                check=True,
            )
        work, ref = out_dir / name / "ours", out_dir / name / "nnunetv2"
        ours_t = ours(dataset_dir, work, num_processes)
        shutil.rmtree(ref, ignore_errors=True)
        ref_t = nnunet_reference.run(str(dataset_dir), str(ref), "default", num_processes, python=python)
        nnunet_reference.run(
            str(dataset_dir),
            str(out_dir / name / "nnunetv2_resenc_m"),
            "resenc_m",
            num_processes,
            configurations="2d",
            python=python,
        )
        diff = nnunet_reference.compare(str(work), str(ref), "default", python=python)
        diff_m = nnunet_reference.compare(
            str(work), str(out_dir / name / "nnunetv2_resenc_m"), "resenc_m", python=python, cases=False
        )
        results["datasets"][name] = {
            "ours_s": ours_t,
            "nnunetv2_s": {k: ref_t[k] for k in ours_t},
            "differences": _count(diff),
            "resenc_m_plan_differences": len(diff_m["plans"]),
            "details": {"default": diff["plans"] + diff["fingerprint"], "resenc_m": diff_m["plans"]},
        }
        (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"{results['machine']}, {results['date']}, {num_processes} worker processes each\n")
    print(
        "| dataset | ours fp / plan / prep (s) | nnunetv2 fp / plan / prep (s) | nnunetv2 / ours (total) | "
        "fingerprint diffs | plans diffs (default, ResEnc M) | preprocessed max abs diff | seg voxels diff |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results["datasets"].items():
        o, t, d = r["ours_s"], r["nnunetv2_s"], r["differences"]
        ratio = sum(t.values()) / sum(o.values())
        print(
            f"| {name} | {o['fingerprint']:.1f} / {o['plan']:.1f} / {o['preprocess']:.1f} | {t['fingerprint']:.1f} "
            f"/ {t['plan']:.1f} / {t['preprocess']:.1f} | {ratio:.2f}x | {d['fingerprint']} | {d['plans']}, "
            f"{r['resenc_m_plan_differences']} | {d['preprocessed_max_abs_diff']} | {d['seg_voxels_different']} |"
        )


if __name__ == "__main__":
    fire.Fire(main)
