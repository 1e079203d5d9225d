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

"""Dataset fingerprint as nnU-Net v2 computes it: the facts planning needs, nothing more.

Per case: crop to the nonzero region (holes filled), then spacing, shape after cropping, the fraction of voxels
kept, and a seeded sample of foreground intensities per channel. Over the dataset: intensity statistics per
channel from the pooled samples (``CT`` normalisation clips to their 0.5/99.5 percentiles). The integrity check of
:func:`~.dataset.check_case` runs on the same read, so every file is opened once.
"""

from __future__ import annotations

import functools
import json
import logging
import os

import numpy as np
from scipy.ndimage import binary_fill_holes

from networks.data.file_io import write_json_atomic

from ..dataset import CaseError, RawDataset, case_problem, check_case, report_bad_cases
from ..parallel import map_cases
from ..work_folder import WorkFolder

__all__ = [
    "FOREGROUND_SAMPLES_TOTAL",
    "nonzero_bbox",
    "crop_to_nonzero",
    "analyze_case",
    "extract_fingerprint",
]

logger = logging.getLogger(__name__)

FOREGROUND_SAMPLES_TOTAL = 10e7  # foreground voxels sampled over the whole dataset (nnU-Net's bound on memory)
INTENSITY_SEED = 1234  # nnU-Net samples every case with this seed


def nonzero_bbox(mask: np.ndarray) -> list[list[int]]:
    """Half-open ``[start, end)`` per axis of the True voxels; the whole array when there are none."""
    bbox = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(mask.any(axis=other))
        bbox.append([int(hits[0]), int(hits[-1]) + 1] if hits.size else [0, mask.shape[axis]])
    return bbox


def crop_to_nonzero(data: np.ndarray, seg: np.ndarray | None = None, outside_label: int = -1):
    """Crop ``(c, ...)`` data (and seg) to the box of voxels nonzero in any channel, holes filled.

    Returns ``(data, seg, bbox)``; in the cropped seg, background outside the nonzero mask becomes ``outside_label``
    so normalisation with ``use_mask_for_norm`` can find it (nnU-Net's convention). Without a seg, one is made.
    """
    mask = binary_fill_holes(np.any(data != 0, axis=0))
    bbox = nonzero_bbox(mask)
    slicer = tuple(slice(a, b) for a, b in bbox)
    mask = mask[slicer][None]
    data = data[(slice(None), *slicer)]
    if seg is None:
        seg = np.where(mask, np.int8(0), np.int8(outside_label))
    else:
        seg = seg[(slice(None), *slicer)].copy()
        seg[(seg == 0) & ~mask] = outside_label
    return data, seg, bbox


def _foreground_samples(data: np.ndarray, seg: np.ndarray, num_samples: int) -> list[np.ndarray]:
    rng = np.random.RandomState(INTENSITY_SEED)
    foreground = seg[0] > 0
    samples = []
    for channel in data:
        values = channel[foreground]
        # with replacement, so cases with little foreground still count fully (as nnU-Net)
        samples.append(rng.choice(values, num_samples, replace=True) if values.size else np.zeros(0, np.float32))
    return samples


def analyze_case(dataset: RawDataset, num_samples: int, case: str) -> dict:
    """Check one case, crop it and sample its foreground intensities (see the module docstring)."""
    data, seg, props = check_case(dataset, case)
    cropped, cropped_seg, _ = crop_to_nonzero(data, seg)
    return {
        "shape_after_crop": [int(s) for s in cropped.shape[1:]],
        "spacing": [float(s) for s in props["spacing"]],
        "samples": _foreground_samples(cropped, cropped_seg, num_samples),
        "relative_size_after_cropping": float(np.prod(cropped.shape[1:]) / np.prod(data.shape[1:])),
    }


def _intensity_statistics(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:  # no foreground anywhere: nnU-Net would crash; CT normalisation then cannot be used
        return {k: float("nan") for k in ("mean", "median", "std", "min", "max", "percentile_99_5", "percentile_00_5")}
    p005, median, p995 = np.percentile(values, (0.5, 50.0, 99.5))
    return {
        "mean": float(np.mean(values)),
        "median": float(median),
        "std": float(np.std(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
        "percentile_99_5": float(p995),
        "percentile_00_5": float(p005),
    }


def extract_fingerprint(
    dataset: RawDataset,
    work_dir: WorkFolder | str | os.PathLike,
    num_processes: int | None = None,
    strict: bool = False,
    overwrite: bool = False,
) -> dict:
    """Fingerprint ``dataset`` into ``work_dir/dataset_fingerprint.json`` (nnU-Net v2's keys); return it.

    Bad cases are logged, listed in ``work_dir/errors_fingerprint.json`` and left out (``strict=True`` stops
    instead). An existing fingerprint is reused unless ``overwrite``.
    """
    work = WorkFolder.of(work_dir)
    path, errors_file = work.fingerprint_file, work.errors_file("fingerprint")
    if path.is_file() and not overwrite:
        existing = json.loads(path.read_text())
        skipped = json.loads(errors_file.read_text()) if errors_file.is_file() else {}
        if "cases" not in existing:  # written by nnunetv2: nothing to check it against
            return existing
        if set(existing["cases"]) | set(skipped) == set(dataset.cases):
            report_bad_cases(skipped, errors_file, strict)
            return existing
        logger.info("%s describes other cases than %s holds now: fingerprinting again", path, dataset.root)
    work.root.mkdir(parents=True, exist_ok=True)
    cases = sorted(dataset.cases)
    num_samples = int(FOREGROUND_SAMPLES_TOTAL // len(cases))
    fn = functools.partial(analyze_case, dataset, num_samples)
    results, errors = {}, {}
    for case, result, err in map_cases(fn, cases, num_processes, desc="fingerprint"):
        if err is not None:
            errors[case] = case_problem(err)
        else:
            results[case] = result
    report_bad_cases(errors, errors_file, strict)
    if not results:
        raise CaseError("all", f"no usable training case in {dataset.root}; see {errors_file}")
    ordered = [results[c] for c in cases if c in results]  # case order fixes the pooled sample order
    statistics = {}
    for channel in range(dataset.num_channels):
        pooled = np.concatenate([r["samples"][channel] for r in ordered])
        statistics[str(channel)] = _intensity_statistics(pooled)
    fingerprint = {
        "spacings": [r["spacing"] for r in ordered],
        "shapes_after_crop": [r["shape_after_crop"] for r in ordered],
        "foreground_intensity_properties_per_channel": statistics,
        "median_relative_size_after_cropping": float(np.median([r["relative_size_after_cropping"] for r in ordered])),
        "cases": [c for c in cases if c in results],  # not in nnU-Net's file: which cases the lists describe
    }
    write_json_atomic(path, fingerprint)
    return fingerprint
