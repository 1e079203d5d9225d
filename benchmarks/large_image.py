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
Time and peak memory of the Mask R-CNN bundle on large images: ``large_image.json`` (tiles read from the file,
stitched band by band) against ``inference.json`` (the whole image in memory) on the same mosaic, in the same run.

Each image is a mosaic of the real nuclei2d frames (``networks.data.mosaic.Mosaic``) written as a tiled TIFF; each
bundle command runs as its own process, its wall time and peak resident memory (``getrusage`` of that process) taken.
The instances of the two commands are compared (same partition of the pixels); at the largest size the streamed run
is also compared with a run on a crop starting on the tile grid (same instances a tile or more inside the crop), both
normalised with the whole image's intensity bounds (``--intensity_range``).
Every finished size goes into the results file at once; a size already there is skipped, so a long run can be split
across sessions. Run from the repository root, with trained weights (the bundle's own training writes them)::

    python benchmarks/large_image.py --ckpt_dir runs/instances/models/maskrcnn/seed0/models \\
        --sizes 2000,5000,10000 --in_memory_sizes 2000,5000 --results docs/results/large_image_cpu.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import fire
import numpy as np

__all__ = ["main", "run_measured"]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLE = os.path.join("bundle", "maskrcnn_nuclei_instance_segmentation")
COLUMNS = ["side (px)", "megapixels", "instances", "streamed (s)", "streamed peak RSS (GB)", "in memory (s)",
           "in memory peak RSS (GB)", "RSS ratio", "same instances"]  # fmt: skip


def run_measured(cmd: list[str], log: str) -> tuple[float, float, int]:
    """Run ``cmd`` (output to ``log``); (wall seconds, peak resident GB of that process, return code)."""
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss / 2**20, proc.returncode  # ru_maxrss is in KiB on Linux


def _bundle(configs: list[str], input_dir: str, output_dir: str, ckpt_dir: str) -> list[str]:
    files = "[" + ",".join(f"'{os.path.join(BUNDLE, 'configs', c)}'" for c in configs) + "]"
    return [sys.executable, "-m", "monai.bundle", "run", "--config_file", files, "--bundle_root", BUNDLE,
            "--ckpt_dir", ckpt_dir, "--input_dir", input_dir, "--output_dir", output_dir]  # fmt: skip


def _interior(labels: np.ndarray, margin: int) -> np.ndarray:
    """Instances lying ``margin`` pixels or more inside the map's edges (others set to 0)."""
    from scipy import ndimage

    keep = np.zeros(int(labels.max()) + 1, bool)
    for i, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is not None:
            inside = [s.start >= margin and s.stop <= n - margin for s, n in zip(box, labels.shape)]
            keep[i] = all(inside)
    return np.where(keep[labels], labels, 0)


def _intensity_bounds(path: str) -> list[float]:
    """The 1st and 99.8th percentiles large_image.json would use for ``path`` (the bundle's defaults)."""
    from networks.data import TiffWindowReader
    from networks.inferers import LargeImageSegmenter, TiledInstanceInferer

    with TiffWindowReader(path) as reader:
        return [float(v) for v in LargeImageSegmenter(TiledInstanceInferer()).intensity_bounds(reader)]


def _load(path: str) -> dict:
    if path and os.path.isfile(path):
        with open(path) as f:
            return json.load(f)
    return {}


def main(
    ckpt_dir: str,
    sizes: str | int | tuple = "2000,5000,10000",
    in_memory_sizes: str | int | tuple = "2000,5000",
    dataset_dir: str = os.path.join("data", "nuclei2d"),
    work_dir: str | None = None,
    results: str | None = None,
) -> list[dict]:
    """
    Args:
        ckpt_dir: folder of the trained ``model.pt`` (and ``object_size.json``).
        sizes: square image sides, in pixels.
        in_memory_sizes: the sides also run through ``inference.json`` (the whole image in memory).
        dataset_dir: prepared nuclei2d (the mosaic's frames).
        work_dir: where mosaics and outputs go (a temporary folder, removed, by default).
        results: record the table in this results file (rendered into docs/benchmarks.md).
    """
    import tifffile

    from networks.apps.evidence import parse_seeds as parse_ints  # "2000,5000", one int, or a list
    from networks.data.mosaic import Mosaic
    from networks.metrics import same_instances

    sides, in_memory = parse_ints(sizes), set(parse_ints(in_memory_sizes))
    previous = _load(results).get("measurements", [])
    measured = {m["side"]: m for m in previous}
    temp = None if work_dir else tempfile.TemporaryDirectory()
    root = work_dir or temp.name
    for side in sides:
        if side in measured:
            print(f"{side} px: recorded in {results}, skipped", flush=True)
            continue
        folder = os.path.join(root, str(side))
        os.makedirs(os.path.join(folder, "in"), exist_ok=True)
        image = os.path.join(folder, "in", "mosaic.tif")
        mosaic = Mosaic.from_dataset(dataset_dir, (side, side))
        mosaic.write(image)
        entry = {"side": side, "megapixels": side * side / 1e6}
        cmd = _bundle(["inference.json", "large_image.json"], os.path.dirname(image), os.path.join(folder, "large"),
                      ckpt_dir)  # fmt: skip
        if side == max(sides):  # the crop below must be normalised as the whole image is: both get these bounds
            bounds = _intensity_bounds(image)
            cmd += ["--intensity_range", json.dumps(bounds)]
            entry["intensity_range"] = bounds
        entry["streamed_seconds"], entry["streamed_peak_rss_gb"], rc = run_measured(cmd, os.path.join(folder, "l.log"))
        if rc:
            raise RuntimeError(f"streamed run failed (exit {rc}), see {folder}/l.log")
        streamed = tifffile.memmap(os.path.join(folder, "large", "mosaic_instances.tif"), mode="r")
        entry["instances"] = int(np.asarray(streamed).max())
        if side in in_memory:
            cmd = _bundle(["inference.json"], os.path.dirname(image), os.path.join(folder, "mem"), ckpt_dir)
            seconds, rss, rc = run_measured(cmd, os.path.join(folder, "m.log"))
            entry.update(in_memory_seconds=seconds, in_memory_peak_rss_gb=rss, in_memory_exit=rc)
            if rc == 0:
                whole = tifffile.imread(os.path.join(folder, "mem", "mosaic_instances.tif")).astype(np.int64)
                entry["same_instances"] = same_instances(np.asarray(streamed, np.int64), whole)
        if side == max(sides):  # a crop on the tile grid (multiples of 256 - 64) against the whole image
            r0, r1 = 192 * (side // 384), 192 * (side // 384) + min(side // 2, 2304)
            crop_dir = os.path.join(folder, "crop_in")
            os.makedirs(crop_dir, exist_ok=True)
            tifffile.imwrite(os.path.join(crop_dir, "mosaic.tif"), mosaic.window((r0, r1), (r0, r1)), tile=(256, 256))
            cmd = _bundle(["inference.json", "large_image.json"], crop_dir, os.path.join(folder, "crop"), ckpt_dir)
            cmd += ["--intensity_range", json.dumps(bounds)]
            _, _, rc = run_measured(cmd, os.path.join(folder, "c.log"))
            crop = tifffile.imread(os.path.join(folder, "crop", "mosaic_instances.tif")).astype(np.int64)
            part = np.asarray(streamed[r0:r1, r0:r1], np.int64)
            entry["crop"] = [r0, r1]
            entry["crop_same_instances"] = rc == 0 and same_instances(_interior(part, 256), _interior(crop, 256))
        del streamed
        measured[side] = entry
        print(json.dumps(entry), flush=True)
        if results:
            _record(results, sorted(measured.values(), key=lambda m: m["side"]))
    if temp:
        temp.cleanup()
    return sorted(measured.values(), key=lambda m: m["side"])


def _row(m: dict) -> list[str]:
    mem = m.get("in_memory_seconds") is not None
    failed = mem and m.get("in_memory_exit")
    return [
        str(m["side"]),
        f"{m['megapixels']:.0f}",
        str(m["instances"]),
        f"{m['streamed_seconds']:.0f}",
        f"{m['streamed_peak_rss_gb']:.2f}",
        (f"failed (exit {m['in_memory_exit']})" if failed else f"{m['in_memory_seconds']:.0f}") if mem else "not run",
        f"{m['in_memory_peak_rss_gb']:.2f}" if mem else "not run",
        f"{m['streamed_peak_rss_gb'] / m['in_memory_peak_rss_gb']:.2f}x" if mem and not failed else "",
        ("yes" if m.get("same_instances") else "no") if "same_instances" in m else "",
    ]


def _record(results: str, measurements: list[dict]) -> None:
    import torch

    from networks.apps.evidence import machine_description, record_measurement

    command = "python benchmarks/large_image.py " + " ".join(sys.argv[1:])
    notes = [
        "one process per command, peak resident memory from getrusage; tiles 256 px, overlap 64, CPU",
        "same instances: the two commands partition the pixels alike; beyond 4 megapixels large_image.json takes its "
        "intensity percentiles from a grid of about 4 million pixels, inference.json from every pixel",
    ]
    for m in measurements:
        if "crop_same_instances" in m:
            r0, r1 = m["crop"]
            notes.append(f"{m['side']} px: a run on the crop rows and columns {r0}-{r1 - 1} (on the tile grid) gives "
                         f"{'the same' if m['crop_same_instances'] else 'different'} instances a tile or more inside "
                         "the crop")  # fmt: skip
    record_measurement(REPO, results, "Mask R-CNN bundle on large mosaics: streamed from the file vs in memory",
                       COLUMNS, [_row(m) for m in measurements], command, os.path.join("docs", "benchmarks.md"),
                       f"{machine_description()}, torch {torch.__version__}", notes,
                       measurements=measurements)  # fmt: skip


if __name__ == "__main__":
    fire.Fire(main, serialize=lambda _: None)
