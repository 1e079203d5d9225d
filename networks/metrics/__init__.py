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

"""Metrics shared by the zoo's bundles: the instance segmentation metrics of the nuclei literature,
classification top-k accuracy and per-class reports."""

from __future__ import annotations

from .calibration import apply_calibration, expected_calibration_error, fit_calibration
from .classification import TopKAccuracyMetric, classification_report
from .coco import coco_dataset, coco_mask_metrics, instance_boxes, label_map_to_coco, write_coco_predictions
from .instance import (
    COUNT_KEYS,
    aggregated_jaccard_index,
    instance_matching,
    instance_matching_dataset,
    instance_overlap,
    panoptic_quality,
    same_instances,
    summarize_matching,
)
from .matching_metric import InstanceMatchingMetric, foreground_instances
from .multilabel import map_mask_overlap, multilabel_report
from .report import EVAL_THRESHOLDS, instance_report

__all__ = [
    "fit_calibration",
    "apply_calibration",
    "expected_calibration_error",
    "multilabel_report",
    "map_mask_overlap",
    "COUNT_KEYS",
    "instance_overlap",
    "instance_matching",
    "instance_matching_dataset",
    "summarize_matching",
    "aggregated_jaccard_index",
    "panoptic_quality",
    "same_instances",
    "coco_dataset",
    "coco_mask_metrics",
    "label_map_to_coco",
    "instance_boxes",
    "write_coco_predictions",
    "InstanceMatchingMetric",
    "foreground_instances",
    "EVAL_THRESHOLDS",
    "instance_report",
    "TopKAccuracyMetric",
    "classification_report",
]
