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

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn
from monai.data import MetaTensor
from monai.inferers import Inferer
from monai.utils import ensure_tuple_rep

from networks.transforms.instances import MIN_INSTANCE_AREA

__all__ = ["TiledInstanceInferer", "InstanceSegmenter", "tile_layout", "EDGE_MARGIN"]

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

    Args:
        tile_size: tile side(s) in pixels (the training patch size works best: anchors and context match).
        overlap: overlap of neighbouring tiles in pixels.
        score_thresh: detections below this score are dropped.
        mask_thresh: mask probability above which a pixel belongs to an instance.
        min_area: instances left with fewer pixels are dropped.
        batch_size: tiles per forward pass.

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
    ) -> None:
        super().__init__()
        self.tile_size = ensure_tuple_rep(tile_size, 2)
        self.overlap = int(overlap)
        self.score_thresh = score_thresh
        self.mask_thresh = mask_thresh
        self.min_area = min_area
        self.batch_size = batch_size

    def _detect(self, image: torch.Tensor, network) -> list[tuple[float, np.ndarray, int, int]]:
        """(score, binary mask in tile coordinates, tile offset y, x) of every instance owned by its tile."""
        layout = [tile_layout(image.shape[-2 + a], self.tile_size[a], self.overlap) for a in range(2)]
        tiles = [(ty, tx) for ty in layout[0] for tx in layout[1]]
        found = []
        for i in range(0, len(tiles), self.batch_size):
            chunk = tiles[i : i + self.batch_size]
            outputs = network([image[:, ty[0] : ty[1], tx[0] : tx[1]] for ty, tx in chunk])
            for (ty, tx), out in zip(chunk, outputs):
                keep = out["scores"] >= self.score_thresh
                masks = (out["masks"][keep][:, 0] > self.mask_thresh).cpu().numpy()
                for score, mask in zip(out["scores"][keep].tolist(), masks):
                    if self._usable(mask, ty, tx, image.shape[-2:]):
                        found.append((score, mask, ty[0], tx[0]))
        return found

    @staticmethod
    def _usable(mask: np.ndarray, ty: tuple, tx: tuple, shape) -> bool:
        """
        Keep a tile's instance when the tile sees it whole (no pixel within ``EDGE_MARGIN`` of a tile edge inside
        the image), or, if it is cut by such an edge, when the tile owns its centre (objects wider than the overlap are then cut).
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

    def _stitch(self, found: list, shape: tuple[int, int]) -> torch.Tensor:
        # the same nucleus seen whole by two overlapping tiles is found twice, maybe a pixel apart: the most
        # confident copy is painted, and a detection left with less than half of its mask is a duplicate (or a
        # heavily overlapped detection), so it is dropped instead of leaving a sliver
        ids, score_map = np.zeros(shape, np.int32), np.zeros(shape, np.float32)
        count = 0
        for score, mask, y0, x0 in sorted(found, key=lambda f: -f[0]):
            window = (slice(y0, y0 + mask.shape[0]), slice(x0, x0 + mask.shape[1]))
            region = mask & (ids[window] == 0)
            visible = int(region.sum())
            if visible < self.min_area or visible < 0.5 * mask.sum():
                continue
            count += 1
            ids[window][region] = count
            score_map[window][region] = score
        return torch.from_numpy(np.stack([ids.astype(np.float32), score_map]))

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor, network, *args, **kwargs) -> torch.Tensor:
        if inputs.ndim != 4:
            raise ValueError(f"expected (B, C, H, W) images, got shape {tuple(inputs.shape)}.")
        was_training = getattr(network, "training", False)
        if was_training:
            network.eval()
        try:
            maps = [self._stitch(self._detect(image, network), tuple(image.shape[-2:])) for image in inputs]
        finally:
            if was_training:
                network.train()
        out = torch.stack(maps).to(inputs.device)
        if isinstance(inputs, MetaTensor):  # keep the images' meta data (file names, affines) for the writers
            out = MetaTensor(out, meta=inputs.meta, applied_operations=inputs.applied_operations)
            out.is_batch = inputs.is_batch
        return out


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
