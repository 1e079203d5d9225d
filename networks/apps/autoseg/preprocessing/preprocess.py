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

"""Preprocess training cases for one configuration of a plans file, into a resumable cache.

Per case, in nnU-Net v2's order: transpose (coarsest axis first), crop to nonzero, normalise (before resampling, so
the nonzero mask still fits), resample to the configuration's spacing, and sample up to 10,000 voxel locations per
foreground class (seeded) for the 33% foreground oversampling of training. Output in
``WORK/<data_identifier>/``: ``<case>.npy`` (float32 ``(c, z, y, x)``), ``<case>_seg.npy`` (int8/int16, -1 =
outside the nonzero mask), ``<case>_locations.npz`` (``class_<label>``: ``(n, 4)`` indices) and ``<case>.json``
(geometry to undo everything at export). The JSON is renamed into place last, so a case with a JSON is complete;
a rerun skips complete cases whose configuration is unchanged and redoes the others.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from networks.data.file_io import save_npy_atomic, write_json_atomic

from ..dataset import RawDataset, case_problem, check_case, report_bad_cases
from ..parallel import map_cases
from ..planning.fingerprint import crop_to_nonzero
from ..plans import Plans, compute_new_shape
from ..work_folder import WorkFolder
from .normalization import normalize_channel
from .resampling import resample_to_shape

__all__ = ["LOCATION_SEED", "sample_class_locations", "preprocess_case", "preprocess_dataset", "configuration_key"]

logger = logging.getLogger(__name__)

LOCATION_SEED = 1234
SUPPORTED_RESAMPLING = "resample_data_or_seg_to_shape"


def sample_class_locations(
    seg: np.ndarray, labels, seed: int = LOCATION_SEED, max_samples: int = 10000, min_coverage: float = 0.01
) -> dict[int, np.ndarray]:
    """Up to ``max_samples`` (at least ``min_coverage`` of them) voxel indices per label, as nnU-Net samples them."""
    rng = np.random.RandomState(seed)
    labels = [int(v) for v in labels]
    mask = np.isin(seg, np.array(labels, dtype=np.int32))
    coords = np.argwhere(mask)
    values = seg[mask]
    result = {}
    if values.size == 0:
        return {label: np.zeros((0, seg.ndim), dtype=np.int64) for label in labels}
    order = np.argsort(values, kind="stable")
    values, coords = values[order], coords[order]
    for label in labels:
        start, end = np.searchsorted(values, label, "left"), np.searchsorted(values, label, "right")
        total = int(end - start)
        if total == 0:
            result[label] = np.zeros((0, seg.ndim), dtype=np.int64)
            continue
        count = max(min(max_samples, total), int(np.ceil(total * min_coverage)))
        result[label] = coords[start + rng.choice(total, count, replace=False)]
    return result


def _resampling_order(configuration: dict, key: str) -> int:
    if configuration.get(f"resampling_fn_{key}", SUPPORTED_RESAMPLING) != SUPPORTED_RESAMPLING:
        raise ValueError(
            f"plans: resampling_fn_{key} {configuration[f'resampling_fn_{key}']!r} is not supported, "
            f"only {SUPPORTED_RESAMPLING!r}"
        )
    kwargs = configuration[f"resampling_fn_{key}_kwargs"]
    if kwargs.get("order_z", 0) != 0 or kwargs.get("force_separate_z") is not None:
        raise ValueError(
            f"plans: resampling_fn_{key}_kwargs {kwargs} are not supported: only order_z 0 and force_separate_z "
            "null (nnU-Net's defaults: the separate-z decision is automatic)"
        )
    return int(kwargs.get("order", 3 if key == "data" else 1))


def preprocess_case(
    data: np.ndarray, seg: np.ndarray | None, properties: dict, plans: dict, configuration: dict, foreground_labels
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Transpose, crop, normalise and resample one case; return ``(data, seg, properties)``."""
    data = data.astype(np.float32)  # a copy: the caller's array stays as read
    seg = None if seg is None else np.copy(seg)
    forward = plans["transpose_forward"]
    data = data.transpose([0, *[i + 1 for i in forward]])
    if seg is not None:
        seg = seg.transpose([0, *[i + 1 for i in forward]])
    spacing = [properties["spacing"][i] for i in forward]
    props = {"spacing": list(properties["spacing"]), "shape_before_cropping": list(data.shape[1:])}
    if "itk" in properties:
        props["itk"] = properties["itk"]
    has_seg = seg is not None
    data, seg, bbox = crop_to_nonzero(data, seg)
    props["bbox_used_for_cropping"] = bbox
    props["shape_after_cropping_and_before_resampling"] = list(data.shape[1:])
    target = list(configuration["spacing"])
    if len(target) < len(data.shape[1:]):  # 2d: the slice axis keeps its spacing
        target = [spacing[0], *target]
    new_shape = compute_new_shape(data.shape[1:], spacing, target)
    intensity = plans["foreground_intensity_properties_per_channel"]
    for c in range(data.shape[0]):
        data[c] = normalize_channel(
            configuration["normalization_schemes"][c],
            data[c],
            seg[0],
            configuration["use_mask_for_norm"][c],
            intensity.get(str(c)),
        )
    data = resample_to_shape(data, new_shape, spacing, target, False, _resampling_order(configuration, "data"))
    seg = resample_to_shape(seg, new_shape, spacing, target, True, _resampling_order(configuration, "seg"))
    props["class_locations"] = sample_class_locations(seg, foreground_labels) if has_seg else {}
    seg = seg.astype(np.int16 if np.max(seg) > 127 else np.int8)
    return data, seg, props


def configuration_key(plans: dict, configuration: dict) -> str:
    """Hash of everything that changes a preprocessed case (a changed plan invalidates the cache)."""
    relevant = {
        k: configuration.get(k)
        for k in (
            "spacing",
            "normalization_schemes",
            "use_mask_for_norm",
            "resampling_fn_data_kwargs",
            "resampling_fn_seg_kwargs",
        )
    }
    relevant["transpose_forward"] = plans["transpose_forward"]
    relevant["intensity"] = plans["foreground_intensity_properties_per_channel"]
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def _is_complete(out_dir: Path, case: str, key: str) -> bool:
    path = out_dir / f"{case}.json"
    if not path.is_file():
        return False
    try:
        props = json.loads(path.read_text())
    except ValueError:
        return False
    return props.get("configuration_key") == key and all(
        (out_dir / f"{case}{suffix}").is_file() for suffix in (".npy", "_seg.npy", "_locations.npz")
    )


def _save_case(out_dir: Path, key: str, case: str, data: np.ndarray, seg: np.ndarray, props: dict) -> None:
    marker = out_dir / f"{case}.json"
    if marker.exists():  # an older version of this case: it is incomplete from the first new array on
        marker.unlink()
    save_npy_atomic(out_dir / f"{case}.npy", data)
    save_npy_atomic(out_dir / f"{case}_seg.npy", seg)
    locations = props.pop("class_locations")
    tmp = out_dir / f"{case}_locations.tmp{os.getpid()}.npz"
    with open(tmp, "wb") as f:
        np.savez(f, **{f"class_{k}": v for k, v in locations.items()})
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out_dir / f"{case}_locations.npz")
    props.update(
        case=case,
        configuration_key=key,
        shape_after_resampling=list(data.shape[1:]),
        num_foreground_locations={str(k): int(len(v)) for k, v in locations.items()},
    )
    write_json_atomic(marker, props)  # last: its presence marks the case complete


def _preprocess_and_save(dataset: RawDataset, plans: dict, jobs: dict[str, list[tuple]], case: str) -> str:
    """Read one case once and write it for every configuration that still needs it."""
    data, seg, props = check_case(dataset, case)
    foreground = [v for v in dataset.label_values if v != 0]  # sorted: the sampling RNG runs over them in order
    for configuration, out_dir, key in jobs[case]:
        _save_case(out_dir, key, case, *preprocess_case(data, seg, props, plans, configuration, foreground))
    return case


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _remove_orphaned_temporaries(folder: Path) -> None:
    """Delete temporary files of killed writers; those of a live process (another run sharing the folder) stay."""
    for path in folder.glob("*.tmp*"):
        match = re.search(r"\.tmp(\d+)", path.name)
        if match is None or not _pid_alive(int(match.group(1))):
            path.unlink(missing_ok=True)


def preprocess_dataset(
    dataset: RawDataset,
    work: WorkFolder,
    configuration_names: str | Sequence[str],
    num_processes: int | None = None,
    strict: bool = False,
) -> dict[str, Path]:
    """Preprocess every training case for each configuration of ``work``'s plans into its ``<data_identifier>/``.

    Each case is read once for all configurations. Complete cases of an unchanged configuration are kept (resume
    after a kill); bad cases are logged, listed in the work folder's ``errors_preprocess.json`` and skipped
    (``strict=True`` stops instead). Returns the output folder of each configuration.
    """
    plans: Plans = work.plans
    names = plans.check_configurations(
        [configuration_names] if isinstance(configuration_names, str) else configuration_names
    )
    jobs: dict[str, list[tuple]] = {}
    outputs: dict[str, Path] = {}
    scheduled: set[Path] = set()
    for name in names:
        configuration = plans.configuration(name)
        channels = len(configuration["normalization_schemes"])
        if channels != dataset.num_channels:
            raise ValueError(
                f"plans configuration {name!r} normalises {channels} channel(s), the dataset "
                f"{dataset.root} has {dataset.num_channels} ({dataset.channel_names}): plans of another dataset?"
            )
        out_dir = work.data_dir(configuration["data_identifier"])
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_orphaned_temporaries(out_dir)
        outputs[name] = out_dir
        key = configuration_key(plans.raw, configuration)
        if out_dir in scheduled:
            continue  # another configuration writes this data already (3d_cascade_fullres inherits 3d_fullres's)
        scheduled.add(out_dir)
        todo = [c for c in sorted(dataset.cases) if not _is_complete(out_dir, c, key)]
        done = len(dataset.cases) - len(todo)
        if done:
            logger.info("%s: %d of %d case(s) already preprocessed", out_dir, done, len(dataset.cases))
        for case in todo:
            jobs.setdefault(case, []).append((configuration, out_dir, key))
    fn = functools.partial(_preprocess_and_save, dataset, plans.raw, jobs)
    errors = {}
    for case, _, err in map_cases(fn, sorted(jobs), num_processes, desc=f"preprocess {', '.join(names)}"):
        if err is not None:
            errors[case] = case_problem(err)
    report_bad_cases(errors, work.errors_file("preprocess"), strict)
    return outputs
