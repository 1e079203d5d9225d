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

One module per stage, as `monai.apps.auto3dseg`:

* `dataset`: read an nnU-Net v2 raw folder or an MSD/Decathlon folder and check its integrity;
* `image_io`: read images and label maps in nnU-Net's axis order (NIfTI, NRRD, MHA, PNG, TIFF);
* `fingerprint`: crop to nonzero, foreground intensity statistics, spacings and shapes;
* `topology` and `planner`: nnU-Net's `ExperimentPlanner` rules (plus the ResEnc M and a CPU preset);
* `normalization`, `resampling` and `preprocess`: the preprocessed cache the training stage reads;
* `splits`, `patch_sampling`, `transforms` and `bundle`: each configuration as a MONAI bundle that trains on folds;
* `predict`, `evaluation`, `postprocessing`, `training` and `selection`: cross-validation, ensembles, the best choice.
"""

from .bundle import write_bundle
from .dataset import DatasetIntegrityError, RawDataset, load_raw_dataset
from .fingerprint import extract_fingerprint
from .patch_sampling import PatchDataset, augmentation_settings
from .planner import PLANNERS, CPUPlanner, ExperimentPlanner, ResEncMPlanner, plan_experiment
from .predict import group_channel_files, predict_cases, window_inferer
from .preprocess import preprocess_dataset
from .splits import fold_datalist, kfold_splits
from .transforms import LoadCased, RestoreGeometryd, SaveCased

__all__ = [
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
]
