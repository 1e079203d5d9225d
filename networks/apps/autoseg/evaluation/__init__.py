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

"""Evaluation: nnU-Net's metrics, the validation of trained folds, cross-validation summaries and the choice of the
best configuration with its postprocessing."""

from .metrics import evaluate_cases, label_metrics
from .selection import find_best
from .validation import crossval_summary, validate_fold

__all__ = ["evaluate_cases", "label_metrics", "find_best", "crossval_summary", "validate_fold"]
