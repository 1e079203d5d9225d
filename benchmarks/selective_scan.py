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

"""Benchmark of networks.layers.selective_scan: every backend available on the device against the naive step-by-step
reference (CPU) and against the memory-bandwidth bound of the scan (GPU).

Sizes are the four SS2D scans of Swin-UMamba for a 256x256 input (4 directions x d_inner channels, N=16, B/C in
4 groups) at the chosen batch size. On CPU the reference is timed in full at every size (no extrapolation). On a
GPU the bound is the bytes the scan must read and write (forward: u, delta, B, C in, y out; backward additionally
gy in and du, ddelta, dB, dC out; float32) divided by the device-to-device copy bandwidth measured in the same
run. Run from the repo root:

    python benchmarks/selective_scan.py                               # all stages, CPU, batch 1
    python benchmarks/selective_scan.py --stages=1 --threads=1
    python benchmarks/selective_scan.py --device=cuda --batch=16      # torch, triton and (if importable) mamba_ssm
    python benchmarks/selective_scan.py --numba=False                 # without the numba backend
    python benchmarks/selective_scan.py --results docs/results/selective_scan_cpu.json   # record and render it
"""

from __future__ import annotations

import importlib
import os
import sys
import time

import fire
import torch

from networks.layers import selective_scan
from networks.layers.selective_scan_reference import reference_selective_scan

__all__ = ["main"]

# stage -> (L, dim): 64x64 ... 8x8 tokens, 4 directions x d_inner (192, 384, 768, 1536)
STAGES = {1: (4096, 768), 2: (1024, 1536), 3: (256, 3072), 4: (64, 6144)}


def _inputs(length, dim, device, n=16, groups=4, seed=0, batch=1):
    g = torch.Generator().manual_seed(seed)
    tensors = {
        "u": torch.randn(batch, dim, length, generator=g),
        "delta": torch.randn(batch, dim, length, generator=g) * 0.5,
        "A": -torch.arange(1, n + 1, dtype=torch.float32).repeat(dim, 1),  # the S4D-real init of SS2D
        "B": torch.randn(batch, groups, n, length, generator=g),
        "C": torch.randn(batch, groups, n, length, generator=g),
        "D": torch.ones(dim),
        "delta_bias": torch.rand(dim, generator=g) * 4 - 6,  # softplus^-1 of dt in about [2e-3, 0.1]
    }
    return {k: v.to(device) for k, v in tensors.items()}


def _time(fn, inputs, backward, repeats, device):
    """Best wall time of `repeats` runs (after one warm-up run when repeats > 1)."""

    def once():
        leaves = {k: v.clone().requires_grad_(backward) for k, v in inputs.items()}
        if device == "cuda":
            torch.cuda.synchronize()
        with torch.set_grad_enabled(backward):
            start = time.perf_counter()
            y = fn(**leaves, delta_softplus=True)
            if backward:
                y.backward(torch.ones_like(y))
            if device == "cuda":
                torch.cuda.synchronize()
            return time.perf_counter() - start

    if repeats > 1:
        once()
    return min(once() for _ in range(repeats))


def scan_bytes(batch, dim, length, n=16, groups=4, backward=False) -> int:
    """Bytes a selective scan must move at least (float32): see the module docstring."""
    seq, bc = batch * dim * length * 4, batch * groups * n * length * 4
    fwd = 3 * seq + 2 * bc
    return fwd + (5 * seq + 4 * bc if backward else 0)


def copy_bandwidth(device, nbytes=1 << 30, repeats=5) -> float:
    """Device-to-device copy bandwidth in bytes/s, counting bytes read and written."""
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        dst.copy_(src)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * nbytes / best


def main(
    stages="1,2,3,4",
    device="cpu",
    repeats=3,
    ref_repeats=1,
    threads=0,
    check=True,
    numba=True,
    batch=1,
    reference=None,
    results=None,
):
    """
    Print a table of forward and forward+backward times of every backend (and the reference on CPU).

    Args:
        stages: comma-separated stage numbers (1-4) of Swin-UMamba at 256x256.
        device: "cpu" or "cuda".
        repeats: runs of each backend (best time reported, after a warm-up run).
        ref_repeats: runs of the reference (slow: several seconds at stage 1 on CPU).
        threads: torch intra-op threads (0: leave PyTorch's default).
        check: also print the max abs difference of each backend's forward output against the torch backend
            (and the reference when it runs).
        numba: also time the numba backend (CPU only, when numba is installed; the JIT is warmed up first).
        batch: batch size (the issue's GPU sizes use 16).
        reference: time the step-by-step reference; defaults to True on CPU, False on CUDA (a Python loop over
            L of small kernels says nothing about GPU scans).
        results: also record the table in this results file (``docs/results/<name>.json``), rendered into
            docs/benchmarks.md between ``results:<name>`` markers, with the raw times, command, commit and machine.
    """
    if threads:
        torch.set_num_threads(threads)
    reference = device == "cpu" if reference is None else reference
    stages = [int(s) for s in str(stages).split(",")] if not isinstance(stages, (tuple, list)) else stages
    ss_module = importlib.import_module("networks.layers.selective_scan")
    backends = ["torch"]
    if numba and device == "cpu" and ss_module._numba_scan_fn() is not None:
        backends.append("numba")
    if device == "cuda" and ss_module._triton_scan_fn() is not None:
        backends.append("triton")
    if device == "cuda" and ss_module._mamba_ssm_fn() is not None:
        backends.append("mamba_ssm")
    bandwidth = copy_bandwidth(device) if device == "cuda" else None
    name = torch.cuda.get_device_name() if device == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, device {device} ({name}), batch {batch}, N=16, G=4, fp32; backends {backends}")
    if bandwidth:
        print(f"device-to-device copy bandwidth: {bandwidth / 1e12:.2f} TB/s (read + write)")
    columns = ["stage", "L", "dim", "pass"] + [f"{b} (ms)" for b in backends]
    if reference:
        columns += ["reference (ms)"] + [f"{b} speed-up" for b in backends]
    if bandwidth:
        columns += ["bandwidth bound (ms)"] + [f"{b} / bound" for b in backends[1:]]
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    table, measured, checks = [], [], []

    def runner(backend):
        return lambda **kw: selective_scan(**kw, backend=backend)

    for backend in backends[1:]:  # compile (or load from the cache) outside the timings
        small = _inputs(8, 8, device)
        leaves = {k: v.clone().requires_grad_() for k, v in small.items()}
        runner(backend)(**leaves, delta_softplus=True).sum().backward()

    for stage in stages:
        length, dim = STAGES[stage]
        inputs = _inputs(length, dim, device, batch=batch)
        if check:
            with torch.no_grad():
                outputs = {b: runner(b)(**inputs, delta_softplus=True) for b in backends}
                msg = f"stage {stage}: " + ", ".join(
                    f"max |{b} - torch| = {(outputs[b] - outputs['torch']).abs().max().item():.2e}"
                    for b in backends[1:]
                )
                if reference:
                    y_ref = reference_selective_scan(**inputs, delta_softplus=True)
                    msg += ", " + ", ".join(
                        f"max |{b} - reference| = {(outputs[b] - y_ref).abs().max().item():.2e}" for b in backends
                    )
                del outputs
            if msg != f"stage {stage}: ":  # nothing to compare when torch is the only backend
                print(msg)
                checks.append(msg)
        for backward in (False, True):
            times = {b: _time(runner(b), inputs, backward, repeats, device) for b in backends}
            row = [str(stage), str(length), str(dim), "fwd+bwd" if backward else "fwd"]
            row += [f"{times[b] * 1e3:.2f}" for b in backends]
            entry = {"stage": stage, "pass": row[3], "seconds": times}
            if reference:
                t_ref = _time(reference_selective_scan, inputs, backward, ref_repeats, device)
                row += [f"{t_ref * 1e3:.0f}"] + [f"{t_ref / times[b]:.1f}x" for b in backends]
                entry["reference_seconds"] = t_ref
            if bandwidth:
                bound = scan_bytes(batch, dim, length, backward=backward) / bandwidth
                row += [f"{bound * 1e3:.3f}"] + [f"{times[b] / bound:.1f}x" for b in backends[1:]]
                entry["bound_seconds"] = bound
            print("| " + " | ".join(row) + " |", flush=True)
            table.append(row)
            measured.append(entry)
    if results:
        from networks.apps.evidence import machine_description, record_measurement

        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        command = "python benchmarks/selective_scan.py " + " ".join(sys.argv[1:])
        machine = f"{machine_description()}, torch {torch.__version__}, {device} ({name})"
        title = (
            f"Selective scan, batch {batch}, N=16, G=4, fp32: {', '.join(backends)}"
            + (" against the step-by-step reference" if reference else "")
            + (" and the bandwidth bound" if bandwidth else "")
        )
        warm = " after a warm-up run" if repeats > 1 else ""
        notes = [f"best of {repeats} run(s){warm}" + (f"; reference: {ref_repeats} run(s)" if reference else "")]
        notes += checks
        if bandwidth:
            notes.append(f"device-to-device copy bandwidth {bandwidth / 1e12:.2f} TB/s (read + write)")
        record_measurement(repo, results, title, columns, table, command, os.path.join("docs", "benchmarks.md"),
                           machine, notes, measurements=measured)  # fmt: skip
    return {"rows": measured}


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
