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

"""Write one planned configuration as a standalone MONAI bundle, composed from the package's templates
(``networks/configs/autoseg``, ``network_def``, ``shared``).

The bundle holds the plans and ``dataset.json`` in ``configs/`` (so it runs, and works in MONAI Label, away from
the work folder), ``train.json``/``evaluate.json``/``inference.json``/``multi_gpu_train.json`` with the plan's
values set, ``metadata.json`` from the dataset's channels and labels, ``logging.conf``, ``docs/`` and ``models/``.
"""

from __future__ import annotations

import math
import os
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from networks.apps.bundle_config import ConfigComposer, load_template, render_config, template_file
from networks.data.file_io import write_json_atomic

from ..plans import network_for, resolve_configuration
from .patch_sampling import augmentation_settings

__all__ = ["bundle_values", "compose_configs", "write_bundle"]

SWIN_UMAMBA_MULTIPLE = 32  # the VMamba encoder downsamples by 32
SCALE_RANGE = [0.7, 1.4]  # nnU-Net's factor on the sampling coordinates: below 1 magnifies


def _epochs(configuration: dict) -> int:
    model = configuration.get("cpu_time_model")
    return int(model["planned_num_epochs"]) if model else 1000


def bundle_values(plans: dict, dataset_json: dict, configuration_name: str, network: str = "auto") -> dict:
    """The ids each config file gets from the plan: ``{"common": {...}, "train": {...}, "inference": {...}}``."""
    configuration = resolve_configuration(plans, configuration_name)
    template = network_for(configuration, network)
    patch = [int(p) for p in configuration["patch_size"]]
    if template == "swin_umamba":  # round up so the encoder's 32x downsampling divides the patch
        patch = [int(math.ceil(p / SWIN_UMAMBA_MULTIPLE) * SWIN_UMAMBA_MULTIPLE) for p in patch]
    arch = configuration["architecture"]["arch_kwargs"]
    common = {
        "configuration": configuration_name,
        "patch_size": patch,
        "in_channels": len(dataset_json["channel_names"]),
        "num_classes": len(set(dataset_json["labels"].values())),
    }
    if template != "swin_umamba":
        common.update(kernel_sizes=arch["kernel_sizes"], strides=arch["strides"])
        common["features_per_stage"] = arch["features_per_stage"]
    if template == "plain_conv_unet" and any(n != 2 for n in arch.get("n_conv_per_stage", [2])):
        raise ValueError(f"plans: DynUNet has 2 convolutions per stage, the plan asks for {arch['n_conv_per_stage']}")
    if template == "residual_encoder_unet":
        common.update(n_blocks_per_stage=arch["n_blocks_per_stage"])
        common.update(n_conv_per_stage_decoder=arch["n_conv_per_stage_decoder"])
    augmentation = augmentation_settings(patch)
    rotation = round(augmentation["rotation"], 4)
    scale_axes = None
    if len(patch) == 2:
        rotations = [rotation, 0.0, 0.0]
    elif augmentation["dummy_2d"]:  # rotate and scale in-plane only: the slice axis is too coarse
        rotations, scale_axes = [rotation, 0.0, 0.0], [1, 2]
    else:
        rotations = [rotation] * 3
    train = {
        "epochs": _epochs(configuration),
        "batch_size": int(configuration["batch_size"]),
        "batch_dice": bool(configuration.get("batch_dice", True)),
        "initial_patch_size": augmentation["initial_patch_size"],
        "rotation_range": rotations,
        "scale_range": SCALE_RANGE,
        "scale_axes": scale_axes,
        "mirror_axes": augmentation["mirror_axes"],
    }
    if template == "swin_umamba":  # the Swin-UMamba paper's optimiser (AdamW); nnU-Net's SGD suits CNNs
        train["optimizer"] = {
            "_target_": "torch.optim.AdamW",
            "params": "$@network.parameters()",
            "lr": 0.0001,
            "weight_decay": 0.05,
        }
    return {
        "template": template,
        "common": common,
        "train": train,
        "inference": {"file_ending": dataset_json["file_ending"]},
    }


def compose_configs(plans: dict, dataset_json: dict, configuration_name: str, network: str = "auto") -> dict:
    """``{file stem: ConfigComposer}`` of the bundle's ``train``, ``evaluate``, ``inference`` and ``multi_gpu_train``
    (``.config`` the config, ``.provenance()`` where each id came from)."""
    values = bundle_values(plans, dataset_json, configuration_name, network)
    plan_source = f"networks.apps.autoseg.bundle_values from the plan ({plans['plans_name']} / {configuration_name})"
    network_source = f"networks/configs/network_def/{values['template']}.json"
    network_def = load_template("network_def", f"{values['template']}.json")
    common = ConfigComposer(load_template("autoseg", "common.json"), "networks/configs/autoseg/common.json")
    common.override({"network_def": network_def.pop("network_def")}, network_source)
    common.add(network_def, network_source)  # the network's own geometry ids (kernel sizes, strides...)
    common.override(values["common"], plan_source, computed=True)
    out = {}
    for stem in ("train", "inference"):
        composer = ConfigComposer(load_template("autoseg", f"{stem}.json"), f"networks/configs/autoseg/{stem}.json")
        composer.add(common.config, common.sources, after_imports=True)
        composer.override(values[stem], plan_source, computed=True)
        out[stem] = composer
    out["evaluate"] = ConfigComposer(
        load_template("autoseg", "evaluate.json"), "networks/configs/autoseg/evaluate.json"
    )
    multi_gpu = ConfigComposer(
        load_template("shared", "multi_gpu_train.json"), "networks/configs/shared/multi_gpu_train.json"
    )
    multi_gpu.override(
        load_template("autoseg", "multi_gpu_train.json"), "networks/configs/autoseg/multi_gpu_train.json"
    )
    out["multi_gpu_train"] = multi_gpu
    return out


def _versions() -> dict:
    def version(name: str) -> str:
        try:
            return importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            return "unknown"

    return {
        "monai_version": version("monai"),
        "pytorch_version": version("torch").split("+")[0],
        "numpy_version": np.__version__,
        "required_packages_version": {
            name: version(name)
            for name in ("monai-mamba-zoo", "pytorch-ignite", "itk", "scipy", "tensorboard", "tifffile", "pillow")
        },
    }


def _metadata(plans: dict, dataset_json: dict, configuration_name: str, configs: dict, network: str) -> dict:
    common = configs["train"]
    patch = common["patch_size"]
    shape = list(patch)  # the sliding window feeds exactly the planned patch
    labels = {str(v): k for k, v in sorted(dataset_json["labels"].items(), key=lambda kv: kv[1])}
    channels = {str(i): name for i, name in dataset_json["channel_names"].items()}
    name = dataset_json.get("name", plans.get("dataset_name", "dataset"))
    return {
        "schema": "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/"
        "meta_schema_20240725.json",
        "version": "0.1.0",
        "changelog": {"0.1.0": f"generated by autoseg from {plans['plans_name']} / {configuration_name}"},
        **_versions(),
        "supported_apps": {},
        "name": f"autoseg {name} {configuration_name}",
        "task": f"Semantic segmentation of {', '.join(list(labels.values())[1:])} ({name}, {len(patch)}D network)",
        "description": (
            f"nnU-Net's self-configured {configuration_name} configuration ({plans['plans_name']}) as a MONAI bundle: "
            f"{common['network_def']['_target_'].rsplit('.', 1)[-1]} trained on patches of {patch} with nnU-Net's "
            f"loss and augmentation, {_optimisation_text(common)}; inference with a Gaussian sliding window and "
            "mirror TTA, exported to each input's own geometry."
        ),
        "authors": "MONAI Mamba Zoo contributors (generated by autoseg)",
        "copyright": "Copyright (c) 2026 MONAI Mamba Zoo contributors",
        "data_source": f"the raw dataset '{name}' this bundle was planned for (configs/dataset.json)",
        "data_type": dataset_json["file_ending"],
        "image_classes": f"{len(channels)} channel(s): {', '.join(channels.values())}",
        "label_classes": ", ".join(f"{v} {k}" for k, v in labels.items()),
        "pred_classes": f"{len(labels)} channels: " + ", ".join(f"{v} {k}" for k, v in labels.items()),
        "intended_use": "Research only; not for clinical or diagnostic use.",
        "references": [
            "Isensee F, et al. nnU-Net: a self-configuring method for deep learning-based biomedical image "
            "segmentation. Nature Methods 18, 203-211 (2021)",
            "Isensee F, et al. nnU-Net Revisited: A Call for Rigorous Validation in 3D Medical Image Segmentation. "
            "MICCAI 2024. arXiv:2404.09556",
        ],
        "network_data_format": {
            "inputs": {
                "image": {
                    "type": "image",
                    "format": "magnitude",
                    "modality": ", ".join(channels.values()),
                    "num_channels": len(channels),
                    "spatial_shape": shape,
                    "dtype": "float32",
                    "value_range": [],
                    "is_patch_data": True,
                    "channel_def": channels,
                }
            },
            "outputs": {
                "pred": {
                    "type": "image",
                    "format": "segmentation",
                    "num_channels": len(labels),
                    "spatial_shape": shape,
                    "dtype": "float32",
                    "value_range": [],
                    "is_patch_data": True,
                    "channel_def": labels,
                }
            },
        },
    }


def _value(config: dict, value: object) -> object:
    """A config value with its ``@id`` references to top-level ids followed (what a generated text quotes)."""
    while isinstance(value, str) and value.startswith("@") and value[1:] in config:
        value = config[value[1:]]
    return value


def _optimisation_text(train: dict) -> str:
    """The optimiser, schedule and clipping of a composed ``train`` config, in words: read from the config so that
    the generated README cannot disagree with it."""
    optimizer = train["optimizer"]
    words = [f"lr {_value(train, optimizer['lr'])}"]
    if "momentum" in optimizer:
        words.append(f"momentum {_value(train, optimizer['momentum'])}")
    if _value(train, optimizer.get("nesterov", False)) is True:
        words.append("Nesterov")
    if "weight_decay" in optimizer:
        words.append(f"weight decay {_value(train, optimizer['weight_decay'])}")
    scheduler = train["lr_scheduler"]
    text = f"{optimizer['_target_'].rsplit('.', 1)[-1]} ({', '.join(words)}), "
    text += f"{scheduler['_target_'].rsplit('.', 1)[-1]}"
    if "power" in scheduler:
        text += f" (power {_value(train, scheduler['power'])}) stepped per epoch"
    return text + f", gradient norm clipped at {_value(train, train['grad_clip'])}"


def _readme(plans: dict, configuration_name: str, configs: dict, network: str) -> str:
    train = configs["train"]
    data_identifier = resolve_configuration(plans, configuration_name).get("data_identifier", "DATA")
    return f"""# autoseg bundle: {plans['plans_name']} / {configuration_name}

Generated by `autoseg` (`python -m networks.apps.autoseg`) from the plans in `configs/plans.json` (nnU-Net v2's
layout). Edit the templates in `networks/configs/autoseg/` of the MONAI Mamba Zoo, not these files.

- network: `{train['network_def']['_target_']}` (template `networks/configs/network_def/{network}.json`), patch
  {train['patch_size']}, batch {train['batch_size']}
- loss: Dice + cross-entropy with nnU-Net's deep-supervision weights; {_optimisation_text(train)}
- training: {train['epochs']} epochs x {train['iters_per_epoch']} iterations, 33% foreground-centred patches,
  nnU-Net's augmentation as MONAI transforms; `models/model.pt` and `checkpoints/checkpoint_last.pt` every epoch
- inference: Gaussian sliding window (sigma 1/8, overlap 0.5), mirror TTA, label map in the input's format and
  geometry

## Commands

Train fold 0 (the preprocessed cache and `splits_final.json` come from `autoseg.py preprocess`/`train`):

    python -m monai.bundle run --config_file configs/train.json --meta_file configs/metadata.json \\
        --logging_file configs/logging.conf --bundle_root . --preprocessed_dir WORK/{data_identifier} \\
        --splits_file WORK/splits_final.json --fold 0 [--epochs 2 --iters_per_epoch 5] [--resume True]

Predict a folder of `<case>_0000<ending>` files:

    python -m monai.bundle run --config_file configs/inference.json --meta_file configs/metadata.json \\
        --logging_file configs/logging.conf --bundle_root . --input_dir IMAGES --output_dir OUT

`autoseg predict` does the same with several folds and configurations averaged.

This bundle is for research only, not for clinical use.
"""


def write_bundle(
    plans: dict,
    dataset_json: dict,
    configuration_name: str,
    out_dir: str | os.PathLike,
    network: str = "auto",
) -> Path:
    """Write the bundle of one configuration to ``out_dir`` (configs, metadata, docs with ``config_sources.json``:
    the template file or plan behind every id, ``models/``); trained weights already in ``out_dir/models`` are kept.
    Returns the bundle folder."""
    out = Path(out_dir)
    composed = compose_configs(plans, dataset_json, configuration_name, network)
    configs = {stem: composer.config for stem, composer in composed.items()}
    template = network_for(resolve_configuration(plans, configuration_name), network)
    (out / "configs").mkdir(parents=True, exist_ok=True)
    (out / "docs").mkdir(exist_ok=True)
    (out / "models").mkdir(exist_ok=True)
    for stem, config in configs.items():
        path = out / "configs" / f"{stem}.json"
        path.with_suffix(".tmp").write_text(render_config(config) + "\n")
        os.replace(path.with_suffix(".tmp"), path)
    sources = {f"{stem}.json": composer.provenance() for stem, composer in composed.items()}
    write_json_atomic(out / "docs" / "config_sources.json", sources, indent=4)
    write_json_atomic(out / "configs" / "plans.json", plans, indent=4)
    write_json_atomic(out / "configs" / "dataset.json", dataset_json, indent=4)
    meta = _metadata(plans, dataset_json, configuration_name, configs, template)
    (out / "configs" / "metadata.json").write_text(render_config(meta) + "\n")
    (out / "configs" / "logging.conf").write_text(template_file("shared", "logging.conf").read_text())
    (out / "LICENSE").write_text(template_file("LICENSE").read_text())
    (out / "docs" / "README.md").write_text(_readme(plans, configuration_name, configs, template))
    (out / "docs" / "data_license.txt").write_text(
        "This bundle was generated for a user's own dataset; its licence is that dataset's (see configs/dataset.json)."
        "\nNo data is shipped with the bundle.\n"
    )
    return out
