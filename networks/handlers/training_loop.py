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

"""Trainer handlers for nnU-Net's training loop: gradient clipping, and the run's ETA after every epoch."""

from __future__ import annotations

import logging
import time

import torch
from ignite.engine import Engine, Events
from monai.engines.utils import IterationEvents

__all__ = ["GradientClipping", "TrainingETA"]


class GradientClipping:
    """
    Clip the gradient norm of the trainer's network after the backward pass, before the optimiser step (nnU-Net
    clips at 12). With AMP the gradients are unscaled first, as PyTorch's AMP recipe requires.

    Args:
        max_norm: largest total gradient norm.
    """

    def __init__(self, max_norm: float = 12.0) -> None:
        self.max_norm = float(max_norm)

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: a MONAI ``SupervisedTrainer`` (it fires ``BACKWARD_COMPLETED``).
        """
        engine.add_event_handler(IterationEvents.BACKWARD_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        scaler = getattr(engine, "scaler", None)
        if getattr(engine, "amp", False) and scaler is not None:
            scaler.unscale_(engine.optimizer)
        torch.nn.utils.clip_grad_norm_(engine.network.parameters(), self.max_norm)


class TrainingETA:
    """
    Log after every epoch ``epoch e/E, <s> s/epoch, ETA <h:mm:ss>`` from the mean duration of the epochs of this
    run (validation included), and keep ``engine.state.eta_s``. A resumed run starts its estimate afresh.
    """

    def __init__(self) -> None:
        self.logger = logging.getLogger(self.__class__.__name__)
        self._start: float | None = None
        self._first_epoch = 0

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: the trainer.
        """
        engine.add_event_handler(Events.STARTED, self._started)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self)

    def _started(self, engine: Engine) -> None:
        self._start, self._first_epoch = time.perf_counter(), engine.state.epoch

    def __call__(self, engine: Engine) -> None:
        if self._start is None:
            self._started(engine)
        done = engine.state.epoch - self._first_epoch
        per_epoch = (time.perf_counter() - self._start) / max(done, 1)
        remaining = engine.state.max_epochs - engine.state.epoch
        engine.state.eta_s = per_epoch * remaining
        minutes, seconds = divmod(int(engine.state.eta_s), 60)
        eta = f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"  # hours past 24 too
        self.logger.info(
            "epoch %d/%d, %.1f s/epoch, ETA %s", engine.state.epoch, engine.state.max_epochs, per_epoch, eta
        )
