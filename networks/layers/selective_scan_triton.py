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

One program scans a block of channels of one batch item and one group (or one direction of a 2D cross scan)
over the whole sequence, ``BLOCK_T`` steps at a time. Inside a block of steps the recurrence

    h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t

is a ``tl.associative_scan`` over the (decay, input) pairs; the state between blocks is carried in registers and
is always float32, whatever the input dtype. Bias + softplus of ``delta`` are applied on load. The backward pass
recomputes the states block by block from the block-start states saved by the forward pass, runs the adjoint
recurrence ``lam_t = gy_t C_t + exp(delta_{t+1} A) lam_{t+1}`` as a reverse associative scan, and writes the
gradients of B and C as per-channel-block partial sums (added up in torch, so the result does not depend on the
order in which programs finish).

2D cross scan (``cross=(H, W)``): the four directions of SS2D (row-major, column-major, both reversed) read and
write the (H, W) grid directly through an index map computed in the kernel, so no flipped or transposed copy of
any input or output is made; ``u`` is shared by the four directions.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["triton_scan", "BLOCKS"]

#: channels per program, steps per associative scan and warps of both kernels (the backward kernel reuses the
#: block-start states saved by the forward one, so they share BLOCK_T); chosen by a sweep on an H100
#: (docs/benchmarks.md): small tiles win, more programs in flight hide the latency of the in-register scans
BLOCKS = {"BLOCK_D": 4, "BLOCK_T": 16, "num_warps": 1}


@triton.jit
def _combine(a1, b1, a2, b2):
    """Compose two steps h -> a h + b, the first (a1, b1) applied before the second."""
    return a1 * a2, b1 * a2 + b2


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
def _scan_fwd_kernel(
    u_ptr, delta_ptr, bias_ptr, A_ptr, B_ptr, C_ptr, y_ptr, last_ptr, starts_ptr,
    L, CPG, DU, K, H, W, NCHUNK, N,
    CROSS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr,
):  # fmt: skip
    b = tl.program_id(0).to(tl.int64)
    nblk = tl.cdiv(CPG, BLOCK_D)
    k = tl.program_id(1) // nblk
    d = (tl.program_id(1) % nblk) * BLOCK_D + tl.arange(0, BLOCK_D)
    n = tl.arange(0, BLOCK_N)
    dmask, nmask = d < CPG, n < N
    KC = K * CPG
    c = k * CPG + d
    if CROSS:
        uc = d
    else:
        uc = c
    A = tl.load(A_ptr + c[:, None] * N + n[None, :], mask=dmask[:, None] & nmask[None, :], other=0.0).to(tl.float32)
    bias = tl.load(bias_ptr + c, mask=dmask, other=0.0).to(tl.float32)[:, None]
    row_delta = (delta_ptr + (b * KC + c) * L)[:, None]
    row_u = (u_ptr + (b * DU + uc) * L)[:, None]
    row_bc = ((b * K + k) * N + n) * L
    row_y = (y_ptr + (b * KC + c) * L)[:, None]
    row_start = starts_ptr + ((b * KC + c) * NCHUNK)[:, None] * N + n[None, :]
    dn_mask = dmask[:, None] & nmask[None, :]
    last_col = (tl.arange(0, BLOCK_T) == BLOCK_T - 1)[None, None, :]
    h = tl.zeros((BLOCK_D, BLOCK_N), tl.float32)
    for ci in range(NCHUNK):
        t = ci * BLOCK_T + tl.arange(0, BLOCK_T)
        tmask = t < L
        p = _positions(t, k, L, H, W, CROSS)[None, :]
        m2 = dmask[:, None] & tmask[None, :]
        mn = nmask[:, None] & tmask[None, :]
        dt, _ = _load_delta(row_delta, p, m2, bias, SOFTPLUS)
        uu = tl.load(row_u + p, mask=m2, other=0.0).to(tl.float32)
        bn = tl.load(B_ptr + row_bc[:, None] + p, mask=mn, other=0.0).to(tl.float32)
        cn = tl.load(C_ptr + row_bc[:, None] + p, mask=mn, other=0.0).to(tl.float32)
        tl.store(row_start + ci * N, h, mask=dn_mask)
        dA = tl.exp(dt[:, None, :] * A[:, :, None])
        dBu = (dt * uu)[:, None, :] * bn[None, :, :]
        decay, hl = tl.associative_scan((dA, dBu), axis=2, combine_fn=_combine)
        hs = hl + decay * h[:, :, None]
        tl.store(row_y + p, tl.sum(hs * cn[None, :, :], axis=1), mask=m2)
        h = tl.sum(tl.where(last_col, hs, 0.0), axis=2)
    tl.store(last_ptr + (b * KC + c)[:, None] * N + n[None, :], h, mask=dn_mask)


@triton.jit
def _scan_bwd_kernel(
    u_ptr, delta_ptr, bias_ptr, A_ptr, B_ptr, C_ptr, starts_ptr, gy_ptr, glast_ptr,
    gu_ptr, gdelta_ptr, gA_ptr, gB_ptr, gC_ptr,
    L, CPG, DU, K, H, W, NCHUNK, N,
    CROSS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_T: tl.constexpr,
):  # fmt: skip
    b = tl.program_id(0).to(tl.int64)
    nblk = tl.cdiv(CPG, BLOCK_D)
    k = tl.program_id(1) // nblk
    blk = tl.program_id(1) % nblk
    d = blk * BLOCK_D + tl.arange(0, BLOCK_D)
    n = tl.arange(0, BLOCK_N)
    dmask, nmask = d < CPG, n < N
    KC = K * CPG
    c = k * CPG + d
    if CROSS:
        uc = d
    else:
        uc = c
    dn_mask = dmask[:, None] & nmask[None, :]
    A = tl.load(A_ptr + c[:, None] * N + n[None, :], mask=dn_mask, other=0.0).to(tl.float32)
    bias = tl.load(bias_ptr + c, mask=dmask, other=0.0).to(tl.float32)[:, None]
    row_ch = ((b * KC + c) * L)[:, None]  # delta, y-shaped gradients: (batch, K * CPG, L)
    row_u = (u_ptr + (b * DU + uc) * L)[:, None]
    row_bc = ((b * K + k) * N + n) * L
    row_gbc = (((b * K + k) * nblk + blk) * N + n) * L  # per-channel-block partial sums of dB, dC
    row_start = starts_ptr + ((b * KC + c) * NCHUNK)[:, None] * N + n[None, :]
    first_col = (tl.arange(0, BLOCK_T) == 0)[None, None, :]
    # adjoint of the state just after the current block of steps (d loss / d last state at the end)
    lam_next = tl.load(glast_ptr + (b * KC + c)[:, None] * N + n[None, :], mask=dn_mask, other=0.0)
    gA = tl.zeros((BLOCK_D, BLOCK_N), tl.float32)
    for cj in range(NCHUNK):
        ci = NCHUNK - 1 - cj
        t = ci * BLOCK_T + tl.arange(0, BLOCK_T)
        tmask = t < L
        p = _positions(t, k, L, H, W, CROSS)[None, :]
        pn = _positions(t + 1, k, L, H, W, CROSS)[None, :]
        m2 = dmask[:, None] & tmask[None, :]
        mn = nmask[:, None] & tmask[None, :]
        dt, raw = _load_delta(delta_ptr + row_ch, p, m2, bias, SOFTPLUS)
        dt_next, _ = _load_delta(delta_ptr + row_ch, pn, dmask[:, None] & (t + 1 < L)[None, :], bias, SOFTPLUS)
        uu = tl.load(row_u + p, mask=m2, other=0.0).to(tl.float32)
        gy = tl.load(gy_ptr + row_ch + p, mask=m2, other=0.0).to(tl.float32)
        bn = tl.load(B_ptr + row_bc[:, None] + p, mask=mn, other=0.0).to(tl.float32)
        cn = tl.load(C_ptr + row_bc[:, None] + p, mask=mn, other=0.0).to(tl.float32)
        h0 = tl.load(row_start + ci * N, mask=dn_mask, other=0.0)
        # states of this block again, from its saved start state
        dA = tl.exp(dt[:, None, :] * A[:, :, None])
        dtu = dt * uu
        dBu = dtu[:, None, :] * bn[None, :, :]
        decay, hl = tl.associative_scan((dA, dBu), axis=2, combine_fn=_combine)
        hs = hl + decay * h0[:, :, None]
        # adjoint: lam_t = gy_t C_t + exp(delta_{t+1} A) lam_{t+1}, a scan from the end of the block
        dA_next = tl.exp(dt_next[:, None, :] * A[:, :, None])
        rdecay, lam = tl.associative_scan(
            (dA_next, gy[:, None, :] * cn[None, :, :]), axis=2, combine_fn=_combine, reverse=True
        )
        lam = lam + rdecay * lam_next[:, :, None]
        lam_next = tl.sum(tl.where(first_col, lam, 0.0), axis=2)
        # exp(delta_t A) h_{t-1} = h_t - delta_t B_t u_t: the path through the decay without shifting h
        w = lam * (hs - dBu)
        q = tl.sum(lam * bn[None, :, :], axis=1)
        gdt = uu * q + tl.sum(w * A[:, :, None], axis=1)
        gA += tl.sum(w * dt[:, None, :], axis=2)
        if SOFTPLUS:
            gdt = gdt * tl.sigmoid(raw)
        tl.store(gu_ptr + row_ch + p, dt * q, mask=m2)
        tl.store(gdelta_ptr + row_ch + p, gdt, mask=m2)
        tl.store(gB_ptr + row_gbc[:, None] + p, tl.sum(lam * dtu[:, None, :], axis=0), mask=mn)
        tl.store(gC_ptr + row_gbc[:, None] + p, tl.sum(gy[:, None, :] * hs, axis=0), mask=mn)
    tl.store(gA_ptr + (b * KC + c)[:, None] * N + n[None, :], gA, mask=dn_mask)


def _launch_args(u, delta, A, B, cross, blocks):
    batch, du, length = u.shape
    kc, n = A.shape
    k = B.shape[1]
    cpg = kc // k
    height, width = cross if cross is not None else (1, length)
    block_t = min(blocks["BLOCK_T"], max(16, triton.next_power_of_2(length)))
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
        _scan_bwd_kernel[grid](
            u, delta, bias, A, B, C, starts, gy, glast, gu, gdelta, gA, gB, gC, *sizes, SOFTPLUS=ctx.softplus, **meta
        )
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
    """
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
        import os

        return os.environ.get("TRITON_INTERPRET", "0") == "1"
