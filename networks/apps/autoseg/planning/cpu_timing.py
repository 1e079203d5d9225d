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

"""Measured training throughput of this machine (multiply-adds per second), for the CPU planning preset.

A small plain U-Net (MONAI ``DynUNet``: two 3x3(x3) conv + instance norm + LeakyReLU per stage, transposed-conv
decoder, as nnU-Net's) runs forward, backward and an SGD step on random data; its forward multiply-adds, counted by
:func:`~.topology.unet_multiply_adds`, times 3 (forward + backward) over the best of a few step times gives the
throughput. Results are cached per machine, thread count and torch version in
``~/.cache/monai-mamba-zoo/cpu_throughput.json``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from networks.data.file_io import write_json_atomic

from .topology import unet_multiply_adds

__all__ = ["CALIBRATION", "time_training_step", "measured_throughput"]

CACHE_FILE = Path("~/.cache/monai-mamba-zoo/cpu_throughput.json").expanduser()
# dim -> (patch, batch, strides, features): a few hundred ms per step on a laptop core
CALIBRATION = {
    2: ((128, 128), 2, ((1, 1), (2, 2), (2, 2), (2, 2), (2, 2), (2, 2)), (32, 64, 128, 256, 512, 512)),
    3: ((48, 48, 48), 1, ((1, 1, 1), (2, 2, 2), (2, 2, 2), (2, 2, 2), (2, 2, 2)), (32, 64, 128, 256, 320)),
}


def time_training_step(
    patch_size,
    batch_size: int,
    strides,
    features,
    kernel_sizes=None,
    in_channels: int = 1,
    num_classes: int = 2,
    repeats: int = 3,
) -> tuple[float, int]:
    """Best wall time of one forward+backward+SGD step of a DynUNet, and its forward multiply-adds per sample."""
    import torch
    from monai.networks.nets import DynUNet

    dim = len(patch_size)
    kernel_sizes = kernel_sizes or [[3] * dim] * len(strides)
    net = DynUNet(
        dim,
        in_channels,
        num_classes,
        kernel_size=kernel_sizes,
        strides=strides,
        upsample_kernel_size=strides[1:],
        filters=list(features),
        norm_name=("INSTANCE", {"affine": True}),
        act_name=("leakyrelu", {"inplace": True, "negative_slope": 0.01}),
        res_block=False,
    )
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.99, nesterov=True)
    x = torch.randn(batch_size, in_channels, *patch_size)
    y = torch.randint(0, num_classes, (batch_size, *patch_size))
    loss_fn = torch.nn.CrossEntropyLoss()
    best = float("inf")
    for i in range(repeats + 1):  # the first step warms up allocators and kernels
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        optimizer.step()
        if i:
            best = min(best, time.perf_counter() - start)
    n = len(strides)
    macs = unet_multiply_adds(
        patch_size, strides, kernel_sizes, features, [2] * n, [2] * (n - 1), in_channels, num_classes
    )
    return best, macs


def _machine_key() -> str:
    import torch

    return (
        f"{platform.node()}|{platform.processor() or platform.machine()}|threads={torch.get_num_threads()}|"
        f"torch={torch.__version__}"
    )


def measured_throughput(refresh: bool = False, cache_file: str | os.PathLike = CACHE_FILE) -> dict[int, float]:
    """Multiply-adds per second of a training step, ``{2: ..., 3: ...}``, measured once per machine and cached."""
    cache_file = Path(cache_file)
    key = _machine_key()
    cache = {}
    if cache_file.is_file():
        try:
            cache = json.loads(cache_file.read_text())
        except ValueError:
            cache = {}
    if key in cache and not refresh:
        return {int(k): float(v) for k, v in cache[key].items()}
    result = {}
    for dim, (patch, batch, strides, features) in CALIBRATION.items():
        seconds, macs = time_training_step(patch, batch, strides, features)
        result[dim] = 3 * macs * batch / seconds
    cache[key] = {str(k): v for k, v in result.items()}
    write_json_atomic(cache_file, cache)
    return result
