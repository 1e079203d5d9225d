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

"""Numba CPU kernels of the selective scan core (the opt-in ``backend="numba"`` of ``selective_scan``).

This module imports numba at import time; ``networks.layers.selective_scan`` imports it lazily, only when the
numba backend is requested, so numba stays an optional dependency. The kernels compute the bare recurrence

    h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t,   y_t = <C_t, h_t>

(bias, softplus, D and z are torch ops in the shared wrapper) for float32 or float64 arrays:

* forward: one task per (batch, channel), the N-vector state in a small local array, the loop over L inside;
* backward: a reverse scan per channel on the adjoint state, from the forward states and decays recomputed into
  thread-local (L, N) buffers. One task per (batch, group, part of the group's channels): the channels of a task
  accumulate dB/dC into the task's own (L, N) slice and dA into their own row, so there are no races; the slices
  are summed in torch afterwards (parts > 1 only when batch * groups would leave threads idle).

exp dominates the cost (batch * dim * L * N of them, once in the forward and once in the backward). Without
Intel SVML numba calls the scalar libm ``expf``, so the float32 path uses an inlined polynomial ``expf``
(Cephes coefficients, about 2 ulp) that LLVM vectorises with the rest of the N-loop; float64 keeps ``math.exp``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic, overload

__all__ = ["numba_scan"]


def _jit(**options):
    """``numba.njit(cache=True)``, or without the on-disk cache when no cache directory is writable."""

    def decorate(fn):
        try:
            return numba.njit(cache=True, **options)(fn)
        except RuntimeError:  # "no locator available" (read-only install and home): compile in every process
            return numba.njit(cache=False, **options)(fn)

    return decorate


@intrinsic
def _bits_as_float32(typingctx, bits):
    """The low 32 bits of an integer as float32 (an LLVM trunc + bitcast, which vectorise; numba has no scalar view)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        if bits.bitwidth > 32:
            value = builder.trunc(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


_F = np.float32
_LO, _HI = _F(-87.3), _F(88.3)  # exp(-87.3) is near the smallest normal float32; below, 1e-38 instead of 0
_LOG2E, _HALF, _ONE = _F(1.44269504088896341), _F(0.5), _F(1.0)
_LN2_HI, _LN2_LO = _F(0.693359375), _F(-2.12194440e-4)  # ln 2 in two parts (Cody-Waite)
_P0, _P1, _P2 = _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3)
_P3, _P4, _P5 = _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1)
_BIAS, _SHIFT = np.int32(127), np.int32(23)


def _exp(x):
    """exp in the dtype of x; dispatched at compile time by the overload below."""
    return math.exp(x)


@overload(_exp, inline="always")
def _exp_overload(x):
    if x != types.float32:
        return lambda x: math.exp(x)

    def expf(x):  # exp(x) = 2^k exp(r), |r| <= ln2 / 2, exp(r) by the Cephes degree-7 polynomial
        x = min(max(x, _LO), _HI)
        k = np.floor(x * _LOG2E + _HALF)
        r = x - k * _LN2_HI - k * _LN2_LO
        p = ((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5
        p = p * r * r + r + _ONE
        return p * _bits_as_float32((np.int32(k) + _BIAS) << _SHIFT)

    return expf


@_jit(parallel=True, fastmath=True)
def _forward_kernel(u, delta, A, Bt, Ct, y, last):
    """y (batch, dim, L) and the last state (batch, dim, N); Bt, Ct: (batch, G, L, N) contiguous."""
    batch, dim, length = u.shape
    groups, n = Bt.shape[1], Bt.shape[3]
    cpg = dim // groups
    for task in prange(batch * dim):
        b = task // dim
        d = task - b * dim
        g = d // cpg
        a = A[d]
        bt = Bt[b, g]
        ct = Ct[b, g]
        h = np.zeros(n, dtype=u.dtype)
        e = np.empty(n, dtype=u.dtype)
        for t in range(length):
            dt = delta[b, d, t]
            du = dt * u[b, d, t]
            # the exps in a loop of their own: it vectorises; fused into the recurrence it measured slower
            for k in range(n):
                e[k] = _exp(dt * a[k])
            acc = dt * 0  # a zero of the compute dtype (a 0.0 literal would promote float32 to float64)
            for k in range(n):
                hk = e[k] * h[k] + du * bt[t, k]
                h[k] = hk
                acc += hk * ct[t, k]
            y[b, d, t] = acc
        last[b, d, :] = h


@_jit(parallel=True, fastmath=True)
def _backward_kernel(u, delta, A, Bt, Ct, gy, glast, gu, gdelta, gA, gBt, gCt):
    """Gradients; gA (batch, dim, N) per batch and gBt, gCt (batch, G, parts, L, N) per part, zero-initialised."""
    batch, dim, length = u.shape
    groups, parts, n = gBt.shape[1], gBt.shape[2], Bt.shape[3]
    cpg = dim // groups
    per = (cpg + parts - 1) // parts
    for task in prange(batch * groups * parts):
        b = task // (groups * parts)
        p = task - b * groups * parts
        g = p // parts
        p = p - g * parts
        bt = Bt[b, g]
        ct = Ct[b, g]
        gbt = gBt[b, g, p]
        gct = gCt[b, g, p]
        hs = np.zeros((length + 1, n), dtype=u.dtype)  # hs[t + 1] = h_t; hs[0] = h_{-1} = 0
        es = np.empty((length, n), dtype=u.dtype)  # exp(delta_t A), kept: recomputing it would double the exps
        lam = np.empty(n, dtype=u.dtype)
        for d in range(g * cpg + p * per, min(g * cpg + (p + 1) * per, (g + 1) * cpg)):
            a = A[d]
            ga = gA[b, d]
            # forward again, for the states; dC = sum over the group's channels of gy_t h_t
            for t in range(length):
                dt = delta[b, d, t]
                du = dt * u[b, d, t]
                gyt = gy[b, d, t]
                for k in range(n):  # separate loop: 335 -> 200 ms for the stage-1 backward
                    es[t, k] = _exp(dt * a[k])
                for k in range(n):
                    hk = es[t, k] * hs[t, k] + du * bt[t, k]
                    hs[t + 1, k] = hk
                    gct[t, k] += gyt * hk
            # reverse scan: lam = d loss / d h_t = gy_t C_t + exp(delta_{t+1} A) lam_{t+1} (+ d loss / d last)
            for k in range(n):
                lam[k] = glast[b, d, k]
            for t in range(length - 1, -1, -1):
                dt = delta[b, d, t]
                ut = u[b, d, t]
                du = dt * ut
                gyt = gy[b, d, t]
                qb = dt * 0  # <lam_t, B_t>
                sa = dt * 0  # <lam_t, A exp(delta_t A) h_{t-1}>
                for k in range(n):
                    lk = lam[k] + gyt * ct[t, k]
                    w = lk * es[t, k] * hs[t, k]
                    gbt[t, k] += lk * du
                    qb += lk * bt[t, k]
                    sa += w * a[k]
                    ga[k] += w * dt
                    lam[k] = lk * es[t, k]
                gu[b, d, t] = dt * qb
                gdelta[b, d, t] = ut * qb + sa


def _num_threads() -> int:
    """Follow torch's intra-op thread setting, so ``torch.set_num_threads`` governs both backends."""
    return max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().numpy()


class _NumbaScanFunction(torch.autograd.Function):
    """Core scan (y, last state) of (batch, dim, L) u, delta, (dim, N) A, (batch, G, N, L) B, C; contiguous CPU."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C):
        batch, dim, _ = u.shape
        # (batch, G, L, N): the N-loop of the kernels reads contiguous memory
        Bt = B.detach().transpose(-1, -2).contiguous()
        Ct = C.detach().transpose(-1, -2).contiguous()
        y = torch.empty_like(u)
        last = u.new_empty((batch, dim, A.shape[1]))
        numba.set_num_threads(_num_threads())
        _forward_kernel(_np(u), _np(delta), _np(A), _np(Bt), _np(Ct), _np(y), _np(last))
        ctx.save_for_backward(u, delta, A, Bt, Ct)
        return y, last

    @staticmethod
    def backward(ctx, gy, glast):
        u, delta, A, Bt, Ct = ctx.saved_tensors
        batch, dim, length = u.shape
        groups, n = Bt.shape[1], Bt.shape[3]
        threads = _num_threads()
        # split a group's channels over several tasks only when batch * groups tasks would leave threads idle
        parts = max(1, min(dim // groups, -(-2 * threads // (batch * groups)) if batch * groups < threads else 1))
        gy = torch.zeros_like(u) if gy is None else gy.to(u.dtype).contiguous()
        glast = u.new_zeros((batch, dim, n)) if glast is None else glast.to(u.dtype).contiguous()
        gu, gdelta = torch.empty_like(u), torch.empty_like(u)
        gA = u.new_zeros((batch, dim, n))
        gBt = u.new_zeros((batch, groups, parts, length, n))
        gCt = u.new_zeros((batch, groups, parts, length, n))
        numba.set_num_threads(threads)
        arrays = (u, delta, A, Bt, Ct, gy, glast, gu, gdelta, gA, gBt, gCt)
        _backward_kernel(*(_np(x) for x in arrays))
        gB = gBt.sum(2).transpose(-1, -2)
        gC = gCt.sum(2).transpose(-1, -2)
        return gu, gdelta, gA.sum(0), gB, gC


def numba_scan(u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor):
    """
    The selective scan core on CPU with numba kernels, differentiable.

    Args:
        u: (batch, dim, L), float32 or float64.
        delta: (batch, dim, L), after bias and softplus, dtype of ``u``.
        A: (dim, N), dtype of ``u``.
        B: (batch, G, N, L) with dim % G == 0, dtype of ``u``.
        C: (batch, G, N, L), dtype of ``u``.

    Returns:
        y = <C_t, h_t> as (batch, dim, L) (no D, no gate) and the last state h_{L-1}, (batch, dim, N).

    Raises:
        RuntimeError: when a tensor is not on the CPU.
    """
    for name, t in (("u", u), ("delta", delta), ("A", A), ("B", B), ("C", C)):
        if t.device.type != "cpu":
            raise RuntimeError(
                f"selective_scan backend 'numba' runs on CPU only, but {name} is on {t.device}; "
                "use backend='torch' or 'mamba_ssm' for other devices."
            )
    return _NumbaScanFunction.apply(u.contiguous(), delta.contiguous(), A.contiguous(), B, C)
