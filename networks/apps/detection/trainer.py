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

"""A MONAI trainer for torchvision detection models, whose forward returns a dict of losses in training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from monai.engines import SupervisedTrainer
from monai.engines.utils import IterationEvents
from monai.utils import CommonKeys

__all__ = ["MaskRCNNTrainer", "detection_collate", "TARGET_KEYS"]

TARGET_KEYS = ("boxes", "labels", "masks")


def detection_collate(batch: Sequence[Any]) -> list[dict]:
    """
    Keep a batch as a list of sample dicts (images of a detection batch may differ in size, and each has its own
    number of targets); lists of samples from one image (``Rand*Samplesd``) are flattened into the batch.
    """
    out: list[dict] = []
    for item in batch:
        out.extend(detection_collate(item) if isinstance(item, (list, tuple)) else [item])
    return out


class MaskRCNNTrainer(SupervisedTrainer):
    """
    ``SupervisedTrainer`` for torchvision detection models (``networks.nets.MicroscopyMaskRCNN``): each iteration
    feeds the list of images and targets (``boxes``, ``labels``, ``masks`` of ``InstanceMapToTargetsd``) to the
    network, whose training forward returns the loss dict (RPN objectness and box, classifier, box, mask), and
    optimises their sum. The loss terms are in ``engine.state.output`` next to ``loss``; the usual MONAI events fire
    (``networks.handlers.GradientClipping`` hooks ``BACKWARD_COMPLETED``).

    Args: as ``SupervisedTrainer``; ``loss_function`` is not used (the model computes its losses) and defaults to
    ``None``. Use ``networks.apps.detection.detection_collate`` as the data loader's ``collate_fn``.
    """

    def __init__(self, *args, loss_function=None, decollate: bool = False, **kwargs) -> None:
        # the batch is a list of images of different sizes: nothing to decollate
        super().__init__(*args, loss_function=loss_function, decollate=decollate, **kwargs)

    def _iteration(self, engine, batchdata: list[dict]) -> dict:  # type: ignore[override]
        if not isinstance(batchdata, list) or not batchdata:
            raise ValueError("MaskRCNNTrainer needs a non-empty list of samples (collate_fn=detection_collate).")
        device = engine.state.device
        missing = [k for k in (CommonKeys.IMAGE, *TARGET_KEYS) if k not in batchdata[0]]
        if missing:
            raise KeyError(f"a training sample lacks {missing}: add networks.transforms.InstanceMapToTargetsd.")
        images = [torch.as_tensor(d[CommonKeys.IMAGE]).to(device, non_blocking=engine.non_blocking) for d in batchdata]
        targets = [{k: torch.as_tensor(d[k]).to(device) for k in TARGET_KEYS} for d in batchdata]
        engine.state.output = {CommonKeys.IMAGE: images}
        engine.network.train()
        engine.optimizer.zero_grad(set_to_none=engine.optim_set_to_none)
        if engine.amp and engine.scaler is not None:
            with torch.autocast("cuda", **engine.amp_kwargs):
                losses = engine.network(images, targets)
        else:
            losses = engine.network(images, targets)
        engine.fire_event(IterationEvents.FORWARD_COMPLETED)
        loss = sum(losses.values())
        engine.state.output[CommonKeys.LOSS] = loss
        engine.fire_event(IterationEvents.LOSS_COMPLETED)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite Mask R-CNN loss {({k: v.item() for k, v in losses.items()})}.")
        if engine.amp and engine.scaler is not None:
            engine.scaler.scale(loss).backward()
            engine.fire_event(IterationEvents.BACKWARD_COMPLETED)
            engine.scaler.step(engine.optimizer)
            engine.scaler.update()
        else:
            loss.backward()
            engine.fire_event(IterationEvents.BACKWARD_COMPLETED)
            engine.optimizer.step()
        engine.state.output.update({k: v.detach() for k, v in losses.items()})
        engine.state.output[CommonKeys.LOSS] = loss.detach()
        engine.fire_event(IterationEvents.MODEL_COMPLETED)
        return engine.state.output
