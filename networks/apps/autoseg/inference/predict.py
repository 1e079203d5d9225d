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

"""Predict like nnU-Net: Gaussian sliding window (sigma 1/8, step 0.5), mirror TTA, the mean softmax of the folds
of each configuration, the mean of the configurations of an ensemble, export to each input's own geometry."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from monai.bundle import ConfigParser
from monai.inferers import Inferer, SliceInferer, SlidingWindowInferer
from tqdm import tqdm

from networks.data.file_io import write_json_atomic
from networks.inferers import MirrorTTAInferer

from ..image_io import SUPPORTED_ENDINGS, write_seg
from ..plans import Plans
from ..preprocessing.transforms import LoadCased
from .postprocessing import apply_postprocessing
from .transforms import SaveCased, to_original_geometry

__all__ = ["PROPERTIES_SUFFIX", "window_inferer", "ConfigurationModel", "group_channel_files", "predict_cases"]

logger = logging.getLogger(__name__)

PROPERTIES_SUFFIX = "_properties.json"  # not <case>.json: 3D TIFF label maps keep their spacing there


def window_inferer(
    patch_size: Sequence[int], mirror: bool = True, sw_batch_size: int = 2, device: str | None = None
) -> Inferer:
    """nnU-Net's sliding window on a ``(B, C, z, y, x)`` volume, with mirror TTA over every spatial axis.

    A 2D ``patch_size`` runs the 2D network slice by slice (MONAI ``SliceInferer`` over ``z``), mirroring y and x.
    """
    kwargs = {"overlap": 0.5, "mode": "gaussian", "sigma_scale": 0.125, "sw_batch_size": sw_batch_size}
    if device is not None:
        kwargs["sw_device"] = kwargs["device"] = device
    if len(patch_size) == 2:
        inferer: Inferer = SliceInferer(spatial_dim=0, roi_size=list(patch_size), progress=False, **kwargs)
        axes = (1, 2)
    else:
        inferer = SlidingWindowInferer(roi_size=list(patch_size), **kwargs)
        axes = (0, 1, 2)
    return MirrorTTAInferer(inferer, spatial_axes=axes) if mirror else inferer


@dataclass
class ConfigurationModel:
    """One configuration of an ensemble: its generated bundle and the fold checkpoints to average."""

    bundle_dir: str
    checkpoints: list[str]
    networks: list[torch.nn.Module] = field(default_factory=list, repr=False)

    def load(self, device: torch.device) -> ConfigurationModel:
        parser = ConfigParser()
        parser.read_config(os.path.join(self.bundle_dir, "configs", "inference.json"))
        parser["bundle_root"] = self.bundle_dir
        self.plans_file = parser.get_parsed_content("plans_file")
        self.dataset_json_file = parser.get_parsed_content("dataset_json_file")
        self.configuration = parser["configuration"]
        self.patch_size = parser["patch_size"]
        plans = Plans.load(self.plans_file, self.dataset_json_file)
        self.plans, self.dataset_json = plans.raw, plans.dataset_json
        self.resolved = plans.configuration(self.configuration)
        self.loader = LoadCased(
            "image", self.plans_file, self.configuration, self.dataset_json_file
        )  # once, not per case
        missing = [c for c in self.checkpoints if not os.path.isfile(c)]
        if missing:
            raise FileNotFoundError(f"checkpoint(s) {missing} not found (train those folds first)")
        self.networks = []
        for path in self.checkpoints:
            network = parser.get_parsed_content("network_def", lazy=False).to(device)
            state = torch.load(path, map_location=device, weights_only=True)
            network.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
            self.networks.append(network.eval())
        return self


def group_channel_files(input_dir: str | os.PathLike, num_channels: int, file_ending: str) -> dict[str, list[str]]:
    """``{case: [channel files]}`` of a folder in nnU-Net's ``<case>_<XXXX><ending>`` naming; cases missing a
    channel are an error that names them."""
    folder = Path(input_dir)
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(file_ending))
    cases: dict[str, list[str]] = {}
    for name in files:
        stem = name[: -len(file_ending)]
        if len(stem) > 5 and stem[-5] == "_" and stem[-4:].isdigit():
            cases.setdefault(stem[:-5], []).append(str(folder / name))
    # one file per channel, or a single file holding them all (RGB PNG, MSD 4D): LoadCased checks the count
    incomplete = {c: len(v) for c, v in cases.items() if len(v) not in (1, num_channels)}
    if incomplete:
        raise ValueError(f"{folder}: case(s) {incomplete} do not have {num_channels} channel file(s) _0000..")
    if not cases:
        raise FileNotFoundError(f"{folder}: no <case>_0000{file_ending} files")
    return cases


@torch.no_grad()
def _configuration_probabilities(model: ConfigurationModel, paths: list[str], inferer: Inferer, device):
    case = model.loader({"image": paths})
    image = case["image"][None].to(device)
    total = None
    for network in model.networks:
        probabilities = torch.softmax(inferer(image, network).float(), dim=1)[0]
        total = probabilities if total is None else total + probabilities
    properties = json.loads(case["image_properties"])
    _, probabilities = to_original_geometry(total / len(model.networks), properties, model.plans, model.resolved)
    return probabilities, properties


def predict_cases(
    cases: Mapping[str, list[str]],
    output_dir: str | os.PathLike,
    models: Sequence[ConfigurationModel],
    device: str | torch.device | None = None,
    mirror: bool = True,
    save_probabilities: bool = False,
    postprocessing: dict | None = None,
    output_ext: str | None = None,
    continue_prediction: bool = False,
) -> dict[str, str]:
    """Predict each case with every configuration (folds averaged inside one), average the configurations'
    probabilities in the input's geometry, take the argmax, postprocess, and write ``<case><ending>`` (the input's
    format and geometry); ``save_probabilities`` adds ``<case>.npz`` (``probabilities``, float16, input axes) and
    ``<case>_properties.json`` (what writing needs), the input of ``ensemble``.

    A case that fails is reported and skipped (``errors.json`` in ``output_dir``); the rest are still predicted.
    Returns ``{case: problem}`` of the failed ones.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    loaded = [m if m.networks else m.load(device) for m in models]
    inferers = [window_inferer(m.patch_size, mirror) for m in loaded]
    errors: dict[str, str] = {}
    for case, paths in tqdm(sorted(cases.items()), desc="predict", unit="case"):
        _, ending = SaveCased.case_name(paths[0], SUPPORTED_ENDINGS)
        target = out / f"{case}{output_ext or ending}"
        if continue_prediction and target.is_file():
            continue
        try:
            total, properties = None, None
            for model, inferer in zip(loaded, inferers):
                probabilities, properties = _configuration_probabilities(model, paths, inferer, device)
                total = probabilities if total is None else total + probabilities
            probabilities = total / len(loaded)
            seg = np.argmax(probabilities, axis=0)
            if postprocessing:
                seg = apply_postprocessing(seg, postprocessing)
            if save_probabilities:
                _save_probabilities(out, case, probabilities, properties)
            write_seg(seg, properties, target)
        except Exception as err:  # one bad case must not stop the others
            logger.error("%s: prediction failed: %s", case, err)
            errors[case] = f"{type(err).__name__}: {err}"
    if errors:
        write_json_atomic(out / "errors.json", errors, indent=2)
    return errors


def _save_probabilities(out: Path, case: str, probabilities: np.ndarray, properties: dict) -> None:
    tmp = out / f"{case}.tmp{os.getpid()}.npz"
    with open(tmp, "wb") as f:
        np.savez_compressed(f, probabilities=probabilities.astype(np.float16))
    os.replace(tmp, out / f"{case}.npz")
    write_json_atomic(out / f"{case}{PROPERTIES_SUFFIX}", properties)
