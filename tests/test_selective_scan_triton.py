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

"""Tests of the Triton selective scan kernels against the step-by-step reference and the torch backend.

Without a GPU the kernels run in Triton's interpreter (TRITON_INTERPRET=1, set by tests/conftest.py before
triton is first imported); with one, on the GPU. Sizes are small and cover several blocks of steps and channels,
masked tails and a state size that is not a power of two.
"""

from __future__ import annotations

import importlib
import os

import pytest
import torch

triton = pytest.importorskip("triton")

from networks.blocks import SS2D  # noqa: E402
from networks.layers import selective_scan, selective_scan_2d  # noqa: E402
from networks.layers.selective_scan_reference import reference_selective_scan  # noqa: E402
from tests.test_selective_scan import _make_inputs, _run  # noqa: E402

__all__: list[str] = []

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
ss_module = importlib.import_module("networks.layers.selective_scan")


@pytest.fixture(scope="module", autouse=True)
def triton_kernels():
    """The kernel module, interpreted on CPU (reloaded if it was imported before the interpreter was on)."""
    if DEVICE == "cpu":
        if os.environ.get("TRITON_INTERPRET") != "1":
            pytest.skip("no GPU, and TRITON_INTERPRET is set to something other than 1")
        import triton.language.standard as standard
        from triton.runtime.interpreter import InterpretedFunction

        # tests/conftest.py turns the interpreter on before anything imports triton; if that failed, say so
        assert isinstance(standard.cdiv, InterpretedFunction), "triton was imported before TRITON_INTERPRET=1"
    module = importlib.import_module("networks.layers.selective_scan_triton")
    if DEVICE == "cpu" and not isinstance(module._scan_fwd_kernel, InterpretedFunction):
        module = importlib.reload(module)
    return module


@pytest.fixture(params=[None, 4], ids=["shipped-blocks", "4-channel-blocks"])
def channel_block(request, triton_kernels, monkeypatch):
    """Run with the shipped blocks and with 4 channels per program, so small tests also cover several channel
    blocks per group (partial dB/dC sums, per-program buffers, a masked last block)."""
    if request.param:
        monkeypatch.setitem(triton_kernels.BLOCKS, "BLOCK_D", request.param)
    return request.param


CASES = [
    # batch, dim, L, N, groups, D, z, bias, softplus, last state (blocks of 16 steps)
    (2, 8, 37, 4, 2, True, True, True, True, True),  # 3 blocks of steps, the last masked
    (1, 6, 50, 3, 0, False, False, False, False, False),  # N=3 padded to 4, B/C shared by all channels
    (2, 8, 1, 4, 4, True, False, True, True, True),  # a single step
    (2, 12, 77, 5, 3, True, True, False, False, True),  # 5 blocks of steps, N=5 padded to 8
    (1, 20, 64, 4, 2, True, False, True, True, False),  # 10 channels per group: 3 channel blocks of 4, one masked
]


@pytest.mark.parametrize("batch,dim,length,n,groups,with_d,with_z,with_bias,softplus,last", CASES)
def test_matches_reference(channel_block, batch, dim, length, n, groups, with_d, with_z, with_bias, softplus, last):
    """Outputs, last state and every gradient in float32 against the float64 step-by-step reference."""
    inputs = _make_inputs(batch, dim, length, n, groups, with_d=with_d, with_z=with_z, with_bias=with_bias)
    expected, _ = _run(reference_selective_scan, inputs, softplus, last)
    inputs32 = {k: None if v is None else v.float().to(DEVICE) for k, v in inputs.items()}
    got, _ = _run(selective_scan, inputs32, softplus, last, backend="triton")
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g.double().cpu(), e, rtol=1e-4, atol=1e-4)


def _cross_inputs(batch=2, dim=3, height=5, width=9, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(batch, dim, height, width, generator=g),
        "delta": torch.randn(batch, 4, dim, height, width, generator=g) * 0.5,
        "A": -torch.rand(4 * dim, n, generator=g) - 0.5,
        "B": torch.randn(batch, 4, n, height, width, generator=g),
        "C": torch.randn(batch, 4, n, height, width, generator=g),
        "D": torch.randn(4 * dim, generator=g),
        "delta_bias": torch.randn(4 * dim, generator=g) * 0.3,
    }


def _cross_run(inputs, backend):
    leaves = {k: v.clone().to(DEVICE).requires_grad_() for k, v in inputs.items()}
    y = selective_scan_2d(**leaves, delta_softplus=True, backend=backend)
    weight = torch.cos(torch.arange(y.numel(), dtype=y.dtype, device=y.device)).view_as(y)
    grads = torch.autograd.grad((y * weight).sum(), list(leaves.values()))
    return [y] + list(grads)


@pytest.mark.parametrize("height,width", [(5, 9), (8, 8), (1, 7)])
def test_cross_scan_matches_unrolled_copies(channel_block, height, width):
    """The kernels' four-direction grid indexing equals scanning flipped/transposed copies (the torch backend)."""
    inputs = _cross_inputs(dim=6, height=height, width=width)  # with 4-channel blocks: 2 per direction
    expected = _cross_run(inputs, "torch")
    for got, want in zip(_cross_run(inputs, "triton"), expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_ss2d_module_backends_agree():
    torch.manual_seed(0)
    module = SS2D(d_model=8, d_state=4).to(DEVICE)
    x = torch.randn(2, 6, 5, 8, device=DEVICE)
    outs = []
    for backend in ("torch", "triton"):
        module.scan_backend = backend
        module.zero_grad()
        y = module(x)
        y.square().sum().backward()
        outs.append([y] + [p.grad.clone() for p in module.parameters()])
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_cpu_tensors_need_the_interpreter(monkeypatch, triton_kernels):
    monkeypatch.setattr(triton_kernels, "triton_interpreted", lambda: False)
    inputs = {k: None if v is None else v.float() for k, v in _make_inputs(1, 4, 5, 2, 0).items()}
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET"):
        selective_scan(**inputs, backend="triton")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs(dtype):
    """fp16/bf16 inputs with a float32 state: the float32 scan of the same (rounded) inputs, up to the rounding of
    the results to the input dtype (larger sizes on a GPU)."""
    size = (2, 64, 300, 16, 4) if DEVICE == "cuda" else (1, 8, 40, 4, 2)
    inputs = _make_inputs(*size, seed=3)
    half = {k: None if v is None else v.to(dtype).to(DEVICE) for k, v in inputs.items()}
    full = {k: None if v is None else v.float() for k, v in half.items()}
    got, _ = _run(selective_scan, half, True, True, backend="triton")
    want, _ = _run(selective_scan, full, True, True, backend="torch")
    assert got[0].dtype == dtype and got[1].dtype == torch.float32  # the last state stays in float32
    for g, w in zip(got, want):
        assert g.dtype == (torch.float32 if g is got[1] else dtype)
        scale = w.abs().max().item()
        # the loss weights are rounded to the input dtype in the half run only: compare relative to the scale
        torch.testing.assert_close(g.float() / scale, w.float() / scale, rtol=0, atol=2e-2)


@pytest.mark.gpu
def test_gpu_stage_sizes_match_torch():
    """At Swin-UMamba's stage-3 size, the kernels and the pure-PyTorch scan agree on the GPU."""
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    inputs = _cross_inputs(batch=2, dim=384, height=16, width=16, n=16, seed=1)
    for got, want in zip(_cross_run(inputs, "triton"), _cross_run(inputs, "torch")):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-3)
