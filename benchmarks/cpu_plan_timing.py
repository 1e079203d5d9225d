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
The CPU planning preset's time model against measured training steps on this machine, in one run.

For each dataset and budget, ``CPUPlanner`` plans (with the machine's throughput, measured by its calibration), then
every configuration's network is built as MONAI ``DynUNet`` from the plan (kernels, strides, features) and one
training step (forward, backward, SGD) at the planned batch and patch is timed (best of 3 after a warm-up). The ratio
measured / predicted says how far the model is off.

    python benchmarks/cpu_plan_timing.py
    python benchmarks/cpu_plan_timing.py --datasets=lesion_mr --budgets=1,4
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

import fire
import torch

from networks.apps.autoseg import CPUPlanner, load_raw_dataset
from networks.apps.autoseg.planning.cpu_timing import measured_throughput, time_training_step
from networks.apps.autoseg.planning.fingerprint import extract_fingerprint

REPO = Path(__file__).resolve().parents[1]


def main(
    datasets: str | tuple = ("lesion_mr", "brain3d", "nuclei2d_nnunet"),
    budgets: str | tuple = (0.5, 2.0),
    out: str = "runs/cpu_plan_timing",
) -> None:
    """Run the benchmark (see the module docstring) and print a markdown table."""
    names = datasets.split(",") if isinstance(datasets, str) else list(datasets)
    budgets = [float(b) for b in (budgets.split(",") if isinstance(budgets, str) else budgets)]
    out_dir = REPO / out
    throughput = measured_throughput(refresh=True)
    rows = []
    for name in names:
        dataset_dir = REPO / "data" / name
        if not (dataset_dir / "dataset.json").is_file():
            subprocess.run(
                [sys.executable, "-m", "networks.apps.prepare_data", name, "--out", str(dataset_dir)],
                cwd=REPO,
                check=True,
            )
        dataset = load_raw_dataset(dataset_dir)
        fingerprint = extract_fingerprint(dataset, out_dir / name)
        for budget in budgets:
            plans = CPUPlanner(
                dataset.nnunet_dataset_json(),
                fingerprint,
                seconds_per_iteration=budget,
                throughput=throughput,
                dataset_name=name,
            ).plan_experiment()
            for config_name, config in plans["configurations"].items():
                if "patch_size" not in config:
                    continue
                arch = config["architecture"]["arch_kwargs"]
                seconds, _ = time_training_step(
                    config["patch_size"],
                    config["batch_size"],
                    arch["strides"],
                    arch["features_per_stage"],
                    arch["kernel_sizes"],
                    dataset.num_channels,
                    len(dataset.labels),
                )
                predicted = config["cpu_time_model"]["predicted_seconds_per_iteration"]
                rows.append(
                    {
                        "dataset": name,
                        "budget_s": budget,
                        "configuration": config_name,
                        "patch": config["patch_size"],
                        "batch": config["batch_size"],
                        "predicted_s": predicted,
                        "measured_s": seconds,
                        "measured_over_predicted": seconds / predicted,
                        "epochs_in_12h": config["cpu_time_model"]["planned_num_epochs"],
                    }
                )
    result = {
        "date": str(date.today()),
        "machine": f"{platform.node()} ({platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads)",
        "throughput_multiply_adds_per_s": throughput,
        "rows": rows,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(result, indent=1))
    print(
        f"{result['machine']}, {result['date']}; calibrated throughput (G multiply-adds/s): "
        + ", ".join(f"{d}D {v / 1e9:.0f}" for d, v in throughput.items())
        + "\n"
    )
    print(
        "| dataset | budget (s) | configuration | patch | batch | predicted (s) | measured (s) | measured / predicted |"
        " epochs in 12 h |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['dataset']} | {r['budget_s']:g} | {r['configuration']} | {'x'.join(map(str, r['patch']))} | "
            f"{r['batch']} | {r['predicted_s']:.2f} | {r['measured_s']:.2f} | {r['measured_over_predicted']:.2f} | "
            f"{r['epochs_in_12h']} |"
        )


if __name__ == "__main__":
    fire.Fire(main)
