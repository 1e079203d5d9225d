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

"""The plans model: one object that answers every question about a plans file (nnunetv2's ``PlansManager`` and
``ConfigurationManager`` in one), and the geometry rules every stage shares.

A plans file is the dict nnunetv2 writes (``plans.json`` / ``nnUNetPlans.json``); its ``dataset.json`` sits beside
it. Stages that work on plain dicts call :func:`resolve_configuration`; the rest hold a :class:`Plans`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "ANISO_THRESHOLD",
    "NETWORKS",
    "REQUIRED_KEYS",
    "compute_new_shape",
    "resolve_configuration",
    "network_for",
    "Plans",
]

# nnU-Net's one anisotropy constant: an axis whose spacing is 3x the next coarsest is anisotropic (planning,
# resampling), and a 3D patch 3x longer in-plane than across slices is augmented in 2D (training)
ANISO_THRESHOLD = 3
NETWORKS = ("auto", "plain_conv_unet", "residual_encoder_unet", "swin_umamba")
REQUIRED_KEYS = ("configurations", "transpose_forward", "foreground_intensity_properties_per_channel")


def compute_new_shape(old_shape: Sequence[int], old_spacing: Sequence[float], new_spacing: Sequence[float]):
    """Shape after resampling from ``old_spacing`` to ``new_spacing`` (nnU-Net rounds half to even)."""
    return np.array([int(round(i / j * k)) for i, j, k in zip(old_spacing, new_spacing, old_shape)])


def resolve_configuration(plans: dict, name: str, _seen: tuple = ()) -> dict:
    """A configuration with ``inherits_from`` chains resolved (as nnunetv2's PlansManager)."""
    if name in _seen:
        raise ValueError(f"plans: configurations inherit from each other in a cycle: {' -> '.join([*_seen, name])}")
    if name not in plans["configurations"]:
        if not _seen:
            raise ValueError(f"plans: no configuration {name!r}; choose from {sorted(plans['configurations'])}")
        raise ValueError(f"plans: configuration {_seen[-1]!r} inherits from {name!r}, which the plans do not define")
    configuration = dict(plans["configurations"][name])
    parent = configuration.pop("inherits_from", None)
    if parent is not None:
        configuration = {**resolve_configuration(plans, parent, (*_seen, name)), **configuration}
    return configuration


def network_for(configuration: dict, network: str = "auto") -> str:
    """The network template of a resolved configuration: ``auto`` follows the plan's architecture class."""
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
    if network == "auto":
        name = configuration["architecture"]["network_class_name"].rsplit(".", 1)[-1]
        if name not in ("PlainConvUNet", "ResidualEncoderUNet"):
            raise ValueError(f"plans: architecture {name!r} has no MONAI template; use PlainConvUNet or ResEnc plans")
        return "plain_conv_unet" if name == "PlainConvUNet" else "residual_encoder_unet"
    if network == "swin_umamba" and len(configuration["patch_size"]) != 2:
        raise ValueError("network 'swin_umamba' is a 2D network: choose a 2d configuration")
    return network


def _read_json(path: Path, hint: str) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{path}: not found ({hint})") from err
    except ValueError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err


class Plans:
    """A plans file and its ``dataset.json``.

    Args:
        plans: the plans dict (nnunetv2's layout).
        dataset_json: the dataset description the plans were made for (labels, channels, file ending).
        source: where the plans came from, named in errors.
    """

    def __init__(self, plans: dict, dataset_json: dict, source: str = "plans") -> None:
        missing = [k for k in REQUIRED_KEYS if k not in plans]
        if missing:
            raise ValueError(f"{source}: not a plans file, keys {missing} are missing")
        self.raw = plans
        self.dataset_json = dataset_json
        self.source = source

    @classmethod
    def load(
        cls,
        plans_file: str | os.PathLike,
        dataset_json_file: str | os.PathLike,
        hint: str = "run `autoseg plan` first, or use the copy a generated bundle ships in configs/",
    ) -> Plans:
        """Read and check a plans file and its ``dataset.json``; errors name the file that is missing or invalid."""
        plans = _read_json(Path(plans_file), hint)
        return cls(plans, _read_json(Path(dataset_json_file), hint), source=str(plans_file))

    @property
    def name(self) -> str:
        return self.raw["plans_name"]

    @property
    def foreground_labels(self) -> list[int]:
        return sorted({int(v) for v in self.dataset_json["labels"].values()} - {0})

    @property
    def num_channels(self) -> int:
        return len(self.dataset_json["channel_names"])

    @property
    def file_ending(self) -> str:
        return self.dataset_json["file_ending"]

    def configuration(self, name: str) -> dict:
        """The configuration ``name`` with its ``inherits_from`` chain resolved."""
        return resolve_configuration(self.raw, name)

    def check_configurations(self, names: Sequence[str]) -> list[str]:
        """``names`` as a list; an error naming the plans file lists those it does not define."""
        unknown = [n for n in names if n not in self.raw["configurations"]]
        if unknown:
            raise ValueError(
                f"{self.source}: no configuration(s) {unknown}; choose from {sorted(self.raw['configurations'])}"
            )
        return list(names)

    def preprocessed_configurations(self) -> list[str]:
        """Configurations with their own preprocessed data (``data_identifier``), in the plans' order."""
        return [n for n, c in self.raw["configurations"].items() if "data_identifier" in c]

    def trainable_configurations(self) -> list[str]:
        """Configurations with their own data and patch (the cascade needs a previous stage: not trained)."""
        return [n for n, c in self.raw["configurations"].items() if "data_identifier" in c and "patch_size" in c]

    def data_identifier(self, configuration: str) -> str:
        return self.configuration(configuration)["data_identifier"]

    def network(self, configuration: str, network: str = "auto") -> str:
        """The network template that ``network`` means for ``configuration``."""
        return network_for(self.configuration(configuration), network)

    def bundle_name(self, configuration: str, network: str = "auto") -> str:
        """``<plans_name>_<configuration>``, with the network appended when it is not the plan's own."""
        return f"{self.name}_{configuration}" + ("" if network == "auto" else f"_{network}")

    def summary(self) -> str:
        """One line per configuration: spacing, patch, batch, stages, and the CPU plan's schedule if any."""
        lines = [
            f"plans {self.name} ({self.raw['experiment_planner_used']}), transpose {self.raw['transpose_forward']}"
        ]
        for name, own in self.raw["configurations"].items():
            if "patch_size" not in own:
                lines.append(
                    f"  {name}: inherits {own.get('inherits_from')}, previous stage {own.get('previous_stage')}"
                )
                continue
            c = self.configuration(name)
            arch = c["architecture"]["arch_kwargs"]
            line = (
                f"  {name}: spacing {[round(s, 4) for s in c['spacing']]}, patch {c['patch_size']}, batch "
                f"{c['batch_size']}, stages {arch['n_stages']}, median shape "
                f"{[round(s) for s in c['median_image_size_in_voxels']]}, norm {c['normalization_schemes']}"
            )
            if "cpu_time_model" in c:
                model = c["cpu_time_model"]
                line += (
                    f", predicted {model['predicted_seconds_per_iteration']:.2f} s/iteration, "
                    f"{model['planned_num_epochs']} epochs x {model['num_iterations_per_epoch']} in "
                    f"{model['training_hours']:g} h"
                )
            lines.append(line)
        return "\n".join(lines)
