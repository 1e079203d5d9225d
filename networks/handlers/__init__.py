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

"""Ignite handlers shared by the zoo's bundles."""

from __future__ import annotations

from .checkpoint import AtomicCheckpointSaver, AtomicDiskSaver, ResumeCheckpointLoader
from .classification_report import (
    AttentionMapSaver,
    ClassificationEvaluationSaver,
    ClassificationPredictionSaver,
    stage_gates,
)
from .console import PassProgress, TrainingConsole
from .cpu_budget import CPUTimeBudget
from .figure import SegmentationFigureSaver
from .freeze import EncoderFreezeHandler
from .instance_report import COCOPredictionSaver, InstanceEvaluationSaver, save_outline_figure
from .metrics_json import MetricsJSONSaver
from .training_loop import GradientClipping
from .vision_language import GroundingEvaluationSaver, ZeroShotEvaluationSaver

__all__ = [
    "AtomicCheckpointSaver",
    "AtomicDiskSaver",
    "ResumeCheckpointLoader",
    "CPUTimeBudget",
    "SegmentationFigureSaver",
    "EncoderFreezeHandler",
    "InstanceEvaluationSaver",
    "COCOPredictionSaver",
    "save_outline_figure",
    "MetricsJSONSaver",
    "GradientClipping",
    "TrainingConsole",
    "PassProgress",
    "ClassificationEvaluationSaver",
    "ClassificationPredictionSaver",
    "AttentionMapSaver",
    "stage_gates",
    "ZeroShotEvaluationSaver",
    "GroundingEvaluationSaver",
]
