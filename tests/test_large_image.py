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

"""Large TIFFs segmented in bounded memory: the same instances as in memory and on a crop, bad files skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tifffile
import torch
import torch.nn as nn
from scipy import ndimage

from networks.apps.detection import output_paths, segment_tiff_files
from networks.data import TiffWindowReader, tiff_windows
from networks.data.mosaic import Mosaic
from networks.inferers import LargeImageSegmenter, TiledInstanceInferer, bbox_components
from networks.metrics import same_instances
from networks.transforms import resample_weights, resize_image, resized_shape
from tests.bundle_helpers import REPO_ROOT


class OverlappingDetector(nn.Module):
    """A detector whose answer is known and whose instances overlap, so the stitching has conflicts to settle: each
    8-connected component of (tile > 0.5), grown by 2 pixels, scored by the tile's mean over it."""

    def forward(self, tiles: list[torch.Tensor]) -> list[dict]:
        outputs = []
        for tile in tiles:
            image = tile[0].numpy()
            components, n = ndimage.label(image > 0.5, structure=np.ones((3, 3)))
            grown = ndimage.grey_dilation(components, size=(5, 5))
            masks = grown[None] == np.arange(1, n + 1)[:, None, None]
            means = ndimage.mean(image, components, np.arange(1, n + 1)) if n else np.zeros(0)
            outputs.append({"masks": torch.from_numpy(masks[:, None]).float(), "scores": torch.as_tensor(means)})
        return outputs


def _blobs(shape=(360, 300), seed=0) -> np.ndarray:
    """uint8 image of touching blobs (grey 220 on 30)."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.random(shape), 4)
    return np.where(field > np.percentile(field, 70), 220, 30).astype(np.uint8)


def test_resized_windows_equal_the_whole_resized_image():
    """A tile resized on its own equals that part of the whole image resized (shrinking and enlarging)."""
    image = torch.rand(1, 90, 70, generator=torch.Generator().manual_seed(0))
    for factor in (0.5, 0.37, 2.0, 1.6):
        whole = resize_image(image, factor)
        assert tuple(whole.shape[-2:]) == resized_shape((90, 70), factor)
        window = [(5, whole.shape[1] - 3), (2, whole.shape[2] // 2)]
        (r0, r1), (c0, c1) = [resample_weights(n, factor, *w)[:2] for n, w in zip((90, 70), window)]
        part = resize_image(image[:, r0:r1, c0:c1], factor, window, origin=(r0, c0), input_shape=(90, 70))
        assert torch.equal(part, whole[:, window[0][0] : window[0][1], window[1][0] : window[1][1]])


def test_box_groups():
    boxes = np.array([[0, 10, 0, 10], [5, 15, 8, 20], [30, 40, 30, 40], [14, 20, 19, 25], [0, 5, 50, 60]])
    groups = bbox_components(boxes)
    assert groups[0] == groups[1] == groups[3] and len({groups[0], groups[2], groups[4]}) == 3


@pytest.mark.parametrize("object_size", [None, 24.0, 8.0])
def test_streamed_instances_equal_those_in_memory(tmp_path, object_size):
    """Band-by-band stitching from a tiled TIFF gives the in-memory inferer's instances (overlapping detections,
    several tile rows, resizing per tile)."""
    image = _blobs()
    path = str(tmp_path / "blobs.tif")
    tifffile.imwrite(path, image, tile=(64, 64), compression="zlib")
    target = None if object_size is None else 12.0
    inferer = TiledInstanceInferer(tile_size=128, overlap=48, batch_size=3, object_size=object_size,
                                   target_object_size=target)  # fmt: skip
    summary = LargeImageSegmenter(inferer, intensity_range=(0, 255), band_rows=100)(
        path, OverlappingDetector(), str(tmp_path / "labels.tif")
    )
    streamed = tifffile.imread(tmp_path / "labels.tif")
    assert streamed.dtype == np.uint32 and streamed.shape == image.shape
    columns_first = torch.as_tensor(image.T.astype(np.float32) / 255.0)[None, None]  # as MONAI's loaders give it
    in_memory = inferer(columns_first, OverlappingDetector())[0, 0].numpy().astype(np.int64).T
    assert in_memory.max() > 30 and same_instances(streamed, in_memory)
    assert len(summary["scores"]) == streamed.max() and sorted(np.unique(streamed))[1:] == sorted(summary["scores"])


def test_a_crop_on_the_tile_grid_gives_the_same_instances(tmp_path, nuclei2d_dir):
    """A mosaic of real frames and a crop of it starting on the tile grid: the instances inside the crop (a tile from
    its edges) are identical up to their ids."""
    mosaic = Mosaic.from_dataset(str(nuclei2d_dir), (1150, 1250))
    mosaic.write(str(tmp_path / "mosaic.tif"))
    (r0, r1), (c0, c1) = (192, 1150), (384, 1250)  # the crop starts on the tile grid (multiples of 256 - 64)
    tifffile.imwrite(tmp_path / "crop.tif", mosaic.window((r0, r1), (c0, c1)), tile=(256, 256))
    segmenter = LargeImageSegmenter(TiledInstanceInferer(tile_size=256, overlap=64), intensity_range=(0, 255))
    segmenter(str(tmp_path / "mosaic.tif"), OverlappingDetector(), str(tmp_path / "whole_labels.tif"))
    segmenter(str(tmp_path / "crop.tif"), OverlappingDetector(), str(tmp_path / "crop_labels.tif"))
    whole = tifffile.imread(tmp_path / "whole_labels.tif")[r0:r1, c0:c1].astype(np.int64)
    crop = tifffile.imread(tmp_path / "crop_labels.tif").astype(np.int64)

    def inside(labels):  # instances lying a tile or more away from the crop's edges
        keep = np.zeros_like(labels)
        for i, box in enumerate(ndimage.find_objects(labels), start=1):
            if (
                box
                and box[0].start >= 256
                and box[1].start >= 256
                and box[0].stop <= labels.shape[0] - 256
                and (box[1].stop <= labels.shape[1] - 256)
            ):
                keep[labels == i] = i
        return keep

    assert inside(whole).max() > 0 and len(np.unique(inside(whole))) > 20
    assert same_instances(inside(whole), inside(crop))


def test_memory_stays_bounded_where_the_in_memory_path_does_not_fit(tmp_path, nuclei2d_dir):
    """A 1700 x 1700 mosaic of real frames segmented with 40 MB of heap beyond the process's start (RLIMIT_DATA; the
    label map is a file-backed memory map, outside it); the in-memory inferer, which holds the image, its label and
    score maps and their stack (58 MB), fails under the same limit."""
    Mosaic.from_dataset(str(nuclei2d_dir), (1700, 1700)).write(str(tmp_path / "big.tif"))
    script = textwrap.dedent(f"""
        import resource, sys, numpy as np, torch
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from tests.test_large_image import OverlappingDetector
        from networks.inferers import LargeImageSegmenter, TiledInstanceInferer
        torch.set_num_threads(1)
        inferer = TiledInstanceInferer(tile_size=128, overlap=32, batch_size=1)
        with open("/proc/self/status") as f:
            data = [int(line.split()[1]) * 1024 for line in f if line.startswith("VmData")][0]
        limit = data + 40 * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        summary = LargeImageSegmenter(inferer, intensity_range=(0, 255))(
            {str(tmp_path / 'big.tif')!r}, OverlappingDetector(), {str(tmp_path / 'big_labels.tif')!r})
        print("streamed", len(summary["scores"]))
        try:
            inferer(torch.zeros(1, 1, 1700, 1700), OverlappingDetector())
        except (MemoryError, RuntimeError) as err:
            print("in memory failed:", type(err).__name__)
        """)
    # large blocks straight from mmap and back (glibc otherwise keeps freed ones in its heap, which the limit counts)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(2**20)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "streamed" in proc.stdout and "in memory failed" in proc.stdout
    assert tifffile.imread(tmp_path / "big_labels.tif").max() > 500


def _corrupt_one_tile(path: str) -> None:
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        offset, count = page.dataoffsets[5], page.databytecounts[5]
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * count)


def test_a_folder_with_bad_files_is_processed_file_by_file(tmp_path):
    """Files unusable from their header are reported before any work, a corrupt tile when it is read; the other
    files are segmented, with their COCO file; a second run keeps what is done."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in ("a", "b", "corrupt"):
        tifffile.imwrite(folder / f"{name}.tif", _blobs(seed=len(name)), tile=(64, 64), compression="zlib")
    _corrupt_one_tile(str(folder / "corrupt.tif"))
    (folder / "notes.tif").write_text("not an image")
    tifffile.imwrite(folder / "b.tiff", _blobs(seed=4))  # its outputs would be b.tif's
    tifffile.imwrite(folder / "two_channels.tif", np.zeros((2, 64, 64), np.uint8), metadata={"axes": "CYX"})
    files = [{"image": str(p)} for p in sorted(folder.iterdir())]
    segmenter = LargeImageSegmenter(TiledInstanceInferer(tile_size=128, overlap=32), intensity_range=(0, 255))
    done = segment_tiff_files(files, segmenter, OverlappingDetector(), str(out), str(out / "errors.json"))
    assert [d["file"].rsplit("/", 1)[-1] for d in done] == ["a.tif", "b.tif"]
    errors = {e["file"].rsplit("/", 1)[-1]: e["error"] for e in json.loads((out / "errors.json").read_text())}
    assert set(errors) == {"corrupt.tif", "notes.tif", "two_channels.tif", "b.tiff"}
    assert "would overwrite those of" in errors["b.tiff"]
    assert (
        "unreadable image data in rows" in errors["corrupt.tif"]
        and "2 channels, expected 1" in errors["two_channels.tif"]
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["a_instances.tif", "a_instances_coco.json", "b_instances.tif", "b_instances_coco.json", "errors.json"]
    )
    from pycocotools import mask as mask_utils

    labels = tifffile.imread(out / "a_instances.tif")
    coco = json.loads((out / "a_instances_coco.json").read_text())
    assert len(coco["annotations"]) == labels.max() and coco["images"][0]["height"] == labels.shape[0]
    first = coco["annotations"][0]
    assert np.array_equal(mask_utils.decode(first["segmentation"]).astype(bool), labels == first["instance_id"])
    assert segment_tiff_files(files[:1], segmenter, OverlappingDetector(), str(out), str(out / "errors.json")) == []


def test_the_reader_reads_windows_of_tiled_and_stripped_tiffs(tmp_path, monkeypatch):
    rgb = np.random.default_rng(1).integers(0, 255, (300, 200, 3), np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, tile=(64, 64), photometric="rgb", compression="zlib")
    tifffile.imwrite(tmp_path / "strip.tif", rgb, photometric="rgb")  # uncompressed, one strip: memory-mapped
    for name in ("rgb.tif", "strip.tif"):
        with TiffWindowReader(tmp_path / name) as reader:
            assert reader.shape == (300, 200) and reader.channels == 3
            assert np.array_equal(reader.read((10, 100), (50, 199)), np.moveaxis(rgb[10:100, 50:199], -1, 0))
    # a compressed strip larger than the limit would be decoded whole for every window: refused by name
    tifffile.imwrite(tmp_path / "one_strip.tif", rgb, photometric="rgb", compression="zlib", rowsperstrip=300)
    monkeypatch.setattr(tiff_windows, "MAX_CHUNK_BYTES", 100_000)
    with pytest.raises(ValueError, match="one_strip.tif: compressed in pieces of .* save it as a tiled TIFF"):
        TiffWindowReader(tmp_path / "one_strip.tif")
    assert output_paths("/x/slide.ome.tiff", "/o") == ("/o/slide_instances.tif", "/o/slide_instances_coco.json")


def test_tiled_16_bit_tiffs_load_exactly_through_monai(tmp_path):
    """ITK reads a tiled 16-bit TIFF through an 8-bit RGBA fallback; the bundles load TIFFs with TiffFileReader."""
    from monai.transforms import EnsureChannelFirst, LoadImage

    from networks.data import TiffFileReader, load_image_with_tifffile

    grey = np.random.default_rng(2).integers(0, 60000, (150, 210), np.uint16)
    tifffile.imwrite(tmp_path / "grey.tif", grey, tile=(64, 64))
    image = load_image_with_tifffile("image", image_only=True)({"image": str(tmp_path / "grey.tif")})["image"]
    image = EnsureChannelFirst()(image)
    assert image.shape == (1, 210, 150) and np.array_equal(image[0].numpy(), grey.T.astype(np.float32))
    rgb = np.random.default_rng(3).integers(0, 255, (40, 50, 3), np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    image = EnsureChannelFirst()(LoadImage(image_only=True, reader=TiffFileReader())(tmp_path / "rgb.tif"))
    assert image.shape == (3, 50, 40) and np.array_equal(image.numpy(), np.moveaxis(rgb, -1, 0).swapaxes(1, 2))


class _OnDevice(OverlappingDetector):
    """The known detector with a weight on a device: it refuses tiles that are not where its weight is."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, device=device))

    def forward(self, tiles: list[torch.Tensor]) -> list[dict]:
        assert all(t.device == self.weight.device for t in tiles), "tiles must be on the network's device"
        return super().forward([t.cpu() for t in tiles])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_tiles_go_to_the_network_device(tmp_path):
    tifffile.imwrite(tmp_path / "blobs.tif", _blobs(), tile=(64, 64))
    segmenter = LargeImageSegmenter(TiledInstanceInferer(tile_size=128, overlap=48), intensity_range=(0, 255))
    summary = segmenter(str(tmp_path / "blobs.tif"), _OnDevice("cuda"), str(tmp_path / "labels.tif"))
    assert len(summary["scores"]) > 30
