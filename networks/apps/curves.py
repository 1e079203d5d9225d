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
"""Training curves of a bundle run: the per-epoch scalars its ``TensorBoardStatsHandler`` wrote (read back with
TensorBoard's own event reader), how flat their end is, and one figure of several runs' curves."""

from __future__ import annotations

import glob
import os
from typing import Sequence

import numpy as np

__all__ = ["scalar_curve", "end_slope", "plot_curves"]


def scalar_curve(log_dir: str | os.PathLike, tag: str) -> list[list[float]]:
    """``[[step, value], ...]`` of the scalar ``tag`` over every event file in ``log_dir``, by step; where a resumed
    run wrote a step again, its last value."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values: dict[int, tuple[float, float]] = {}
    for path in sorted(glob.glob(os.path.join(os.fspath(log_dir), "events.out.tfevents.*"))):
        events = EventAccumulator(path, size_guidance={"scalars": 0})  # 0: keep every value
        events.Reload()
        if tag not in events.Tags()["scalars"]:
            continue
        for event in events.Scalars(tag):
            if event.step not in values or event.wall_time >= values[event.step][0]:
                values[event.step] = (event.wall_time, float(event.value))
    if not values:
        raise ValueError(f"{log_dir}: no event file holds the scalar '{tag}'")
    return [[step, round(values[step][1], 5)] for step in sorted(values)]


def end_slope(curve: Sequence[Sequence[float]], window: int = 10) -> float:
    """Mean of the last ``window`` values minus the mean of the ``window`` before: near 0 when the curve has
    flattened (NaN when it is shorter than two windows)."""
    values = np.array([v for _, v in curve], dtype=np.float64)
    if len(values) < 2 * window:
        return float("nan")
    return float(values[-window:].mean() - values[-2 * window : -window].mean())


def plot_curves(
    curves: dict[str, list[Sequence[Sequence[float]]]], path: str | os.PathLike, title: str, ylabel: str
) -> None:
    """One PNG: per label (a network) its runs' curves as thin lines and their mean over runs as a thick one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for k, (label, runs) in enumerate(curves.items()):
        color = f"C{k}"
        for run in runs:
            steps, values = zip(*run)
            ax.plot(steps, values, color=color, alpha=0.3, linewidth=0.8)
        shortest = min(len(run) for run in runs)
        mean = np.mean([[v for _, v in run[:shortest]] for run in runs], axis=0)
        ax.plot([s for s, _ in runs[0][:shortest]], mean, color=color, linewidth=2, label=f"{label} ({len(runs)})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="network (runs)", title_fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})  # no version stamp: the same curves give the same bytes
    plt.close(fig)
