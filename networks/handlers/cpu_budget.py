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

"""Stop training once a budget of process CPU time is spent (fair comparisons on a shared machine)."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Callable

from ignite.engine import Engine, Events

__all__ = ["CPUTimeBudget"]


class CPUTimeBudget:
    """
    Terminate a trainer once the process CPU time spent in its iterations exceeds ``budget_s``.

    ``ignite.handlers.TimeLimit`` measures wall time from the start of the run, which grows when other jobs share
    the machine and includes validation; this handler sums ``time.process_time()`` (CPU seconds of all threads of
    this process) from ``GET_BATCH_STARTED`` to ``ITERATION_COMPLETED`` of every iteration: data loading in the main
    process, forward, backward and optimiser step count; validation, checkpointing and logging between
    iterations do not. Work done in ``DataLoader`` worker processes is not counted: use ``num_workers=0`` when
    comparing. When the budget is spent the current epoch is ended early (``terminate_epoch``), so the
    ``EPOCH_COMPLETED`` handlers (validation, checkpoint savers) still run once, then the run terminates.
    ``engine.state.cpu_time_s`` holds the CPU seconds counted so far.

    Args:
        budget_s: CPU-second budget; ``None`` or a value <= 0 disables the handler.
        save_path: optional JSON file written when the run completes, with ``budget_s``, ``cpu_time_s``,
            ``iterations``, ``epochs`` and ``exhausted`` (the budget ended the run).
        clock: a function returning seconds, ``time.process_time`` by default (replaceable in tests).
    """

    def __init__(
        self, budget_s: float | None, save_path: str | None = None, clock: Callable[[], float] = time.process_time
    ) -> None:
        self.budget_s = float(budget_s) if budget_s else 0.0
        self.save_path = save_path
        self.clock = clock
        self.spent_s = 0.0
        self._start: float | None = None
        self._exhausted = False
        self.logger = logging.getLogger(self.__class__.__name__)

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: the trainer.
        """
        if self.budget_s <= 0:
            return
        engine.add_event_handler(Events.STARTED, self._reset)
        engine.add_event_handler(Events.GET_BATCH_STARTED, self._tick)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._tock)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._stop_run)
        engine.add_event_handler(Events.COMPLETED, self._save)

    def _reset(self, engine: Engine) -> None:
        self.spent_s, self._exhausted = 0.0, False

    def _tick(self, engine: Engine) -> None:
        self._start = self.clock()

    def _tock(self, engine: Engine) -> None:
        if self._start is not None:
            self.spent_s += self.clock() - self._start
            self._start = None
        engine.state.cpu_time_s = self.spent_s
        if not self._exhausted and self.spent_s >= self.budget_s:
            self._exhausted = True
            self.logger.info(
                f"CPU budget of {self.budget_s:g} s spent ({self.spent_s:.1f} s) at epoch {engine.state.epoch}, "
                f"iteration {engine.state.iteration}: ending the epoch and the run."
            )
            engine.terminate_epoch()

    def _stop_run(self, engine: Engine) -> None:
        if self._exhausted:
            engine.terminate()

    def _save(self, engine: Engine) -> None:
        if not self.save_path:
            return
        summary = {
            "budget_s": self.budget_s,
            "cpu_time_s": round(self.spent_s, 2),
            "iterations": engine.state.iteration,
            "epochs": engine.state.epoch,
            "exhausted": self._exhausted,
        }
        os.makedirs(os.path.dirname(os.path.abspath(self.save_path)), exist_ok=True)
        with open(self.save_path + ".tmp", "w") as f:
            json.dump(summary, f, indent=2)
        os.replace(self.save_path + ".tmp", self.save_path)
