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
"""What a forward pass of a network costs, counted without timing it: multiply-adds of convolutions, linear layers
and matmuls (``torch.utils.flop_counter.FlopCounterMode`` counts 2 FLOPs per multiply-add; halved here to the
multiply-accumulates fvcore reports and papers quote as "FLOPs"), plus, for the Mamba networks, their selective
scans counted analytically with VMamba's formula 9*B*L*D*N + B*D*L (``flops_selective_scan_fn``, with D, without z),
since the scan kernels are opaque to the counter. A zero-returning stand-in replaces the scans while counting, so no
scan runs (its cost does not depend on its values).
"""

from __future__ import annotations

from unittest import mock

import torch
from torch.utils.flop_counter import FlopCounterMode

import networks.blocks.ss2d as ss2d_module

__all__ = ["count_macs", "count_flops"]


def count_macs(net: torch.nn.Module, shape: tuple[int, ...]) -> dict:
    """``{"params", "macs"}`` of one forward pass of ``net`` (eval mode, no gradients) on a zero tensor of ``shape``."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net.eval()(torch.zeros(shape))
    return {"params": sum(p.numel() for p in net.parameters()), "macs": counter.get_total_flops() // 2}


def count_flops(net: torch.nn.Module, shape: tuple[int, ...]) -> dict:
    """Return {"macs": conv/linear multiply-adds, "scan": analytic scan FLOPs, "total": their sum} for one
    forward pass of ``net`` (eval mode) on a zero tensor of ``shape``."""
    scan_flops = 0

    def scan_stand_in(x, delta, A, B, C, D=None, **kwargs):
        # the four directions of selective_scan_2d: four scans over all channels of x
        nonlocal scan_flops
        b, _, h, w = x.shape
        channels, length = A.shape[0], h * w
        scan_flops += 9 * b * length * channels * A.shape[1] + (b * channels * length if D is not None else 0)
        return torch.zeros_like(x)

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), mock.patch.object(ss2d_module, "selective_scan_2d", scan_stand_in), counter:
        net.eval()(torch.zeros(shape))
    macs = counter.get_total_flops() // 2
    return {"macs": macs, "scan": scan_flops, "total": macs + scan_flops}
