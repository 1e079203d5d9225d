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
"""The prepared-folder layout every builder's files land in: a ``dataset.json`` (MSD style for the 2D sets, nnU-Net v2
raw for the 3D ones), the case folders, and ``checksums.sha256`` (``sha256sum -c`` compatible) that makes a re-run
idempotent: a complete, verified folder is left untouched; otherwise files are rewritten byte for byte.

MSD-style 2D layout (nuclei2d, brain2d; see docs/CONTRACTS.md): ``images/<case>.nii.gz`` (raw intensities),
``labels/<case>.nii.gz`` (uint8 class map), ``instances/<case>.nii.gz`` (nuclei only, int32 ids).
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib

from ..file_io import write_bytes_atomic
from .nnunet_raw import RAW_DIRS
from .sources import file_sha256, sha256_bytes

__all__ = [
    "PREPARE_VERSION",
    "SPLITS",
    "CASE_DIRS",
    "case_files",
    "build_dataset_json",
    "write_dataset",
    "verify_dataset",
    "summarise",
]

PREPARE_VERSION = "1"  # written into every dataset.json; a folder of another version is prepared again
SPLITS = ("training", "validation", "test")
CASE_DIRS = ("images", "labels", "instances")


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` atomically unless ``path`` already holds exactly these bytes; return whether it wrote."""
    if path.is_file() and path.read_bytes() == data:
        return False
    write_bytes_atomic(path, data)
    return True


def case_files(name: str, with_instance: bool) -> dict[str, str]:
    """Relative file paths of one case, as listed in dataset.json."""
    files = {"image": f"images/{name}.nii.gz", "label": f"labels/{name}.nii.gz"}
    if with_instance:
        files["instance"] = f"instances/{name}.nii.gz"
    return files


def build_dataset_json(meta: dict, split: dict[str, list[str]], with_instance: bool) -> dict:
    """MSD-style dataset.json: ``meta`` first, then counts and the per-split file lists."""
    doc = dict(meta)
    doc["prepare_data_version"] = PREPARE_VERSION
    for key in SPLITS:
        doc[f"num{key[0].upper()}{key[1:]}"] = len(split[key])
    for key in SPLITS:
        doc[key] = [case_files(name, with_instance) for name in split[key]]
    return doc


def _case_files_on_disk(out: Path) -> set[str]:
    """Relative paths of the files in the case folders a builder owns."""
    return {
        f"{sub}/{f.name}"
        for sub in CASE_DIRS + RAW_DIRS
        if (out / sub).is_dir()
        for f in (out / sub).iterdir()
        if f.is_file() and ".tmp" not in f.name
    }


def write_dataset(out: Path, files: dict[str, bytes]) -> int:
    """Write all files (relative path -> bytes) plus checksums.sha256, drop stale cases; return how many changed."""
    stale = _case_files_on_disk(out) - set(files)
    for rel in sorted(stale):  # cases of an older split/version would otherwise linger next to the new ones
        (out / rel).unlink()
    changed = len(stale) + sum(_write_if_changed(out / rel, data) for rel, data in sorted(files.items()))
    sums = "".join(f"{sha256_bytes(data)}  {rel}\n" for rel, data in sorted(files.items()))
    changed += _write_if_changed(out / "checksums.sha256", sums.encode())
    return changed


def verify_dataset(out: Path, name: str) -> bool:
    """True when ``out`` holds a complete dataset of this ``PREPARE_VERSION`` whose files all match checksums.sha256."""
    sums_file, json_file = out / "checksums.sha256", out / "dataset.json"
    if not (sums_file.is_file() and json_file.is_file()):
        return False
    try:
        expected = dict(line.split("  ", 1)[::-1] for line in sums_file.read_text().splitlines() if line)
        doc = json.loads(json_file.read_text())
    except (ValueError, OSError):
        return False
    if doc.get("name") != name or doc.get("prepare_data_version") != PREPARE_VERSION:
        return False
    listed = {
        rel
        for items in doc.values()
        if isinstance(items, list)
        for item in items
        if isinstance(item, dict)
        for key, rel in item.items()
        if key in CASE_DIRS + ("image", "label", "instance") and isinstance(rel, str)
    } | {"dataset.json"}
    if not listed <= set(expected) or not _case_files_on_disk(out) <= set(expected):
        return False
    return all((out / rel).is_file() and file_sha256(out / rel) == digest for rel, digest in expected.items())


def summarise(out: Path) -> str:
    """One short, human-readable summary of a prepared folder."""
    doc = json.loads((out / "dataset.json").read_text())
    if "file_ending" in doc:  # nnU-Net v2 raw layout
        tests = sorted((out / "imagesTs").glob(f"*_0000{doc['file_ending']}")) if (out / "imagesTs").is_dir() else []
        return "\n".join(
            [
                f"{doc['name']} (nnU-Net v2 raw layout): {doc['numTraining']} training case(s), "
                f"{len(tests)} test case(s)",
                f"  channels: {doc['channel_names']}, file ending {doc['file_ending']}",
                f"  labels: {doc['labels']}",
                f"  plan it: python -m networks.apps.autoseg plan --dataset_dir {out} --work_dir <work folder>",
            ]
        )
    if doc.get("task") == "vision-language":
        return "\n".join(
            [
                f"{doc['name']}: {doc['numReports']} reports ({doc['numTrain']} train, {doc['numTest']} test), "
                f"{doc['numWithFindingsAndImpression']} with FINDINGS and IMPRESSION",
                f"  entity vocabulary: {out / 'vocabulary.md'} (chart: vocabulary.png); text encoder: "
                f"{out / 'text_encoder'}; real CXR DICOM: {out / 'dicom'}",
            ]
        )
    if doc.get("task") == "classification":
        splits = [k for k, v in doc.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        return "\n".join(
            [
                f"{doc['name']}: " + ", ".join(f"{k} {len(doc[k])} patches" for k in splits),
                f"  {len(doc['labels'])} classes, patch size {doc['patch_size']}; classes per split: "
                f"{doc['classes_per_split']}",
                f"  dataset.json: {out / 'dataset.json'}",
            ]
        )
    lines = [f"{doc['name']}: " + ", ".join(f"{k} {len(doc[k])}" for k in SPLITS)]
    shapes = sorted({tuple(nib.load(out / item["image"]).shape) for k in SPLITS for item in doc[k]})
    lines.append(f"  image shapes: {', '.join('x'.join(map(str, s)) for s in shapes)}")
    lines.append(f"  classes: {doc['labels']}")
    lines.append(f"  dataset.json: {out / 'dataset.json'}")
    return "\n".join(lines)
