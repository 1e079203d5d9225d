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

"""Tests of networks.blocks: SS2D, VSS blocks, patch embedding/merging/expanding."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from networks.blocks import SS2D, PatchEmbed2D, PatchExpand2D, PatchMerging2D, VSSBlock, VSSStage
from networks.layers.selective_scan import selective_scan


def _reference_ss2d_core(m: SS2D, x: torch.Tensor) -> torch.Tensor:
    """Four directional scans done one at a time with explicit index orders, mapped back with a scatter."""
    b, d, h, w = x.shape
    grid = torch.arange(h * w).view(h, w)
    orders = [grid.flatten(), grid.t().flatten(), grid.flatten().flip(0), grid.t().flatten().flip(0)]
    flat = x.flatten(2)
    total = torch.zeros(b, d, h * w)
    for k, order in enumerate(orders):
        seq = flat[:, :, order]
        x_dbl = torch.einsum("bdl,cd->bcl", seq, m.x_proj_weight[k])
        dts, bs, cs = torch.split(x_dbl, [m.dt_rank, m.d_state, m.d_state], dim=1)
        dts = torch.einsum("brl,dr->bdl", dts, m.dt_projs_weight[k])
        sl = slice(k * d, (k + 1) * d)
        y = selective_scan(
            seq, dts, -torch.exp(m.A_logs[sl]), bs, cs, m.Ds[sl], delta_bias=m.dt_projs_bias[k], delta_softplus=True
        )
        total[:, :, order] += y
    return total.transpose(1, 2).reshape(b, h, w, d)


@pytest.mark.parametrize("hw", [(4, 4), (3, 5), (6, 2)])
def test_ss2d_cross_scan_matches_per_direction_reference(hw):
    torch.manual_seed(0)
    m = SS2D(d_model=6, d_state=4)
    x = torch.randn(2, m.d_inner, *hw)
    torch.testing.assert_close(m._cross_scan_merge(x), _reference_ss2d_core(m, x), rtol=1e-4, atol=1e-5)


def test_ss2d_shapes_names_and_init():
    torch.manual_seed(0)
    m = SS2D(d_model=40, d_state=16)
    assert m.d_inner == 80 and m.dt_rank == math.ceil(40 / 16)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes["in_proj.weight"] == (160, 40) and "in_proj.bias" not in shapes
    assert shapes["conv2d.weight"] == (80, 1, 3, 3) and shapes["conv2d.bias"] == (80,)
    assert shapes["x_proj_weight"] == (4, 3 + 32, 80)
    assert shapes["dt_projs_weight"] == (4, 80, 3) and shapes["dt_projs_bias"] == (4, 80)
    assert shapes["A_logs"] == (320, 16) and shapes["Ds"] == (320,)
    assert shapes["out_norm.weight"] == (80,) and shapes["out_proj.weight"] == (40, 80)
    torch.testing.assert_close(torch.exp(m.A_logs), torch.arange(1, 17.0).expand(320, 16))
    assert torch.all(m.Ds == 1)
    dt = F.softplus(m.dt_projs_bias)
    assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 0.1 * 1.001
    assert m.dt_projs_weight.abs().max() <= 3**-0.5
    x = torch.randn(2, 5, 7, 40)
    assert m(x).shape == (2, 5, 7, 40)


def test_ss2d_bad_args():
    with pytest.raises(ValueError, match="d_conv"):
        SS2D(8, d_conv=2)
    with pytest.raises(ValueError, match="dropout"):
        SS2D(8, dropout=1.0)


def test_vss_block_residual_and_keys():
    torch.manual_seed(0)
    block = VSSBlock(hidden_dim=8, drop_path=0.1, d_state=4)
    assert {k.split(".")[0] for k in block.state_dict()} == {"ln_1", "self_attention"}
    x = torch.randn(2, 4, 4, 8)
    nn.init.zeros_(block.self_attention.out_proj.weight)
    torch.testing.assert_close(block(x), x)  # the mixer branch is zero: identity
    stage = VSSStage(8, depth=3, drop_path=[0.0, 0.05, 0.1], d_state=4).eval()
    assert stage(x).shape == x.shape and len(stage.blocks) == 3
    with pytest.raises(ValueError, match="drop_path"):
        VSSStage(8, depth=2, drop_path=[0.1])


def test_vss_stage_checkpointing_same_gradients():
    torch.manual_seed(0)
    stage = VSSStage(8, depth=2, d_state=4)
    x = torch.randn(1, 4, 4, 8)
    stage(x).sum().backward()
    grads = [p.grad.clone() for p in stage.parameters()]
    stage.zero_grad()
    stage.use_checkpoint = True
    stage(x).sum().backward()
    for g, p in zip(grads, stage.parameters()):
        torch.testing.assert_close(g, p.grad)


def test_patch_embed():
    m = PatchEmbed2D(3, 16, patch_size=4)
    assert m(torch.randn(2, 3, 32, 64)).shape == (2, 8, 16, 16)
    assert set(m.state_dict()) == {"proj.weight", "proj.bias", "norm.weight", "norm.bias"}


def test_patch_merging_order_and_odd_input():
    m = PatchMerging2D(dim=1)
    m.norm = nn.Identity()
    nn.init.eye_(m.reduction.weight)  # (2, 4): keep the first two of the concatenated neighbours
    x = torch.arange(16.0).view(1, 4, 4, 1)
    y = m(x)
    assert y.shape == (1, 2, 2, 2)
    # neighbour order (0,0), (1,0), (0,1), (1,1): first (0,0) then the one below it
    assert y[0, 0, 0].tolist() == [0.0, 4.0]
    with pytest.raises(ValueError, match="even"):
        PatchMerging2D(4)(torch.randn(1, 3, 4, 4))


@pytest.mark.parametrize("scale,c_in,c_out", [(2, 16, 8), (4, 8, 8)])
def test_patch_expand_shapes(scale, c_in, c_out):
    m = PatchExpand2D(c_in, scale=scale)
    assert m.expand.weight.shape == (scale * scale * c_out, c_in)
    assert m(torch.randn(2, 3, 5, c_in)).shape == (2, 3 * scale, 5 * scale, c_out)


def test_patch_expand_pixel_order():
    m = PatchExpand2D(8, 2, scale=2)
    m.norm = nn.Identity()
    nn.init.eye_(m.expand.weight)
    x = torch.randn(1, 2, 3, 8)
    y = m(x)
    for i in range(2):
        for j in range(2):
            torch.testing.assert_close(y[:, i::2, j::2], x[..., (i * 2 + j) * 2 : (i * 2 + j + 1) * 2])
