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
"""
How far the quality filter's default embedding puts phantoms from its bank of bad images, and new bad images from
phantoms (docs/vision_language.md, "Quality filter"): the highest similarity to the bank of each image, per group.

Usage (repository root)::

    python benchmarks/quality_filter.py          # writes docs/results/vlp_quality_filter.json and renders it
"""

from __future__ import annotations

import os

import fire
import numpy as np

from networks.apps.evidence import record_measurement
from networks.apps.vlp import PhantomCXRGenerator, QualityFilter, bad_image_bank

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join("docs", "results", "vlp_quality_filter.json")
TEXTS = ("", "Atelectasis.", "Cardiomegaly.", "Consolidation.", "Pulmonary edema.", "Large right pleural effusion.",
         "Left pneumothorax.", "Nodule in the right upper lobe.", "Emphysema.")  # fmt: skip


def groups(seeds: int, size: int = 128) -> dict[str, list[np.ndarray]]:
    """The images scored: phantoms of each renderer style (every text above with ``seeds`` seeds), new instances of
    the bad images (another seed, another size), and white noise over a faint phantom."""
    out = {}
    for style in ("training", "shifted"):
        generator = PhantomCXRGenerator(size, style=style)
        out[f"phantoms, {style} renderer"] = [generator.generate(t, s).image for t in TEXTS for s in range(seeds)]
    out["bad images, new instances (96 px)"] = bad_image_bank(96, seed=11)
    rng, generator = np.random.default_rng(0), PhantomCXRGenerator(size)
    out["white noise over a faint phantom (0.7 / 0.3)"] = [
        0.7 * rng.random((size, size)) + 0.3 * generator.generate(TEXTS[s % len(TEXTS)], s).image for s in range(seeds)
    ]
    return out


def main(seeds: int = 10) -> dict:
    """Score every group, write the results file and render its section."""
    quality = QualityFilter()
    table = []
    for name, images in groups(seeds).items():
        similarity = np.array([quality.similarity(image) for image in images])
        accepted = int(sum(s < quality.threshold for s in similarity))
        row = [name, len(images), *(f"{v:.3f}" for v in (similarity.min(), similarity.mean(), similarity.max()))]
        table.append(row + [f"{accepted} of {len(images)}"])
    data = record_measurement(
        REPO,
        os.path.join(REPO, SOURCE),
        "Quality filter: highest similarity to the bad-image bank",
        ["images", "count", "min", "mean", "max", f"accepted (below {quality.threshold})"],
        table,
        f"python benchmarks/quality_filter.py --seeds {seeds}",
        os.path.join("docs", "vision_language.md"),
        notes=["Cosine similarity of the default embedding (`image_descriptor`) to the nearest image of "
               "`bad_image_bank()`; an image is accepted below the threshold."],
    )  # fmt: skip
    print("\n".join(" | ".join(map(str, row)) for row in table))
    return data


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
