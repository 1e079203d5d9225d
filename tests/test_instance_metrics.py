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

"""Instance metrics against their reference implementations on real nuclei masks (DSB2018 + ndev)."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch
from scipy import ndimage

from networks.metrics import (
    InstanceMatchingMetric,
    aggregated_jaccard_index,
    coco_dataset,
    coco_mask_metrics,
    instance_matching,
    instance_matching_dataset,
    label_map_to_coco,
    panoptic_quality,
    same_instances,
)

THRESHOLDS = [0.1, 0.3, 0.5, 0.7, 0.9]


@pytest.fixture(scope="module")
def real_pairs(nuclei2d_dir):
    """(truth, prediction) pairs: real instance maps and predictions with the errors real models make."""
    doc = json.loads((nuclei2d_dir / "dataset.json").read_text())
    truths = [np.asarray(nib.load(nuclei2d_dir / it["instance"]).dataobj) for it in doc["test"] + doc["validation"]]
    rng = np.random.default_rng(0)
    pairs = []
    for k, t in enumerate(truths):
        kind = k % 3
        if kind == 0:  # connected components of the foreground: touching nuclei merge
            p = ndimage.label(t > 0)[0]
        elif kind == 1:  # eroded / dilated instances, some missed, ids scrambled (not consecutive)
            ids = np.unique(t)[1:]
            p = np.zeros_like(t)
            for i in ids:
                if rng.random() < 0.15:
                    continue
                m = t == i
                m = ndimage.binary_dilation(m) if rng.random() < 0.5 else ndimage.binary_erosion(m)
                p[m & (p == 0)] = int(i) * 7 + 3
        else:  # shifted by a few pixels, plus false positives
            p = np.roll(t, (2, -1), axis=(0, 1)) * 2
            p[:12, :12] = 999
        pairs.append((t.astype(np.int32), p.astype(np.int32)))
    return pairs


def test_instance_matching_equals_stardist(real_pairs):
    from stardist.matching import matching, matching_dataset

    keys = ["tp", "fp", "fn", "precision", "recall", "accuracy", "f1", "mean_matched_score", "mean_true_score",
            "panoptic_quality"]  # fmt: skip
    for t, p in real_pairs:
        ours = instance_matching(t, p, THRESHOLDS)
        ref = matching(t, p, thresh=THRESHOLDS)
        for o, r in zip(ours, ref):
            for key in keys:
                assert o[key] == pytest.approx(float(getattr(r, key)), abs=1e-6), key
    truths, preds = zip(*real_pairs)
    ours = instance_matching_dataset(truths, preds, THRESHOLDS)
    ref = matching_dataset(truths, preds, thresh=THRESHOLDS, show_progress=False)
    for o, r in zip(ours, ref):
        for key in keys:
            assert o[key] == pytest.approx(float(getattr(r, key)), abs=1e-6), key
    assert 0 < ours[2]["accuracy"] < 1  # the pairs really differ


def test_panoptic_quality_equals_monai(real_pairs):
    from monai.metrics import compute_panoptic_quality

    for t, p in real_pairs:
        ours = panoptic_quality(t, p)
        pt, tt = torch.as_tensor(p.astype(np.int64)), torch.as_tensor(t.astype(np.int64))
        for name, key in (("pq", "pq"), ("rq", "dq"), ("sq", "sq")):
            ref = compute_panoptic_quality(pt, tt, metric_name=name).item()
            assert ours[key] == pytest.approx(ref, abs=1e-5), key
        # StarDist's PQ also counts pairs with IoU exactly 0.5 (>=), MONAI's and HoVer-Net's do not (>)
        assert ours["pq"] <= instance_matching(t, p)["panoptic_quality"] + 1e-12


def _aji_by_definition(t: np.ndarray, p: np.ndarray, plus: bool) -> float:
    """AJI / AJI+ straight from the papers' definitions, one mask at a time (slow, obviously correct)."""
    from scipy.optimize import linear_sum_assignment

    t_ids, p_ids = [i for i in np.unique(t) if i], [j for j in np.unique(p) if j]
    tm, pm = [t == i for i in t_ids], [p == j for j in p_ids]
    iou = np.array([[(a & b).sum() / (a | b).sum() for b in pm] for a in tm])
    if plus:
        pairs = [(r, c) for r, c in zip(*linear_sum_assignment(-iou)) if iou[r, c] > 0]
    else:
        pairs = [(r, int(iou[r].argmax())) for r in range(len(tm)) if iou[r].max() > 0]
    inter = sum((tm[r] & pm[c]).sum() for r, c in pairs)
    union = sum((tm[r] | pm[c]).sum() for r, c in pairs)
    used_t, used_p = {r for r, _ in pairs}, {c for _, c in pairs}
    union += sum(tm[r].sum() for r in range(len(tm)) if r not in used_t)
    union += sum(pm[c].sum() for c in range(len(pm)) if c not in used_p)
    return inter / union


def test_aggregated_jaccard_index_follows_its_definition(real_pairs):
    for t, p in real_pairs[:4]:
        for plus in (False, True):
            assert aggregated_jaccard_index(t, p, plus) == pytest.approx(_aji_by_definition(t, p, plus), abs=1e-9)
    # merged components: AJI counts the merged prediction once per nucleus it covers, AJI+ only once
    t, p = real_pairs[0]
    assert aggregated_jaccard_index(t, p, plus=True) > aggregated_jaccard_index(t, p)
    assert aggregated_jaccard_index(t, t) == 1.0 and aggregated_jaccard_index(t, np.zeros_like(t)) == 0.0


def test_coco_metrics_equal_pycocotools(real_pairs, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    truths, preds = zip(*real_pairs)
    rng = np.random.default_rng(1)
    scores = [{int(i): float(rng.random()) for i in np.unique(p)[1:]} for p in preds]
    ours = coco_mask_metrics(truths, preds, scores, max_detections=100)
    # reference: pycocotools' own path from JSON files, summarised by COCOeval itself (100 detections per image)
    (tmp_path / "gt.json").write_text(json.dumps(coco_dataset(truths)))
    results = [a for i, (p, s) in enumerate(zip(preds, scores), 1) for a in label_map_to_coco(p, i, s)]
    (tmp_path / "dt.json").write_text(json.dumps(results))
    gt = COCO(str(tmp_path / "gt.json"))
    ev = COCOeval(gt, gt.loadRes(str(tmp_path / "dt.json")), iouType="segm")
    ev.evaluate(), ev.accumulate(), ev.summarize()
    for key, index in (("mAP", 0), ("AP50", 1), ("AP75", 2), ("AR", 8)):
        assert ours[key] == pytest.approx(ev.stats[index], abs=1e-12), key
    # a cap above the largest count keeps every detection: recall can only grow
    assert coco_mask_metrics(truths, preds, scores, max_detections=1000)["AR"] >= ours["AR"]
    perfect = coco_mask_metrics(truths, truths)
    assert perfect["mAP"] == pytest.approx(1.0) and perfect["AR"] == pytest.approx(1.0)


def test_instance_matching_metric_sums_counts_over_images(real_pairs):
    truths, preds = zip(*real_pairs)
    metric = InstanceMatchingMetric(metric="accuracy")
    for t, p in real_pairs:
        metric(torch.as_tensor(p)[None, None], torch.as_tensor(t)[None, None])
    expected = instance_matching_dataset(truths, preds)
    assert metric.aggregate().item() == pytest.approx(expected["accuracy"])
    assert metric.get_buffer().shape == (len(real_pairs), 6)
    # semantic predictions: foreground split into components
    t = real_pairs[0][0]
    onehot = torch.stack([torch.as_tensor(t == 0), torch.as_tensor(t > 0)]).float()[None]
    f1 = InstanceMatchingMetric("f1", split_foreground=True)
    f1(onehot, torch.as_tensor(t)[None, None])
    assert f1.aggregate().item() == pytest.approx(instance_matching(t, ndimage.label(t > 0)[0])["f1"])


def test_bad_label_maps_are_named():
    with pytest.raises(ValueError, match="y_pred"):
        instance_matching(np.zeros((4, 4), int), np.full((4, 4), 0.5))
    with pytest.raises(ValueError, match="same shape"):
        aggregated_jaccard_index(np.zeros((4, 4), int), np.zeros((4, 5), int))


def test_same_instances_ignores_ids_but_not_splits_or_merges(real_pairs):
    truth, pred = real_pairs[0]
    ids = np.unique(truth)[1:]
    renumbered = np.zeros_like(truth)
    renumbered[truth > 0] = np.random.default_rng(0).permutation(ids)[np.searchsorted(ids, truth[truth > 0])] + 1000
    assert same_instances(truth, renumbered) and same_instances(renumbered, truth)
    merged = np.where(truth == ids[1], ids[0], truth)
    assert not same_instances(truth, merged) and not same_instances(merged, truth)
    assert not same_instances(truth, pred) and not same_instances(truth, truth[:, :-1])


def test_coco_annotations_of_many_instances():
    grid = np.zeros((60, 60), np.int32)
    grid[::3, ::3] = np.arange(1, 401).reshape(20, 20)  # 400 one-pixel instances (pycocotools' batch area overflows)
    anns = label_map_to_coco(grid, 1, transpose=True)
    assert len(anns) == 400 and all(a["area"] == 1.0 for a in anns)
    assert anns[1]["bbox"] == [0.0, 3.0, 1.0, 1.0]  # (x, y, w, h) in rows/columns of the transposed map


def test_coco_masks_from_bounding_boxes_equal_full_size_encoding(real_pairs):
    """Each instance is run-length encoded from its bounding box; the result is byte for byte what pycocotools
    encodes from the full-size mask, also for instances in several pieces and runs that wrap from the last row of a
    column to the first row of the next."""
    from pycocotools import mask as mask_utils

    edge = np.zeros((6, 5), np.int32)
    edge[4:, 1] = 1
    edge[:2, 2] = 1  # wraps across the column boundary in column-major order
    edge[3, 4] = 1  # a second piece
    edge[:, 3] = 2  # a full column
    edge[5, 4] = 3  # the last pixel
    maps = [edge] + [p for _, p in real_pairs] + [t for t, _ in real_pairs]
    for label_map in maps:
        for transpose in (False, True):
            rows_cols = label_map.T if transpose else label_map
            anns = label_map_to_coco(label_map, 1, transpose=transpose)
            assert [a["instance_id"] for a in anns] == [int(i) for i in np.unique(rows_cols)[1:]]
            for ann in anns:
                full = mask_utils.encode(np.asfortranarray((rows_cols == ann["instance_id"]).astype(np.uint8)))
                assert ann["segmentation"]["counts"] == full["counts"].decode("ascii")
                assert ann["segmentation"]["size"] == list(rows_cols.shape)
                assert ann["area"] == float(mask_utils.area(full))
                assert ann["bbox"] == [float(v) for v in mask_utils.toBbox(full)]
