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
Parameters and multiply-adds of the attention ResNets (plain, SE, CBAM, AAM) in 2D and 3D, with ratios against the
plain ResNet and against CBAM, written to ``docs/attention_cost.md``.

Multiply-adds are those of convolutions and linear layers (``torch.utils.flop_counter.FlopCounterMode``, forward,
batch 1, divided by 2); the gates' 1D/2D/3D convolutions and MLPs are among them, their element-wise work (pooling,
sigmoid, products) is not.

Usage::

    python benchmarks/attention_cost.py                 # prints the table and writes docs/attention_cost.md
"""

from __future__ import annotations

import datetime
import os

import fire

from networks.data.file_io import write_bytes_atomic
from networks.nets import AttentionResNet
from networks.nets.cost import count_macs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTENTIONS = (None, "se", "cbam", "aam")
# (label, layout, spatial size, stem kwargs): the bundle's 32x32 patches, an ImageNet-sized 2D input, 3D patches
SETTINGS = (
    ("ResNet-18, 2D 32x32 (the bundle)", "resnet18", (32, 32), {"stem_kernel_size": 3, "stem_max_pool": False}),
    ("ResNet-50, 2D 32x32", "resnet50", (32, 32), {"stem_kernel_size": 3, "stem_max_pool": False}),
    ("ResNet-18, 2D 224x224", "resnet18", (224, 224), {}),
    ("ResNet-50, 2D 224x224", "resnet50", (224, 224), {}),
    ("ResNet-18, 3D 24x24x24", "resnet18", (24, 24, 24), {"stem_kernel_size": 3, "stem_max_pool": False}),
)


def cost(layout: str, attention: str | None, size: tuple[int, ...], num_classes: int = 116, **stem) -> dict:
    """Parameters and forward multiply-adds of one network."""
    return count_macs(AttentionResNet(len(size), 1, num_classes, layout, attention, **stem), (1, 1) + tuple(size))


def main(num_classes: int = 116, write: bool = True) -> None:
    """Print (and write to docs/attention_cost.md) the table of every setting and attention."""
    lines = [
        "# Parameters and multiply-adds of the attention ResNets",
        "",
        f"Command: `python benchmarks/attention_cost.py` ({datetime.date.today().isoformat()}; counts do not depend "
        f"on the machine). {num_classes} output classes, 1 input channel, batch 1. Multiply-adds: convolutions and "
        "linear layers (`torch.utils.flop_counter`, forward / 2), which include the gates' convolutions and MLPs but "
        "not their element-wise pooling, sigmoid and products. 'Added' is what the attention adds to the plain ResNet.",
        "",
        "| network | attention | params | added params | added vs CBAM | M multiply-adds | added M multiply-adds |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, layout, size, stem in SETTINGS:
        rows = {a: cost(layout, a, size, num_classes, **stem) for a in ATTENTIONS}
        base, cbam = rows[None], rows["cbam"]
        for attention, row in rows.items():
            added = row["params"] - base["params"]
            versus = "" if attention is None else f"{added / (cbam['params'] - base['params']):.3f}x"
            lines.append(
                f"| {label} | {attention or 'none'} | {row['params']:,} | {added:,} | {versus} | "
                f"{row['macs'] / 1e6:.2f} | {(row['macs'] - base['macs']) / 1e6:.3f} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        write_bytes_atomic(os.path.join(REPO, "docs", "attention_cost.md"), text.encode())


if __name__ == "__main__":
    fire.Fire(main)
