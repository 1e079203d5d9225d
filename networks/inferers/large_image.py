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
Instance segmentation of an image file larger than memory (a slide region, a mosaic): tiles are read from the file as
they are needed, instances are stitched band by band, and the label map and COCO file are written as they go.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence

import numpy as np
import torch
from monai.transforms import ScaleIntensityRange
from monai.transforms.utils_pytorch_numpy_unification import percentile

from networks.data.tiff_windows import TiffWindowReader
from networks.inferers.tiled_instance import TiledInstanceInferer
from networks.transforms.channels import LUMINANCE_WEIGHTS
from networks.transforms.object_size import (
    estimate_object_size,
    input_window,
    min_image_side,
    resize_image,
    resized_shape,
    sample_indices,
)

__all__ = ["LargeImageSegmenter", "bbox_components"]

logger = logging.getLogger(__name__)


def bbox_components(boxes: np.ndarray) -> np.ndarray:
    """
    Connected components of boxes that overlap: ``boxes`` (n, 4) as (start0, stop0, start1, stop1), the component
    index of each box returned (a sweep along axis 1, so the cost grows with the overlaps, not with n squared).
    """
    parent = np.arange(len(boxes))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    active: list[int] = []
    for i in np.argsort(boxes[:, 2], kind="stable").tolist():
        a0, a1, b0, _ = boxes[i]
        active = [j for j in active if boxes[j, 3] > b0]
        for j in active:
            if boxes[j, 0] < a1 and a0 < boxes[j, 1]:
                parent[root(i)] = root(j)
        active.append(i)
    return np.array([root(i) for i in range(len(boxes))], np.int64)


class LargeImageSegmenter:
    """
    Segment the instances of a TIFF of any size with a :py:class:`TiledInstanceInferer`'s settings and rules (tiles,
    overlap, thresholds, object size), holding two bands of tiles of the image (memory proportional to the image's
    height, not its area), the detections of two bands, and a memory-mapped label map.

    The image is read as MONAI's image loaders present it (columns first), converted to one channel by luminance
    when the model takes one, and scaled to [0, 1] between the ``intensity_percentiles`` of the whole image: exact up
    to ``exact_pixels`` pixels (the bundle's in-memory preprocessing, so a small image gives the same instances), from a
    regular grid of about that many pixels beyond (so beyond it the instances may differ slightly from the in-memory
    inferer's, whose percentiles are exact). Tiles run through the network in the in-memory inferer's order.
    When a band of tiles is done, each group of detections whose bounding boxes overlap and lie before the next band
    is painted as the in-memory stitching paints it (highest score first), so the label map is the in-memory one up to
    the order of the ids. With an object size the tiles are resized one by one
    (:py:func:`networks.transforms.resize_image`), stitched on a memory-mapped map at the model's scale and sampled
    back onto the input grid band by band.

    A run on a crop gives the same instances as a run on the whole image on the crop's interior when the crop starts
    on the tile grid (a multiple of ``tile_size - overlap`` at the model's scale) and both use the same
    ``intensity_range``.

    Args:
        inferer: tiling, thresholds and object size (``object_size`` "auto" is estimated on the central
            ``auto_window`` x ``auto_window`` pixels).
        in_channels: channels the model takes (1: colour images are reduced by luminance).
        intensity_percentiles: (lower, upper) percentiles mapped to 0 and 1 (clipped outside).
        intensity_range: fixed (low, high) intensities instead of the percentiles.
        exact_pixels: images up to this many pixels get exact percentiles.
        auto_window: side of the window the "auto" object size is estimated on.
        band_rows: rows (columns when sampling back) of the file handled at a time for the percentiles and the
            sampling back onto the input grid.
    """

    def __init__(
        self,
        inferer: TiledInstanceInferer,
        in_channels: int = 1,
        intensity_percentiles: Sequence[float] = (1.0, 99.8),
        intensity_range: Sequence[float] | None = None,
        exact_pixels: int = 4_000_000,
        auto_window: int = 2048,
        band_rows: int = 512,
    ) -> None:
        self.inferer = inferer
        self.in_channels = int(in_channels)
        self.intensity_percentiles = tuple(float(q) for q in intensity_percentiles)
        self.intensity_range = None if intensity_range is None else tuple(float(v) for v in intensity_range)
        self.exact_pixels = int(exact_pixels)
        self.auto_window = int(auto_window)
        self.band_rows = int(band_rows)

    # ---- reading -----------------------------------------------------------------------------------------------

    def _channels(self, raw: np.ndarray, path: str) -> torch.Tensor:
        """(C, h, w) stored window -> the model's channels as float32 (luminance of RGB/RGBA for a 1-channel model)."""
        img = torch.as_tensor(raw.astype(np.float32, copy=False))
        if self.in_channels == 1 and img.shape[0] in (3, 4):
            weights = torch.as_tensor(LUMINANCE_WEIGHTS, dtype=torch.float32).reshape(3, 1, 1)
            return (img[:3] * weights).sum(0, keepdim=True)
        if img.shape[0] != self.in_channels:
            raise ValueError(f"{path}: image has {img.shape[0]} channels, expected {self.in_channels}.")
        return img

    def intensity_bounds(self, reader: TiffWindowReader) -> tuple:
        """(low, high) intensities mapped to 0 and 1: ``intensity_range``, or the percentiles of the image."""
        if self.intensity_range is not None:
            return self.intensity_range
        rows, cols = reader.shape
        step = max(1, math.ceil(math.sqrt(rows * cols / self.exact_pixels)))
        values = []
        for r0 in range(0, rows, self.band_rows):
            band = self._channels(reader.read((r0, min(rows, r0 + self.band_rows)), (0, cols)), reader.path)
            values.append(band[:, (-r0) % step :: step, ::step].reshape(-1))
        values = torch.cat(values)
        return percentile(values, self.intensity_percentiles[0]), percentile(values, self.intensity_percentiles[1])

    def _reader_window(self, reader: TiffWindowReader, bounds: tuple, xs: tuple[int, int], ys: tuple[int, int]):
        """The normalised (C, x, y) window of columns ``xs``, rows ``ys`` (MONAI's column-first order)."""
        scale = ScaleIntensityRange(a_min=bounds[0], a_max=bounds[1], b_min=0.0, b_max=1.0, clip=True)
        img = self._channels(reader.read(ys, xs), reader.path)
        return torch.as_tensor(scale(img.transpose(1, 2).contiguous()), dtype=torch.float32)

    # ---- the run -----------------------------------------------------------------------------------------------

    def scale_factor(self, reader: TiffWindowReader, bounds: tuple) -> float:
        size = self.inferer.object_size
        if size is None:
            return 1.0
        if size != "auto":
            return self.inferer.target_object_size / size
        rows, cols = reader.shape
        r0, c0 = max(0, (rows - self.auto_window) // 2), max(0, (cols - self.auto_window) // 2)
        window = (c0, min(cols, c0 + self.auto_window)), (r0, min(rows, r0 + self.auto_window))
        estimate = estimate_object_size(self._reader_window(reader, bounds, *window))
        if estimate is None:
            logger.warning(f"{reader.path}: no object found to estimate its size; kept at its scale.")
            return 1.0
        factor = self.inferer.target_object_size / estimate
        logger.info(f"{reader.path}: estimated object size {estimate:.1f} px, resized by {factor:.3f}.")
        return factor

    def check(self, reader: TiffWindowReader) -> None:
        """Errors found from the file's header alone, before any work: the channels and the object size."""
        usable = (1, 3, 4) if self.in_channels == 1 else (self.in_channels,)  # colour reduced by luminance
        if reader.channels not in usable:
            raise ValueError(f"{reader.path}: image has {reader.channels} channels, expected {self.in_channels}.")
        if reader.channels != self.in_channels:  # as RGBToLuminance logs it for images read whole
            logger.warning(f"{reader.path}: {reader.channels}-channel image converted to one channel by luminance.")
        side = min_image_side(self.inferer.object_size)
        if side is not None and min(reader.shape) < side:
            raise ValueError(
                f"{reader.path}: image of {'x'.join(map(str, reader.shape))} pixels is smaller than one object "
                f"({side:g} pixels across, the object_size given)."
            )

    @torch.no_grad()
    def __call__(self, path: str, network, label_path: str) -> dict:
        """
        Segment ``path`` into the uint32 label map TIFF ``label_path`` (ids 1..n, the image's rows and columns),
        written under a ``.partial`` name and renamed when complete. Returns a summary: ``scores`` (id -> score),
        ``shape``, the resize ``factor``, ``seconds``.
        """
        import tifffile

        start = time.perf_counter()
        was_training = getattr(network, "training", False)
        network.eval()
        try:
            with TiffWindowReader(path) as reader:
                self.check(reader)
                bounds = self.intensity_bounds(reader)
                factor = self.scale_factor(reader, bounds)
                partial = label_path + ".partial"
                labels = tifffile.memmap(partial, shape=reader.shape, dtype=np.uint32, photometric="minisblack")
                done = False
                try:
                    scores = self._segment(reader, bounds, factor, network, labels, label_path)
                    labels.flush()
                    done = True
                finally:
                    del labels
                    if not done:  # an unreadable tile, or an interrupt: no half-written label map stays behind
                        os.remove(partial)
        finally:
            if was_training:
                network.train()
        os.replace(partial, label_path)
        seconds = time.perf_counter() - start
        logger.info(f"{path}: {len(scores)} instances in {seconds:.1f} s.")
        return {"file": path, "shape": list(reader.shape), "scores": scores, "factor": factor, "seconds": seconds}

    def _segment(self, reader, bounds, factor: float, network, labels, label_path: str) -> dict[int, float]:
        """Detect and stitch onto ``labels`` (rows, columns); the score of each id."""
        shape = (reader.shape[1], reader.shape[0])  # the model's frame: columns first
        if factor == 1.0:
            return self._detect_and_paint(reader, bounds, factor, network, shape, labels.T)
        work_path = label_path + ".work.npy"
        work_shape = resized_shape(shape, factor)
        work = np.lib.format.open_memmap(work_path, mode="w+", dtype=np.uint32, shape=work_shape)
        try:
            scores = self._detect_and_paint(reader, bounds, factor, network, shape, work)
            return self._sample_back(work, labels, factor, scores)
        finally:
            del work
            os.remove(work_path)

    def _detect_and_paint(self, reader, bounds, factor, network, shape, ids) -> dict[int, float]:
        inferer = self.inferer
        work_shape = tuple(ids.shape)
        device = next(iter(network.parameters()), torch.empty(0)).device  # tiles go where the weights are
        bands = {}  # axis-0 tile -> its normalised input band (C, x, y); two at most

        def read_tile(ty, tx):
            if ty not in bands:
                if len(bands) == 2:
                    bands.pop(next(iter(bands)))
                xs = ty[:2] if factor == 1.0 else input_window(shape[:1], factor, [ty[:2]])[0]
                bands[ty] = (xs[0], self._reader_window(reader, bounds, xs, (0, shape[1])))
            x0, band = bands[ty]
            if factor == 1.0:
                return band[:, ty[0] - x0 : ty[1] - x0, tx[0] : tx[1]].to(device)
            return resize_image(band, factor, [ty[:2], tx[:2]], origin=(x0, 0), input_shape=shape).to(device)

        tiles = inferer.tiles(work_shape)
        starts = sorted({ty[0] for ty, _ in tiles})
        scores: dict[int, float] = {}
        pending: list = []
        band = 0
        for index, found in inferer.detections(work_shape, read_tile, network):
            ty = tiles[index][0]
            while ty[0] != starts[band]:  # a band is complete: what cannot meet a later detection is final
                band += 1
                pending = self._paint_final(pending, starts[band], ids, scores)
            pending += found
        self._paint_final(pending, math.inf, ids, scores)
        return scores

    def _paint_final(self, pending: list, boundary: float, ids, scores: dict[int, float]) -> list:
        """Paint the groups of overlapping detections that all end before ``boundary`` on axis 0; return the rest."""
        if not pending:
            return pending
        boxes = np.array([(y0, y0 + m.shape[0], x0, x0 + m.shape[1]) for _, m, y0, x0 in pending], np.int64)
        groups = bbox_components(boxes)
        open_groups = set(groups[boxes[:, 1] > boundary].tolist())
        final = [d for d, g in zip(pending, groups.tolist()) if g not in open_groups]
        for score, window, region in self.inferer.paint(final, ids):  # groups share no pixel: one pass paints all
            count = len(scores) + 1
            ids[window][region] = count
            scores[count] = score
        return [d for d, g in zip(pending, groups.tolist()) if g in open_groups]

    def _sample_back(self, work, labels, factor: float, scores: dict[int, float]) -> dict[int, float]:
        """Each input pixel takes the instance at its centre on the model-scale map; instances left under
        ``min_area`` pixels are dropped and the rest renumbered 1..n in their order."""
        rows, cols = labels.shape
        areas = np.zeros(len(scores) + 1, np.int64)
        for c0 in range(0, cols, self.band_rows):
            c1 = min(cols, c0 + self.band_rows)
            at_columns = sample_indices(c0, c1, factor, work.shape[0])
            block = work[np.ix_(at_columns, sample_indices(0, rows, factor, work.shape[1]))]
            labels[:, c0:c1] = block.T
            areas += np.bincount(block.ravel(), minlength=len(areas))
        keep = np.nonzero(areas >= self.inferer.min_area)[0]
        keep = keep[keep > 0]
        lookup = np.zeros(len(areas), np.uint32)
        lookup[keep] = np.arange(1, len(keep) + 1)
        for r0 in range(0, rows, self.band_rows):
            labels[r0 : r0 + self.band_rows] = lookup[labels[r0 : r0 + self.band_rows]]
        return {int(lookup[i]): scores[int(i)] for i in keep}
