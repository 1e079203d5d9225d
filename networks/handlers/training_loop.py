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

"""Trainer handlers for nnU-Net's training loop: gradient clipping."""

from __future__ import annotations

import torch
from ignite.engine import Engine
from monai.engines.utils import IterationEvents

__all__ = ["GradientClipping"]


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
