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

"""Small file helpers every layer shares: writes that a crash or kill cannot leave half done (a temporary file beside
the target, then a rename), and deterministic encoders that turn a document, table, figure or array into the bytes
those writes take (fixed gzip mtime, no timestamps), so a re-run writes identical files."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from typing import Any

import numpy as np

__all__ = [
    "write_json_atomic",
    "save_npy_atomic",
    "write_bytes_atomic",
    "json_bytes",
    "csv_bytes",
    "figure_png_bytes",
    "png_bytes",
    "tif_bytes",
    "nifti_bytes",
]


def _tmp_name(path: str) -> str:
    # pid-tagged so parallel writers of different files in one folder never share a temporary name
    return f"{path}.tmp{os.getpid()}"


def write_json_atomic(path: str | os.PathLike, doc: Any, indent: int | None = 1, sort_keys: bool = False) -> None:
    """Write ``doc`` as JSON to ``path`` atomically (the old file or the complete new one, never a partial one)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=indent, sort_keys=sort_keys)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())  # on disk before the rename publishes it: survives a power cut, not only a kill
    os.replace(tmp, path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (folders created), e.g. an encoded PNG or a CSV."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_npy_atomic(path: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` to ``path`` atomically; ``path`` must end in ``.npy``."""
    path = os.fspath(path)
    tmp = _tmp_name(path) + ".npy"
    with open(tmp, "wb") as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def json_bytes(doc: Any) -> bytes:
    """Stable JSON encoding (indent 2, key order kept, final newline)."""
    return (json.dumps(doc, indent=2) + "\n").encode()


def csv_bytes(rows: list[dict]) -> bytes:
    """CSV text of ``rows`` (the first row's keys as the header)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def figure_png_bytes(fig, dpi: int | None = None) -> bytes:
    """PNG bytes of a matplotlib figure, which is closed afterwards."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi)
    plt.close(fig)
    return buffer.getvalue()


def png_bytes(array_yx: np.ndarray) -> bytes:
    """A 2D uint8/uint16 array as PNG (PIL)."""
    from PIL import Image

    array_yx = np.ascontiguousarray(array_yx)
    if array_yx.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG stores uint8 or uint16, got {array_yx.dtype}")
    buffer = io.BytesIO()
    Image.fromarray(array_yx).save(buffer, format="PNG")
    return buffer.getvalue()


def tif_bytes(array: np.ndarray) -> bytes:
    """An array as a zlib-compressed TIFF (tifffile, no timestamp or software tag)."""
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.ascontiguousarray(array), compression="zlib", metadata=None, software=False)
    return buffer.getvalue()


def nifti_bytes(array: np.ndarray, affine: np.ndarray | None = None, header=None) -> bytes:
    """An array as .nii.gz bytes (gzip mtime 0, no file name), from ``header`` (a ``nibabel.Nifti1Header``) if given."""
    import nibabel as nib

    img = nib.Nifti1Image(array, np.eye(4) if affine is None else affine, header=header)
    img.header.set_data_dtype(array.dtype)
    img.header.set_xyzt_units("mm")
    return gzip.compress(img.to_bytes(), compresslevel=6, mtime=0)
