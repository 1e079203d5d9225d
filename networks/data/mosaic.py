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
Large test images built from real microscopy frames: a mosaic of square pieces of the frames of a prepared dataset,
written as a tiled TIFF tile by tile, so an image of any size is made without holding it in memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

__all__ = ["Mosaic"]


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    """A frame scaled to 0..255 between its 1st and 99.8th percentiles, so frames of other cameras look alike."""
    low, high = np.percentile(frame, [1.0, 99.8])
    return np.round(np.clip((frame - low) / max(high - low, 1e-6), 0.0, 1.0) * 255).astype(np.uint8)


class Mosaic:
    """
    A grey uint8 image of any ``shape`` tiled with square ``piece`` x ``piece`` crops of real frames, cell (i, j)
    holding piece ``(i * 7 + j) % n`` flipped and rotated by the cell, so neighbouring cells differ.

    Args:
        pieces: (n, piece, piece) uint8 crops, e.g. from :py:meth:`from_dataset`.
        shape: (rows, columns) of the mosaic.
    """

    def __init__(self, pieces: np.ndarray, shape: Sequence[int]) -> None:
        if pieces.ndim != 3 or pieces.shape[1] != pieces.shape[2] or not len(pieces):
            raise ValueError(f"expected (n, piece, piece) pieces, got shape {pieces.shape}.")
        self.pieces = pieces
        self.shape = (int(shape[0]), int(shape[1]))
        self.piece = pieces.shape[1]

    @classmethod
    def from_dataset(cls, dataset_dir: str, shape: Sequence[int], piece: int = 192) -> Mosaic:
        """The pieces of every image of a prepared nuclei dataset (``dataset.json``, NIfTI in MONAI's column-first
        order): each frame scaled to uint8 and cut into as many whole pieces as it holds."""
        import nibabel as nib

        with open(os.path.join(dataset_dir, "dataset.json")) as f:
            spec = json.load(f)
        pieces = []
        for split in ("training", "validation", "test"):
            for item in spec.get(split, []):
                frame = _to_uint8(np.asarray(nib.load(os.path.join(dataset_dir, item["image"])).dataobj).T)
                for r in range(0, frame.shape[0] - piece + 1, piece):
                    for c in range(0, frame.shape[1] - piece + 1, piece):
                        pieces.append(frame[r : r + piece, c : c + piece])
        if not pieces:
            raise ValueError(f"{dataset_dir}: no image holds a {piece} x {piece} piece.")
        return cls(np.stack(pieces), shape)

    def _cell(self, i: int, j: int) -> np.ndarray:
        cell = self.pieces[(i * 7 + j) % len(self.pieces)]
        cell = np.rot90(cell, k=(i + 2 * j) % 4)
        return cell[:, ::-1] if (i * 3 + j) % 2 else cell

    def window(self, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """Rows ``rows[0]:rows[1]``, columns ``cols[0]:cols[1]`` of the mosaic (zero beyond its edge)."""
        out = np.zeros((rows[1] - rows[0], cols[1] - cols[0]), np.uint8)
        p = self.piece
        for i in range(rows[0] // p, -(-rows[1] // p)):
            for j in range(cols[0] // p, -(-cols[1] // p)):
                r0, r1 = max(rows[0], i * p), min(rows[1], (i + 1) * p, self.shape[0])
                c0, c1 = max(cols[0], j * p), min(cols[1], (j + 1) * p, self.shape[1])
                if r1 > r0 and c1 > c0:
                    out[r0 - rows[0] : r1 - rows[0], c0 - cols[0] : c1 - cols[0]] = self._cell(i, j)[
                        r0 - i * p : r1 - i * p, c0 - j * p : c1 - j * p
                    ]
        return out

    def write(self, path: str, tile: int = 256, compression: str | None = "zlib") -> str:
        """Write the mosaic as a tiled TIFF (``tile`` x ``tile`` tiles, generated one at a time); returns ``path``."""
        import tifffile

        rows, cols = self.shape
        tiles = (self.window((r, r + tile), (c, c + tile)) for r in range(0, rows, tile) for c in range(0, cols, tile))
        tifffile.imwrite(path, tiles, shape=self.shape, dtype=np.uint8, tile=(tile, tile), compression=compression,
                         photometric="minisblack")  # fmt: skip
        return path
