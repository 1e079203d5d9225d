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

"""Training-step and inference cost of SwinUMamba and SwinUMambaD against MONAI's SwinUNETR, UNet and SegResNet.

Every network is timed in the same run, at the same input (default 2x1x256x256, 4 classes): one training step
(forward, cross-entropy, backward, AdamW step) and one eval-mode forward, each the median of ``repeats`` runs after
``warmup`` runs. Multiply-adds are counted once per network with ``benchmarks/flops.py`` (convolutions, linear
layers and matmuls; the selective scans are not multiply-adds of a weight and are excluded, as in the issue that
asked for this benchmark). Throughput is reported as

* training: 3 x forward multiply-adds per step / step time (the backward costs about twice the forward), and
* inference: forward multiply-adds / forward time,

and every network's training throughput is also printed as a ratio to SwinUNETR's from the same run.

    python benchmarks/train_step.py                                  # CPU, all five networks
    python benchmarks/train_step.py --device=cuda --batch=16         # on a GPU
    python benchmarks/train_step.py --nets=SwinUMamba,SwinUNETR --repeats=5
    python benchmarks/train_step.py --results docs/results/train_step_cpu.json   # also record and render the table
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import fire
import torch
from monai.networks.nets import SegResNet, SwinUNETR, UNet

from networks.nets import SwinUMamba, SwinUMambaD
from networks.nets.cost import count_flops

__all__ = ["build", "main"]

NETS = ("SwinUMamba", "SwinUMambaD", "SwinUNETR", "UNet", "SegResNet")


def build(name: str, in_channels: int, out_channels: int, size: int) -> torch.nn.Module:
    """The networks as a 2D segmentation user would configure them (MONAI defaults where they are sensible)."""
    if name == "SwinUMamba":
        return SwinUMamba(spatial_dims=2, in_channels=in_channels, out_channels=out_channels)
    if name == "SwinUMambaD":
        return SwinUMambaD(spatial_dims=2, in_channels=in_channels, out_channels=out_channels)
    if name == "SwinUNETR":
        kwargs = dict(spatial_dims=2, in_channels=in_channels, out_channels=out_channels, feature_size=48)
        try:  # MONAI < 1.5 still takes img_size
            return SwinUNETR(**kwargs)
        except TypeError:
            return SwinUNETR(img_size=(size, size), **kwargs)
    if name == "UNet":
        return UNet(
            spatial_dims=2,
            in_channels=in_channels,
            out_channels=out_channels,
            channels=(32, 64, 128, 256, 512),
            strides=(2, 2, 2, 2),
            num_res_units=2,
        )
    if name == "SegResNet":
        return SegResNet(spatial_dims=2, in_channels=in_channels, out_channels=out_channels, init_filters=32)
    raise ValueError(f"unknown network {name!r}, expected one of {NETS}.")


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _median_time(step, warmup: int, repeats: int, device: str) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name, batch, in_channels, out_channels, size, device, warmup, repeats, seed=0) -> dict:
    """Parameters, forward multiply-adds, train-step and eval-forward times of one network."""
    torch.manual_seed(seed)
    net = build(name, in_channels, out_channels, size)
    macs = count_flops(net, (batch, in_channels, size, size))["macs"]
    net = net.to(device)
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(batch, in_channels, size, size, generator=g).to(device)
    label = torch.randint(0, out_channels, (batch, size, size), generator=g).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(image), label).backward()
        optimizer.step()

    def eval_forward():
        with torch.no_grad():
            net(image)

    net.train()
    t_train = _median_time(train_step, warmup, repeats, device)
    net.eval()
    t_eval = _median_time(eval_forward, warmup, repeats, device)
    return {
        "net": name,
        "params": sum(p.numel() for p in net.parameters()),
        "macs": macs,
        "train_s": t_train,
        "eval_s": t_eval,
        "train_macs_per_s": 3 * macs / t_train,
        "eval_macs_per_s": macs / t_eval,
    }


def main(
    nets: str = ",".join(NETS),
    batch: int = 2,
    size: int = 256,
    in_channels: int = 1,
    out_channels: int = 4,
    device: str = "cpu",
    warmup: int = 1,
    repeats: int = 3,
    threads: int = 0,
    results: str | None = None,
) -> dict:
    """
    Print one markdown table row per network and the training-throughput ratio against SwinUNETR.

    Args:
        nets: comma-separated names among SwinUMamba, SwinUMambaD, SwinUNETR, UNet, SegResNet.
        batch: batch size.
        size: height and width of the input.
        in_channels: input channels.
        out_channels: classes of the segmentation head.
        device: "cpu" or "cuda".
        warmup: untimed runs before the timed ones (JIT compilation, allocator warm-up).
        repeats: timed runs; the median is reported.
        threads: torch intra-op threads (0: leave PyTorch's default).
        results: also record the table in this results file (``docs/results/<name>.json``), rendered into
            docs/benchmarks.md between ``results:<name>`` markers, with the raw timings, command, commit and machine.
    """
    if threads:
        torch.set_num_threads(threads)
    names = [n.strip() for n in (nets.split(",") if isinstance(nets, str) else nets)]
    from networks.layers.selective_scan import _resolve_backend

    backend = _resolve_backend(None, device == "cuda")
    where = f"{torch.cuda.get_device_name()}" if device == "cuda" else f"{torch.get_num_threads()} threads"
    setting = (
        f"input {batch}x{in_channels}x{size}x{size}, {out_channels} classes, selective scan backend {backend!r}, "
        f"median of {repeats} after {warmup} warm-up"
    )
    print(f"torch {torch.__version__}, device {device} ({where}), {setting}")
    rows = [measure(n, batch, in_channels, out_channels, size, device, warmup, repeats) for n in names]
    ref = next((r for r in rows if r["net"] == "SwinUNETR"), None)
    columns = ["network", "params (M)", "forward GMACs", "train step (s)", "train GMAC/s", "vs SwinUNETR",
               "eval forward (s)", "eval GMAC/s"]  # fmt: skip
    table = []
    for r in rows:
        ratio = f"{r['train_macs_per_s'] / ref['train_macs_per_s']:.2f}" if ref else "-"
        table.append([r["net"], f"{r['params'] / 1e6:.2f}", f"{r['macs'] / 1e9:.1f}", f"{r['train_s']:.3f}",
                      f"{r['train_macs_per_s'] / 1e9:.1f}", ratio, f"{r['eval_s']:.3f}",
                      f"{r['eval_macs_per_s'] / 1e9:.1f}"])  # fmt: skip
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    print("\n".join("| " + " | ".join(row) + " |" for row in table))
    notes = [
        f"{r['net']}: train step {r['train_s'] / ref['train_s']:.2f}x SwinUNETR's for {r['macs'] / ref['macs']:.2f}x "
        "its multiply-adds"
        for r in rows
        if ref and r["net"].startswith("SwinUMamba")
    ]
    print("\n".join(notes))
    if results:
        from networks.apps.evidence import machine_description, record_measurement

        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        command = "python benchmarks/train_step.py " + " ".join(sys.argv[1:])
        machine = f"{machine_description()}, torch {torch.__version__}, {device} ({where})"
        title = f"Training step and inference forward, {setting}"
        record_measurement(repo, results, title, columns, table, command, os.path.join("docs", "benchmarks.md"),
                           machine, notes, measurements=rows)  # fmt: skip
    return {"rows": rows, "notes": notes}


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
