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

"""Tests of networks.layers.selective_scan against the naive step-by-step reference."""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from networks.layers import selective_scan
from networks.layers.selective_scan_reference import reference_selective_scan

__all__: list[str] = []

# the package re-exports the function under the module's name, so fetch the module itself
ss_module = importlib.import_module("networks.layers.selective_scan")
HAVE_NUMBA = ss_module._numba_scan_fn() is not None
needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed")
BACKENDS = ["torch", pytest.param("numba", marks=needs_numba)]


def _make_inputs(batch, dim, length, n, groups, dtype=torch.float64, with_d=True, with_z=True, with_bias=True, seed=0):
    """groups=0 means B/C shared by all channels, (batch, N, L)."""
    g = torch.Generator().manual_seed(seed)
    bc_shape = (batch, n, length) if groups == 0 else (batch, groups, n, length)
    return {
        "u": torch.randn(batch, dim, length, generator=g, dtype=dtype),
        "delta": torch.rand(batch, dim, length, generator=g, dtype=dtype) * 0.6,
        "A": -torch.rand(dim, n, generator=g, dtype=dtype) * 2 - 0.1,
        "B": torch.randn(*bc_shape, generator=g, dtype=dtype),
        "C": torch.randn(*bc_shape, generator=g, dtype=dtype),
        "D": torch.randn(dim, generator=g, dtype=dtype) if with_d else None,
        "z": torch.randn(batch, dim, length, generator=g, dtype=dtype) if with_z else None,
        "delta_bias": torch.randn(dim, generator=g, dtype=dtype) * 0.5 if with_bias else None,
    }


def _run(fn, inputs, delta_softplus, return_last_state, **kwargs):
    """Outputs and the gradients of every tensor input for a fixed, non-trivial loss."""
    leaves = {k: v.clone().requires_grad_() for k, v in inputs.items() if v is not None}
    args = {k: leaves.get(k) for k in inputs}
    out = fn(**args, delta_softplus=delta_softplus, return_last_state=return_last_state, **kwargs)
    y, last = out if return_last_state else (out, None)
    # built in float64: an arange in float16/bfloat16 rounds integers above 2048/256
    weight = torch.cos(torch.arange(y.numel(), dtype=torch.float64, device=y.device)).to(y.dtype).view_as(y)
    loss = (y * weight).sum() + (0 if last is None else (last * last).sum())
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return [y] + ([] if last is None else [last]) + list(grads), list(leaves)


CASES = [
    # batch, dim, L, N, groups, D, z, bias, softplus, last state, chunk length (multiple chunks when < L)
    (2, 8, 37, 4, 2, True, True, True, True, True, 1024),
    (1, 6, 50, 3, 0, False, False, False, False, False, 1024),
    (2, 8, 1, 4, 4, True, False, True, True, True, 1024),
    (1, 4, 2, 2, 1, False, True, False, True, True, 1024),
    (2, 12, 77, 5, 3, True, True, False, False, True, 16),
    (1, 8, 64, 4, 0, True, False, True, True, False, 16),
    (1, 4, 129, 2, 2, False, False, True, True, True, 20),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch,dim,length,n,groups,with_d,with_z,with_bias,softplus,last,chunk", CASES)
def test_matches_reference_float64(
    monkeypatch, backend, batch, dim, length, n, groups, with_d, with_z, with_bias, softplus, last, chunk
):
    monkeypatch.setattr(ss_module, "_CHUNK", chunk)  # the torch backend's chunking; numba has none
    inputs = _make_inputs(batch, dim, length, n, groups, with_d=with_d, with_z=with_z, with_bias=with_bias)
    ours, names = _run(selective_scan, inputs, softplus, last, backend=backend)
    ref, _ = _run(reference_selective_scan, inputs, softplus, last)
    labels = ["y"] + (["last_state"] if last else []) + [f"grad {k}" for k in names]
    for label, a, b in zip(labels, ours, ref):
        assert a.dtype == torch.float64, label
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10, msg=lambda m, label=label: f"{label}: {m}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_tiny(backend):
    inputs = _make_inputs(1, 4, 6, 2, 2)
    tensors = tuple(v.clone().requires_grad_() for v in inputs.values())

    def fn(*args):
        return selective_scan(*args, delta_softplus=True, return_last_state=True, backend=backend)

    assert torch.autograd.gradcheck(fn, tensors, eps=1e-6, atol=1e-6)


def test_float32_close_to_float64():
    inputs = _make_inputs(2, 16, 300, 16, 4, seed=3)
    y64 = selective_scan(**inputs, delta_softplus=True, backend="torch")
    y32 = selective_scan(**{k: v.float() for k, v in inputs.items() if v is not None}, delta_softplus=True)
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, rtol=1e-4, atol=1e-4)


@needs_numba
def test_numba_float32_matches_torch_float32():
    """float32 uses a polynomial expf in the numba kernels: as close to float64 as the torch backend is."""
    inputs = _make_inputs(2, 16, 300, 16, 4, seed=3)
    ref, _ = _run(selective_scan, inputs, True, True, backend="torch")
    inputs32 = {k: v.float() for k, v in inputs.items()}
    for backend in ("torch", "numba"):
        outs, names = _run(selective_scan, inputs32, True, True, backend=backend)
        for label, a, b in zip(["y", "last_state"] + names, outs, ref):
            assert a.dtype == torch.float32, label
            torch.testing.assert_close(a.double(), b, rtol=1e-4, atol=2e-4, msg=lambda m, lb=label: f"{lb}: {m}")
    # every decay underflowing (delta * A down to about -1e4) stays finite
    big = {**inputs32, "delta": inputs32["delta"] * 1e3, "A": inputs32["A"] * 10}
    outs, _ = _run(selective_scan, big, True, True, backend="numba")
    assert all(torch.isfinite(t).all() for t in outs)


@needs_numba
def test_numba_backend_selection(monkeypatch, caplog):
    inputs = _make_inputs(1, 4, 5, 2, 0, dtype=torch.float32)
    y_torch = selective_scan(**inputs, backend="torch")
    monkeypatch.setenv(ss_module.BACKEND_ENV_VAR, "numba")
    assert ss_module._resolve_backend(None, is_cuda=False) == "numba"
    torch.testing.assert_close(selective_scan(**inputs), y_torch)
    with pytest.raises(RuntimeError, match="CPU only"):
        ss_module._resolve_backend(None, is_cuda=True)
    monkeypatch.setattr(ss_module, "_numba_scan_fn", lambda: None)  # as if numba were not installed
    with pytest.raises(RuntimeError, match="numba cannot be imported"):
        selective_scan(**inputs)
    assert ss_module._resolve_backend("auto", is_cuda=False) == "torch"  # auto falls back without numba
    monkeypatch.undo()
    assert ss_module._resolve_backend("auto", is_cuda=False) == "numba"  # installed: auto uses it on CPU
    assert ss_module._resolve_backend("auto", is_cuda=False, is_cpu=False) == "torch"  # e.g. MPS tensors


@needs_numba
def test_numba_falls_back_to_torch_under_trace(caplog):
    inputs = _make_inputs(1, 8, 45, 4, 2, dtype=torch.float32)
    args = (inputs["u"], inputs["delta"], inputs["A"], inputs["B"], inputs["C"])

    def fn(*a):
        return selective_scan(*a, delta_softplus=True, backend="numba")

    with caplog.at_level(logging.INFO, logger=ss_module.__name__):
        traced = torch.jit.trace(fn, args)
    assert any("falls back to 'torch'" in r.getMessage() for r in caplog.records)
    torch.testing.assert_close(traced(*args), fn(*args), rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
def test_numba_on_cuda_raises():
    if not torch.cuda.is_available() or not HAVE_NUMBA:
        pytest.skip("needs CUDA and numba")
    inputs = {k: v.float().cuda() for k, v in _make_inputs(1, 4, 5, 2, 0).items() if v is not None}
    with pytest.raises(RuntimeError, match="CPU only"):
        selective_scan(**inputs, backend="numba")


def test_import_without_numba():
    """numba is optional: the package imports and the default backend runs when numba cannot be imported."""
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import torch\n"
        "from networks.layers import selective_scan\n"
        "assert 'networks.layers.selective_scan_numba' not in sys.modules\n"
        "y = selective_scan(torch.randn(1, 4, 5), torch.rand(1, 4, 5), -torch.rand(4, 2), torch.randn(1, 2, 5),"
        " torch.randn(1, 2, 5))\n"
        "assert y.shape == (1, 4, 5)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(Path(__file__).resolve().parents[1]))


def test_half_input_and_autocast():
    inputs = {k: v.float() for k, v in _make_inputs(1, 8, 40, 4, 2).items() if v is not None}
    y32 = selective_scan(**inputs, delta_softplus=True)
    y16 = selective_scan(**{k: v.bfloat16() for k, v in inputs.items()}, delta_softplus=True)
    assert y16.dtype == torch.bfloat16
    torch.testing.assert_close(y16.float(), y32, rtol=5e-2, atol=5e-2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ya = selective_scan(**inputs, delta_softplus=True)
    assert ya.dtype == torch.float32
    torch.testing.assert_close(ya, y32)


def test_large_delta_a_is_stable():
    inputs = _make_inputs(1, 8, 200, 4, 2, dtype=torch.float32)
    inputs["delta"] = inputs["delta"] * 1e3  # delta * A down to about -1e3: every decay underflows to 0
    inputs["A"] = inputs["A"] * 10
    outs, _ = _run(selective_scan, inputs, True, True)
    assert all(torch.isfinite(t).all() for t in outs)
    tiny = {**inputs, "delta": inputs["delta"] * 1e-9, "delta_bias": None}  # decays of 1 - 1e-8: no growth, no NaN
    outs, _ = _run(selective_scan, tiny, False, True)
    assert all(torch.isfinite(t).all() for t in outs)


def test_last_state_matches_a_split_sequence():
    """Scan 30 steps whole, and as steps 0-12 and 13-29 each from a zero state. With the first part's last state h
    carried over, the whole scan's last state is exp(A sum(delta[13:])) h + the second part's, and each output after
    the split is C_t . exp(A sum(delta[13:t+1])) h + the second part's output."""
    inputs = _make_inputs(1, 4, 30, 3, 1, with_d=False, with_z=False, with_bias=False)
    k = 13

    def steps(part: slice) -> dict:
        return {name: v[..., part] if name in ("u", "delta", "B", "C") else v for name, v in inputs.items()}

    y, last = selective_scan(**inputs, return_last_state=True)
    y1, h1 = selective_scan(**steps(slice(0, k)), return_last_state=True)
    y2, h2 = selective_scan(**steps(slice(k, None)), return_last_state=True)
    assert last.shape == h1.shape == (1, 4, 3) and y.shape == (1, 4, 30)
    a, delta, c = inputs["A"], inputs["delta"], inputs["C"][:, 0]  # (d, n), (b, d, L), (b, n, L)
    torch.testing.assert_close(last, torch.exp(a * delta[..., k:].sum(-1, keepdim=True)) * h1 + h2)
    decay = torch.exp(a[None, :, :, None] * torch.cumsum(delta[..., k:], -1)[:, :, None, :])  # (b, d, n, L - k)
    carried = (decay * h1[..., None] * c[:, None, :, k:]).sum(2)
    torch.testing.assert_close(y[..., k:], y2 + carried)
    torch.testing.assert_close(y[..., :k], y1)


@pytest.mark.parametrize(
    "name,override,match",
    [
        ("u", {"u": torch.zeros(2, 8)}, "u must"),
        ("delta", {"delta": torch.zeros(2, 8, 9)}, "delta must"),
        ("A", {"A": torch.zeros(7, 4)}, "A must"),
        ("B", {"B": torch.zeros(2, 4, 9)}, "B must"),
        ("C", {"C": torch.zeros(2, 3, 4, 10)}, "C has 3 groups"),
        ("B/C groups", {"C": torch.zeros(2, 4, 4, 10)}, "same number of groups"),
        ("D", {"D": torch.zeros(4)}, "D must"),
        ("z", {"z": torch.zeros(2, 8, 11)}, "z must"),
        ("delta_bias", {"delta_bias": torch.zeros(8, 1)}, "delta_bias must"),
    ],
)
def test_bad_shapes_raise(name, override, match):
    inputs = {k: v for k, v in _make_inputs(2, 8, 10, 4, 2, dtype=torch.float32).items()}
    inputs.update(override)
    with pytest.raises(ValueError, match=match):
        selective_scan(**inputs)


def test_backend_selection(monkeypatch, caplog):
    inputs = _make_inputs(1, 4, 5, 2, 0, dtype=torch.float32)
    have_mamba = ss_module._mamba_ssm_fn() is not None
    monkeypatch.setattr(ss_module, "_logged_backends", set())
    monkeypatch.delenv(ss_module.BACKEND_ENV_VAR, raising=False)
    monkeypatch.setattr(ss_module, "_numba_scan_fn", lambda: None)  # the pure PyTorch default of a plain install
    with caplog.at_level(logging.INFO, logger=ss_module.__name__):
        selective_scan(**inputs)
        selective_scan(**inputs)
    assert sum("'torch' backend" in r.getMessage() for r in caplog.records) == 1  # logged once
    assert ss_module._resolve_backend(None, is_cuda=False) == "torch"  # CPU tensors never use the kernel
    assert ss_module._resolve_backend("torch", is_cuda=True) == "torch"
    monkeypatch.setenv(ss_module.BACKEND_ENV_VAR, "torch")
    assert ss_module._resolve_backend(None, is_cuda=True) == "torch"
    monkeypatch.setenv(ss_module.BACKEND_ENV_VAR, "cuda-please")
    with pytest.raises(ValueError, match=ss_module.BACKEND_ENV_VAR):
        selective_scan(**inputs)
    with pytest.raises(ValueError, match="argument backend"):
        selective_scan(**inputs, backend="fast")
    monkeypatch.setenv(ss_module.BACKEND_ENV_VAR, "mamba_ssm")
    with pytest.raises(RuntimeError, match="mamba_ssm"):
        selective_scan(**inputs)  # CPU tensors (and, here, possibly no mamba_ssm either)
    if not have_mamba:
        monkeypatch.delenv(ss_module.BACKEND_ENV_VAR)
        with pytest.raises(RuntimeError, match="cannot be imported"):
            selective_scan(**inputs, backend="mamba_ssm")
        # CUDA tensors without mamba_ssm: the Triton kernels when Triton imports (CUDA builds of torch), else torch
        expected = "triton" if ss_module._triton_scan_fn() is not None else "torch"
        assert ss_module._resolve_backend("auto", is_cuda=True) == expected
        if expected == "triton":  # float64 stays on the torch path: the Triton kernels compute in float32
            assert ss_module._resolve_backend("auto", is_cuda=True, is_float64=True) == "torch"
        monkeypatch.setattr(ss_module, "_triton_scan_fn", lambda: None)
        assert ss_module._resolve_backend("auto", is_cuda=True) == "torch"
        with pytest.raises(RuntimeError, match="triton cannot be imported"):
            selective_scan(**inputs, backend="triton")


def test_jit_trace_round_trip(tmp_path):
    class Mixer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.A_log = torch.nn.Parameter(torch.rand(8, 4))
            self.D = torch.nn.Parameter(torch.ones(8))

        def forward(self, u, delta, B, C):
            return selective_scan(u, delta, -torch.exp(self.A_log), B, C, self.D, delta_softplus=True)

    inputs = _make_inputs(1, 8, 45, 4, 2, dtype=torch.float32)
    args = (inputs["u"], inputs["delta"], inputs["B"], inputs["C"])
    module = Mixer().eval()
    traced = torch.jit.trace(module, args)
    torch.jit.save(traced, str(tmp_path / "mixer.pt"))
    loaded = torch.jit.load(str(tmp_path / "mixer.pt"))
    torch.testing.assert_close(loaded(*args), module(*args))


@pytest.mark.gpu
def test_matches_mamba_ssm_kernel():
    if not torch.cuda.is_available() or ss_module._mamba_ssm_fn() is None:
        pytest.skip("needs CUDA and mamba_ssm")
    inputs = {k: v.float().cuda() for k, v in _make_inputs(2, 64, 300, 16, 4, seed=5).items()}
    ours, _ = _run(selective_scan, inputs, True, True, backend="torch")
    kernel, _ = _run(selective_scan, inputs, True, True, backend="mamba_ssm")
    for a, b in zip(ours, kernel):
        torch.testing.assert_close(a, b, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_metatensor_inputs(backend):
    """MONAI pipelines feed MetaTensors (subclasses of Tensor) through the networks: every backend must take them."""
    from monai.data import MetaTensor

    inputs = _make_inputs(2, 8, 37, 4, 2, dtype=torch.float32)
    expected = selective_scan(**inputs, backend=backend, return_last_state=True)
    meta = {
        k: (MetaTensor(v.detach().clone()).requires_grad_() if torch.is_tensor(v) else v) for k, v in inputs.items()
    }
    y, last = selective_scan(**meta, backend=backend, return_last_state=True)
    torch.testing.assert_close(torch.as_tensor(y), expected[0])
    torch.testing.assert_close(torch.as_tensor(last), expected[1])
    (y.sum() + last.sum()).backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in meta.values() if torch.is_tensor(t))


@needs_numba
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("height,width", [(5, 9), (1, 7), (6, 6)])
def test_cross_scan_numba_matches_unrolled_copies(dtype, height, width):
    """The numba kernels index the grid in the four SS2D directions: equal to scanning flipped/transposed copies."""
    g = torch.Generator().manual_seed(1)
    b, d, n = 2, 3, 4
    inputs = {
        "x": torch.randn(b, d, height, width, generator=g, dtype=dtype),
        "delta": torch.randn(b, 4, d, height, width, generator=g, dtype=dtype) * 0.5,
        "A": -torch.rand(4 * d, n, generator=g, dtype=dtype) - 0.5,
        "B": torch.randn(b, 4, n, height, width, generator=g, dtype=dtype),
        "C": torch.randn(b, 4, n, height, width, generator=g, dtype=dtype),
        "D": torch.randn(4 * d, generator=g, dtype=dtype),
        "delta_bias": torch.randn(4 * d, generator=g, dtype=dtype) * 0.3,
    }

    def run(backend):
        leaves = {k: v.clone().requires_grad_() for k, v in inputs.items()}
        y = ss_module.selective_scan_2d(**leaves, delta_softplus=True, backend=backend)
        weight = torch.cos(torch.arange(y.numel(), dtype=dtype)).view_as(y)
        return [y] + list(torch.autograd.grad((y * weight).sum(), list(leaves.values())))

    tol = 1e-10 if dtype == torch.float64 else 1e-5
    for got, want in zip(run("numba"), run("torch")):
        assert got.dtype == dtype
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)


def test_cross_scan_bad_shapes_raise():
    x = torch.zeros(1, 2, 3, 4)
    with pytest.raises(ValueError, match="delta must have shape"):
        ss_module.selective_scan_2d(x, torch.zeros(1, 4, 2, 4, 3), torch.zeros(8, 2), *[torch.zeros(1, 4, 2, 3, 4)] * 2)
    with pytest.raises(ValueError, match="C must have shape"):
        ss_module.selective_scan_2d(
            x, torch.zeros(1, 4, 2, 3, 4), torch.zeros(8, 2), torch.zeros(1, 4, 2, 3, 4), torch.zeros(1, 4, 3, 3, 4)
        )
