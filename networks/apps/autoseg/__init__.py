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

"""nnU-Net v2's self-configuring segmentation recipe built from MONAI parts.

:class:`AutoSegRunner` is the pipeline (its methods are the verbs; ``autoseg`` is the command). The folder shows
the pipeline; each stage imports only the shared modules and the stages before it:

* shared: ``dataset`` (nnU-Net v2 raw or MSD folders, integrity checks), ``image_io`` (images in nnU-Net's axis
  order), ``plans`` (the plans model), ``work_folder`` (every path of the work folder), ``splits``, ``parallel``;
* ``planning``: fingerprint and experiment planners;
* ``preprocessing``: the preprocessed cache and the bundles' load transform;
* ``training``: the generated bundle per configuration and fold training;
* ``inference``: prediction, ensembles, postprocessing (nothing of training);
* ``evaluation``: validation of folds, cross-validation and the choice of the best configuration;
* ``runner`` and ``cli``: the verbs.
"""

from .dataset import DatasetIntegrityError, RawDataset, load_raw_dataset
from .inference import MONAILayoutd, RestoreGeometryd, SaveCased, group_channel_files, predict_cases, window_inferer
from .planning import PLANNERS, CPUPlanner, ExperimentPlanner, ResEncMPlanner, extract_fingerprint, plan_experiment
from .plans import Plans
from .preprocessing import LoadCased, preprocess_dataset
from .runner import AutoSegRunner
from .splits import fold_datalist, kfold_splits
from .training import PatchDataset, augmentation_settings, write_bundle
from .work_folder import WorkFolder

__all__ = [
    "AutoSegRunner",
    "Plans",
    "WorkFolder",
    "DatasetIntegrityError",
    "RawDataset",
    "load_raw_dataset",
    "extract_fingerprint",
    "PLANNERS",
    "ExperimentPlanner",
    "ResEncMPlanner",
    "CPUPlanner",
    "plan_experiment",
    "preprocess_dataset",
    "write_bundle",
    "PatchDataset",
    "augmentation_settings",
    "group_channel_files",
    "predict_cases",
    "window_inferer",
    "fold_datalist",
    "kfold_splits",
    "LoadCased",
    "RestoreGeometryd",
    "SaveCased",
    "MONAILayoutd",
]
