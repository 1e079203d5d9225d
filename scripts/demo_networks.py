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
Demo of the Swin-UMamba networks on CPU: builds SwinUMamba and SwinUMambaD, runs a seeded forward + backward with
deep supervision (DiceCE at every scale via MONAI's DeepSupervisionLoss), prints parameter counts, output shapes,
the loss and timings.

    python scripts/demo_networks.py
    python scripts/demo_networks.py --size=96 --batch=1 --out_channels=4
"""

from __future__ import annotations

import time

import fire
import torch
from monai.losses import DeepSupervisionLoss, DiceCELoss
from monai.utils import set_determinism

from networks.nets import SwinUMamba, SwinUMambaD

__all__ = ["main"]


def main(size: int = 64, batch: int = 2, in_channels: int = 1, out_channels: int = 3, seed: int = 0) -> None:
    """Build both networks, run one forward/backward at ``size`` x ``size`` and report what happened."""
    set_determinism(seed)
    x = torch.randn(batch, in_channels, size, size)
    label = torch.randint(0, out_channels, (batch, 1, size, size)).float()
    loss_fn = DeepSupervisionLoss(DiceCELoss(to_onehot_y=True, softmax=True))
    for cls in (SwinUMamba, SwinUMambaD):
        start = time.perf_counter()
        net = cls(spatial_dims=2, in_channels=in_channels, out_channels=out_channels, deep_supervision=True)
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        outputs = net.train()(x)
        forward_s = time.perf_counter() - start
        loss = loss_fn(outputs, label)
        start = time.perf_counter()
        loss.backward()
        backward_s = time.perf_counter() - start
        params = sum(p.numel() for p in net.parameters())
        print(f"{cls.__name__}: {params:,} parameters; input {tuple(x.shape)}")
        print(f"  deep-supervision outputs: {[tuple(o.shape) for o in outputs]}")
        print(
            f"  loss {loss.item():.4f}; build {build_s:.2f} s, forward {forward_s:.2f} s, backward {backward_s:.2f} s"
        )
        with torch.no_grad():
            print(f"  eval output: {tuple(net.eval()(x).shape)}")


if __name__ == "__main__":
    fire.Fire(main)
