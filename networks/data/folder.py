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

"""Inference on a folder of users' files: find the readable images, screen them, skip and report the bad ones."""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .file_io import write_json_atomic

__all__ = [
    "IMAGE_SUFFIXES",
    "image_datalist",
    "screen_datalist",
    "exit_if_skipped",
    "distinct_output_name",
    "input_extension",
]

logger = logging.getLogger(__name__)

# what monai.transforms.LoadImage reads with the readers this package installs (nibabel, ITK, PIL, tifffile via ITK)
IMAGE_SUFFIXES = (
    ".nii.gz",
    ".nii",
    ".nrrd",
    ".nhdr",
    ".mha",
    ".mhd",
    ".tif",
    ".tiff",
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".dcm",
)


def image_datalist(folder: str, pattern: str = "*", key: str = "image") -> list[dict[str, str]]:
    """
    The image files of a folder (not recursive) as a datalist ``[{key: path}]``, sorted by name.

    Files are those matching the glob ``pattern`` whose name ends with one of :py:data:`IMAGE_SUFFIXES`
    (case-insensitive), so a folder holding NIfTI, NRRD, TIFF and PNG files and other files (notes, CSVs)
    yields the images only.

    Args:
        folder: the input folder.
        pattern: glob pattern on the file names, e.g. "*.tif". Defaults to "*".
        key: datalist key of the file path. Defaults to "image".

    Raises:
        FileNotFoundError: if ``folder`` is not a folder.
        ValueError: if no image file matches.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"input folder '{folder}' does not exist (set --input_dir).")
    names = sorted(n for n in os.listdir(folder) if fnmatch.fnmatch(n, pattern))
    files = [os.path.join(folder, n) for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
    files = [f for f in files if os.path.isfile(f)]
    if not files:
        raise ValueError(
            f"input folder '{folder}' is empty: no file matches '{pattern}' with a suffix in {list(IMAGE_SUFFIXES)}."
        )
    return [{key: f} for f in files]


def _split_suffix(name: str) -> tuple[str, str]:
    """(stem, suffix) with the longest known image suffix, e.g. ("a", ".nii.gz"); ("a.b", "") if none."""
    for suffix in sorted(IMAGE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)], name[-len(suffix) :]
    return name, ""


def distinct_output_name(metadict: Mapping | None, saver: Any) -> dict:
    """
    ``output_name_formatter`` for ``SaveImage(d)``: like MONAI's default (the output is named after the input
    file), but when another image file of the input folder has the same stem (``a.png`` and ``a.tif``), the
    suffix becomes part of the name (``a_png_seg``, ``a_tif_seg``), so no output overwrites another.

    Args:
        metadict: the image's meta data (``filename_or_obj``).
        saver: the ``SaveImage`` transform (unused, part of the formatter signature).
    """
    path = str((metadict or {}).get("filename_or_obj", ""))
    patch_index = (metadict or {}).get("patch_index")
    folder, name = os.path.split(path)
    stem, suffix = _split_suffix(name)
    if suffix and os.path.isdir(folder or "."):
        others = (_split_suffix(n) for n in os.listdir(folder or ".") if n != name)
        if any(other_stem == stem and other_suffix for other_stem, other_suffix in others):
            path = os.path.join(folder, f"{stem}_{suffix.lstrip('.').replace('.', '_').lower()}")
    return {"subject": path or str(getattr(saver, "_data_index", 0)), "idx": patch_index}


def _reason(err: BaseException, path: str) -> str:
    """The innermost message of an exception chain (MONAI wraps transform errors), without a repeated path."""
    while err.__cause__ is not None:
        err = err.__cause__
    text = str(err).strip() or type(err).__name__
    if not isinstance(err, (ValueError, RuntimeError)):
        text = f"{type(err).__name__}: {text}"
    for prefix in (f"case '{path}': ", f"{path}: "):
        text = text.replace(prefix, "")
    return " ".join(text.split())


def screen_datalist(
    datalist: Sequence[Mapping[str, Any]], transform: Callable, errors_file: str, key: str = "image"
) -> list[dict]:
    """
    Run ``transform`` (loading and input checks) on every item before any inference starts; drop the items it
    fails on, each reported in one log line ``skipped <file>: <reason>`` and listed in ``errors_file``.

    ``errors_file`` is always written (an empty list when every file is usable), so a previous run's list never
    stays behind; :py:func:`exit_if_skipped` reads it at the end of the run.

    Args:
        datalist: items with ``key``, e.g. from :py:func:`image_datalist`.
        transform: callable on one item that raises on a file the bundle cannot use.
        errors_file: JSON file for the list of ``{"file", "error"}`` of skipped items.
        key: datalist key of the file path. Defaults to "image".

    Returns:
        the usable items, in their order.

    Raises:
        SystemExit: if no item is usable (its message names the files and reasons).
    """
    usable, skipped = [], []
    for item in datalist:
        try:
            transform(dict(item))
        except Exception as err:  # any failure makes the file unusable; the reason is reported, not hidden
            reason = _reason(err, str(item[key]))
            logger.error(f"skipped {item[key]}: {reason}")
            skipped.append({"file": str(item[key]), "error": reason})
        else:
            usable.append(dict(item))
    write_json_atomic(errors_file, skipped)
    if not usable:
        sys.exit(_summary(skipped, errors_file, "no usable input file"))
    return usable


def _summary(skipped: list[dict], errors_file: str, head: str) -> str:
    listed = "; ".join(f"{s['file']}: {s['error']}" for s in skipped)
    return f"{head}, {len(skipped)} input file(s) skipped (listed in {errors_file}): {listed}"


def exit_if_skipped(errors_file: str) -> None:
    """
    End the run with a non-zero exit status and a last line naming each skipped file and its reason, if
    :py:func:`screen_datalist` skipped any; otherwise do nothing. Call it after inference, so that the usable
    files are all written first.

    Args:
        errors_file: the file written by :py:func:`screen_datalist`.
    """
    with open(errors_file) as f:
        skipped = json.load(f)
    if skipped:
        sys.exit(_summary(skipped, errors_file, "inference wrote the usable files"))


# formats MONAI's writers store a uint16 label map in without loss
LOSSLESS_OUTPUT_SUFFIXES = {".png", ".tif", ".nii.gz", ".nii", ".nrrd", ".mha"}


def input_extension(datalist: Sequence[Mapping], key: str = "image", default: str = ".nii.gz") -> str:
    """
    The file suffix shared by every image of a datalist, so label maps can be written in their inputs' format, when
    that format stores 16-bit labels losslessly (``LOSSLESS_OUTPUT_SUFFIXES``: PNG, TIFF, NIfTI, NRRD, MHA);
    ``default`` otherwise (JPEG, BMP, DICOM inputs) or when the suffixes differ. ``.tiff`` becomes ``.tif``.

    Args:
        datalist: ``[{key: path}, ...]``.
        key: datalist key of the image path.
        default: suffix when the inputs do not share one.
    """
    suffixes = {_split_suffix(os.path.basename(str(item[key])))[1].lower() for item in datalist}
    suffixes = {".tif" if s == ".tiff" else s for s in suffixes}
    return suffixes.pop() if len(suffixes) == 1 and suffixes <= LOSSLESS_OUTPUT_SUFFIXES else default
