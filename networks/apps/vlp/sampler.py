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
"""SynCXR's balanced two-step entity sampler."""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from networks.apps.vlp.lexicon import finding_of

__all__ = ["BalancedEntitySampler"]


class BalancedEntitySampler:
    """
    Draw entity sets for synthetic reports with a balanced distribution (SynCXR's two-step sampling).

    Each draw takes ``k`` entities from the four finding types (abnormality, non-abnormality, disease,
    non-disease) and ``m`` from anatomy, uniformly. An entity that has been drawn ``max_count`` times is capped:
    a draw that hits it (or an entity already in the set, or the opposite polarity of a finding in it) is redrawn
    for that slot only, the rest of the set is kept. Uniform draws plus the cap flatten the real long tail.

    Args:
        findings: finding entity keys to draw from (positive and negated).
        anatomy: anatomy entity keys.
        k: inclusive range of the number of finding entities per set.
        m: inclusive range of the number of anatomy entities per set.
        num_samples: how many sets will be drawn; with ``cap_factor`` it sets the caps.
        cap_factor: cap = ``ceil(cap_factor * expected uniform count)``, for findings and anatomy separately (an
            anatomy entity is drawn more often: there are fewer of them); ignored when ``max_count`` is given.
        max_count: one per-entity cap for every entity; ``None`` derives the two caps from ``num_samples``.
        seed: seed of the sampler's own random generator.
        max_redraws: redraws of one slot before the set is returned shorter.
    """

    def __init__(
        self,
        findings: Sequence[str],
        anatomy: Sequence[str],
        k: Sequence[int] = (1, 4),
        m: Sequence[int] = (1, 3),
        num_samples: int = 1000,
        cap_factor: float = 1.25,
        max_count: int | None = None,
        seed: int | np.random.SeedSequence = 0,
        max_redraws: int = 100,
    ) -> None:
        if not findings or not anatomy:
            raise ValueError("BalancedEntitySampler needs at least one finding and one anatomy entity.")
        if not (1 <= k[0] <= k[1] and 0 <= m[0] <= m[1]):
            raise ValueError(f"k={k} and m={m} must be inclusive ranges (k from 1, m from 0).")
        self.findings, self.anatomy = list(findings), list(anatomy)
        self.k, self.m = (int(k[0]), int(k[1])), (int(m[0]), int(m[1]))

        def cap(slots: tuple[int, int], pool: list[str]) -> int:
            if max_count is not None:
                return int(max_count)
            return max(1, math.ceil(cap_factor * num_samples * (sum(slots) / 2) / len(pool)))

        self.max_count = cap(self.k, self.findings)
        self.max_count_anatomy = cap(self.m, self.anatomy)
        self.max_redraws = max_redraws
        self.rng = np.random.default_rng(seed)
        self.counts: Counter = Counter()
        self.redraws = 0  # slots redrawn because their entity was capped

    def _conflicts(self, key: str, chosen: list[str]) -> bool:
        found = finding_of(key)
        if found is None:
            return key in chosen
        name = found[0]
        return any(finding_of(c) is not None and finding_of(c)[0] == name for c in chosen)

    def _draw(self, pool: list[str], n: int, chosen: list[str], limit: int) -> None:
        for _ in range(n):
            for _attempt in range(self.max_redraws):
                key = pool[int(self.rng.integers(len(pool)))]
                if self.counts[key] >= limit:
                    self.redraws += 1
                    continue
                if not self._conflicts(key, chosen):
                    chosen.append(key)
                    break

    def sample(self) -> list[str]:
        """One entity set (findings first, then anatomy); the counts include it until :py:meth:`release`."""
        chosen: list[str] = []
        self._draw(self.findings, int(self.rng.integers(self.k[0], self.k[1] + 1)), chosen, self.max_count)
        n_findings = len(chosen)
        self._draw(self.anatomy, int(self.rng.integers(self.m[0], self.m[1] + 1)), chosen, self.max_count_anatomy)
        if n_findings == 0:
            raise RuntimeError(f"every finding entity reached the cap of {self.max_count}; draw fewer sets")
        self.counts.update(chosen)
        return chosen

    def release(self, entities: Sequence[str]) -> None:
        """Take back a set that was not used (its report failed verification), so its entities can be drawn again."""
        self.counts.subtract(entities)
