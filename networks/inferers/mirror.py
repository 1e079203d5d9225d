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

"""Mirror test-time augmentation (nnU-Net style) as a MONAI inferer wrapper."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import torch
from monai.inferers import Inferer, SimpleInferer

__all__ = ["MirrorTTAInferer"]


class MirrorTTAInferer(Inferer):
    """
    Mirror test-time augmentation around another inferer: run inferer on the input flipped over
    each combination of spatial axes, flip each prediction back and average them, as nnU-Net does
    (logits are averaged, so apply softmax/argmax afterwards as usual).

    With all_combinations=True (default) 2D inputs give 4 passes (none, H, W, H+W) and 3D inputs 8;
    with False only the identity and one flip per axis are used.

    Args:
        inferer: the inferer to wrap, e.g. SlidingWindowInferer. Defaults to SimpleInferer().
        spatial_axes: spatial axes to mirror, counted from 0 over the spatial dims ((0, 1) for H, W);
            None mirrors all spatial axes of the input.
        all_combinations: use every combination of the axes (True) or one axis at a time (False).
    """

    def __init__(
        self, inferer: Inferer | None = None, spatial_axes: Sequence[int] | None = None, all_combinations: bool = True
    ) -> None:
        super().__init__()
        self.inferer = inferer if inferer is not None else SimpleInferer()
        self.spatial_axes = None if spatial_axes is None else tuple(spatial_axes)
        self.all_combinations = all_combinations

    def flip_sets(self, spatial_dims: int) -> list[tuple[int, ...]]:
        """Return the tensor dims flipped in each pass (the first, empty, one is the identity)."""
        axes = tuple(range(spatial_dims)) if self.spatial_axes is None else self.spatial_axes
        if any(a < 0 or a >= spatial_dims for a in axes):
            raise ValueError(f"spatial_axes={axes} out of range for {spatial_dims} spatial dims.")
        dims = [a + 2 for a in axes]
        if self.all_combinations:
            return [c for r in range(len(dims) + 1) for c in itertools.combinations(dims, r)]
        return [()] + [(d,) for d in dims]

    def __call__(
        self, inputs: torch.Tensor, network: Callable[..., torch.Tensor], *args: Any, **kwargs: Any
    ) -> torch.Tensor:
        """
        Args:
            inputs: batch of shape (B, C, *spatial).
            network: the model (or any callable) passed to the wrapped inferer.
            args: positional arguments passed to the wrapped inferer.
            kwargs: keyword arguments passed to the wrapped inferer.
        """
        flips = self.flip_sets(inputs.ndim - 2)
        total = None
        for dims in flips:
            x = torch.flip(inputs, dims) if dims else inputs
            pred = self.inferer(x, network, *args, **kwargs)
            if isinstance(pred, (list, tuple)):
                raise TypeError("MirrorTTAInferer expects one tensor per pass: run the network in eval mode.")
            pred = torch.flip(pred, dims) if dims else pred
            total = pred if total is None else total + pred
        return total / len(flips)  # type: ignore[operator]
