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

"""Triton kernels of the selective scan core (``backend="triton"`` of ``selective_scan`` and ``selective_scan_2d``).

Triton ships with the CUDA builds of PyTorch and compiles these kernels at run time for the GPU present, so the
fast GPU path needs no compiled extension. Under ``TRITON_INTERPRET=1`` the same kernels run on CPU tensors
(slowly), which is how the tests check them on machines without a GPU.

One program scans a block of ``BLOCK_D`` channels of one batch item and one group (or one direction of a 2D cross
scan) step by step over the sequence, each channel's N-vector state in registers, always float32 whatever the
input dtype; bias + softplus of ``delta`` are applied on load. The forward pass saves the state at the start of
every block of ``BLOCK_T`` steps. The backward pass walks the blocks from the end: it recomputes a block's states
from its saved start into a per-program buffer (written and read by the same program, so it stays in cache), then
runs the adjoint recurrence

    lam_t = gy_t C_t + exp(delta_{t+1} A) lam_{t+1}

step by step backwards, carrying ``exp(delta_t A) lam_t`` to the previous step, so no exp is computed twice
there. The gradients of B and C are written as per-channel-block partial sums, added up in torch, so the result
does not depend on the order in which programs finish.

An earlier version scanned each block of steps with ``tl.associative_scan`` over (channels x N x steps) tiles;
on an H100 this sequential form was 15-25% faster forward+backward at the Swin-UMamba stage sizes
(docs/benchmarks.md), and it is simpler.

2D cross scan (``cross=(H, W)``): the four directions of SS2D (row-major, column-major, both reversed) read and
write the (H, W) grid directly through an index map computed in the kernel, so no flipped or transposed copy of
any input or output is made; ``u`` is shared by the four directions.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

__all__ = ["triton_scan", "BLOCKS"]

#: channels per program, steps per saved state block and warps of both kernels (the backward kernel reuses the
#: block-start states saved by the forward one, so they share BLOCK_T); chosen by a sweep on an H100
#: (docs/benchmarks.md)
BLOCKS = {"BLOCK_D": 32, "BLOCK_T": 16, "num_warps": 1}


@triton.jit
def _softplus(x):
    # log1p(exp(x)) without tl.log1p: log(v) * e / (v - 1) with v = 1 + e is exact to rounding for small e
    e = tl.exp(tl.minimum(x, 20.0))
    v = 1.0 + e
    lp = tl.where(v == 1.0, e, tl.log(v) * e / (v - 1.0))
    return tl.where(x > 20.0, x, lp)


@triton.jit
def _positions(t, k, L, H, W, CROSS: tl.constexpr):
    """Grid position of step t of direction k: row-major, column-major, reversed row-major, reversed column-major."""
    if CROSS:
        tt = tl.where(k >= 2, L - 1 - t, t)
        p = tl.where((k % 2) == 1, (tt % H) * W + tt // H, tt)
    else:
        p = t
    return tl.where(t < L, p, 0)


@triton.jit
def _load_delta(ptr, p, mask, bias, SOFTPLUS: tl.constexpr):
    """delta after bias (+ softplus), zero outside the mask so padded steps keep the state unchanged."""
    raw = tl.load(ptr + p, mask=mask, other=0.0).to(tl.float32) + bias
    dt = _softplus(raw) if SOFTPLUS else raw
    return tl.where(mask, dt, 0.0), raw


@triton.jit
def _program_channels(
    A_ptr, bias_ptr, CPG, N, CROSS: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr
):  # fmt: skip
    """What a program of either kernel works on: batch item b, group (direction) k, channel block blk, the
    channels d of its group, c of all groups and uc of u, the channel and state masks, and their A and bias."""
    b = tl.program_id(0).to(tl.int64)
    nblk = tl.cdiv(CPG, BLOCK_D)
    k = tl.program_id(1) // nblk
    blk = tl.program_id(1) % nblk
    d = blk * BLOCK_D + tl.arange(0, BLOCK_D)
    n = tl.arange(0, BLOCK_N)
    dmask, nmask = d < CPG, n < N
    c = k * CPG + d
    if CROSS:  # u is shared by the four directions
        uc = d
    else:
        uc = c
    A = tl.load(A_ptr + c[:, None] * N + n[None, :], mask=dmask[:, None] & nmask[None, :], other=0.0)
    bias = tl.load(bias_ptr + c, mask=dmask, other=0.0)
    return b, k, blk, d, n, c, uc, dmask, nmask, A.to(tl.float32), bias.to(tl.float32)


@triton.jit
def _scan_fwd_kernel(
    u_ptr, delta_ptr, bias_ptr, A_ptr, B_ptr, C_ptr, y_ptr, last_ptr, starts_ptr,
    L, CPG, DU, K, H, W, NCHUNK, N,
    CROSS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr,
):  # fmt: skip
    b, k, blk, d, n, c, uc, dmask, nmask, A, bias = _program_channels(A_ptr, bias_ptr, CPG, N, CROSS, BLOCK_D, BLOCK_N)
    KC = K * CPG
    dn_mask = dmask[:, None] & nmask[None, :]
    row_delta = delta_ptr + (b * KC + c) * L
    row_u = u_ptr + (b * DU + uc) * L
    row_bc = ((b * K + k) * N + n) * L
    row_y = y_ptr + (b * KC + c) * L
    row_start = starts_ptr + ((b * KC + c) * NCHUNK)[:, None] * N + n[None, :]
    h = tl.zeros((BLOCK_D, BLOCK_N), tl.float32)
    for t in range(L):
        if t % BLOCK_T == 0:
            tl.store(row_start + (t // BLOCK_T) * N, h, mask=dn_mask)
        p = _positions(t, k, L, H, W, CROSS)
        dt, _ = _load_delta(row_delta, p, dmask, bias, SOFTPLUS)
        uu = tl.load(row_u + p, mask=dmask, other=0.0).to(tl.float32)
        bn = tl.load(B_ptr + row_bc + p, mask=nmask, other=0.0).to(tl.float32)
        cn = tl.load(C_ptr + row_bc + p, mask=nmask, other=0.0).to(tl.float32)
        h = tl.exp(dt[:, None] * A) * h + (dt * uu)[:, None] * bn[None, :]
        tl.store(row_y + p, tl.sum(h * cn[None, :], axis=1), mask=dmask)
    tl.store(last_ptr + (b * KC + c)[:, None] * N + n[None, :], h, mask=dn_mask)


@triton.jit
def _scan_bwd_kernel(
    u_ptr, delta_ptr, bias_ptr, A_ptr, B_ptr, C_ptr, starts_ptr, gy_ptr, glast_ptr,
    gu_ptr, gdelta_ptr, gA_ptr, gB_ptr, gC_ptr, scratch_ptr,
    L, CPG, DU, K, H, W, NCHUNK, N,
    CROSS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr,
):  # fmt: skip
    b, k, blk, d, n, c, uc, dmask, nmask, A, bias = _program_channels(A_ptr, bias_ptr, CPG, N, CROSS, BLOCK_D, BLOCK_N)
    KC = K * CPG
    dn_mask = dmask[:, None] & nmask[None, :]
    row_ch = (b * KC + c) * L
    row_u = u_ptr + (b * DU + uc) * L
    row_bc = ((b * K + k) * N + n) * L
    row_gbc = (((b * K + k) * tl.cdiv(CPG, BLOCK_D) + blk) * N + n) * L
    row_start = starts_ptr + ((b * KC + c) * NCHUNK)[:, None] * N + n[None, :]
    # this program's buffer of one block's states (BLOCK_T x BLOCK_D x BLOCK_N), cache-resident
    tile = (d - blk * BLOCK_D)[:, None] * BLOCK_N + n[None, :]
    scratch = scratch_ptr + (b * tl.num_programs(1) + tl.program_id(1)) * (BLOCK_T * BLOCK_D * BLOCK_N) + tile
    # exp(delta_{t+1} A) lam_{t+1}, what step t receives from the step after it (d loss / d last at the end)
    carry = tl.load(glast_ptr + (b * KC + c)[:, None] * N + n[None, :], mask=dn_mask, other=0.0)
    gA = tl.zeros((BLOCK_D, BLOCK_N), tl.float32)
    for cj in range(NCHUNK):
        ci = NCHUNK - 1 - cj
        t0 = ci * BLOCK_T
        h = tl.load(row_start + ci * N, mask=dn_mask, other=0.0)
        for s in range(BLOCK_T):  # the block's states again, from its saved start state
            t = t0 + s
            m = dmask & (t < L)
            p = _positions(t, k, L, H, W, CROSS)
            dt, _ = _load_delta(delta_ptr + row_ch, p, m, bias, SOFTPLUS)
            uu = tl.load(row_u + p, mask=m, other=0.0).to(tl.float32)
            bn = tl.load(B_ptr + row_bc + p, mask=nmask & (t < L), other=0.0).to(tl.float32)
            h = tl.exp(dt[:, None] * A) * h + (dt * uu)[:, None] * bn[None, :]
            tl.store(scratch + s * (BLOCK_D * BLOCK_N), h)
        tl.debug_barrier()
        for s2 in range(BLOCK_T):  # the adjoint, step by step from the end of the block
            s = BLOCK_T - 1 - s2
            t = t0 + s
            m = dmask & (t < L)
            mn = nmask & (t < L)
            p = _positions(t, k, L, H, W, CROSS)
            dt, raw = _load_delta(delta_ptr + row_ch, p, m, bias, SOFTPLUS)
            uu = tl.load(row_u + p, mask=m, other=0.0).to(tl.float32)
            gy = tl.load(gy_ptr + row_ch + p, mask=m, other=0.0).to(tl.float32)
            bn = tl.load(B_ptr + row_bc + p, mask=mn, other=0.0).to(tl.float32)
            cn = tl.load(C_ptr + row_bc + p, mask=mn, other=0.0).to(tl.float32)
            hs = tl.load(scratch + s * (BLOCK_D * BLOCK_N))
            dA = tl.exp(dt[:, None] * A)
            lam = gy[:, None] * cn[None, :] + carry
            dtu = dt * uu
            # exp(delta_t A) h_{t-1} = h_t - delta_t B_t u_t
            w = lam * (hs - dtu[:, None] * bn[None, :])
            q = tl.sum(lam * bn[None, :], axis=1)
            gdt = uu * q + tl.sum(w * A, axis=1)
            gA += w * dt[:, None]
            if SOFTPLUS:
                gdt = gdt * tl.sigmoid(raw)
            tl.store(gu_ptr + row_ch + p, dt * q, mask=m)
            tl.store(gdelta_ptr + row_ch + p, gdt, mask=m)
            tl.store(gB_ptr + row_gbc + p, tl.sum(lam * dtu[:, None], axis=0), mask=mn)
            tl.store(gC_ptr + row_gbc + p, tl.sum(gy[:, None] * hs, axis=0), mask=mn)
            carry = dA * lam
        tl.debug_barrier()
    tl.store(gA_ptr + (b * KC + c)[:, None] * N + n[None, :], gA, mask=dn_mask)


def _launch_args(u, delta, A, B, cross, blocks):
    """Grid (batch, groups x channel blocks), the runtime sizes and the compile-time block sizes of a launch."""
    batch, du, length = u.shape
    kc, n = A.shape
    k = B.shape[1]
    cpg = kc // k
    height, width = cross if cross is not None else (1, length)
    block_t = blocks["BLOCK_T"]
    block_d = min(blocks["BLOCK_D"], triton.next_power_of_2(cpg))
    nchunk = triton.cdiv(length, block_t)
    grid = (batch, k * triton.cdiv(cpg, block_d))
    meta = dict(
        CROSS=cross is not None,
        BLOCK_D=block_d,
        BLOCK_N=max(2, triton.next_power_of_2(n)),
        BLOCK_T=block_t,
        num_warps=blocks["num_warps"],
    )
    return grid, (length, cpg, du, k, height, width, nchunk, n), meta


class _TritonScanFunction(torch.autograd.Function):
    """Core scan (y per direction at grid positions, last state); see :func:`triton_scan` for the shapes."""

    @staticmethod
    def forward(ctx, u, delta, bias, A, B, C, softplus, cross):
        batch = u.shape[0]
        kc, n = A.shape
        grid, sizes, meta = _launch_args(u, delta, A, B, cross, BLOCKS)
        nchunk = sizes[6]
        bias_t = bias if bias is not None else A.new_zeros(kc)
        y = u.new_empty((batch, kc, u.shape[-1]), dtype=torch.float32)
        last = u.new_empty((batch, kc, n), dtype=torch.float32)
        starts = u.new_empty((batch, kc, nchunk, n), dtype=torch.float32)
        _scan_fwd_kernel[grid](u, delta, bias_t, A, B, C, y, last, starts, *sizes, SOFTPLUS=softplus, **meta)
        ctx.save_for_backward(u, delta, bias_t, A, B, C, starts)
        ctx.softplus, ctx.cross, ctx.has_bias = softplus, cross, bias is not None
        ctx.launch = grid, sizes, meta  # the backward kernel walks the same blocks, reusing their start states
        return y, last

    @staticmethod
    @once_differentiable
    def backward(ctx, gy, glast):
        u, delta, bias, A, B, C, starts = ctx.saved_tensors
        batch, du, length = u.shape
        kc, n = A.shape
        k = B.shape[1]
        f32 = dict(dtype=torch.float32, device=u.device)
        gy = torch.zeros((batch, kc, length), **f32) if gy is None else gy.float().contiguous()
        glast = torch.zeros((batch, kc, n), **f32) if glast is None else glast.float().contiguous()
        grid, sizes, meta = ctx.launch
        nblk = grid[1] // k
        gu = torch.empty((batch, kc, length), **f32)
        gdelta = torch.empty((batch, kc, length), **f32)
        gA = torch.empty((batch, kc, n), **f32)
        gB = torch.empty((batch, k, nblk, n, length), **f32)
        gC = torch.empty((batch, k, nblk, n, length), **f32)
        args = (u, delta, bias, A, B, C, starts, gy, glast, gu, gdelta, gA, gB, gC)
        # one block of states per program, written and read back by the same program (stays in cache)
        scratch = torch.empty(batch * grid[1] * meta["BLOCK_T"] * meta["BLOCK_D"] * meta["BLOCK_N"], **f32)
        _scan_bwd_kernel[grid](*args, scratch, *sizes, SOFTPLUS=ctx.softplus, **meta)
        if ctx.cross is not None:  # u is shared by the directions: add their contributions
            gu = gu.view(batch, k, du, length).sum(1)
        gbias = gdelta.sum((0, 2)).to(bias.dtype) if ctx.has_bias else None
        return (
            gu.to(u.dtype),
            gdelta.to(delta.dtype),
            gbias,
            gA.sum(0).to(A.dtype),
            gB.sum(2).to(B.dtype),
            gC.sum(2).to(C.dtype),
            None,
            None,
        )


def triton_scan(u, delta, A, B, C, delta_bias=None, delta_softplus=False, cross=None):
    """
    The selective scan core with Triton kernels, differentiable: bias and softplus of ``delta`` fused, no D or gate.

    Args:
        u: (batch, K * c, L), or (batch, c, L) shared by the K = 4 directions of a cross scan; any float dtype.
        delta: (batch, K * c, L) before bias and softplus.
        A: (K * c, N).
        B: (batch, K, N, L); channel block ``k`` uses group ``k``.
        C: (batch, K, N, L).
        delta_bias: (K * c,) or None.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        cross: None for plain 1D scans, or (H, W) for the four SS2D directions over a row-major (H, W) grid
            (then K must be 4 and L = H * W; every tensor is in grid order).

    Returns:
        y (batch, K * c, L) in float32, at grid positions for a cross scan (no sum over directions), and the last
        state (batch, K * c, N) in float32.

    Raises:
        RuntimeError: when the tensors are not CUDA tensors and Triton does not run its interpreter.
        ValueError: when ``cross`` does not describe 4 directions over L = H * W steps.
    """
    if cross is not None and (B.shape[1] != 4 or cross[0] * cross[1] != u.shape[-1]):
        raise ValueError(f"a cross scan needs 4 directions over H * W = L steps, got {B.shape[1]}, {cross}.")
    if not (u.is_cuda or triton_interpreted()):
        raise RuntimeError(
            "selective_scan backend 'triton' needs CUDA tensors (or TRITON_INTERPRET=1 for the CPU interpreter), "
            f"got tensors on {u.device}."
        )
    tensors = [t.contiguous() for t in (u, delta, A, B, C)]
    bias = delta_bias.contiguous() if delta_bias is not None else None
    return _TritonScanFunction.apply(
        tensors[0], tensors[1], bias, tensors[2], tensors[3], tensors[4], bool(delta_softplus), cross
    )


def triton_interpreted() -> bool:
    """True when Triton runs its interpreter (TRITON_INTERPRET=1): kernels then take CPU tensors."""
    try:
        return bool(triton.knobs.runtime.interpret)
    except AttributeError:  # Triton < 3.4 has no knobs
        return os.environ.get("TRITON_INTERPRET", "0") == "1"
