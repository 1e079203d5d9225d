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
2D TIFFs read with tifffile: windows on demand, so that an image larger than memory is processed piece by piece, and
whole images as a MONAI ``ImageReader`` (ITK reads tiled 16-bit TIFFs through an 8-bit RGBA fallback, losing data).
"""

from __future__ import annotations

import os

import numpy as np
from monai.data import ImageReader
from monai.utils import ensure_tuple

__all__ = ["TiffWindowReader", "TiffFileReader", "TIFF_SUFFIXES", "load_image_with_tifffile"]

TIFF_SUFFIXES = (".tif", ".tiff", ".ome.tif", ".ome.tiff")
# the largest compressed piece (tile or strip) decoded for a window: beyond it, a file cannot be read piece by piece
MAX_CHUNK_BYTES = 256 * 2**20
# axes of tifffile's first series that hold one 2D image: grey, samples per pixel (RGB), or channels first
_LAYOUTS = {"YX": None, "YXS": -1, "SYX": 0, "CYX": 0}


class TiffWindowReader:
    """
    Read rectangular windows of the first image of a TIFF file, decoding only the tiles (or strips) a window
    touches: tifffile exposes the file as a ``zarr`` array whose chunks are the TIFF's own tiles. Uncompressed
    contiguous files are memory-mapped instead; a file compressed in pieces larger than ``MAX_CHUNK_BYTES`` (one
    strip of a whole large image) is refused, since every window would decode it whole. Pyramidal files are read at
    full resolution (level 0).

    Args:
        path: a tiled or stripped TIFF / OME-TIFF holding one 2D image, grey or multi-channel.

    Attributes:
        shape: (rows, columns); channels: channel count; dtype: the stored sample type.

    Raises:
        ValueError: naming the file, when it is not a 2D image; reading a window whose tile data cannot be decoded
            raises a ValueError naming the file and the window.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        import tifffile
        import zarr

        self.path = str(path)
        try:
            with tifffile.TiffFile(self.path) as tif:
                axes = tif.series[0].levels[0].axes
        except Exception as err:  # any parser failure means the file is not a TIFF this reader can use
            raise ValueError(f"{self.path}: not a readable TIFF ({type(err).__name__}: {err}).") from err
        if axes not in _LAYOUTS:
            raise ValueError(f"{self.path}: expected one 2D image (TIFF axes {', '.join(_LAYOUTS)}), got axes {axes}.")
        self._store = None
        try:
            # uncompressed contiguous data (often one strip of the whole image) is mapped, not decoded per window
            self._array = tifffile.memmap(self.path, mode="r")
        except ValueError:
            self._store = tifffile.imread(self.path, aszarr=True, level=0)
            self._array = zarr.open(self._store, mode="r")
            chunk = int(np.prod(self._array.chunks)) * self._array.dtype.itemsize
            if chunk > MAX_CHUNK_BYTES:
                self.close()
                raise ValueError(
                    f"{self.path}: compressed in pieces of {chunk / 2**20:.0f} MB (TIFF strips or tiles of shape "
                    f"{self._array.chunks}), each decoded whole for any window; save it as a tiled TIFF (e.g. "
                    f"tifffile.imwrite(..., tile=(256, 256))) to read it in bounded memory."
                )
        self._channel_axis = _LAYOUTS[axes]
        shape = self._array.shape
        if self._channel_axis is None:
            self.shape, self.channels = tuple(shape), 1
        elif self._channel_axis == 0:
            self.shape, self.channels = tuple(shape[1:]), shape[0]
        else:
            self.shape, self.channels = tuple(shape[:2]), shape[2]
        self.dtype = np.dtype(self._array.dtype)

    def read(self, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """The (channels, rows, columns) window ``rows[0]:rows[1]``, ``cols[0]:cols[1]`` in the stored type."""
        window = (slice(*rows), slice(*cols))
        try:
            if self._channel_axis is None:
                return np.asarray(self._array[window])[None]
            if self._channel_axis == 0:
                return np.asarray(self._array[(slice(None),) + window])
            return np.moveaxis(np.asarray(self._array[window]), -1, 0)
        except Exception as err:  # a corrupt tile: name the file and where, the caller decides what to skip
            raise ValueError(
                f"{self.path}: unreadable image data in rows {rows[0]}-{rows[1] - 1}, columns {cols[0]}-{cols[1] - 1} "
                f"({type(err).__name__}: {err})."
            ) from err

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> TiffWindowReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TiffFileReader(ImageReader):
    """
    A MONAI image reader of 2D TIFF / OME-TIFF files (tiled or not, any sample type) through tifffile, giving the
    array as MONAI's PIL and ITK readers do: columns first, channels last (``original_channel_dim`` -1) for colour and
    multi-channel images. :py:func:`load_image_with_tifffile` registers it on a ``LoadImaged``, where it is picked by
    file suffix (``LoadImage(reader=...)`` would try it on every file first, logging each non-TIFF it cannot read).
    """

    def verify_suffix(self, filename) -> bool:
        return all(str(f).lower().endswith(TIFF_SUFFIXES) for f in ensure_tuple(filename))

    def read(self, data, **kwargs):
        return [TiffWindowReader(f) for f in ensure_tuple(data)]

    def get_data(self, img) -> tuple[np.ndarray, dict]:
        readers = ensure_tuple(img)
        if len(readers) != 1:
            raise ValueError(f"TiffFileReader reads one file at a time, got {len(readers)}.")
        with readers[0] as reader:
            data = reader.read((0, reader.shape[0]), (0, reader.shape[1]))  # (C, rows, columns)
        data = np.moveaxis(data, 0, -1).swapaxes(0, 1)  # (columns, rows, C), as PIL/ITK order the axes
        meta = {"spatial_shape": np.asarray(data.shape[:2]), "original_channel_dim": -1, "format": "TIFF"}
        if data.shape[-1] == 1:
            data, meta["original_channel_dim"] = data[..., 0], float("nan")
        return np.ascontiguousarray(data), meta


def load_image_with_tifffile(keys, **kwargs):
    """MONAI's ``LoadImaged(keys, **kwargs)`` with :py:class:`TiffFileReader` registered, so TIFFs are read with
    tifffile and every other format by MONAI's default readers, each chosen by file suffix."""
    from monai.transforms import LoadImaged

    loader = LoadImaged(keys, **kwargs)
    loader.register(TiffFileReader())
    return loader
