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
How close ``--object_size auto`` lands (``networks.transforms.estimate_object_size``): per labelled image, the
estimate against the median equivalent diameter of its labelled nuclei, on every image of nuclei2d resampled to 0.5x,
1x and 2x (bilinear, antialiased when shrinking; the truth scaled by the same factor) and on nuclei2d_slices (another
microscope, as it is).

Usage (repository root)::

    python scripts/object_size_estimate.py      # writes docs/results/object_size_estimate.json, renders docs/results.md

Datasets missing under ``data/`` are prepared first (``zoo-prepare-data``).
"""

from __future__ import annotations

import json
import os
import sys

import fire
import nibabel as nib
import numpy as np
from skimage.transform import rescale

from networks.apps.evidence import record_measurement
from networks.apps.steps import run_step
from networks.transforms import estimate_object_size, instance_diameters

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join("docs", "results", "object_size_estimate.json")
SETS = {"nuclei2d": (0.5, 1.0, 2.0), "nuclei2d_slices": (1.0,)}
TOLERANCE = 0.25


def _cases(dataset: str) -> list[dict]:
    folder = os.path.join(REPO, "data", dataset)
    if not os.path.isfile(os.path.join(folder, "dataset.json")):
        run_step([sys.executable, "-m", "networks.apps.prepare_data", dataset, "--out", folder], False, REPO)
    with open(os.path.join(folder, "dataset.json")) as f:
        doc = json.load(f)
    return [c for split in ("training", "validation", "test") for c in doc.get(split, [])]


def _load(dataset: str, path: str) -> np.ndarray:
    return np.asarray(nib.load(os.path.join(REPO, "data", dataset, path)).dataobj)


def measure(dataset: str, factor: float) -> list[dict]:
    """Per image of ``dataset`` resampled by ``factor``: the labelled median diameter and the estimate."""
    out = []
    for case in _cases(dataset):
        image = _load(dataset, case["image"]).astype(np.float32)
        truth = float(np.median(instance_diameters(_load(dataset, case["instance"])))) * factor
        if factor != 1.0:
            image = rescale(image, factor, order=1, anti_aliasing=factor < 1)
        estimate = estimate_object_size(image)
        name = os.path.basename(case["image"]).replace(".nii.gz", "")
        out.append(
            {"image": name, "truth": round(truth, 3), "estimate": None if estimate is None else round(estimate, 3)}
        )
    return out


def main(results: str = SOURCE) -> dict:
    """Measure every set and scale; record the table and the per-image values, rendered into docs/results.md."""
    columns = ["images", "scale", "n", "median true diameter (px)", "median estimate (px)",
               f"within {TOLERANCE:.0%}", "estimate / truth (min, median, max)"]  # fmt: skip
    table, values = [], {}
    for dataset, factors in SETS.items():
        for factor in factors:
            rows = measure(dataset, factor)
            values[f"{dataset}@{factor:g}x"] = rows
            ratios = np.array([np.nan if r["estimate"] is None else r["estimate"] / r["truth"] for r in rows])
            within = int(np.sum(np.abs(ratios - 1) <= TOLERANCE))
            table.append([dataset, f"{factor:g}x", len(rows), f"{np.median([r['truth'] for r in rows]):.1f}",
                          f"{np.nanmedian([r['estimate'] or np.nan for r in rows]):.1f}", f"{within}/{len(rows)}",
                          f"{np.nanmin(ratios):.2f}, {np.nanmedian(ratios):.2f}, {np.nanmax(ratios):.2f}"])  # fmt: skip
            print(" | ".join(str(c) for c in table[-1]), flush=True)
    title = "Object-size estimate (`--object_size auto`) against the labelled median nucleus diameter, per image"
    notes = ["truth: median equivalent diameter 2 sqrt(area / pi) of the labelled nuclei of at least 5 px; estimate: "
             "networks.transforms.estimate_object_size (the larger of the median LoG blob size and the median Otsu "
             "component size); nuclei2d images are all 14 (training, "
             "validation and test), resampled with skimage.transform.rescale"]  # fmt: skip
    return record_measurement(REPO, results, title, columns, table, "python scripts/object_size_estimate.py",
                              os.path.join("docs", "results.md"), notes=notes, images=values)  # fmt: skip


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
