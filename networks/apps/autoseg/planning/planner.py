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

"""Experiment planning with nnU-Net v2's rules: one class whose rules are overridable methods, presets as subclasses.

:class:`ExperimentPlanner` reproduces ``nnunetv2.experiment_planning.experiment_planners.default_experiment_planner``
(2.8.x) decision by decision: median target spacing with the anisotropy rule, transpose (coarsest axis first),
initial patch of 256^3 (2048^2) voxels shaped by the spacing and clipped to the median shape, topology, the
feature-map proxy of GPU memory with its shrink loop, batch size capped at 5% of the dataset, normalisation per
channel, and the 2d / 3d_fullres / 3d_lowres (+ cascade) decision. :class:`ResEncMPlanner` is nnU-Net's ResEnc M
preset. :class:`CPUPlanner` keeps every rule but replaces the memory proxy by a time model for the machine at hand.
The plans dict has nnunetv2's layout, so files compare key by key and nnunetv2 plans are accepted as input.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from networks.data.file_io import write_json_atomic

from ..image_io import reader_name
from ..plans import ANISO_THRESHOLD, compute_new_shape
from .topology import (
    plain_unet_feature_map_size,
    pool_and_conv_props,
    residual_unet_feature_map_size,
    unet_multiply_adds,
)

__all__ = [
    "NORMALIZATION_SCHEMES",
    "ExperimentPlanner",
    "ResEncMPlanner",
    "CPUPlanner",
    "PLANNERS",
    "plan_experiment",
    "to_json",
    "write_plans",
]

logger = logging.getLogger(__name__)

# channel name (case-insensitive) -> (scheme, whether it may normalise inside the nonzero mask only)
NORMALIZATION_SCHEMES = {
    "ct": ("CTNormalization", False),
    "nonorm": ("NoNormalization", False),
    "zscore": ("ZScoreNormalization", True),
    "rescale_to_0_1": ("RescaleTo01Normalization", False),
    "rgb_to_0_1": ("RGBTo01Normalization", False),
}
DEFAULT_NORMALIZATION = ("ZScoreNormalization", True)


def to_json(obj):
    """numpy scalars/arrays and tuples -> plain JSON types, recursively."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [to_json(v) for v in obj]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj


class ExperimentPlanner:
    """nnU-Net v2's default planner (plain U-Net, 8 GB of GPU memory).

    Args:
        dataset_json: nnU-Net v2 ``dataset.json`` content (``channel_names``, ``labels``, ``numTraining``,
            ``file_ending``).
        fingerprint: the ``dataset_fingerprint.json`` content.
        gpu_memory_target_in_gb: memory target the reference values are scaled to (``--memory_target_gb``).
        overwrite_target_spacing: fixed 3d_fullres spacing (array order) instead of the median rule.
        suppress_transpose: keep the axes in file order.
        dataset_name: written to the plans.
        plans_name: overrides the preset's plans name (nnunetv2's ``-overwrite_plans_name``, best practice with a
            non-default memory target or spacing).
    """

    plans_name = "nnUNetPlans"
    network_class_name = "dynamic_network_architectures.architectures.unet.PlainConvUNet"
    blocks_key = "n_conv_per_stage"
    base_num_features = 32
    reference_val_3d = 560000000  # nnU-Net's reference feature-map sizes for 8 GB (tuned to v1's configurations)
    reference_val_2d = 85000000
    reference_val_corresp_gb = 8
    reference_bs_2d = 12
    reference_bs_3d = 2
    featuremap_min_edge_length = 4
    blocks_per_stage_encoder = (2,) * 14
    blocks_per_stage_decoder = (2,) * 13
    min_batch_size = 2
    max_features_2d = 512
    max_features_3d = 320
    max_dataset_covered = 0.05  # a batch sees at most 5% of the dataset's voxels
    lowres_creation_threshold = 0.25  # plan 3d_lowres when the fullres patch covers < 25% of the median image
    lowres_spacing_step = 1.03

    def __init__(
        self,
        dataset_json: dict,
        fingerprint: dict,
        gpu_memory_target_in_gb: float = 8,
        overwrite_target_spacing: Sequence[float] | None = None,
        suppress_transpose: bool = False,
        dataset_name: str = "dataset",
        plans_name: str | None = None,
    ):
        if gpu_memory_target_in_gb <= 0:
            raise ValueError(f"gpu_memory_target_in_gb must be > 0, got {gpu_memory_target_in_gb}")
        self.dataset_json = dataset_json
        self.fingerprint = fingerprint
        self.vram_target_gb = float(gpu_memory_target_in_gb)
        self.overwrite_target_spacing = (
            None if overwrite_target_spacing is None else [float(s) for s in overwrite_target_spacing]
        )
        self.suppress_transpose = suppress_transpose
        self.dataset_name = dataset_name
        if plans_name is not None:  # nnunetv2's -overwrite_plans_name: also names the preprocessed folders
            self.plans_name = plans_name
        channels = dataset_json.get("channel_names", dataset_json.get("modality"))
        self.channel_names = [str(v) for v in channels.values()]
        self.num_classes = len(dataset_json["labels"])

    # ---- spacing, transpose, normalisation
    def determine_fullres_target_spacing(self) -> np.ndarray:
        """Median spacing; for anisotropic data the coarse axis takes its 10th percentile (not finer than in-plane)."""
        if self.overwrite_target_spacing is not None:
            return np.array(self.overwrite_target_spacing)
        spacings = np.vstack(self.fingerprint["spacings"])
        sizes = self.fingerprint["shapes_after_crop"]
        target = np.percentile(spacings, 50, 0)
        target_size = np.percentile(np.vstack(sizes), 50, 0)
        worst = int(np.argmax(target))
        others = [i for i in range(len(target)) if i != worst]
        other_spacings = [target[i] for i in others]
        other_sizes = [target_size[i] for i in others]
        aniso_spacing = target[worst] > ANISO_THRESHOLD * max(other_spacings)
        aniso_voxels = target_size[worst] * ANISO_THRESHOLD < min(other_sizes)
        if aniso_spacing and aniso_voxels:
            coarse = np.percentile(spacings[:, worst], 10)
            if coarse < max(other_spacings):
                coarse = max(max(other_spacings), coarse) + 1e-5
            target[worst] = coarse
        return target

    def determine_transpose(self) -> tuple[list[int], list[int]]:
        """Put the coarsest axis first (2D configurations then slice across it)."""
        if self.suppress_transpose:
            return [0, 1, 2], [0, 1, 2]
        spacing = self.determine_fullres_target_spacing()
        coarsest = int(np.argmax(spacing))
        forward = [coarsest] + [i for i in range(3) if i != coarsest]
        backward = [forward.index(i) for i in range(3)]
        return forward, backward

    def determine_normalization(self) -> tuple[list[str], list[bool]]:
        """Scheme per channel name; mask-only normalisation when cropping removed over a quarter of the image."""
        schemes = [NORMALIZATION_SCHEMES.get(name.casefold(), DEFAULT_NORMALIZATION) for name in self.channel_names]
        statistics = self.fingerprint["foreground_intensity_properties_per_channel"]
        for c, (name, _) in enumerate(schemes):
            if name == "CTNormalization" and not np.isfinite(statistics.get(str(c), {}).get("std", np.nan)):
                raise ValueError(
                    f"channel {c} ({self.channel_names[c]!r}) is CT but the training labels have no foreground voxel, "
                    "so there are no intensity statistics to normalise with; check the labels or name the channel "
                    "otherwise in dataset.json"
                )
        if self.fingerprint["median_relative_size_after_cropping"] < 3 / 4.0:
            use_mask = [masked for _, masked in schemes]
        else:
            use_mask = [False] * len(schemes)
        return [name for name, _ in schemes], use_mask

    # ---- the cost model the patch and batch size are fitted to
    def arch_kwargs(self, dim: int, num_stages: int, kernels, strides) -> dict:
        """``architecture.arch_kwargs`` of a configuration (nnunetv2's names, so its trainers can read them)."""
        max_features = self.max_features_2d if dim == 2 else self.max_features_3d
        conv = "torch.nn.modules.conv.Conv2d" if dim == 2 else "torch.nn.modules.conv.Conv3d"
        norm = f"torch.nn.modules.instancenorm.InstanceNorm{dim}d"
        return {
            "n_stages": num_stages,
            "features_per_stage": tuple(min(max_features, self.base_num_features * 2**i) for i in range(num_stages)),
            "conv_op": conv,
            "kernel_sizes": kernels,
            "strides": strides,
            self.blocks_key: self.blocks_per_stage_encoder[:num_stages],
            "n_conv_per_stage_decoder": self.blocks_per_stage_decoder[: num_stages - 1],
            "conv_bias": True,
            "norm_op": norm,
            "norm_op_kwargs": {"eps": 1e-5, "affine": True},
            "dropout_op": None,
            "dropout_op_kwargs": None,
            "nonlin": "torch.nn.LeakyReLU",
            "nonlin_kwargs": {"inplace": True},
        }

    def estimate_cost(self, patch_size, kwargs: dict) -> float:
        """nnU-Net's GPU memory proxy: elements of all conv feature maps of one sample."""
        return plain_unet_feature_map_size(
            patch_size,
            kwargs["strides"],
            kwargs["features_per_stage"],
            kwargs["n_conv_per_stage"],
            kwargs["n_conv_per_stage_decoder"],
            self.num_classes,
        )

    def cost_budget(self, dim: int) -> float:
        reference = self.reference_val_2d if dim == 2 else self.reference_val_3d
        return reference * (self.vram_target_gb / self.reference_val_corresp_gb)

    def reference_batch_size(self, dim: int) -> int:
        return self.reference_bs_2d if dim == 2 else self.reference_bs_3d

    def too_large(self, cost: float, dim: int) -> bool:
        """Whether a patch of this cost must shrink (the reference may hold more than 2 samples)."""
        return cost / self.reference_batch_size(dim) * 2 > self.cost_budget(dim)

    def batch_size_for(self, cost: float, dim: int) -> int:
        return round((self.cost_budget(dim) / cost) * self.reference_batch_size(dim))

    # ---- one configuration
    def get_plans_for_configuration(
        self, spacing, median_shape, data_identifier: str, approximate_n_voxels_dataset: float
    ) -> dict:
        """Patch size, topology and batch size for a spacing (see the module docstring)."""
        spacing = np.asarray(spacing, dtype=float)
        if not all(s > 0 for s in spacing):
            raise ValueError(f"spacing must be > 0, got {spacing}")
        dim = len(spacing)
        inverse = 1 / spacing
        volume = 256**3 if dim == 3 else 2048**2
        initial = [round(i) for i in inverse * (volume / np.prod(inverse)) ** (1 / dim)]
        initial = np.array([min(i, j) for i, j in zip(initial, median_shape[:dim])])

        def topology(patch):
            _, strides, kernels, patch, divisor = pool_and_conv_props(
                spacing, patch, self.featuremap_min_edge_length, 999999
            )
            return strides, kernels, patch, divisor

        strides, kernels, patch_size, divisor = topology(initial)
        kwargs = self.arch_kwargs(dim, len(strides), kernels, strides)
        cost = self.estimate_cost(patch_size, kwargs)
        while self.too_large(cost, dim):
            # shrink the axis largest relative to the median shape, by the divisor it will have after shrinking
            # (subtracting the current one could skip valid sizes: 256 -> 192 misses 224)
            axis = int(np.argsort([i / j for i, j in zip(patch_size, median_shape[:dim])])[-1])
            patch_size = list(patch_size)
            trial = list(patch_size)
            trial[axis] -= divisor[axis]
            _, _, _, divisor = topology(trial)
            patch_size[axis] -= divisor[axis]
            strides, kernels, patch_size, divisor = topology(patch_size)
            kwargs = self.arch_kwargs(dim, len(strides), kernels, strides)
            cost = self.estimate_cost(patch_size, kwargs)
        batch_size = self.batch_size_for(cost, dim)
        cap = round(approximate_n_voxels_dataset * self.max_dataset_covered / np.prod(patch_size, dtype=np.float64))
        batch_size = max(min(batch_size, cap), self.min_batch_size)
        schemes, use_mask = self.determine_normalization()
        return {
            "data_identifier": data_identifier,
            "preprocessor_name": "DefaultPreprocessor",
            "batch_size": batch_size,
            "patch_size": patch_size,
            "median_image_size_in_voxels": median_shape,
            "spacing": spacing,
            "normalization_schemes": schemes,
            "use_mask_for_norm": use_mask,
            "resampling_fn_data": "resample_data_or_seg_to_shape",
            "resampling_fn_seg": "resample_data_or_seg_to_shape",
            "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
            "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
            "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
            "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
            "architecture": {
                "network_class_name": self.network_class_name,
                "arch_kwargs": kwargs,
                "_kw_requires_import": ("conv_op", "norm_op", "dropout_op", "nonlin"),
            },
        }

    def data_identifier(self, configuration: str) -> str:
        return f"{self.plans_name}_{configuration}"

    # ---- the whole experiment
    def plan_experiment(self) -> dict:
        """All configurations and the plans header, as nnunetv2 writes them."""
        forward, backward = self.determine_transpose()
        fullres_spacing = self.determine_fullres_target_spacing()
        fullres_spacing_t = fullres_spacing[forward]
        new_shapes = [
            compute_new_shape(shape, spacing, fullres_spacing)
            for spacing, shape in zip(self.fingerprint["spacings"], self.fingerprint["shapes_after_crop"])
        ]
        median_shape_t = np.median(new_shapes, 0)[forward]
        num_training = self.dataset_json["numTraining"]
        n_voxels = float(np.prod(median_shape_t, dtype=np.float64) * num_training)
        configurations = {}
        fullres = lowres = None
        if median_shape_t[0] != 1:
            fullres = self.get_plans_for_configuration(
                fullres_spacing_t, median_shape_t, self.data_identifier("3d_fullres"), n_voxels
            )
            lowres = self._plan_lowres(fullres, median_shape_t, num_training)
            fullres["batch_dice"] = lowres is not None
            if lowres is not None:
                lowres["batch_dice"] = False
        plan_2d = self.get_plans_for_configuration(
            fullres_spacing_t[1:], median_shape_t[1:], self.data_identifier("2d"), n_voxels
        )
        plan_2d["batch_dice"] = True
        configurations["2d"] = plan_2d
        if lowres is not None:
            configurations["3d_lowres"] = lowres
            lowres["next_stage"] = "3d_cascade_fullres"
        if fullres is not None:
            configurations["3d_fullres"] = fullres
            if lowres is not None:
                configurations["3d_cascade_fullres"] = {"inherits_from": "3d_fullres", "previous_stage": "3d_lowres"}
        median_spacing = np.median(self.fingerprint["spacings"], 0)[forward]
        median_shape = np.median(self.fingerprint["shapes_after_crop"], 0)[forward]
        return to_json(
            {
                "dataset_name": self.dataset_name,
                "plans_name": self.plans_name,
                "original_median_spacing_after_transp": [float(i) for i in median_spacing],
                "original_median_shape_after_transp": [int(round(i)) for i in median_shape],
                "image_reader_writer": reader_name(
                    self.dataset_json["file_ending"], natural_2d=self.fingerprint["spacings"][0][0] == 999
                ),
                "transpose_forward": [int(i) for i in forward],
                "transpose_backward": [int(i) for i in backward],
                "configurations": configurations,
                "experiment_planner_used": self.planner_name(),
                "label_manager": "LabelManager",
                "foreground_intensity_properties_per_channel": self.fingerprint[
                    "foreground_intensity_properties_per_channel"
                ],
            }
        )

    def planner_name(self) -> str:
        """nnunetv2's class name of this preset (written to the plans)."""
        return "ExperimentPlanner"

    def _plan_lowres(self, fullres: dict, median_shape_t: np.ndarray, num_training: int) -> dict | None:
        """Coarsen the spacing (anisotropic axes first) until the patch covers 25% of the median image."""
        median_voxels = np.prod(median_shape_t, dtype=np.float64)
        patch_voxels = np.prod(fullres["patch_size"], dtype=np.float64)
        lowres, spacing = None, copy.deepcopy(fullres["spacing"])
        while patch_voxels / median_voxels < self.lowres_creation_threshold:
            largest = max(spacing)
            if np.any((largest / spacing) > 2):
                spacing[(largest / spacing) > 2] *= self.lowres_spacing_step
            else:
                spacing *= self.lowres_spacing_step
            median_voxels = np.prod(fullres["spacing"] / spacing * median_shape_t, dtype=np.float64)
            shape = tuple(round(i) for i in fullres["spacing"] / spacing * median_shape_t)
            lowres = self.get_plans_for_configuration(
                spacing, shape, self.data_identifier("3d_lowres"), float(np.prod(median_voxels) * num_training)
            )
            patch_voxels = np.prod(lowres["patch_size"], dtype=np.int64)
        if np.prod(median_shape_t, dtype=np.float64) / median_voxels < 2:
            return None  # too close to fullres to be worth a second network
        return lowres


def _shared_data_identifier(plans_name: str, configuration: str) -> str:
    # 2d and 3d_fullres preprocess exactly as the default plans (same spacing and normalisation): share their data;
    # the preprocessing cache's configuration hash still guards against a mismatch
    if configuration in ("2d", "3d_fullres"):
        return f"nnUNetPlans_{configuration}"
    return f"{plans_name}_{configuration}"


class ResEncMPlanner(ExperimentPlanner):
    """nnU-Net's ResEnc M preset (``nnUNetPlannerResEncM``): residual encoder, 9-11 GB, no 5% batch cap.

    Same spacing, transpose and topology rules; the encoder has (1, 3, 4, 6, 6, ...) basic blocks, the decoder one
    conv per stage, and the patch shrinks while the feature-map proxy of one sample exceeds the reference.
    """

    plans_name = "nnUNetResEncUNetMPlans"
    network_class_name = "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet"
    blocks_key = "n_blocks_per_stage"
    reference_val_3d = 680000000
    reference_val_2d = 135000000
    blocks_per_stage_encoder = (1, 3, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6)
    blocks_per_stage_decoder = (1,) * 12
    max_dataset_covered = 1

    def estimate_cost(self, patch_size, kwargs: dict) -> float:
        return residual_unet_feature_map_size(
            patch_size,
            kwargs["strides"],
            kwargs["features_per_stage"],
            kwargs["n_blocks_per_stage"],
            kwargs["n_conv_per_stage_decoder"],
            self.num_classes,
        )

    def too_large(self, cost: float, dim: int) -> bool:
        return cost > self.cost_budget(dim)

    def data_identifier(self, configuration: str) -> str:
        return _shared_data_identifier(self.plans_name, configuration)

    def planner_name(self) -> str:
        return "nnUNetPlannerResEncM"


class CPUPlanner(ExperimentPlanner):
    """nnU-Net's rules with a time budget per training iteration on this machine instead of a GPU memory budget.

    Time model: one iteration (forward, backward, SGD step) of a batch costs ``3 x batch x multiply-adds per
    sample / throughput``, where the multiply-adds are counted from the plan's convolutions
    (:func:`~.topology.unet_multiply_adds`) and the throughput (multiply-adds per second, per dimensionality) is
    measured once on this machine by timing a small U-Net (:mod:`.cpu_timing`). The patch shrinks (nnU-Net's
    loop) until two samples fit the budget; the batch size is what the budget holds, capped as nnU-Net caps it.
    nnU-Net trains 1000 epochs of 250 iterations; at CPU speed that is weeks, so the preset also plans the number
    of 250-iteration epochs that fit ``training_hours`` (``cpu_time_model.planned_num_epochs`` of each
    configuration).

    Args:
        seconds_per_iteration: time budget of one training iteration.
        training_hours: wall time the whole training should take, for the planned number of epochs.
        throughput: measured multiply-adds per second as ``{2: ..., 3: ...}``; measured when omitted.
        other arguments as :class:`ExperimentPlanner`.
    """

    plans_name = "autosegCPUPlans"
    iterations_per_epoch = 250  # nnU-Net's epoch length

    def __init__(
        self,
        dataset_json: dict,
        fingerprint: dict,
        seconds_per_iteration: float = 2.0,
        training_hours: float = 12.0,
        throughput: dict | None = None,
        **kwargs,
    ):
        super().__init__(dataset_json, fingerprint, **kwargs)
        if seconds_per_iteration <= 0 or training_hours <= 0:
            raise ValueError(
                f"seconds_per_iteration and training_hours must be > 0, got {seconds_per_iteration}, {training_hours}"
            )
        self.seconds_per_iteration = float(seconds_per_iteration)
        self.training_hours = float(training_hours)
        if throughput is None:
            from .cpu_timing import measured_throughput

            throughput = measured_throughput()
        self.throughput = {int(k): float(v) for k, v in throughput.items()}

    def estimate_cost(self, patch_size, kwargs: dict) -> float:
        """Seconds of one training step per sample."""
        dim = len(patch_size)
        return 3 * self._multiply_adds(patch_size, kwargs) / self.throughput[dim]

    def _multiply_adds(self, patch_size, kwargs: dict) -> int:
        return unet_multiply_adds(
            patch_size,
            kwargs["strides"],
            kwargs["kernel_sizes"],
            kwargs["features_per_stage"],
            kwargs["n_conv_per_stage"],
            kwargs["n_conv_per_stage_decoder"],
            len(self.channel_names),
            self.num_classes,
        )

    def too_large(self, cost: float, dim: int) -> bool:
        return cost * self.min_batch_size > self.seconds_per_iteration

    def batch_size_for(self, cost: float, dim: int) -> int:
        return int(math.floor(self.seconds_per_iteration / cost))

    def get_plans_for_configuration(self, spacing, median_shape, data_identifier, approximate_n_voxels_dataset):
        plan = super().get_plans_for_configuration(spacing, median_shape, data_identifier, approximate_n_voxels_dataset)
        kwargs, dim = plan["architecture"]["arch_kwargs"], len(plan["patch_size"])
        macs = self._multiply_adds(plan["patch_size"], kwargs)
        predicted = 3 * macs * plan["batch_size"] / self.throughput[dim]
        plan["cpu_time_model"] = {
            "seconds_per_iteration_budget": self.seconds_per_iteration,
            "predicted_seconds_per_iteration": predicted,
            "multiply_adds_per_sample": macs,
            "measured_multiply_adds_per_second": self.throughput[dim],
            "training_hours": self.training_hours,
            "planned_num_epochs": max(1, int(self.training_hours * 3600 / (predicted * self.iterations_per_epoch))),
            "num_iterations_per_epoch": self.iterations_per_epoch,
        }
        return plan

    def data_identifier(self, configuration: str) -> str:
        return _shared_data_identifier(self.plans_name, configuration)

    def planner_name(self) -> str:
        return "CPUPlanner"


PLANNERS = {"default": ExperimentPlanner, "resenc_m": ResEncMPlanner, "cpu": CPUPlanner}


def write_plans(plans: dict, path: str | os.PathLike) -> None:
    """Write ``plans`` atomically, keeping configurations of an existing file of the same ``plans_name`` that the
    new plans do not define (a user's custom configurations survive re-planning, as with nnunetv2); a file of
    another planner is replaced."""
    path = Path(path)
    if path.is_file():
        old = json.loads(path.read_text())
        if old.get("plans_name") == plans["plans_name"]:
            kept = {k: v for k, v in old.get("configurations", {}).items() if k not in plans["configurations"]}
            plans = dict(plans, configurations={**plans["configurations"], **kept})
        else:
            logger.warning("%s: replacing plans %s with %s", path, old.get("plans_name"), plans["plans_name"])
    write_json_atomic(path, plans, indent=4)


def plan_experiment(dataset_json: dict, fingerprint: dict, planner: str = "default", **kwargs) -> dict:
    """Plans of ``planner`` (``default``, ``resenc_m`` or ``cpu``) for a dataset and its fingerprint."""
    if planner not in PLANNERS:
        raise ValueError(f"planner must be one of {sorted(PLANNERS)}, got {planner!r}")
    return PLANNERS[planner](dataset_json, fingerprint, **kwargs).plan_experiment()
