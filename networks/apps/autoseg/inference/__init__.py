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

"""Inference: sliding-window prediction with mirror TTA averaged over folds and configurations, back to each input's
geometry; ensembles of prediction folders; nnU-Net's largest-component postprocessing. Imports nothing of training."""

from .ensemble import ensemble_folders
from .postprocessing import apply_postprocessing
from .predict import ConfigurationModel, group_channel_files, predict_cases, window_inferer
from .transforms import MONAILayoutd, RestoreGeometryd, SaveCased

__all__ = [
    "ensemble_folders",
    "apply_postprocessing",
    "ConfigurationModel",
    "group_channel_files",
    "predict_cases",
    "window_inferer",
    "MONAILayoutd",
    "RestoreGeometryd",
    "SaveCased",
]
