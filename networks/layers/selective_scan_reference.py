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

"""Naive step-by-step selective scan: the ground truth the fast backends are tested against, and the baseline of
benchmarks/selective_scan.py.

A plain Python loop over the sequence with autograd through it: obviously correct, slow, and
float64-capable (it computes in float64 when the input is float64, else in float32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["reference_selective_scan"]


def reference_selective_scan(
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
) -> Tensor | tuple[Tensor, Tensor]:
    """Same semantics as ``mamba_ssm``'s ``selective_scan_ref``; see ``networks.layers.selective_scan``."""
    dtype_in = u.dtype
    cdtype = torch.float64 if u.dtype == torch.float64 else torch.float32
    u, delta, A = u.to(cdtype), delta.to(cdtype), A.to(cdtype)
    if delta_bias is not None:
        delta = delta + delta_bias.to(cdtype)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, _ = u.shape
    # (batch, N, L) is one group shared by all channels
    B = B.unsqueeze(1) if B.dim() == 3 else B
    C = C.unsqueeze(1) if C.dim() == 3 else C
    B = B.to(cdtype).repeat_interleave(dim // B.shape[1], dim=1)  # (batch, dim, N, L)
    C = C.to(cdtype).repeat_interleave(dim // C.shape[1], dim=1)
    x = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    # unbind once: indexing [..., t] inside the loop would make the backward O(L^2) (a full-size zero gradient
    # per step), which would flatter any comparison
    for d_t, u_t, b_t, c_t in zip(delta.unbind(-1), u.unbind(-1), B.unbind(-1), C.unbind(-1)):
        x = torch.exp(d_t[..., None] * A) * x + (d_t * u_t)[..., None] * b_t
        ys.append((x * c_t).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + u * D.to(cdtype)[:, None]
    if z is not None:
        y = y * F.silu(z.to(cdtype))
    y = y.to(dtype_in)
    return (y, x) if return_last_state else y
