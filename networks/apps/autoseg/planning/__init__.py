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

"""Planning: the dataset fingerprint and nnU-Net's experiment planners (network topology, patch and batch size,
spacings), plus the CPU planner's measured time model."""

from .fingerprint import extract_fingerprint
from .planner import PLANNERS, CPUPlanner, ExperimentPlanner, ResEncMPlanner, plan_experiment, write_plans

__all__ = [
    "extract_fingerprint",
    "PLANNERS",
    "ExperimentPlanner",
    "ResEncMPlanner",
    "CPUPlanner",
    "plan_experiment",
    "write_plans",
]
