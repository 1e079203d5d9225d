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

"""Benchmark of networks.layers.selective_scan (torch and, on CPU with numba installed, numba backends) against the
naive step-by-step reference (and mamba-ssm on CUDA).

Sizes are the four SS2D scans of Swin-UMamba for a 256x256 input (batch 1, 4 directions x d_inner channels,
N=16, B/C in 4 groups). The reference is timed in full at every size (no extrapolation). Run from the repo root:

    python benchmarks/selective_scan.py                    # all stages, CPU
    python benchmarks/selective_scan.py --stages=1 --threads=1
    python benchmarks/selective_scan.py --device=cuda      # adds the mamba-ssm kernel when importable
    python benchmarks/selective_scan.py --numba=False      # without the numba backend
"""

from __future__ import annotations

import importlib
import os
import sys
import time

import fire
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # for `tests.reference_scan`

from networks.layers import selective_scan  # noqa: E402
from tests.reference_scan import reference_selective_scan  # noqa: E402

__all__ = ["main"]

# stage -> (L, dim): 64x64 ... 8x8 tokens, 4 directions x d_inner (192, 384, 768, 1536)
STAGES = {1: (4096, 768), 2: (1024, 1536), 3: (256, 3072), 4: (64, 6144)}


def _inputs(length, dim, device, n=16, groups=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    tensors = {
        "u": torch.randn(1, dim, length, generator=g),
        "delta": torch.randn(1, dim, length, generator=g) * 0.5,
        "A": -torch.arange(1, n + 1, dtype=torch.float32).repeat(dim, 1),  # the S4D-real init of SS2D
        "B": torch.randn(1, groups, n, length, generator=g),
        "C": torch.randn(1, groups, n, length, generator=g),
        "D": torch.ones(dim),
        "delta_bias": torch.rand(dim, generator=g) * 4 - 6,  # softplus^-1 of dt in about [2e-3, 0.1]
    }
    return {k: v.to(device) for k, v in tensors.items()}


def _time(fn, inputs, backward, repeats, device):
    """Best wall time of `repeats` runs (after one warm-up run when repeats > 1)."""

    def once():
        leaves = {k: v.clone().requires_grad_(backward) for k, v in inputs.items()}
        with torch.set_grad_enabled(backward):
            start = time.perf_counter()
            y = fn(**leaves, delta_softplus=True)
            if backward:
                y.sum().backward()
            if device == "cuda":
                torch.cuda.synchronize()
            return time.perf_counter() - start

    if repeats > 1:
        once()
    return min(once() for _ in range(repeats))


def main(stages="1,2,3,4", device="cpu", repeats=3, ref_repeats=1, threads=0, check=True, numba=True):
    """
    Print a table of forward and forward+backward times, ours vs the reference (and vs mamba-ssm on CUDA).

    Args:
        stages: comma-separated stage numbers (1-4) of Swin-UMamba at 256x256.
        device: "cpu" or "cuda".
        repeats: runs of our scan (best time reported, after a warm-up run).
        ref_repeats: runs of the reference (slow: several seconds at stage 1 on CPU).
        threads: torch intra-op threads (0: leave PyTorch's default).
        check: also print the max abs difference of our forward output against the reference.
        numba: also time the numba backend (CPU only, when numba is installed; the JIT is warmed up first).
    """
    if threads:
        torch.set_num_threads(threads)
    stages = [int(s) for s in str(stages).split(",")] if not isinstance(stages, (tuple, list)) else stages
    ss_module = importlib.import_module("networks.layers.selective_scan")
    kernel = ss_module._mamba_ssm_fn() if device == "cuda" else None
    with_numba = numba and device == "cpu" and ss_module._numba_scan_fn() is not None
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, batch 1, N=16, G=4")
    print(f"chunk {ss_module._CHUNK}, max sub-chunk {ss_module._MAX_SUB}; reference timed in full (no scaling)")
    header = "| stage | L | dim | pass | torch (ms) |" + (" numba (ms) |" if with_numba else "")
    header += " reference (ms) | torch speed-up |" + (" numba speed-up |" if with_numba else "")
    header += " mamba-ssm (ms) | torch/kernel |" if kernel else ""
    print(header)
    print("|" + "---|" * (header.count("|") - 1))

    def ours(**kw):
        return selective_scan(**kw, backend="torch")

    def ours_numba(**kw):
        return selective_scan(**kw, backend="numba")

    if with_numba:  # compile (or load from the numba cache) outside the timings
        small = _inputs(8, 8, device)
        leaves = {k: v.clone().requires_grad_() for k, v in small.items()}
        ours_numba(**leaves, delta_softplus=True).sum().backward()

    for stage in stages:
        length, dim = STAGES[stage]
        inputs = _inputs(length, dim, device)
        if check:
            with torch.no_grad():
                y_ref = reference_selective_scan(**inputs, delta_softplus=True)
                diff = (ours(**inputs, delta_softplus=True) - y_ref).abs().max().item()
                msg = f"stage {stage}: max |torch - reference| = {diff:.2e}"
                if with_numba:
                    diff = (ours_numba(**inputs, delta_softplus=True) - y_ref).abs().max().item()
                    msg += f", max |numba - reference| = {diff:.2e}"
            print(msg)
        for backward in (False, True):
            t_ours = _time(ours, inputs, backward, repeats, device)
            t_nb = _time(ours_numba, inputs, backward, repeats, device) if with_numba else None
            t_ref = _time(reference_selective_scan, inputs, backward, ref_repeats, device)
            row = f"| {stage} | {length} | {dim} | {'fwd+bwd' if backward else 'fwd'} | {t_ours * 1e3:.0f} |"
            row += f" {t_nb * 1e3:.0f} |" if with_numba else ""
            row += f" {t_ref * 1e3:.0f} | {t_ref / t_ours:.1f}x |"
            row += f" {t_ref / t_nb:.1f}x |" if with_numba else ""
            if kernel:
                t_k = _time(lambda **kw: selective_scan(**kw, backend="mamba_ssm"), inputs, backward, repeats, device)
                row += f" {t_k * 1e3:.2f} | {t_ours / t_k:.1f}x |"
            print(row, flush=True)


if __name__ == "__main__":
    fire.Fire(main)
