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

"""Write an engine's final metrics to a JSON summary."""

from __future__ import annotations

import json
import os

import torch
from ignite.engine import Engine, Events
from monai.utils import min_version, optional_import

idist, _ = optional_import("ignite", "0.4.10", min_version, "distributed")

__all__ = ["MetricsJSONSaver"]


def _to_builtin(value):
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value


class MetricsJSONSaver:
    """
    Save engine.state.metrics (e.g. mean Dice, NSD, instance F1 of an evaluator) to a JSON file
    when the engine completes; rank 0 only. Complements MONAI's MetricsSaver (per-case CSV).

    Args:
        save_dir: output folder (created if missing).
        filename: JSON file name. Defaults to "metrics_summary.json".
        extra: extra items to store, e.g. {"checkpoint": "@ckpt_path"}.
    """

    def __init__(self, save_dir: str, filename: str = "metrics_summary.json", extra: dict | None = None) -> None:
        self.save_dir = save_dir
        self.filename = filename
        self.extra = dict(extra or {})

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: the evaluator or trainer.
        """
        engine.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        """
        Args:
            engine: the evaluator or trainer.
        """
        if idist.get_rank() != 0:
            return
        os.makedirs(self.save_dir, exist_ok=True)
        summary = {k: _to_builtin(v) for k, v in engine.state.metrics.items()}
        summary["num_cases"] = len(engine.data_loader.dataset) if hasattr(engine.data_loader, "dataset") else None
        summary.update({k: _to_builtin(v) for k, v in self.extra.items()})
        path = os.path.join(self.save_dir, self.filename)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(summary, f, indent=2)
        os.replace(tmp, path)
