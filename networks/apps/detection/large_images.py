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

"""A folder of large TIFFs segmented file by file in bounded memory: label maps and COCO files, bad files skipped."""

from __future__ import annotations

import glob
import json
import logging
import os
from collections.abc import Mapping, Sequence

import tifffile

from networks.data.file_io import write_json_atomic
from networks.data.folder import screen_datalist
from networks.data.tiff_windows import TIFF_SUFFIXES, TiffWindowReader
from networks.inferers.large_image import LargeImageSegmenter
from networks.metrics.coco import write_coco_predictions

__all__ = ["segment_tiff_files", "output_paths"]

logger = logging.getLogger(__name__)


def output_paths(image: str, output_dir: str) -> tuple[str, str]:
    """The label map TIFF and the COCO file written for ``image``: ``<stem>_instances.tif``, ``..._coco.json``."""
    stem = os.path.basename(image)
    for suffix in sorted(TIFF_SUFFIXES, key=len, reverse=True):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    base = os.path.join(output_dir, f"{stem}_instances")
    return base + ".tif", base + "_coco.json"


def _check_file(item: Mapping, segmenter: LargeImageSegmenter) -> None:
    with TiffWindowReader(item["image"]) as reader:
        segmenter.check(reader)


def segment_tiff_files(
    datalist: Sequence[Mapping[str, str]],
    segmenter: LargeImageSegmenter,
    network,
    output_dir: str,
    errors_file: str,
) -> list[dict]:
    """
    Segment each TIFF of ``datalist`` (``[{"image": path}]``) with ``segmenter`` into ``output_paths``.

    Every file's header is checked before any work (:py:meth:`LargeImageSegmenter.check`; two files whose outputs would
    share a name are refused, and this function's own outputs in the list are left out); a file that fails then, or
    later (an unreadable tile), is reported in one log line and in ``errors_file`` and the others are still processed
    (:py:func:`networks.data.exit_if_skipped` ends the run with the list). Outputs are renamed into place when
    complete, and a file whose two outputs exist is not segmented again, so an interrupted run resumes.

    Returns:
        per segmented file: ``file``, ``instances``, ``shape``, ``factor``, ``seconds``.
    """
    os.makedirs(output_dir, exist_ok=True)
    outputs = {os.path.abspath(p) for item in datalist for p in output_paths(item["image"], output_dir)}
    datalist = [item for item in datalist if os.path.abspath(item["image"]) not in outputs]  # a rerun in place
    seen: dict[str, str] = {}

    def check(item: Mapping) -> None:
        label_path = output_paths(item["image"], output_dir)[0]
        if label_path in seen:
            raise ValueError(f"its outputs would overwrite those of {seen[label_path]} ({label_path}); rename one.")
        seen[label_path] = item["image"]
        _check_file(item, segmenter)

    usable = screen_datalist(datalist, check, errors_file)
    with open(errors_file) as f:
        skipped = json.load(f)
    done = []
    for item in usable:
        path = item["image"]
        label_path, coco_path = output_paths(path, output_dir)
        if os.path.isfile(label_path) and os.path.isfile(coco_path):
            logger.info(f"{path}: already segmented ({label_path}), kept.")
            continue
        try:
            summary = segmenter(path, network, label_path)
            labels = tifffile.memmap(label_path, mode="r")
            write_coco_predictions(labels, coco_path, os.path.basename(path), summary["scores"])
            del labels
        except Exception as err:  # one bad file (a corrupt tile) is reported and skipped; the rest go on
            reason = " ".join(str(err).replace(f"{path}: ", "").split())
            logger.error(f"skipped {path}: {reason}")
            skipped.append({"file": path, "error": reason})
            write_json_atomic(errors_file, skipped)
            for leftover in glob.glob(glob.escape(label_path) + ".*") + glob.glob(glob.escape(coco_path) + ".*"):
                os.remove(leftover)
            continue
        done.append({k: v for k, v in summary.items() if k != "scores"} | {"instances": len(summary["scores"])})
    return done
