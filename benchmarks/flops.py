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
FLOPs of SwinUMamba / SwinUMambaD at a given input size, counted the way VMamba and the Swin-UMamba paper do.

Convolutions, linear layers and matmuls are counted by ``torch.utils.flop_counter.FlopCounterMode`` (which counts
2 FLOPs per multiply-add) and halved to multiply-accumulates, the unit fvcore reports and the paper quotes as
"FLOPs"; the selective scans, opaque to the counter, are replaced by a stand-in returning zeros and counted
analytically with VMamba's formula 9*B*L*D*N + B*D*L (``flops_selective_scan_fn``, with D, without z). The stand-in
makes the count fast (no scan is run); the scan's cost does not depend on its values.

    python benchmarks/flops.py                    # both nets at 320x320, 1 channel, 14 classes
    python benchmarks/flops.py --size=256 --out_channels=4
"""

from __future__ import annotations

import time

import fire
import torch

from networks.nets import SwinUMamba, SwinUMambaD
from networks.nets.cost import count_flops

__all__ = ["main"]

PAPER_GFLOPS = {"SwinUMamba": 58.4, "SwinUMambaD": 15.0}


def main(size: int = 320, in_channels: int = 1, out_channels: int = 14) -> None:
    """Print the GFLOPs (fvcore/VMamba convention: multiply-adds) of both nets next to the paper's."""
    results = {}
    for cls in (SwinUMamba, SwinUMambaD):
        torch.manual_seed(0)
        net = cls(spatial_dims=2, in_channels=in_channels, out_channels=out_channels)
        start = time.perf_counter()
        counts = count_flops(net, (1, in_channels, size, size))
        name = cls.__name__
        results[name] = {k: v / 1e9 for k, v in counts.items()}
        print(
            f"{name}: {results[name]['total']:.2f} GFLOPs at {size}x{size} (conv/linear {results[name]['macs']:.2f} G "
            f"multiply-adds + selective scan {results[name]['scan']:.2f} G); paper: {PAPER_GFLOPS[name]} G "
            f"[counted in {time.perf_counter() - start:.1f} s]"
        )


if __name__ == "__main__":
    fire.Fire(main)
