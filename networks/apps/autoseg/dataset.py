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

"""The two dataset layouts users already have, and nnU-Net's integrity check (``--verify_dataset_integrity``).

* nnU-Net v2 raw folder: ``dataset.json`` with ``channel_names``, ``labels`` (name -> value), ``numTraining`` and
  ``file_ending``; ``imagesTr/<case>_<CCCC><ending>`` (one file per channel), ``labelsTr/<case><ending>``, optional
  ``imagesTs/``; or an explicit ``dataset`` mapping in ``dataset.json`` as nnunetv2 allows.
* MSD/Decathlon folder: ``dataset.json`` with ``modality`` (index -> name), ``labels`` (value -> name) and a
  ``training`` list of ``{"image", "label"}`` (one file, 4D when there are several channels).

Problems of the folder itself stop at once with :class:`DatasetIntegrityError`. Problems of one case (missing or
unreadable file, image/label shape or spacing mismatch, label values not in ``dataset.json``, NaN, wrong channel
count) raise :class:`CaseError` from :func:`check_case`, naming the case, so a batch can report and skip it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from networks.data.file_io import write_json_atomic

from .image_io import SUPPORTED_ENDINGS, ImageReadError, read_images, read_seg

__all__ = [
    "DatasetIntegrityError",
    "CaseError",
    "RawDataset",
    "load_raw_dataset",
    "check_case",
    "case_problem",
    "report_bad_cases",
]

logger = logging.getLogger(__name__)


class DatasetIntegrityError(ValueError):
    """The dataset folder cannot be used as a whole (the message says which file/key and what was expected)."""


class CaseError(ValueError):
    """One case is broken; ``case`` names it and the message says what is wrong."""

    def __init__(self, case: str, message: str):
        super().__init__(f"case {case}: {message}")
        self.case = case
        self.reason = message

    def __reduce__(self):  # picklable with its two arguments: workers send it back to the main process
        return type(self), (self.case, self.reason)


@dataclass
class RawDataset:
    """A training dataset in nnU-Net v2's terms, whichever layout it came from."""

    root: Path
    name: str
    layout: str  # "nnunet" or "msd"
    channel_names: dict[str, str]
    labels: dict[str, int]
    file_ending: str
    cases: dict[str, dict] = field(default_factory=dict)  # case -> {"images": [paths], "label": path}
    test_cases: dict[str, list[str]] = field(default_factory=dict)
    num_training_declared: int = 0

    @property
    def num_channels(self) -> int:
        return len(self.channel_names)

    @property
    def label_values(self) -> list[int]:
        return sorted(set(self.labels.values()))

    def nnunet_dataset_json(self) -> dict:
        """The ``dataset.json`` nnunetv2 would read for this dataset (an MSD one converted)."""
        return {
            "channel_names": dict(self.channel_names),
            "labels": dict(self.labels),
            "numTraining": len(self.cases),
            "file_ending": self.file_ending,
            "name": self.name,
        }


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise DatasetIntegrityError(f"{path}: missing; a dataset folder needs a dataset.json (nnU-Net v2 or MSD)")
    try:
        doc = json.loads(path.read_text())
    except ValueError as err:
        raise DatasetIntegrityError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(doc, dict):
        raise DatasetIntegrityError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _check_labels(labels: dict[str, int], path: Path) -> dict[str, int]:
    for name, value in labels.items():
        if isinstance(value, (list, tuple)):
            raise DatasetIntegrityError(
                f"{path}: label {name!r} is a region {value}; region-based labels are not "
                "supported, give one integer per label"
            )
        if not isinstance(value, int) or isinstance(value, bool):
            raise DatasetIntegrityError(f"{path}: label {name!r} must map to an integer, got {value!r}")
    if "ignore" in labels:
        raise DatasetIntegrityError(
            f"{path}: an 'ignore' label (sparse annotation) is not supported yet; remove it or relabel those voxels"
        )
    values = sorted(labels.values())
    if not values or values[0] != 0:
        raise DatasetIntegrityError(f"{path}: 'labels' must include background with value 0, got {labels}")
    gaps = [b for a, b in zip(values, values[1:]) if b != a + 1]
    if gaps:
        raise DatasetIntegrityError(f"{path}: label values must be consecutive (0, 1, 2, ...), got {values}")
    return dict(labels)


def _ending_of(name: str) -> str | None:
    lower = name.lower()
    return next((e for e in sorted(SUPPORTED_ENDINGS, key=len, reverse=True) if lower.endswith(e)), None)


def _nnunet_cases(root: Path, doc: dict, path: Path) -> tuple[dict, dict]:
    ending = doc["file_ending"]
    if "dataset" in doc:  # explicit case list, paths relative to the folder
        cases = {}
        for k, v in doc["dataset"].items():
            ok = isinstance(v, dict) and isinstance(v.get("images"), list) and isinstance(v.get("label"), str)
            if not ok:
                raise DatasetIntegrityError(
                    f"{path}: dataset[{k!r}] must be {{'images': [file, ...], 'label': file}}, got {v!r}"
                )
            cases[k] = {
                "images": [str(root / os.path.expandvars(i)) for i in v["images"]],
                "label": str(root / os.path.expandvars(v["label"])),
            }
    else:
        images_dir = root / "imagesTr"
        if not images_dir.is_dir():
            raise DatasetIntegrityError(f"{root}: missing imagesTr/ (nnU-Net v2 layout: imagesTr/<case>_0000{ending})")
        pattern = re.compile(r"(.+)_(\d{4})" + re.escape(ending) + r"$")
        channels: dict[str, list[str]] = {}
        for name in sorted(os.listdir(images_dir)):
            match = pattern.match(name)
            if match:
                channels.setdefault(match.group(1), []).append(str(images_dir / name))
        cases = {k: {"images": v, "label": str(root / "labelsTr" / f"{k}{ending}")} for k, v in channels.items()}
    tests: dict[str, list[str]] = {}
    test_dir = root / "imagesTs"
    if test_dir.is_dir():
        pattern = re.compile(r"(.+)_(\d{4})" + re.escape(ending) + r"$")
        for name in sorted(os.listdir(test_dir)):
            match = pattern.match(name)
            if match:
                tests.setdefault(match.group(1), []).append(str(test_dir / name))
    return cases, tests


def _msd_cases(root: Path, doc: dict, path: Path) -> tuple[dict, dict, str]:
    cases, endings = {}, set()
    for i, item in enumerate(doc["training"]):
        if not isinstance(item, dict) or "image" not in item or "label" not in item:
            raise DatasetIntegrityError(f"{path}: training[{i}] must be {{'image': ..., 'label': ...}}, got {item!r}")
        image = os.path.normpath(root / item["image"])
        name = os.path.basename(image)
        ending = _ending_of(name)
        if ending is None:
            raise DatasetIntegrityError(
                f"{path}: training[{i}] {item['image']}: unsupported file ending; use one "
                f"of {', '.join(SUPPORTED_ENDINGS)}"
            )
        endings.add(ending)
        case = name[: -len(ending)]
        if case in cases:
            raise DatasetIntegrityError(f"{path}: case {case!r} is listed twice in 'training'")
        cases[case] = {"images": [image], "label": os.path.normpath(root / item["label"])}
    tests = {}
    for item in doc.get("test", []):
        image = os.path.normpath(root / (item["image"] if isinstance(item, dict) else item))
        ending = _ending_of(os.path.basename(image)) or ""
        tests[os.path.basename(image)[: -len(ending) or None]] = [image]
    if len(endings) > 1:
        raise DatasetIntegrityError(f"{path}: all training images must share one file ending, got {sorted(endings)}")
    return cases, tests, endings.pop() if endings else ".nii.gz"


def load_raw_dataset(dataset_dir: str | os.PathLike) -> RawDataset:
    """Read the case list of an nnU-Net v2 raw folder or an MSD folder (no image is opened here).

    Raises:
        DatasetIntegrityError: no usable ``dataset.json``, required keys missing, labels not consecutive from 0,
            or no training case.
    """
    root = Path(dataset_dir).expanduser().resolve()
    if not root.is_dir():
        raise DatasetIntegrityError(f"{root}: dataset folder not found")
    path = root / "dataset.json"
    doc = _load_json(path)
    if "channel_names" in doc or "file_ending" in doc:
        missing = [k for k in ("channel_names", "labels", "numTraining", "file_ending") if k not in doc]
        if missing:
            raise DatasetIntegrityError(
                f"{path}: nnU-Net v2 dataset.json lacks {missing} (needs channel_names, "
                "labels, numTraining, file_ending)"
            )
        labels = _check_labels(doc["labels"], path)
        cases, tests = _nnunet_cases(root, doc, path)
        layout, ending, channel_names = "nnunet", doc["file_ending"], doc["channel_names"]
    elif "training" in doc:
        missing = [k for k in ("modality", "labels") if k not in doc]
        if missing:
            raise DatasetIntegrityError(f"{path}: MSD dataset.json lacks {missing} (needs modality, labels, training)")
        try:  # MSD maps value -> name; nnU-Net v2 maps name -> value
            labels = _check_labels({str(name): int(value) for value, name in doc["labels"].items()}, path)
        except ValueError as err:
            raise DatasetIntegrityError(f"{path}: MSD 'labels' must map integer values to names ({err})") from err
        cases, tests, ending = _msd_cases(root, doc, path)
        layout, channel_names = "msd", doc["modality"]
    else:
        raise DatasetIntegrityError(
            f"{path}: neither nnU-Net v2 (channel_names, file_ending, ...) nor MSD "
            "(modality, training, ...) keys found"
        )
    if not channel_names:
        raise DatasetIntegrityError(f"{path}: at least one channel must be named")
    if not cases:
        raise DatasetIntegrityError(f"{root}: no training case found (layout {layout}, file ending {ending})")
    return RawDataset(
        root=root,
        name=root.name,
        layout=layout,
        channel_names={str(k): str(v) for k, v in channel_names.items()},
        labels=labels,
        file_ending=ending,
        cases=cases,
        test_cases=tests,
        num_training_declared=int(doc.get("numTraining", len(cases))),
    )


def check_case(dataset: RawDataset, case: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read one training case and check it as nnU-Net's integrity check does; return ``(data, seg, properties)``.

    ``data`` is float32 ``(c, z, y, x)``, ``seg`` float32 ``(1, z, y, x)`` (nnU-Net's reader types).

    Raises:
        CaseError: missing/unreadable file, wrong channel count, shape or spacing mismatch, NaN, or label values
            not listed in ``dataset.json``.
    """
    files = dataset.cases[case]
    missing = [f for f in [*files["images"], files["label"]] if not os.path.isfile(f)]
    if missing:
        raise CaseError(case, f"missing file(s) {missing}")
    try:
        data, props = read_images(files["images"])
        seg, seg_props = read_seg(files["label"])
    except ImageReadError as err:
        raise CaseError(case, str(err)) from err
    if data.shape[0] != dataset.num_channels:
        raise CaseError(
            case,
            f"{files['images']} hold {data.shape[0]} channel(s), dataset.json names "
            f"{dataset.num_channels} ({dataset.channel_names})",
        )
    if data.shape[1:] != seg.shape[1:]:
        raise CaseError(case, f"image shape {data.shape[1:]} != label shape {seg.shape[1:]} ({files['label']})")
    if not np.allclose(props["spacing"], seg_props["spacing"]):
        raise CaseError(
            case, f"image spacing {props['spacing']} != label spacing {seg_props['spacing']} " f"({files['label']})"
        )
    geometry, seg_geometry = props.get("itk"), seg_props.get("itk")
    if geometry and seg_geometry:
        for key in ("origin", "direction"):
            if not np.allclose(geometry[key], seg_geometry[key], atol=1e-4):
                logger.warning(
                    "case %s: image %s %s != label %s %s (%s); check that the label is aligned with the image",
                    case,
                    key,
                    geometry[key],
                    key,
                    seg_geometry[key],
                    files["label"],
                )
    if np.isnan(data).any():
        raise CaseError(case, f"NaN values in {files['images']}")
    values = np.unique(seg)
    if np.issubdtype(values.dtype, np.floating) and (np.isnan(values).any() or np.any(values != np.round(values))):
        bad = values[values != np.round(values)][:5]
        raise CaseError(case, f"{files['label']} holds non-integer label values {bad}")
    unexpected = sorted(set(values.astype(np.int64).tolist()) - set(dataset.label_values))
    if unexpected:
        raise CaseError(
            case,
            f"{files['label']} holds label values {unexpected} not in dataset.json labels " f"{dataset.label_values}",
        )
    return data, seg.astype(np.float32, copy=False), props


def case_problem(err: BaseException) -> str:
    """What a batch reports for a case that raised ``err``: a :class:`CaseError`'s reason, else the exception."""
    return err.reason if isinstance(err, CaseError) else f"{type(err).__name__}: {err}"


def report_bad_cases(errors: dict[str, str], path: Path, strict: bool) -> None:
    """Log each bad case and list them in ``path`` (a stage's ``errors_<stage>.json``, removed when there are
    none); stop when ``strict``."""
    if not errors:
        if path.exists():
            path.unlink()
        return
    for case, reason in sorted(errors.items()):
        logger.warning("skipped case %s: %s", case, reason)
    write_json_atomic(path, errors)
    if strict:
        lines = "\n".join(f"  {case}: {reason}" for case, reason in sorted(errors.items()))
        raise CaseError(", ".join(sorted(errors)), f"{len(errors)} bad case(s) (also in {path}):\n{lines}")
