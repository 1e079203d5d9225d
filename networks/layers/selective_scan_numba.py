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

"""Numba CPU kernels of the selective scan core (``backend="numba"`` of ``selective_scan`` and ``selective_scan_2d``;
what ``"auto"`` picks for CPU tensors).

numba is a regular dependency; ``networks.layers.selective_scan`` still imports this module lazily, so a broken
numba install falls back to the pure-PyTorch scan. The kernels compute the recurrence

    h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t,   y_t = <C_t, h_t>

with bias and softplus of delta fused in (D and z are torch ops in the shared wrapper), for float32 or float64:

* forward: one task per (batch, channel), the N-vector state in a small local array, the loop over L inside;
* backward: a reverse scan per channel on the adjoint state, from the forward states and decays recomputed into
  thread-local (L, N) buffers. One task per (batch, group, part of the group's channels): the channels of a task
  accumulate dB/dC into the task's own (L, N) slice and dA into their own row, so there are no races; the slices
  are summed in torch afterwards (parts > 1 only when batch * groups would leave threads idle). Recomputing the
  states block by block into L1-sized buffers instead measured slower (more exps): the loops are compute-bound.
* step ``t`` of group ``g`` reads and writes grid position ``pos[g, t]``: the identity for 1D scans, the four
  SS2D directions (row-major, column-major, both reversed) for 2D cross scans, so SS2D needs no flipped or
  transposed copies.

delta after bias and softplus, and the softplus derivative, are computed per channel in grid order by loops that
vectorise (numba's default error model checks every float division, which keeps them scalar, so these functions
use ``error_model="numpy"``).

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
from torch.autograd.function import once_differentiable

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


_THIRD, _FIFTH, _SEVENTH, _NINTH = _F(1 / 3), _F(1 / 5), _F(1 / 7), _F(1 / 9)
_ELEVENTH, _THIRTEENTH, _FIFTEENTH, _SEVENTEENTH = _F(1 / 11), _F(1 / 13), _F(1 / 15), _F(1 / 17)
_TWO = _F(2.0)


def _log1p_unit(y):
    """log(1 + y) for y in [0, 1], dtype of y; dispatched at compile time by the overload below."""
    return math.log1p(y)


@overload(_log1p_unit, inline="always")
def _log1p_unit_overload(y):
    if y != types.float32:
        return lambda y: math.log1p(y)

    def log1pf(y):  # log(1 + y) = 2 atanh(s), s = y / (2 + y) <= 1/3: the odd series to s^17 (< 1 ulp of float32)
        s = y / (_TWO + y)
        s2 = s * s
        p = _SEVENTEENTH * s2 + _FIFTEENTH
        p = (((((p * s2 + _THIRTEENTH) * s2 + _ELEVENTH) * s2 + _NINTH) * s2 + _SEVENTH) * s2 + _FIFTH) * s2
        return _TWO * s * ((p + _THIRD) * s2 + _ONE)

    return log1pf


@_jit(fastmath=True, error_model="numpy")
def _delta_row(delta_row, bias, softplus, out):
    """out = softplus(delta + bias) (or delta + bias) over one channel's steps; a loop that vectorises (the scalar
    libm log1p and exp inside the scans cost as much as the 16 exps of a step)."""
    for i in range(delta_row.shape[0]):
        x = delta_row[i] + bias
        if softplus:  # max(x, 0) + log1p(exp(-|x|)); float32 constants: an int literal would promote to float64
            x = (x + abs(x)) * _HALF + _log1p_unit(_exp(-abs(x)))
        out[i] = x


@_jit(fastmath=True, error_model="numpy")
def _sigmoid_row(delta_row, bias, out):
    """out = sigmoid(delta + bias) = d softplus / d x over one channel's steps."""
    for i in range(delta_row.shape[0]):
        x = delta_row[i] + bias
        out[i] = _ONE / (_ONE + _exp(-x))


@_jit(parallel=True, fastmath=True, error_model="numpy")
def _forward_kernel(u, delta, bias, A, Bt, Ct, pos, softplus, y, last):
    """y (batch, K * c, L) and the last state (batch, K * c, N), written at the grid positions ``pos`` (K, L).

    u is (batch, K * c, L), or (batch, c, L) shared by the K directions of a cross scan; Bt, Ct: (batch, K, L, N).
    """
    batch, kc, length = delta.shape
    groups, n = Bt.shape[1], Bt.shape[3]
    cpg = kc // groups
    shared_u = u.shape[1] != kc
    for task in prange(batch * kc):
        b = task // kc
        c = task - b * kc
        g = c // cpg
        uc = c - g * cpg if shared_u else c
        a = A[c]
        bt = Bt[b, g]
        ct = Ct[b, g]
        h = np.zeros(n, dtype=y.dtype)
        e = np.empty(n, dtype=y.dtype)
        dts = np.empty(length, dtype=y.dtype)  # delta after bias and softplus, in grid order
        _delta_row(delta[b, c], bias[c], softplus, dts)
        for t in range(length):
            p = pos[g, t]
            dt = dts[p]
            du = dt * u[b, uc, p]
            # the exps in a loop of their own: it vectorises; fused into the recurrence it measured slower
            for k in range(n):
                e[k] = _exp(dt * a[k])
            acc = dt * 0  # a zero of the compute dtype (a 0.0 literal would promote float32 to float64)
            for k in range(n):
                hk = e[k] * h[k] + du * bt[p, k]
                h[k] = hk
                acc += hk * ct[p, k]
            y[b, c, p] = acc
        last[b, c, :] = h


@_jit(parallel=True, fastmath=True, error_model="numpy")
def _backward_kernel(u, delta, bias, A, Bt, Ct, pos, softplus, gy, glast, gu, gdelta, gA, gBt, gCt):
    """Gradients, at grid positions: gu and gdelta (batch, K * c, L) per direction (gdelta before the softplus),
    gA (batch, K * c, N) per batch item, gBt, gCt (batch, K, parts, L, N) per part; the last three zero-initialised.
    """
    batch, kc, length = delta.shape
    groups, parts, n = gBt.shape[1], gBt.shape[2], Bt.shape[3]
    cpg = kc // groups
    shared_u = u.shape[1] != kc
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
        order = pos[g]
        hs = np.zeros((length + 1, n), dtype=gu.dtype)  # hs[t + 1] = h_t in scan order; hs[0] = h_{-1} = 0
        es = np.empty((length, n), dtype=gu.dtype)  # exp(delta_t A), kept: recomputing it would double the exps
        dts = np.empty(length, dtype=gu.dtype)  # delta after bias and softplus, in grid order
        sig = np.empty(length, dtype=gu.dtype)  # its derivative, in grid order
        lam = np.empty(n, dtype=gu.dtype)
        for c in range(g * cpg + p * per, min(g * cpg + (p + 1) * per, (g + 1) * cpg)):
            a = A[c]
            ga = gA[b, c]
            uc = c - g * cpg if shared_u else c
            _delta_row(delta[b, c], bias[c], softplus, dts)
            if softplus:
                _sigmoid_row(delta[b, c], bias[c], sig)
            # forward again, for the states; dC = sum over the group's channels of gy_t h_t
            for t in range(length):
                q = order[t]
                dt = dts[q]
                du = dt * u[b, uc, q]
                gyt = gy[b, c, q]
                for k in range(n):  # separate loop: 335 -> 200 ms for the stage-1 backward
                    es[t, k] = _exp(dt * a[k])
                for k in range(n):
                    hk = es[t, k] * hs[t, k] + du * bt[q, k]
                    hs[t + 1, k] = hk
                    gct[q, k] += gyt * hk
            # reverse scan: lam = d loss / d h_t = gy_t C_t + exp(delta_{t+1} A) lam_{t+1} (+ d loss / d last)
            for k in range(n):
                lam[k] = glast[b, c, k]
            for t in range(length - 1, -1, -1):
                q = order[t]
                dt = dts[q]
                ut = u[b, uc, q]
                du = dt * ut
                gyt = gy[b, c, q]
                qb = dt * 0  # <lam_t, B_t>
                sa = dt * 0  # <lam_t, A exp(delta_t A) h_{t-1}>
                for k in range(n):
                    lk = lam[k] + gyt * ct[q, k]
                    w = lk * es[t, k] * hs[t, k]
                    gbt[q, k] += lk * du
                    qb += lk * bt[q, k]
                    sa += w * a[k]
                    ga[k] += w * dt
                    lam[k] = lk * es[t, k]
                gu[b, c, q] = dt * qb
                gd = ut * qb + sa
                gdelta[b, c, q] = gd * sig[q] if softplus else gd


def _num_threads() -> int:
    """Follow torch's intra-op thread setting, so ``torch.set_num_threads`` governs both backends."""
    return max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().numpy()


def scan_positions(groups: int, length: int, cross=None, device=None) -> torch.Tensor:
    """(groups, L) int64 grid position of every scan step: identity rows, or the four SS2D directions over an
    (H, W) row-major grid (row-major, column-major, reversed row-major, reversed column-major)."""
    steps = torch.arange(length, device=device)
    if cross is None:
        return steps.expand(groups, length).contiguous()
    height, width = cross
    if groups != 4 or height * width != length:
        raise ValueError(f"a cross scan needs 4 directions over H * W = L steps, got {groups}, {cross}, L={length}.")
    cols = steps.view(height, width).t().reshape(-1)  # step t of the column-major order visits grid cell cols[t]
    return torch.stack([steps, cols, steps.flip(0), cols.flip(0)])


class _NumbaScanFunction(torch.autograd.Function):
    """Core scan (y, last state) on contiguous CPU tensors; see :func:`numba_scan` for the shapes."""

    @staticmethod
    def forward(ctx, u, delta, bias, A, B, C, softplus, cross):
        batch, kc, length = delta.shape
        groups = B.shape[1]
        # (batch, G, L, N): the N-loop of the kernels reads contiguous memory
        Bt = B.detach().transpose(-1, -2).contiguous()
        Ct = C.detach().transpose(-1, -2).contiguous()
        pos = scan_positions(groups, length, cross)
        bias_t = bias if bias is not None else u.new_zeros(kc)
        y = u.new_empty((batch, kc, length))
        last = u.new_empty((batch, kc, A.shape[1]))
        numba.set_num_threads(_num_threads())
        arrays = (u, delta, bias_t, A, Bt, Ct, pos)
        _forward_kernel(*(_np(x) for x in arrays), softplus, _np(y), _np(last))
        ctx.save_for_backward(u, delta, bias_t, A, Bt, Ct, pos)
        ctx.softplus, ctx.has_bias = softplus, bias is not None
        return y, last

    @staticmethod
    @once_differentiable
    def backward(ctx, gy, glast):
        u, delta, bias, A, Bt, Ct, pos = ctx.saved_tensors
        batch, kc, length = delta.shape
        groups, n = Bt.shape[1], Bt.shape[3]
        threads = _num_threads()
        # split a group's channels over several tasks only when batch * groups tasks would leave threads idle
        parts = max(1, min(kc // groups, -(-2 * threads // (batch * groups)) if batch * groups < threads else 1))
        gy = torch.zeros_like(delta) if gy is None else gy.to(u.dtype).contiguous()
        glast = u.new_zeros((batch, kc, n)) if glast is None else glast.to(u.dtype).contiguous()
        gu, gdelta = torch.empty_like(delta), torch.empty_like(delta)
        gA = u.new_zeros((batch, kc, n))
        gBt = u.new_zeros((batch, groups, parts, length, n))
        gCt = u.new_zeros((batch, groups, parts, length, n))
        numba.set_num_threads(threads)
        inputs = (u, delta, bias, A, Bt, Ct, pos)
        outputs = (gy, glast, gu, gdelta, gA, gBt, gCt)
        _backward_kernel(*(_np(x) for x in inputs), ctx.softplus, *(_np(x) for x in outputs))
        if u.shape[1] != kc:  # u shared by the directions of a cross scan: add their contributions
            gu = gu.view(batch, groups, u.shape[1], length).sum(1)
        gB = gBt.sum(2).transpose(-1, -2)
        gC = gCt.sum(2).transpose(-1, -2)
        gbias = gdelta.sum((0, 2)) if ctx.has_bias else None
        return gu, gdelta, gbias, gA.sum(0), gB, gC, None, None


def numba_scan(u, delta, A, B, C, delta_bias=None, delta_softplus=False, cross=None):
    """
    The selective scan core on CPU with numba kernels, differentiable: bias and softplus of ``delta`` fused, no D
    or gate. Same arguments and results as ``networks.layers.selective_scan_triton.triton_scan``.

    Args:
        u: (batch, K * c, L), or (batch, c, L) shared by the K = 4 directions of a cross scan; float32 or float64.
        delta: (batch, K * c, L) before bias and softplus, dtype of ``u``.
        A: (K * c, N), dtype of ``u``.
        B: (batch, K, N, L); channel block ``k`` uses group ``k``; dtype of ``u``.
        C: (batch, K, N, L), dtype of ``u``.
        delta_bias: (K * c,) or None.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        cross: None for plain 1D scans, or (H, W) for the four SS2D directions over a row-major (H, W) grid.

    Returns:
        y (batch, K * c, L) (at grid positions for a cross scan, not summed over directions) and the last state
        (batch, K * c, N).

    Raises:
        RuntimeError: when a tensor is not on the CPU.
    """
    for name, t in (("u", u), ("delta", delta), ("A", A), ("B", B), ("C", C)):
        if t.device.type != "cpu":
            raise RuntimeError(
                f"selective_scan backend 'numba' runs on CPU only, but {name} is on {t.device}; "
                "use backend='torch', 'triton' or 'mamba_ssm' for other devices."
            )
    bias = delta_bias.to(u.dtype).contiguous() if delta_bias is not None else None
    tensors = [t.contiguous() for t in (u, delta, A, B, C)]
    return _NumbaScanFunction.apply(
        tensors[0], tensors[1], bias, tensors[2], tensors[3], tensors[4], bool(delta_softplus), cross
    )
