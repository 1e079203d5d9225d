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

"""Dictionary and array transforms shared by the zoo's bundles."""

from __future__ import annotations

from .channels import LUMINANCE_WEIGHTS, RGBToLuminance, RGBToLuminanced
from .deep_supervision import SelectFullResolution, SelectFullResolutiond
from .input_checks import CheckInput, CheckInputd, check_class_labels, check_datalist
from .instances import (
    MIN_INSTANCE_AREA,
    InstanceMapToTargets,
    InstanceMapToTargetsd,
    detections_to_instance_map,
    instance_targets,
    split_foreground,
)
from .object_size import (
    OBJECT_SIZE_FILE,
    check_object_size,
    estimate_object_size,
    instance_diameters,
    min_image_side,
    object_size_summary,
    read_object_size,
    resample_weights,
    resize_image,
    resized_shape,
    sample_label_map,
    write_object_size,
)
from .radiograph import LoadMaskStackd, LoadRadiograph, LoadRadiographd
from .spatial import RandRotateScaleCropd

__all__ = [
    "LoadRadiograph",
    "LoadRadiographd",
    "LoadMaskStackd",
    "LUMINANCE_WEIGHTS",
    "RGBToLuminance",
    "RGBToLuminanced",
    "SelectFullResolution",
    "SelectFullResolutiond",
    "RandRotateScaleCropd",
    "CheckInput",
    "CheckInputd",
    "check_datalist",
    "check_class_labels",
    "MIN_INSTANCE_AREA",
    "InstanceMapToTargets",
    "InstanceMapToTargetsd",
    "detections_to_instance_map",
    "instance_targets",
    "split_foreground",
    "OBJECT_SIZE_FILE",
    "check_object_size",
    "estimate_object_size",
    "instance_diameters",
    "min_image_side",
    "object_size_summary",
    "read_object_size",
    "resample_weights",
    "resize_image",
    "resized_shape",
    "sample_label_map",
    "write_object_size",
]
