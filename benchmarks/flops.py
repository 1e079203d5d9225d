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
FLOPs of SwinUMamba / SwinUMambaD at a given input size, counted the way VMamba and the Swin-UMamba paper do
(docs/flops.md, rendered from ``docs/results/flops.json``).

Convolutions, linear layers and matmuls are counted by ``torch.utils.flop_counter.FlopCounterMode`` (which counts
2 FLOPs per multiply-add) and halved to multiply-accumulates, the unit fvcore reports and the paper quotes as
"FLOPs"; the selective scans, opaque to the counter, are replaced by a stand-in returning zeros and counted
analytically with VMamba's formula 9*B*L*D*N + B*D*L (``flops_selective_scan_fn``, with D, without z). The stand-in
makes the count fast (no scan is run); the scan's cost does not depend on its values. With ``--fvcore`` (needs
``pip install fvcore``) the same forward is also counted by fvcore's ``FlopCountAnalysis`` (default handles), the
counter VMamba uses.

    python benchmarks/flops.py --fvcore True      # both nets at 320x320, 1 channel, 14 classes; writes the file
    python benchmarks/flops.py --size=256 --out_channels=4 --write False
"""

from __future__ import annotations

import os
import sys
from unittest import mock

import fire
import torch
from torch.utils.flop_counter import FlopCounterMode

import networks.blocks.ss2d as ss2d_module
from networks.apps.evidence import machine_description, record_measurement
from networks.nets import SwinUMamba, SwinUMambaD
from networks.nets.cost import count_flops

__all__ = ["main"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join("docs", "results", "flops.json")
PAPER_GFLOPS = {"SwinUMamba": 58.4, "SwinUMambaD": 15.0}
# SwinUMamba's blocks the paper's first version did not have: the original's encoder5 (384->768 residual block at
# 1/16) and decoder6 (768 up block), ``skips.4`` and ``up_blocks.0`` here
LATER_BLOCKS = ("skips.4", "up_blocks.0")


def _module_macs(net: torch.nn.Module, shape: tuple[int, ...], prefixes: tuple[str, ...]) -> int:
    """Multiply-adds of the submodules named by ``prefixes`` (FlopCounterMode's per-module counts)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), mock.patch.object(ss2d_module, "selective_scan_2d", lambda x, *a, **k: torch.zeros_like(x)):
        with counter:
            net.eval()(torch.zeros(shape))
    counts = counter.get_flop_counts()
    names = [f"{type(net).__name__}.{p}" for p in prefixes]
    missing = [n for n in names if n not in counts]
    if missing:  # a renamed module would otherwise count as 0
        raise KeyError(f"no multiply-adds counted under {missing}; modules counted: {sorted(counts)[:20]}")
    return sum(sum(counts[n].values()) for n in names) // 2


def _fvcore_macs(net: torch.nn.Module, shape: tuple[int, ...]) -> int:
    """fvcore's count (multiply-adds, default handles) of the forward with the scans replaced by the stand-in."""
    try:
        from fvcore.nn import FlopCountAnalysis
    except ImportError as err:
        raise ImportError("--fvcore needs fvcore: pip install fvcore") from err
    with torch.no_grad(), mock.patch.object(ss2d_module, "selective_scan_2d", lambda x, *a, **k: torch.zeros_like(x)):
        analysis = FlopCountAnalysis(net.eval(), torch.zeros(shape))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return int(analysis.total())


def main(size: int = 320, in_channels: int = 1, out_channels: int = 14, fvcore: bool = False, write: bool = True):
    """Count both nets, print the GFLOPs (multiply-adds) next to the paper's and (``write``) record and render them."""
    shape = (1, in_channels, size, size)
    table = []
    for cls in (SwinUMamba, SwinUMambaD):
        torch.manual_seed(0)
        net = cls(spatial_dims=2, in_channels=in_channels, out_channels=out_channels)
        name, g = cls.__name__, {k: v / 1e9 for k, v in count_flops(net, shape).items()}
        row = [name, f"{sum(p.numel() for p in net.parameters()) / 1e6:.1f}", f"{g['macs']:.2f}", f"{g['scan']:.2f}",
               f"**{g['total']:.2f}**", str(PAPER_GFLOPS[name])]  # fmt: skip
        if fvcore:
            fv = _fvcore_macs(net, shape) / 1e9
            row += [f"{fv:.2f}", f"{fv + g['scan']:.2f}"]
        table.append(row)
        print(" | ".join(row), flush=True)
        if cls is SwinUMamba:
            later = _module_macs(net, shape, LATER_BLOCKS) / 1e9
            row = [f"{name} without encoder5 and decoder6 (the paper's first version, by subtraction)", "",
                   f"{g['macs'] - later:.2f}", f"{g['scan']:.2f}", f"{g['total'] - later:.2f}",
                   str(PAPER_GFLOPS[name])] + ["", ""] * fvcore  # fmt: skip
            table.append(row)
            print(" | ".join(row), flush=True)
    if not write:
        return
    columns = ["net", "params (M)", "conv/linear/matmul (G)", "selective scans (G, VMamba formula)", "total (G)",
               "paper (G)"] + ["fvcore, no scans (G)", "fvcore + scans (G)"] * fvcore  # fmt: skip
    title = f"FLOPs (multiply-adds) at {size}x{size}, {in_channels} input channel(s), {out_channels} classes, batch 1"
    command = "python benchmarks/flops.py " + " ".join(sys.argv[1:])
    machine = f"{machine_description()}, torch {torch.__version__}"
    record_measurement(
        REPO, os.path.join(REPO, SOURCE), title, columns, table, command, os.path.join("docs", "flops.md"), machine
    )


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
