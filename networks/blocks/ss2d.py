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

"""SS2D: the VMamba (v0) four-direction selective-scan 2D token mixer."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from networks.layers.selective_scan import NUM_DIRECTIONS, selective_scan_2d

__all__ = ["SS2D"]


class SS2D(nn.Module):
    """
    2D selective scan (S6) mixer of VMamba, "VMamba: Visual State Space Model", https://arxiv.org/abs/2401.10166,
    in the v0 form used by Swin-UMamba (https://arxiv.org/abs/2402.03302).

    The input (channels-last) is projected to a branch ``x`` and a gate ``z``; ``x`` goes through a depthwise
    conv + SiLU, is unrolled into four 1D sequences (row-major, column-major and both reversed), each scanned by its
    own S6 parameters, then the four outputs are folded back onto the grid, summed, layer-normalised, gated by
    SiLU(z) and projected back to ``d_model`` channels. The scan runs in float32.

    Parameter names follow the official VMamba checkpoints (``in_proj``, ``conv2d``, ``x_proj_weight``,
    ``dt_projs_weight``, ``dt_projs_bias``, ``A_logs``, ``Ds``, ``out_norm``, ``out_proj``).

    Args:
        d_model: number of input/output channels.
        d_state: SSM state size N. Defaults to 16.
        expand: inner width factor, d_inner = expand * d_model. Defaults to 2.
        dt_rank: rank of the dt projection; "auto" gives ceil(d_model / 16). Defaults to "auto".
        d_conv: kernel size of the depthwise convolution. Defaults to 3.
        conv_bias: whether the depthwise convolution has a bias. Defaults to True.
        bias: whether in_proj/out_proj have biases. Defaults to False.
        dropout: dropout probability on the output. Defaults to 0.0.
        dt_min: smallest initial dt. Defaults to 0.001.
        dt_max: largest initial dt. Defaults to 0.1.
        dt_init_floor: floor of the initial dt. Defaults to 1e-4.
        dt_scale: scale of the dt projection weight init. Defaults to 1.0.
        scan_backend: backend passed to ``networks.layers.selective_scan`` (None: its default). Defaults to None.
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        expand: float = 2,
        dt_rank: int | str = "auto",
        d_conv: int = 3,
        conv_bias: bool = True,
        bias: bool = False,
        dropout: float = 0.0,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init_floor: float = 1e-4,
        dt_scale: float = 1.0,
        scan_backend: str | None = None,
    ) -> None:
        super().__init__()
        if d_model < 1 or d_state < 1:
            raise ValueError(f"`d_model` and `d_state` must be positive, got d_model={d_model}, d_state={d_state}.")
        if d_conv < 1 or d_conv % 2 == 0:
            raise ValueError(f"`d_conv` must be a positive odd kernel size, got {d_conv}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {dropout}.")
        if not 0.0 < dt_min <= dt_max:
            raise ValueError(f"`dt_min`/`dt_max` must satisfy 0 < dt_min <= dt_max, got {dt_min}, {dt_max}.")
        self.d_model = d_model
        self.d_state = d_state
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.scan_backend = scan_backend
        k, d_inner = NUM_DIRECTIONS, self.d_inner

        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=bias)
        self.conv2d = nn.Conv2d(d_inner, d_inner, d_conv, padding=(d_conv - 1) // 2, groups=d_inner, bias=conv_bias)
        self.act = nn.SiLU()
        self.x_proj_weight = nn.Parameter(torch.empty(k, self.dt_rank + 2 * d_state, d_inner))
        self.dt_projs_weight = nn.Parameter(torch.empty(k, d_inner, self.dt_rank))
        self.dt_projs_bias = nn.Parameter(torch.empty(k, d_inner))
        self.A_logs = nn.Parameter(torch.empty(k * d_inner, d_state))
        self.Ds = nn.Parameter(torch.empty(k * d_inner))
        self.out_norm = nn.LayerNorm(d_inner)
        self.out_proj = nn.Linear(d_inner, d_model, bias=bias)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.reset_ssm_parameters(dt_min, dt_max, dt_init_floor, dt_scale)

    @torch.no_grad()
    def reset_ssm_parameters(
        self, dt_min: float = 0.001, dt_max: float = 0.1, dt_init_floor: float = 1e-4, dt_scale: float = 1.0
    ) -> None:
        """(Re)initialise the S6 parameters as VMamba/Mamba do (A_logs, Ds, dt projections, x projections)."""
        # x_proj: the default nn.Linear init, uniform +-1/sqrt(fan_in)
        bound = self.d_inner**-0.5
        self.x_proj_weight.uniform_(-bound, bound)
        # dt projection: weight uniform +-dt_rank^-0.5, bias = softplus^-1(dt), dt log-uniform in [dt_min, dt_max]
        std = self.dt_rank**-0.5 * dt_scale
        self.dt_projs_weight.uniform_(-std, std)
        log_dt = torch.rand_like(self.dt_projs_bias) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        dt = torch.exp(log_dt).clamp(min=dt_init_floor)
        self.dt_projs_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        # S4D-real init: A = -(1..N) for every channel; D = 1
        self.A_logs.copy_(torch.log(torch.arange(1, self.d_state + 1, dtype=torch.float32)).expand_as(self.A_logs))
        self.Ds.fill_(1.0)
        for p in (self.A_logs, self.Ds):
            p._no_weight_decay = True  # type: ignore[attr-defined]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, d_model) channels-last; returns the same shape."""
        x, z = self.in_proj(x).chunk(2, dim=-1)
        x = self.act(self.conv2d(x.permute(0, 3, 1, 2).contiguous()))
        y = self._cross_scan_merge(x)
        y = self.out_norm(y) * F.silu(z)
        return self.dropout(self.out_proj(y))

    def _cross_scan_merge(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, D, H, W) -> (B, H, W, D), the sum of the four directional scans mapped back onto the grid."""
        b, d, h, w = x.shape
        k = NUM_DIRECTIONS
        # the projections are per token, so they are computed once in grid order; the scan visits the grid in each
        # direction's order (see selective_scan_2d), which equals projecting the unrolled sequences
        x_dbl = torch.einsum("bdl,kcd->bkcl", x.flatten(2), self.x_proj_weight)
        dts, bs, cs = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=2)
        dts = torch.einsum("bkrl,kdr->bkdl", dts, self.dt_projs_weight)
        y = selective_scan_2d(
            x.float(),
            dts.float().reshape(b, k, d, h, w),
            -torch.exp(self.A_logs.float()),
            bs.float().reshape(b, k, self.d_state, h, w),
            cs.float().reshape(b, k, self.d_state, h, w),
            D=self.Ds.float(),
            delta_bias=self.dt_projs_bias.float().reshape(-1),
            delta_softplus=True,
            backend=self.scan_backend,
        )
        return y.permute(0, 2, 3, 1)
