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

"""Instance segmentation with detection models (Mask R-CNN): the trainer, batching of torchvision targets, and
large TIFFs segmented in bounded memory."""

from __future__ import annotations

from .large_images import output_paths, segment_tiff_files
from .trainer import MaskRCNNTrainer, detection_collate

__all__ = ["MaskRCNNTrainer", "detection_collate", "output_paths", "segment_tiff_files"]
