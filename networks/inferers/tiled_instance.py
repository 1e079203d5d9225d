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

"""Instance segmentation of images of any size by overlapping tiles, with instances stitched across tile borders."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn as nn
from monai.data import MetaTensor
from monai.inferers import Inferer
from monai.utils import ensure_tuple_rep

from networks.transforms.instances import MIN_INSTANCE_AREA
from networks.transforms.object_size import check_object_size, estimate_object_size, resize_image, sample_label_map

__all__ = ["TiledInstanceInferer", "InstanceSegmenter", "tile_layout", "EDGE_MARGIN"]

logger = logging.getLogger(__name__)

# pixels from a tile edge inside the image within which a mask counts as cut by that edge
EDGE_MARGIN = 2


def tile_layout(size: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """
    Tiles along one axis and the part of the axis each tile owns.

    Tiles of tile pixels start every tile - overlap pixels, the last one flush with the end (one tile of the
    whole axis when it is not longer than tile). Each tile owns the pixels from the middle of its overlap with
    the previous tile to the middle of its overlap with the next one, so the owned parts cover the axis exactly once.

    Returns:
        [(start, stop, own_start, own_stop), ...].
    """
    if tile <= overlap:
        raise ValueError(f"the tile ({tile}) must be larger than the overlap ({overlap}).")
    if size <= tile:
        return [(0, size, 0, size)]
    starts = list(range(0, size - tile, tile - overlap)) + [size - tile]
    stops = [s + tile for s in starts]
    cuts = [0] + [(stops[i] + starts[i + 1]) // 2 for i in range(len(starts) - 1)] + [size]
    return [(a, b, cuts[i], cuts[i + 1]) for i, (a, b) in enumerate(zip(starts, stops))]


class TiledInstanceInferer(Inferer):
    """
    Run a torchvision-style instance segmentation model (eval mode: a list of images in, one dict with masks
    and scores per image out, e.g. networks.nets.MicroscopyMaskRCNN) over overlapping tiles and stitch the
    instances into one label map per image.

    A tile keeps the instances it sees whole (no pixel within ``EDGE_MARGIN`` of one of its edges inside the image);
    an instance cut by a tile edge is kept only by the tile that owns its centre (``tile_layout``), which sees it
    whole when its pixels lie within ``overlap / 2`` of the centre: choose ``overlap`` at least the diameter of the
    largest object. The kept instances are painted from the highest score down, each pixel going to the first
    instance claiming it; an instance left with less than half of its mask (the copy of a nucleus seen whole by two
    tiles, possibly a pixel apart) or with fewer than ``min_area`` pixels is dropped. So no nucleus is counted twice
    or cut in two.

    With ``object_size`` (the typical nucleus diameter of the input images, or "auto" to estimate it per image with
    :py:func:`networks.transforms.object_size.estimate_object_size`), each image is first resized by
    ``target_object_size / object_size`` so that its nuclei have the size the model was trained on, and the stitched
    instances are sampled back onto the input grid (each input pixel takes the instance at its centre); instances
    left with fewer than ``min_area`` pixels there are dropped. Without it (the default) images are used as they are.

    Args:
        tile_size: tile side(s) in pixels (the training patch size works best: anchors and context match).
        overlap: overlap of neighbouring tiles in pixels.
        score_thresh: detections below this score are dropped.
        mask_thresh: mask probability above which a pixel belongs to an instance.
        min_area: instances left with fewer pixels are dropped.
        batch_size: tiles per forward pass.
        object_size: None (keep the input scale), a positive diameter in pixels, or "auto".
        target_object_size: the diameter the model was trained on (the training median); needed with object_size.

    Returns (__call__):
        (B, 2, H, W) float32: channel 0 the instance ids (1..n in decreasing score, 0 background), channel 1 the
        score of the instance at each pixel.
    """

    def __init__(
        self,
        tile_size: int | Sequence[int] = 256,
        overlap: int = 64,
        score_thresh: float = 0.5,
        mask_thresh: float = 0.5,
        min_area: int = MIN_INSTANCE_AREA,
        batch_size: int = 4,
        object_size: float | str | None = None,
        target_object_size: float | None = None,
    ) -> None:
        super().__init__()
        self.object_size = check_object_size(object_size)
        target = None if target_object_size is None else check_object_size(target_object_size, "target_object_size")
        if self.object_size is not None and not isinstance(target, float):
            raise ValueError(
                f"object_size needs target_object_size, the object diameter the model was trained on (pixels), got "
                f"{target_object_size!r}."
            )
        self.target_object_size = target  # validated, as a float
        self.tile_size = ensure_tuple_rep(tile_size, 2)
        self.overlap = int(overlap)
        self.score_thresh = score_thresh
        self.mask_thresh = mask_thresh
        self.min_area = min_area
        self.batch_size = batch_size

    def tiles(self, shape: Sequence[int]) -> list[tuple[tuple, tuple]]:
        """The (axis-0 tile, axis-1 tile) pairs of an image of ``shape``, axis 0 outer (``tile_layout`` entries)."""
        layout = [tile_layout(int(shape[a]), self.tile_size[a], self.overlap) for a in range(2)]
        return [(ty, tx) for ty in layout[0] for tx in layout[1]]

    def detections(self, shape: Sequence[int], read_tile, network) -> Iterator[tuple[int, list]]:
        """
        The instances each tile of an image of ``shape`` keeps, tile by tile in :py:meth:`tiles` order: (tile index,
        [(score, binary mask of its bounding box, the box's offset on axis 0, axis 1), ...]). ``read_tile(ty, tx)``
        gives the (C, h, w) tile, so the image need not be in memory; ``batch_size`` tiles go through the network at a
        time.
        """
        tiles = self.tiles(shape)
        for i in range(0, len(tiles), self.batch_size):
            chunk = tiles[i : i + self.batch_size]
            outputs = network([read_tile(ty, tx) for ty, tx in chunk])
            for k, ((ty, tx), out) in enumerate(zip(chunk, outputs)):
                keep = out["scores"] >= self.score_thresh
                masks = (out["masks"][keep][:, 0] > self.mask_thresh).cpu().numpy()
                found = []
                for score, mask in zip(out["scores"][keep].tolist(), masks):
                    if self._usable(mask, ty, tx, shape):
                        # kept as a copy of its bounding box (a view would keep the tile's whole mask stack):
                        # memory grows with the nuclei's area, not tiles x nuclei
                        ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
                        box = mask[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1].copy()
                        found.append((score, box, ty[0] + int(ys[0]), tx[0] + int(xs[0])))
                yield i + k, found

    def _detect(self, image: torch.Tensor, network) -> list[tuple[float, np.ndarray, int, int]]:
        """Every instance kept by its tile (:py:meth:`detections`) of an image in memory."""
        shape = tuple(image.shape[-2:])
        tiles = self.detections(shape, lambda ty, tx: image[:, ty[0] : ty[1], tx[0] : tx[1]], network)
        return [d for _, found in tiles for d in found]

    @staticmethod
    def _usable(mask: np.ndarray, ty: tuple, tx: tuple, shape) -> bool:
        """
        Keep a tile's instance when the tile sees it whole (no pixel within ``EDGE_MARGIN`` of a tile edge inside
        the image), or, if it is cut by such an edge, when the tile owns its centre (objects wider than the overlap
        are then cut).
        """
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            return False
        m = EDGE_MARGIN  # a mask ending this close to a tile edge may be a nucleus the edge cuts
        cut = (ty[0] > 0 and ys.min() < m) or (tx[0] > 0 and xs.min() < m)
        cut = cut or (ty[1] < shape[0] and ys.max() >= mask.shape[0] - m)
        cut = cut or (tx[1] < shape[1] and xs.max() >= mask.shape[1] - m)
        if not cut:
            return True
        cy, cx = ty[0] + ys.mean(), tx[0] + xs.mean()
        return ty[2] <= cy < ty[3] and tx[2] <= cx < tx[3]

    def _stitch(self, found: list, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        ids, score_map = np.zeros(shape, np.int32), np.zeros(shape, np.float32)
        for count, (score, window, region) in enumerate(self.paint(found, ids), start=1):
            ids[window][region] = count
            score_map[window][region] = score
        return ids, score_map

    def paint(self, found: list, ids) -> Iterator[tuple[float, tuple[slice, slice], np.ndarray]]:
        """
        The instances kept from ``found`` detections painted onto the label map ``ids`` (free pixels are 0), from the
        highest score down: (score, window, pixels of the window it gets) for each, the caller writing its id there
        before the next one is drawn.
        """
        # the same nucleus seen whole by two overlapping tiles is found twice, maybe a pixel apart: the most
        # confident copy is painted, and a detection left with less than half of its mask is a duplicate (or a
        # heavily overlapped detection), so it is dropped instead of leaving a sliver
        for score, mask, y0, x0 in sorted(found, key=lambda f: -f[0]):
            window = (slice(y0, y0 + mask.shape[0]), slice(x0, x0 + mask.shape[1]))
            region = mask & (ids[window] == 0)
            visible = int(region.sum())
            if visible < self.min_area or visible < 0.5 * mask.sum():
                continue
            yield score, window, region

    def scale_factor(self, image: torch.Tensor, name: str = "image") -> float:
        """The resize factor of one (C, H, W) image: ``target_object_size / object_size``, 1 without object_size
        (or when "auto" finds no blob: a blank image is kept at its scale)."""
        if self.object_size is None:
            return 1.0
        if self.object_size != "auto":
            return self.target_object_size / self.object_size
        size = estimate_object_size(image)
        if size is None:
            logger.warning(f"{name}: no object found to estimate its size; kept at its scale.")
            return 1.0
        factor = self.target_object_size / size
        logger.info(f"{name}: estimated object size {size:.1f} px, resized by {factor:.3f}.")
        return factor

    def _segment(self, image: torch.Tensor, network, name: str = "image") -> torch.Tensor:
        """(2, H, W) instance ids and scores of one (C, H, W) image, at the model's object size when asked."""
        shape = tuple(image.shape[-2:])
        factor = self.scale_factor(image, name)
        if factor == 1.0:
            ids, score_map = self._stitch(self._detect(image, network), shape)
        else:
            work = resize_image(image, factor).to(image.device)
            ids, score_map = self._stitch(self._detect(work, network), tuple(work.shape[-2:]))
            ids, score_map = sample_label_map(ids, shape, factor), sample_label_map(score_map, shape, factor)
            ids, score_map = self._renumber(ids, score_map)
        return torch.from_numpy(np.stack([ids.astype(np.float32), score_map]))

    def _renumber(self, ids: np.ndarray, score_map: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drop instances under ``min_area`` pixels and renumber the rest 1..n, keeping their (score) order."""
        areas = np.bincount(ids.ravel())
        keep = np.nonzero(areas >= self.min_area)[0]
        keep = keep[keep > 0]
        lookup = np.zeros(len(areas), np.int32)
        lookup[keep] = np.arange(1, len(keep) + 1)
        ids = lookup[ids]
        return ids, np.where(ids > 0, score_map, 0.0).astype(np.float32)

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor, network, *args, **kwargs) -> torch.Tensor:
        if inputs.ndim != 4:
            raise ValueError(f"expected (B, C, H, W) images, got shape {tuple(inputs.shape)}.")
        was_training = getattr(network, "training", False)
        if was_training:
            network.eval()
        try:
            names = _file_names(inputs)
            maps = [self._segment(image, network, name) for image, name in zip(inputs, names)]
        finally:
            if was_training:
                network.train()
        out = torch.stack(maps).to(inputs.device)
        if isinstance(inputs, MetaTensor):  # keep the images' meta data (file names, affines) for the writers
            out = MetaTensor(out, meta=inputs.meta, applied_operations=inputs.applied_operations)
            out.is_batch = inputs.is_batch
        return out


def _file_names(inputs: torch.Tensor) -> list[str]:
    """The file name of each image of a batch (from MetaTensor meta data), for log lines; "image k" otherwise."""
    names = inputs.meta.get("filename_or_obj") if isinstance(inputs, MetaTensor) else None
    if isinstance(names, str):
        names = [names]
    if not names or len(names) != len(inputs):
        return [f"image {k}" for k in range(len(inputs))]
    return [os.path.basename(str(n)) for n in names]


class InstanceSegmenter(nn.Module):
    """
    A detection model and its TiledInstanceInferer as one module: (B, C, H, W) images in, (B, 2, H, W) instance
    ids and scores out. It lets MONAI's verify_net_in_out and plain model(image) users check and use the whole
    chain; the model's weights are those of model (not copied).

    Args:
        model: the detection model.
        inferer: the tiling inferer (a default one when omitted).
    """

    def __init__(self, model: nn.Module, inferer: TiledInstanceInferer | None = None) -> None:
        super().__init__()
        self.model = model
        self.inferer = inferer or TiledInstanceInferer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inferer(x, self.model)
