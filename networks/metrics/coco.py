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

"""COCO mask AP / AR of instance label maps, computed by pycocotools (the reference implementation)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

__all__ = ["label_map_to_coco", "coco_dataset", "coco_mask_metrics", "instance_boxes", "write_coco_predictions"]


def _mask_utils():
    try:
        from pycocotools import mask as mask_utils
    except ImportError as err:  # a regular dependency; say what to install if an environment lacks it
        raise ImportError("COCO metrics need pycocotools: pip install pycocotools") from err
    return mask_utils


def _rle_counts(crop: np.ndarray, y0: int, x0: int, height: int, width: int) -> list[int]:
    """
    Uncompressed COCO RLE counts (alternating background / foreground run lengths in column-major order, starting
    with background) of a mask given by its boolean bounding-box crop at row ``y0``, column ``x0`` of a ``height`` x
    ``width`` image: what ``pycocotools.mask.encode`` of the full-size mask counts, without building that mask.
    """
    padded = np.zeros((crop.shape[0] + 2, crop.shape[1]), np.int8)
    padded[1:-1] = crop
    edges = np.diff(padded, axis=0).T  # per column (column-major order): +1 where a run starts, -1 past its end
    cols, rows = np.nonzero(edges == 1)
    starts = (x0 + cols) * height + y0 + rows
    cols, rows = np.nonzero(edges == -1)
    ends = (x0 + cols) * height + y0 + rows
    joined = np.nonzero(starts[1:] == ends[:-1])[0]  # a run down to the last row continuing at row 0 of the next column
    starts, ends = np.delete(starts, joined + 1), np.delete(ends, joined)
    counts = np.empty(2 * len(starts), np.int64)
    counts[0::2] = starts - np.concatenate([[0], ends[:-1]])
    counts[1::2] = ends - starts
    tail = height * width - int(ends[-1]) if len(ends) else height * width
    return counts.tolist() + ([tail] if tail else [])


def label_map_to_coco(
    label_map: np.ndarray,
    image_id: int,
    scores: Mapping[int, float] | None = None,
    category_id: int = 1,
    transpose: bool = False,
    first_id: int = 1,
) -> list[dict]:
    """
    COCO annotations (run-length encoded masks) of every instance of a 2D label map.

    Args:
        label_map: 2D integer map, 0 = background.
        image_id: COCO image id of the annotations.
        scores: instance id -> confidence; with it, each annotation gets a ``score`` (a detection result).
        category_id: COCO category of every instance.
        transpose: the map is in MONAI's (x, y) order (NIfTI, or an image read by ``LoadImage``): COCO's masks,
            boxes and ``width``/``height`` are then written in the image's (row, column) order.
        first_id: annotation id of the first instance (ids increase by one).

    Returns:
        list of dicts with ``id, image_id, category_id, segmentation (RLE), area, bbox (x, y, w), iscrowd``
        (and ``score`` when ``scores`` is given).
    """
    label_map = np.asarray(label_map)
    if label_map.ndim != 2:
        raise ValueError(f"expected a 2D label map, got shape {label_map.shape}.")
    rows_cols = label_map.T if transpose else label_map
    # each instance is encoded from its bounding box: O(pixels) for the whole map, not O(instances x pixels)
    boxes_of = ndimage.find_objects(rows_cols.astype(np.int64, copy=False))
    out = []
    for i, box in enumerate(boxes_of, start=1):
        if box is not None:
            score = None if scores is None else float(scores.get(i, 1.0))
            out.append(_annotation(rows_cols, i, box, first_id + len(out), image_id, category_id, score))
    return out


def _annotation(rows_cols, instance: int, box: tuple[slice, slice], ann_id: int, image_id: int, category_id: int,
                score: float | None) -> dict:  # fmt: skip
    """The COCO annotation of instance ``instance`` of a (row, column) label map (an array or a memory map), given
    its bounding box: only the box is read."""
    ys, xs = box
    height, width = rows_cols.shape
    counts = _rle_counts(np.asarray(rows_cols[ys, xs]) == instance, ys.start, xs.start, height, width)
    rle = _mask_utils().frPyObjects({"counts": counts, "size": [height, width]}, height, width)
    rle["counts"] = rle["counts"].decode("ascii")
    ann = {
        "id": int(ann_id),
        "image_id": int(image_id),
        "category_id": int(category_id),
        "segmentation": rle,
        "area": float(sum(counts[1::2])),  # foreground runs (a trailing background run is even-indexed)
        "bbox": [float(xs.start), float(ys.start), float(xs.stop - xs.start), float(ys.stop - ys.start)],
        "iscrowd": 0,
        "instance_id": int(instance),
    }
    if score is not None:
        ann["score"] = score
    return ann


def instance_boxes(label_map, strip: int = 512) -> list[tuple[slice, slice] | None]:
    """
    Bounding boxes of the instances of a 2D (row, column) label map, as ``scipy.ndimage.find_objects`` gives them,
    found strip by strip of ``strip`` rows, so that a memory-mapped map of any size is never read whole.
    """
    bounds = np.zeros((0, 4), np.int64)  # per id: first row, last row + 1, first column, last column + 1
    for r0 in range(0, label_map.shape[0], strip):
        part = np.asarray(label_map[r0 : r0 + strip]).astype(np.int64, copy=False)
        boxes = ndimage.find_objects(part)
        if len(boxes) > len(bounds):
            grown = np.zeros((len(boxes), 4), np.int64)
            grown[:, 0] = grown[:, 2] = np.iinfo(np.int64).max
            grown[: len(bounds)] = bounds
            bounds = grown
        for i, box in enumerate(boxes):
            if box is not None:
                ys, xs = box
                b = bounds[i]
                b[:] = min(b[0], r0 + ys.start), max(b[1], r0 + ys.stop), min(b[2], xs.start), max(b[3], xs.stop)
    return [None if b[1] == 0 else (slice(b[0], b[1]), slice(b[2], b[3])) for b in bounds.tolist()]


def write_coco_predictions(
    label_map,
    path: str,
    file_name: str,
    scores: Mapping[int, float] | None = None,
    category: str = "nucleus",
) -> int:
    """
    Write the instances of one 2D (row, column) label map (an array or a memory-mapped file of any size) as a COCO
    detection result file (one image, ``annotations`` with RLE masks and ``score``), annotation by annotation: each
    mask is encoded from its bounding box, and the JSON is streamed to ``path + ".partial"``, renamed when complete.

    Returns:
        the number of annotations written.
    """
    height, width = label_map.shape
    head = {"images": [{"id": 1, "file_name": file_name, "height": int(height), "width": int(width)}],
            "categories": [{"id": 1, "name": category}]}  # fmt: skip
    count = 0
    partial = path + ".partial"
    with open(partial, "w") as f:
        f.write(json.dumps(head)[:-1] + ', "annotations": [')
        for i, box in enumerate(instance_boxes(label_map), start=1):
            if box is None:
                continue
            score = None if scores is None else float(scores.get(i, 1.0))
            f.write((", " if count else "") + json.dumps(_annotation(label_map, i, box, count + 1, 1, 1, score)))
            count += 1
        f.write("]}\n")
    os.replace(partial, path)
    return count


def coco_dataset(
    label_maps: Sequence[np.ndarray],
    file_names: Sequence[str] | None = None,
    transpose: bool = False,
    scores: Sequence[Mapping[int, float] | None] | None = None,
    category: str = "nucleus",
) -> dict:
    """
    A COCO dataset (``images``, ``annotations``, ``categories``) of label maps, image ids 1..n: ground truth, or
    detection results when per-image ``scores`` (instance id -> confidence) are given.
    """
    images, annotations = [], []
    for i, y in enumerate(label_maps, start=1):
        rows, cols = np.asarray(y).T.shape if transpose else np.asarray(y).shape
        name = file_names[i - 1] if file_names is not None else f"image_{i}"
        images.append({"id": i, "file_name": name, "height": int(rows), "width": int(cols)})
        s = scores[i - 1] if scores is not None else None
        annotations += label_map_to_coco(y, i, scores=s, transpose=transpose, first_id=len(annotations) + 1)
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": category}]}


def coco_mask_metrics(
    y_trues: Sequence[np.ndarray],
    y_preds: Sequence[np.ndarray],
    scores: Sequence[Mapping[int, float] | None] | None = None,
    max_detections: int = 1000,
) -> dict:
    """
    COCO mask mAP@[.5:.95], AP50, AP75 and AR of predicted label maps, evaluated by pycocotools' ``COCOeval``.

    pycocotools' summary hard-codes 100 detections per image for mAP, too few for nuclei (a DSB image holds 125):
    the values here are read from ``COCOeval``'s precision/recall arrays at ``max_detections`` exactly as its
    ``summarize`` reads them at 100 (they equal ``stats[0], stats[1], stats[2], stats[8]`` when
    ``max_detections=100``).

    Args:
        y_trues: true label maps (0 = background).
        y_preds: predicted label maps of the same shapes.
        scores: per image, instance id -> confidence (missing ids, or ``None``: 1.0). Without confidences every
            detection ties and AP reflects only which instances are found.
        max_detections: detections per image kept (highest scores first).

    Returns:
        dict with ``mAP, AP50, AP75, AR, max_detections``.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(y_trues) != len(y_preds):
        raise ValueError(f"got {len(y_trues)} true and {len(y_preds)} predicted label maps.")
    scores = list(scores) if scores is not None else [None] * len(y_preds)
    gt = COCO()
    gt.dataset = coco_dataset(y_trues)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress lines
        gt.createIndex()
        results = []
        for i, (y, s) in enumerate(zip(y_preds, scores), start=1):
            results += label_map_to_coco(y, i, scores=s or {}, first_id=len(results) + 1)
        if not results:
            return {"mAP": 0.0, "AP50": 0.0, "AP75": 0.0, "AR": 0.0, "max_detections": int(max_detections)}
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="segm")
        ev.params.maxDets = [1, 10, int(max_detections)]
        ev.evaluate()
        ev.accumulate()
    precision = ev.eval["precision"][:, :, :, 0, -1]  # [iou thresholds, recall points, classes] at area "all"
    recall = ev.eval["recall"][:, :, 0, -1]
    iou_thrs = ev.params.iouThrs

    def mean_valid(values: np.ndarray) -> float:
        valid = values[values > -1]
        return float(valid.mean()) if valid.size else -1.0

    return {
        "mAP": mean_valid(precision),
        "AP50": mean_valid(precision[np.isclose(iou_thrs, 0.5)]),
        "AP75": mean_valid(precision[np.isclose(iou_thrs, 0.75)]),
        "AR": mean_valid(recall),
        "max_detections": int(max_detections),
    }
