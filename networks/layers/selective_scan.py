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

"""Selective scan (the S6 recurrence of Mamba) with a fast pure-PyTorch backend and the optional mamba-ssm kernel.

The pure-PyTorch backend is a two-level chunked scan: the sequence is cut into chunks (bounding memory), each
chunk into ``S`` sub-chunks of ``s`` steps. All sub-chunks advance together from a zero state (``s`` vectorised
steps), a short pass over the ``S`` sub-chunk ends carries the true state across them, and a second vectorised
pass recomputes the exact states from the right starting state. That is ``O(sqrt(L))`` Python-level steps per
chunk instead of ``O(L)``, every operation touches a cache-sized block, and only products of ``exp(delta * A)``
factors appear (no ``exp(-cumsum)``), so large ``delta * A`` underflows to zero instead of overflowing.
The backward pass is the same scheme run in reverse on the adjoint state, recomputing the forward states chunk by
chunk from the chunk-start states saved by the forward pass.

Compiled backends run the same core recurrence with bias and softplus of ``delta`` fused in:

* ``"numba"`` (CPU; chosen by ``"auto"`` for CPU tensors), loops compiled by numba, see
  ``networks.layers.selective_scan_numba``;
* ``"triton"`` (CUDA, or CPU under ``TRITON_INTERPRET=1``; chosen by ``"auto"`` for CUDA tensors when mamba-ssm is
  not installed), kernels compiled by Triton at run time for the GPU present, see
  ``networks.layers.selective_scan_triton``;
* ``"mamba_ssm"`` (CUDA), the compiled kernel of the optional mamba-ssm package.

:func:`selective_scan_2d` runs the four SS2D directions over a 2D grid; with the numba and Triton backends the
kernels index the grid directly, so no flipped or transposed copy of the inputs or outputs is made.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["selective_scan", "selective_scan_2d", "BACKEND_ENV_VAR"]

logger = logging.getLogger(__name__)

#: environment variable overriding the default backend (``auto``, ``torch``, ``numba``, ``triton`` or ``mamba_ssm``)
BACKEND_ENV_VAR = "ZOO_SELECTIVE_SCAN_BACKEND"
_BACKENDS = ("auto", "torch", "numba", "triton", "mamba_ssm")
_FUSED = ("numba", "triton")  # backends whose core takes delta before bias and softplus, and runs cross scans
# chunk length (memory bound: a few (batch, dim, N, chunk) float32 buffers) and the largest sub-chunk length;
# chosen by measurement on a 2-core CPU at the Swin-UMamba stage sizes (see benchmarks/selective_scan.py)
_CHUNK = 256
_MAX_SUB = 16
_logged_backends: set = set()  # log-once bookkeeping, the only module state
NUM_DIRECTIONS = 4  # of a 2D cross scan


def _mamba_ssm_fn():
    """The mamba-ssm kernel wrapper, or None when mamba-ssm is not importable (it needs CUDA to build)."""
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception:  # ImportError, but also broken CUDA extensions raising at import time
        return None
    return selective_scan_fn


def _compiled_core(name: str):
    """``networks.layers.selective_scan_<name>.<name>_scan``, or None when its compiler package does not import."""
    try:
        module = importlib.import_module(f"networks.layers.selective_scan_{name}")
    except ImportError:
        return None
    return getattr(module, f"{name}_scan")


def _numba_scan_fn():
    """The numba core scan, or None when numba does not import (the CPU backend falls back to pure PyTorch)."""
    return _compiled_core("numba")


def _triton_scan_fn():
    """The Triton core scan, or None when Triton is not importable (it ships with the CUDA builds of torch)."""
    return _compiled_core("triton")


def _triton_usable(is_cuda: bool) -> bool:
    """Triton kernels take CUDA tensors, or CPU tensors when Triton runs its interpreter (TRITON_INTERPRET=1)."""
    if is_cuda:
        return True
    module = importlib.import_module("networks.layers.selective_scan_triton")
    return module.triton_interpreted()


def _resolve_backend(backend: str | None, is_cuda: bool, is_cpu: bool | None = None, is_float64: bool = False) -> str:
    is_cpu = not is_cuda if is_cpu is None else is_cpu
    requested = backend
    if backend is None:
        backend = os.environ.get(BACKEND_ENV_VAR, "auto").strip().lower() or "auto"
        source = f"environment variable {BACKEND_ENV_VAR}"
    else:
        source = "argument backend"
    if backend not in _BACKENDS:
        raise ValueError(f"{source} must be one of {_BACKENDS}, got {backend!r}.")
    if backend == "auto":
        # compiled kernels only when their optional package is installed; a plain install runs pure PyTorch
        if is_cuda and _mamba_ssm_fn() is not None:
            backend = "mamba_ssm"
        elif is_cuda and not is_float64 and _triton_scan_fn() is not None:  # Triton computes in float32
            backend = "triton"
        elif is_cpu and _numba_scan_fn() is not None:
            backend = "numba"
        else:
            backend = "torch"
    elif backend == "numba":
        if _numba_scan_fn() is None:
            raise RuntimeError(
                f"selective_scan backend 'numba' was requested ({source}) but numba cannot be imported; "
                "install it with `pip install numba` (a dependency of this package) or use backend='torch'."
            )
        if not is_cpu:
            raise RuntimeError(
                f"selective_scan backend 'numba' was requested ({source}) but the inputs are CUDA tensors; "
                "the numba kernels run on CPU only, use backend='triton', 'mamba_ssm' or 'torch' on CUDA."
            )
    elif backend == "triton":
        if _triton_scan_fn() is None:
            raise RuntimeError(
                f"selective_scan backend 'triton' was requested ({source}) but triton cannot be imported; it ships "
                "with the CUDA builds of torch (`pip install torch`), or use backend='torch'."
            )
        if not _triton_usable(is_cuda):
            raise RuntimeError(
                f"selective_scan backend 'triton' was requested ({source}) but the inputs are not CUDA tensors; "
                "the Triton kernels run on CUDA (or on CPU under TRITON_INTERPRET=1, for tests), use backend='numba' "
                "or 'torch' on CPU."
            )
    elif backend == "mamba_ssm":
        if _mamba_ssm_fn() is None:
            raise RuntimeError(
                f"selective_scan backend 'mamba_ssm' was requested ({source}) but mamba_ssm cannot be imported; "
                "install it with `pip install mamba-ssm` on a CUDA machine or use backend='torch'."
            )
        if not is_cuda:
            raise RuntimeError(
                f"selective_scan backend 'mamba_ssm' was requested ({source}) but the inputs are not CUDA tensors; "
                "the mamba-ssm kernel runs on CUDA only, use backend='torch' on CPU."
            )
    if backend not in _logged_backends:
        _logged_backends.add(backend)
        logger.info("selective_scan: using the %r backend (requested: %r).", backend, requested)
    return backend


def _check_shapes(u, delta, A, B, C, D, z, delta_bias) -> int:
    """Validate the shapes up front; returns the number of B/C groups."""
    if u.dim() != 3:
        raise ValueError(f"u must have shape (batch, dim, L), got {tuple(u.shape)}.")
    batch, dim, length = u.shape
    if tuple(delta.shape) != (batch, dim, length):
        raise ValueError(f"delta must have shape (batch, dim, L) = {(batch, dim, length)}, got {tuple(delta.shape)}.")
    if A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(f"A must have shape (dim, N) with dim={dim}, got {tuple(A.shape)}.")
    if A.is_complex():
        raise ValueError("A must be real; complex A is not supported.")
    n = A.shape[1]
    groups = 0
    for name, t in (("B", B), ("C", C)):
        if t.dim() == 3 and tuple(t.shape) == (batch, n, length):
            g = 1
        elif t.dim() == 4 and t.shape[0] == batch and tuple(t.shape[2:]) == (n, length) and t.shape[1] > 0:
            g = t.shape[1]
            if dim % g:
                raise ValueError(f"{name} has {g} groups, which does not divide dim={dim}.")
        else:
            raise ValueError(
                f"{name} must have shape (batch, N, L) = {(batch, n, length)} or (batch, G, N, L) = "
                f"{(batch, 'G', n, length)} with dim % G == 0, got {tuple(t.shape)}."
            )
        if groups and g != groups:
            raise ValueError(f"B and C must have the same number of groups, got {groups} and {g}.")
        groups = g
    if D is not None and tuple(D.shape) != (dim,):
        raise ValueError(f"D must have shape (dim,) = {(dim,)}, got {tuple(D.shape)}.")
    if delta_bias is not None and tuple(delta_bias.shape) != (dim,):
        raise ValueError(f"delta_bias must have shape (dim,) = {(dim,)}, got {tuple(delta_bias.shape)}.")
    if z is not None and tuple(z.shape) != (batch, dim, length):
        raise ValueError(f"z must have shape (batch, dim, L) = {(batch, dim, length)}, got {tuple(z.shape)}.")
    return groups


def _plan(length: int, chunk: int, max_sub: int) -> tuple[int, int, int]:
    """Number of chunks, padded chunk length, sub-chunk length (about sqrt of the chunk length)."""
    nchunks = max(1, math.ceil(length / chunk))
    t = math.ceil(length / nchunks)
    s = max(1, min(max_sub, round(math.sqrt(t))))
    return nchunks, math.ceil(t / s) * s, s


def _to_steps(x: Tensor, s: int) -> Tensor:
    """(batch, F, T) -> contiguous (s, batch, T // s, F): the step inside a sub-chunk leads, features last."""
    b, f, t = x.shape
    return x.reshape(b, f, t // s, s).permute(3, 0, 2, 1).contiguous()


def _from_steps(x: Tensor) -> Tensor:
    """Inverse of :func:`_to_steps`."""
    s, b, nsub, f = x.shape
    return x.permute(1, 3, 2, 0).reshape(b, f, nsub * s)


def _workspace(shape, like: Tensor, names) -> dict | None:
    """Buffers reused by every chunk: fresh large allocations (page faults) cost more than the arithmetic on CPU.

    None while tracing, where out= arguments cannot be recorded with autograd on.
    """
    if torch.jit.is_tracing():
        return None
    return {k: like.new_empty(shape) for k in names}


def _chunk_states(dl: Tensor, ul: Tensor, Bl: Tensor, A: Tensor, h0: Tensor, ws: dict | None):
    """All states of one chunk. dl, ul: (s, b, S, D); Bl: (s, b, S, G, N); A: (D, N); h0: (b, D, N).

    Returns exp(delta * A), delta * B * u and the states x, each (s, b, S, D, N), and the decay of every sub-chunk
    (b, S, D, N). With a workspace ``ws`` the three large tensors live in its buffers ``dA``, ``dbu``, ``x``.
    """
    s, b, nsub, dim = dl.shape
    groups, n = Bl.shape[-2:]
    dlu = (dl * ul).view(s, b, nsub, groups, dim // groups, 1)
    if ws is None:
        dA = torch.exp(dl.unsqueeze(-1) * A)
        dbu = (dlu * Bl.view(s, b, nsub, groups, 1, n)).view(s, b, nsub, dim, n)
    else:
        dA = torch.mul(dl.unsqueeze(-1), A, out=ws["dA"]).exp_()
        dbu = ws["dbu"]
        torch.mul(dlu, Bl.view(s, b, nsub, groups, 1, n), out=dbu.view(s, b, nsub, groups, dim // groups, n))
    # pass 1: the end state of every sub-chunk started from zero, all sub-chunks at once
    h = dbu[0].clone()
    for j in range(1, s):
        h = torch.addcmul(dbu[j], dA[j], h) if ws is None else torch.addcmul(dbu[j], dA[j], h, out=h)
    # carry the true state across the sub-chunk ends; a sub-chunk's total decay is exp(A * sum(delta))
    decay = torch.exp(dl.sum(0).unsqueeze(-1) * A)
    h0s = []
    state = h0
    for k in range(nsub):
        h0s.append(state)
        state = torch.addcmul(h[:, k], decay[:, k], state)
    # pass 2: the exact states from the right starting states
    prev = torch.stack(h0s, 1)
    if ws is None:
        xs = []
        for j in range(s):
            prev = torch.addcmul(dbu[j], dA[j], prev)
            xs.append(prev)
        return dA, dbu, torch.stack(xs), decay
    x = ws["x"]
    for j in range(s):
        prev = torch.addcmul(dbu[j], dA[j], prev, out=x[j])
    return dA, dbu, x, decay


def _chunk_layout(length, nchunks, t, s, *tensors):
    """Pad (batch, F, L) tensors to nchunks * t with zeros and yield per chunk their step layouts."""
    padded = []
    for x in tensors:
        x = F.pad(x, (0, nchunks * t - length)) if nchunks * t != length else x
        padded.append(x)
    for i in range(nchunks):
        yield [_to_steps(x[..., i * t : (i + 1) * t], s) for x in padded]


def _scan_forward(u, delta, A, B, C):
    """y = sum_n C h (no D, no z), the last state and the chunk-start states. B, C: (b, G, N, L)."""
    b, dim, length = u.shape
    groups, n = B.shape[1:3]
    nchunks, t, s = _plan(length, _CHUNK, _MAX_SUB)
    ys, starts = [], []
    state = u.new_zeros((b, dim, n))
    chunks = _chunk_layout(length, nchunks, t, s, delta, u, B.reshape(b, groups * n, length), C.reshape(b, -1, length))
    ws = _workspace((s, b, t // s, dim, n), u, ("dA", "dbu", "x"))
    for dl, ul, bl, cl in chunks:
        starts.append(state)
        lead = dl.shape[:3]
        _, _, x, decay = _chunk_states(dl, ul, bl.view(*lead, groups, n), A, state, ws)
        # y = <C, x> per channel, as a batched (c, N) @ (N, 1) product per group
        y = torch.matmul(x.view(*lead, groups, dim // groups, n), cl.view(*lead, groups, n, 1))
        ys.append(_from_steps(y.view(*lead, dim)))
        state = x[-1, :, -1].clone()  # the buffer is reused by the next chunk
    y = torch.cat(ys, -1)[..., :length]
    return y, state, torch.stack(starts)


class _SelectiveScanFunction(torch.autograd.Function):
    """Core scan y = <C, h> with h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t; inputs already in compute dtype."""

    @staticmethod
    def forward(ctx, u, delta, A, B, C):
        y, last, starts = _scan_forward(u, delta, A, B, C)
        ctx.save_for_backward(u, delta, A, B, C, starts)
        return y, last

    @staticmethod
    def backward(ctx, gy, glast):
        u, delta, A, B, C, starts = ctx.saved_tensors
        with torch.autocast(u.device.type, enabled=False):
            return _scan_backward(u, delta, A, B, C, starts, gy, glast)


def _scan_backward(u, delta, A, B, C, starts, gy, glast):
    b, dim, length = u.shape
    groups, n = B.shape[1:3]
    c = dim // groups
    nchunks, t, s = _plan(length, _CHUNK, _MAX_SUB)
    gy = torch.zeros_like(u) if gy is None else gy.contiguous()
    # adjoint of the state at the end of the current chunk, coming from later chunks (and the last-state output)
    adj = torch.zeros_like(starts[0]) if glast is None else glast.to(u.dtype).clone()
    chunks = list(
        _chunk_layout(length, nchunks, t, s, delta, u, B.reshape(b, groups * n, length), C.reshape(b, -1, length), gy)
    )
    gdelta, gu, gB, gC = [], [], [], []
    gA = torch.zeros_like(A)
    ws = _workspace((s, b, t // s, dim, n), u, ("dA", "dbu", "x", "cg"))
    for i in range(nchunks - 1, -1, -1):
        dl, ul, bl, cl, gyl = chunks[i]
        lead = dl.shape[:3]
        nsub = lead[2]
        bl = bl.view(*lead, groups, n)
        cl = cl.view(*lead, groups, n)
        dA, dbu, x, decay = _chunk_states(dl, ul, bl, A, starts[i], ws)
        # input of the reverse scan: d loss / d h_t through y_t = <C_t, h_t>
        cg = ws["cg"]
        torch.mul(gyl.view(*lead, groups, c, 1), cl.view(*lead, groups, 1, n), out=cg.view(*lead, groups, c, n))
        # reverse pass 1: adjoint at the start of every sub-chunk from a zero end adjoint, all sub-chunks at once
        lam = cg[s - 1]
        lam = lam.clone()
        for j in range(s - 2, -1, -1):
            lam = torch.addcmul(cg[j], dA[j + 1], lam, out=lam)
        r = dA[0] * lam  # what each sub-chunk passes to the state before it
        ends = [None] * nsub
        for k in range(nsub - 1, -1, -1):
            ends[k] = adj
            adj = torch.addcmul(r[:, k], decay[:, k], adj)
        # reverse pass 2: exact adjoints (written over cg)
        prev = torch.stack(ends, 1)
        prev = cg[s - 1].add_(prev)
        for j in range(s - 2, -1, -1):
            prev = cg[j].addcmul_(dA[j + 1], prev)
        lam = cg
        # gradients of C (<gy, h> per group), of u and delta through B (Q = <lam, B>), of B
        gcl = torch.matmul(gyl.view(*lead, groups, 1, c), x.view(*lead, groups, c, n))
        q = torch.matmul(lam.view(*lead, groups, c, n), bl.view(*lead, groups, n, 1)).view(*lead, dim)
        gbl = torch.matmul((dl * ul).view(*lead, groups, 1, c), lam.view(*lead, groups, c, n))
        # exp(delta A) h_{t-1} = h_t - delta B u: the term through the decay, without shifting h by one step
        w = torch.sub(x, dbu, out=dbu).mul_(lam)
        gdl = torch.addcmul((w * A).sum(-1), ul, q)
        gA += torch.einsum("pd,pdn->dn", dl.reshape(-1, dim), w.view(-1, dim, n))
        gul = dl * q
        gdelta.append(_from_steps(gdl))
        gu.append(_from_steps(gul))
        gB.append(_from_steps(gbl.reshape(*lead, groups * n)))
        gC.append(_from_steps(gcl.reshape(*lead, groups * n)))

    def _cat(parts):
        return torch.cat(parts[::-1], -1)[..., :length]

    gB = _cat(gB).view(b, groups, n, length)
    gC = _cat(gC).view(b, groups, n, length)
    return _cat(gu), _cat(gdelta), gA, gB, gC


def _torch_core(u, delta, A, B, C):
    """The pure-PyTorch core scan (y, last state); B, C: (batch, G, N, L) in the compute dtype."""
    if torch.jit.is_tracing():
        # tracing records the plain forward ops (a custom autograd.Function would not be exportable); the graph is
        # specialised to these shapes like any trace, so the shape arithmetic warnings say nothing new
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            y, last, _ = _scan_forward(u.contiguous(), delta.contiguous(), A.contiguous(), B, C)
        return y, last
    return _SelectiveScanFunction.apply(u.contiguous(), delta.contiguous(), A.contiguous(), B, C)


def _core_fn(resolved: str):
    """The core of a CPU/GPU backend other than mamba_ssm; the compiled ones fall back to torch under tracing."""
    if resolved in _FUSED and torch.jit.is_tracing():
        # a trace cannot record a compiled call; the torch path records the same computation as plain ops
        logger.info("selective_scan: backend %r falls back to 'torch' under torch.jit.trace.", resolved)
        return "torch", _torch_core
    if resolved == "numba":
        return resolved, _numba_scan_fn()
    if resolved == "triton":
        return resolved, _triton_scan_fn()
    return "torch", _torch_core


def _run_core(resolved, u, delta, A, B, C, D, z, delta_bias, delta_softplus):
    """The wrapper shared by the backends but mamba_ssm: compute dtype, bias, softplus, B/C groups, core, D, gate."""
    dtype_in = u.dtype
    cdtype = torch.float64 if dtype_in == torch.float64 else torch.float32
    resolved, core = _core_fn(resolved)
    B = B.unsqueeze(1) if B.dim() == 3 else B
    C = C.unsqueeze(1) if C.dim() == 3 else C
    if resolved == "triton":  # the kernels load any float dtype and compute in float32
        y, last = core(u, delta, A.to(cdtype), B, C, delta_bias, delta_softplus)
    elif resolved == "numba":
        y, last = core(*(t.to(cdtype) for t in (u, delta, A, B, C)), delta_bias, delta_softplus)
    else:
        delta = delta.to(cdtype)
        if delta_bias is not None:
            delta = delta + delta_bias.to(cdtype).unsqueeze(-1)
        if delta_softplus:
            delta = F.softplus(delta)
        y, last = core(u.to(cdtype), delta, A.to(cdtype), B.to(cdtype), C.to(cdtype))
    if D is not None:
        y = y + u.to(cdtype) * D.to(cdtype).unsqueeze(-1)
    if z is not None:
        y = y * F.silu(z.to(cdtype))
    return y.to(dtype_in), last


def selective_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    backend: str | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """
    Selective scan of Mamba (S6), with the semantics of ``mamba_ssm.ops.selective_scan_interface.selective_scan_fn``:

    .. code-block:: text

        delta = softplus(delta + delta_bias)              (bias and softplus optional)
        h_t   = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t,   h_{-1} = 0
        y_t   = <C_t, h_t> + D * u_t,   then y *= silu(z) when z is given

    computed per channel ``d`` and state index ``n``. Internal accumulation is in float32 (float64 for float64
    inputs, except with the float32-only Triton and mamba-ssm kernels), also under ``torch.autocast``; the output
    has ``u``'s dtype.

    See: Gu and Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
    https://arxiv.org/abs/2312.00752

    Args:
        u: input, (batch, dim, L).
        delta: time steps before bias/softplus, (batch, dim, L).
        A: state matrix (diagonal, real), (dim, N).
        B: input projection, (batch, N, L) shared by all channels or (batch, G, N, L) with dim % G == 0,
            channel ``d`` using group ``d // (dim // G)``.
        C: output projection, same shape convention as ``B``.
        D: skip connection, (dim,). Defaults to None (no skip).
        z: gate, (batch, dim, L). Defaults to None (no gate).
        delta_bias: added to ``delta`` before the softplus, (dim,). Defaults to None.
        delta_softplus: apply softplus to ``delta``. Defaults to False.
        return_last_state: also return the final state, (batch, dim, N), in the compute dtype (float32, or
            float64 for float64 inputs), as mamba-ssm does. Defaults to False.
        backend: ``"auto"`` (for CUDA tensors mamba-ssm's kernel when ``mamba_ssm`` imports, else the Triton
            kernels, except for float64 inputs; for CPU tensors the numba kernels; pure PyTorch otherwise),
            ``"torch"``, ``"numba"`` (compiled CPU kernels), ``"triton"`` (GPU kernels compiled at run time, always
            float32 arithmetic; CPU tensors only under ``TRITON_INTERPRET=1``) or ``"mamba_ssm"``. If Triton
            cannot compile for an old GPU, set ``ZOO_SELECTIVE_SCAN_BACKEND=torch``. Under ``torch.jit.trace``
            numba and Triton fall back to ``"torch"``. Defaults to None: the environment variable
            ``ZOO_SELECTIVE_SCAN_BACKEND`` if set, else ``"auto"``.

    Raises:
        ValueError: when a shape does not match, or the backend name is unknown.
        RuntimeError: when ``"mamba_ssm"`` or ``"triton"`` is forced but not importable or the tensors are not on
            CUDA, or ``"numba"`` is forced but not importable or the tensors are not on the CPU.
    """
    with warnings.catch_warnings():  # under torch.jit.trace, shapes are constants of the trace anyway
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        _check_shapes(u, delta, A, B, C, D, z, delta_bias)
    resolved = _resolve_backend(backend, u.is_cuda, u.device.type == "cpu", u.dtype == torch.float64)
    if resolved == "mamba_ssm":
        return _mamba_ssm_fn()(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)
    with torch.autocast(u.device.type, enabled=False):
        y, last = _run_core(resolved, u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    return (y, last) if return_last_state else y


def selective_scan_2d(
    x: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    backend: str | None = None,
) -> Tensor:
    """
    The four-direction selective scan of VMamba's SS2D over a 2D grid, summed back onto the grid.

    Direction ``k`` scans the (H, W) grid row-major (k=0), column-major (k=1), row-major reversed (k=2) or
    column-major reversed (k=3) with its own ``delta``, ``A``, ``B``, ``C``, ``D`` and ``delta_bias`` (the
    channel block ``k * dim : (k + 1) * dim`` of the 1D parameters), reading ``x`` and writing ``y`` at the grid
    cell of each step; the result is the sum of the four outputs. Every per-step input is given in grid order.
    It equals :func:`selective_scan` on the four unrolled sequences (B/C in 4 groups) followed by folding the
    outputs back and summing them. The numba and Triton backends index the grid inside the kernels; the torch and
    mamba_ssm backends (and tracing) build the unrolled copies.

    Args:
        x: input, (batch, dim, H, W), shared by the four directions.
        delta: time steps before bias/softplus, (batch, 4, dim, H, W).
        A: state matrices, (4 * dim, N).
        B: input projections, (batch, 4, N, H, W).
        C: output projections, (batch, 4, N, H, W).
        D: skip connections, (4 * dim,). Defaults to None.
        delta_bias: added to ``delta`` before the softplus, (4 * dim,). Defaults to None.
        delta_softplus: apply softplus to ``delta``. Defaults to False.
        backend: as for :func:`selective_scan`. Defaults to None.

    Returns:
        (batch, dim, H, W) in the compute dtype (float32, or float64 for float64 inputs).

    Raises:
        ValueError: when a shape does not match, or the backend name is unknown.
        RuntimeError: when a forced backend cannot run (see :func:`selective_scan`).
    """
    if x.dim() != 4:
        raise ValueError(f"x must have shape (batch, dim, H, W), got {tuple(x.shape)}.")
    b, d, h, w = x.shape
    k, length, n = NUM_DIRECTIONS, h * w, A.shape[-1]
    with warnings.catch_warnings():  # under torch.jit.trace, shapes are constants of the trace anyway
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        if tuple(delta.shape) != (b, k, d, h, w):
            raise ValueError(
                f"delta must have shape (batch, 4, dim, H, W) = {(b, k, d, h, w)}, got {tuple(delta.shape)}."
            )
        for name, t in (("B", B), ("C", C)):
            if tuple(t.shape) != (b, k, n, h, w):
                raise ValueError(
                    f"{name} must have shape (batch, 4, N, H, W) = {(b, k, n, h, w)}, got {tuple(t.shape)}."
                )
        u, delta_1d = x.reshape(b, d, length), delta.reshape(b, k * d, length)
        B_1d, C_1d = B.reshape(b, k, n, length), C.reshape(b, k, n, length)
        _check_shapes(delta_1d, delta_1d, A, B_1d, C_1d, D, None, delta_bias)  # u's per-direction shape = delta's
    resolved = _resolve_backend(backend, x.is_cuda, x.device.type == "cpu", x.dtype == torch.float64)
    cdtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    if resolved in _FUSED and not torch.jit.is_tracing():
        core = _triton_scan_fn() if resolved == "triton" else _numba_scan_fn()
        cast = (lambda t: t) if resolved == "triton" else (lambda t: t.to(cdtype))  # noqa: E731
        with torch.autocast(x.device.type, enabled=False):
            ys, _ = core(
                cast(u), cast(delta_1d), A.to(cdtype), cast(B_1d), cast(C_1d), delta_bias, delta_softplus, (h, w)
            )
            y = ys.view(b, k, d, length).sum(1)
            if D is not None:  # sum over directions of D_k * u
                y = y + u.to(cdtype) * D.to(cdtype).view(k, d).sum(0).unsqueeze(-1)
        return y.view(b, d, h, w)
    # unrolled copies: row-major, column-major and both reversed; in the compute dtype, as the kernels' sum is
    x, u, delta, B, C = (t.to(cdtype) for t in (x, u, delta, B, C))
    to_cols = lambda t: t.transpose(-1, -2).flatten(-2)  # noqa: E731
    rows, cols = u, to_cols(x)
    xs = torch.stack([rows, cols, rows.flip(-1), cols.flip(-1)], dim=1)
    seq = lambda t: torch.stack(  # noqa: E731
        [t[:, 0].flatten(-2), to_cols(t[:, 1]), t[:, 2].flatten(-2).flip(-1), to_cols(t[:, 3]).flip(-1)], dim=1
    )
    ys = selective_scan(
        xs.reshape(b, k * d, length),
        seq(delta).reshape(b, k * d, length),
        A,
        seq(B),
        seq(C),
        D=D,
        delta_bias=delta_bias,
        delta_softplus=delta_softplus,
        backend=resolved,
    ).view(b, k, d, length)
    # undo the flips and the transpose; summed in the order of the reference implementation
    col_to_row = lambda t: t.reshape(b, d, w, h).transpose(2, 3).reshape(b, d, length)  # noqa: E731
    y = ys[:, 0] + ys[:, 2].flip(-1) + col_to_row(ys[:, 1]) + col_to_row(ys[:, 3].flip(-1))
    return y.view(b, d, h, w)
