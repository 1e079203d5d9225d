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

"""Select the full-resolution output of a deep-supervision network."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, Transform

__all__ = ["SelectFullResolution", "SelectFullResolutiond"]


class SelectFullResolution(Transform):
    """
    Return the full-resolution prediction from a deep-supervision output.

    Deep-supervision networks (SwinUMamba(deep_supervision=True) in training mode, MONAI's
    DynUNet) return a list of logits, full resolution first. Metrics and post-processing need one
    tensor; this transform returns element index of a list/tuple and any tensor unchanged, so the
    same post-processing works for networks with and without deep supervision (eval mode returns
    one tensor).

    Args:
        index: which element of a list/tuple output to keep. Defaults to 0 (full resolution).
    """

    def __init__(self, index: int = 0) -> None:
        self.index = index

    def __call__(self, data: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        if isinstance(data, (list, tuple)):
            return data[self.index]
        return data


class SelectFullResolutiond(MapTransform):
    """
    Dictionary version of :py:class:`SelectFullResolution`.

    Args:
        keys: keys of the items to convert (usually "pred").
        index: which element of a list/tuple output to keep. Defaults to 0 (full resolution).
        allow_missing_keys: do not raise if a key is missing.
    """

    def __init__(self, keys: KeysCollection, index: int = 0, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.selector = SelectFullResolution(index)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.selector(d[key])
        return d
