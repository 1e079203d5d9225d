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

"""Freeze a pretrained encoder for the first epochs of training."""

from __future__ import annotations

import logging

import torch
from ignite.engine import Engine, Events

__all__ = ["EncoderFreezeHandler"]


class EncoderFreezeHandler:
    """
    Keep the network's encoder frozen for the first freeze_epochs epochs, then unfreeze it
    (fine-tuning from ImageNet/VMamba weights: the randomly initialised decoder settles first).

    The network must provide freeze_encoder() and unfreeze_encoder() (networks.nets.SwinUMamba
    and SwinUMambaD do); a DDP wrapper is unwrapped. The handler works on resume too: at every
    epoch start it sets the state that epoch needs. With freeze_epochs <= 0 or enabled=False it
    does nothing, so configs can keep it in the handler list for every network.

    Args:
        network: the network (or a DistributedDataParallel/DataParallel wrapper of it).
        freeze_epochs: number of epochs with the encoder frozen. Defaults to 0.
        enabled: switch, e.g. "$bool(@pretrained_path)" in a bundle config. Defaults to True.
    """

    def __init__(self, network: torch.nn.Module, freeze_epochs: int = 0, enabled: bool = True) -> None:
        self.network = network.module if hasattr(network, "module") else network
        self.freeze_epochs = int(freeze_epochs)
        self.enabled = bool(enabled) and self.freeze_epochs > 0
        if self.enabled and not (
            callable(getattr(self.network, "freeze_encoder", None))
            and callable(getattr(self.network, "unfreeze_encoder", None))
        ):
            raise ValueError(
                f"freeze_epochs={freeze_epochs} needs a network with freeze_encoder()/unfreeze_encoder(), "
                f"got {type(self.network).__name__}."
            )
        self.frozen = False
        self.logger = logging.getLogger(__name__)

    def attach(self, engine: Engine) -> None:
        """
        Args:
            engine: the trainer.
        """
        if self.enabled:
            engine.add_event_handler(Events.EPOCH_STARTED, self)

    def __call__(self, engine: Engine) -> None:
        """
        Args:
            engine: the trainer.
        """
        freeze = engine.state.epoch <= self.freeze_epochs
        if freeze and not self.frozen:
            self.network.freeze_encoder()
            self.logger.info(f"epoch {engine.state.epoch}: encoder frozen (until epoch {self.freeze_epochs}).")
        elif not freeze and self.frozen:
            self.network.unfreeze_encoder()
            self.logger.info(f"epoch {engine.state.epoch}: encoder unfrozen.")
        self.frozen = freeze
