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

"""MONAI dictionary transforms from a plan's preprocessed space back to the input's: ``RestoreGeometryd`` takes
class probabilities back to the input's array (undo resampling, cropping and transpose; nnU-Net's
``convert_predicted_logits_to_segmentation_with_correct_shape``) and ``SaveCased`` writes the label map in the
input's format and geometry."""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform

from ..image_io import SUPPORTED_ENDINGS, write_seg
from ..plans import Plans
from ..preprocessing.resampling import resample_to_shape

__all__ = ["to_original_geometry", "RestoreGeometryd", "SaveCased", "ras_affine", "MONAILayoutd"]


def to_original_geometry(
    probabilities: np.ndarray | torch.Tensor, properties: dict, plans: dict, configuration: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities ``(C, z, y, x)`` of the preprocessed space back on the input's array.

    Resamples to the cropped shape (the plan's ``resampling_fn_probabilities_kwargs`` order, separate z as in
    preprocessing), takes the argmax, pastes into the uncropped shape (background outside the crop) and undoes the
    transpose. Returns ``(seg (z, y, x) uint8/int16, probabilities (C, z, y, x) float32)`` in the input's axes.
    """
    probs = probabilities.detach().cpu().float().numpy() if isinstance(probabilities, torch.Tensor) else probabilities
    probs = np.asarray(probs, dtype=np.float32)
    forward, backward = plans["transpose_forward"], plans["transpose_backward"]
    original_spacing = [properties["spacing"][i] for i in forward]
    current_spacing = list(configuration["spacing"])
    if len(current_spacing) < 3:
        current_spacing = [original_spacing[0], *current_spacing]
    order = int(configuration.get("resampling_fn_probabilities_kwargs", {}).get("order", 1))
    cropped_shape = properties["shape_after_cropping_and_before_resampling"]
    probs = resample_to_shape(probs, cropped_shape, current_spacing, original_spacing, False, order)
    full = np.zeros((probs.shape[0], *properties["shape_before_cropping"]), dtype=np.float32)
    full[0] = 1.0
    slicer = (slice(None), *[slice(a, b) for a, b in properties["bbox_used_for_cropping"]])
    full[slicer] = probs
    seg = np.argmax(full, axis=0)
    seg = seg.astype(np.uint8 if seg.max(initial=0) < 256 else np.int16).transpose(backward)
    return seg, full.transpose([0, *[i + 1 for i in backward]])


class RestoreGeometryd(MapTransform):
    """
    Softmax probabilities of ``pred`` (a ``(C, z, y, x)`` tensor in the preprocessed space) to a label map on the
    input's array: ``pred`` becomes ``(1, z, y, x)`` (see :func:`to_original_geometry`); with
    ``probabilities_key`` the restored probabilities are kept there too.

    Args:
        keys: prediction key(s).
        plans_file, configuration, dataset_json_file: as for :class:`LoadCased`.
        properties_key: where :class:`LoadCased` put the case's properties.
        probabilities_key: keep the probabilities in the input's geometry under this key (None: drop them).
    """

    def __init__(
        self,
        keys: KeysCollection,
        plans_file: str,
        configuration: str,
        dataset_json_file: str,
        properties_key: str = "image_properties",
        probabilities_key: str | None = None,
    ) -> None:
        super().__init__(keys)
        plans = Plans.load(plans_file, dataset_json_file)
        self.plans, self.configuration = plans.raw, plans.configuration(configuration)
        self.properties_key = properties_key
        self.probabilities_key = probabilities_key

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        properties = json.loads(d[self.properties_key])
        for key in self.key_iterator(d):
            seg, probs = to_original_geometry(d[key], properties, self.plans, self.configuration)
            d[key] = torch.from_numpy(seg[None].astype(np.int64))
            if self.probabilities_key is not None:
                d[self.probabilities_key] = probs
        return d


class SaveCased(MapTransform):
    """
    Write the label map under ``keys`` (``(1, z, y, x)`` on the input's array, see :class:`RestoreGeometryd`) as
    ``<output_dir>/<case><output_ext>``, in the input's format and geometry; the case name is the first input
    file's name without its ``_0000`` channel suffix and ending.

    Args:
        keys: label map key.
        output_dir: folder to write to.
        output_ext: file ending; None writes the input's own ending.
        properties_key: where :class:`LoadCased` put the case's properties.
    """

    def __init__(
        self,
        keys: KeysCollection,
        output_dir: str,
        output_ext: str | None = None,
        properties_key: str = "image_properties",
    ) -> None:
        super().__init__(keys)
        self.output_dir = output_dir
        self.output_ext = output_ext
        self.properties_key = properties_key

    @staticmethod
    def case_name(path: str, endings: Sequence[str]) -> tuple[str, str]:
        name = os.path.basename(path)
        ending = next((e for e in endings if name.lower().endswith(e)), os.path.splitext(name)[1])
        stem = name[: -len(ending)] if ending else name
        if len(stem) > 5 and stem[-5] == "_" and stem[-4:].isdigit():
            stem = stem[:-5]
        return stem, ending

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        properties = json.loads(d[self.properties_key])
        sources = properties.get("source_files") or [properties.get("case", "case")]
        stem, ending = self.case_name(str(sources[0]), SUPPORTED_ENDINGS)
        for key in self.key_iterator(d):
            seg = d[key]
            seg = seg.detach().cpu().numpy() if isinstance(seg, torch.Tensor) else np.asarray(seg)
            path = os.path.join(self.output_dir, stem + (self.output_ext or ending))
            write_seg(seg[0], properties, path)
        return d


def ras_affine(properties: dict, dims: int) -> np.ndarray:
    """The RAS affine (MONAI's convention) of the array ``read_images`` returned, reversed to (x, y[, z]) order:
    ITK's direction x spacing and origin, with x and y negated (LPS to RAS), as MONAI's ``ITKReader`` builds it."""
    geometry = properties.get("itk")
    if geometry is None:  # PNG/TIFF: the pixel spacing only
        spacing = list(properties["spacing"])[::-1][:dims]
        direction, origin = np.eye(dims), np.zeros(dims)
    else:
        full = int(round(len(geometry["direction"]) ** 0.5))
        direction = np.asarray(geometry["direction"], dtype=float).reshape(full, full)[:dims, :dims]
        spacing, origin = geometry["spacing"][:dims], np.asarray(geometry["origin"][:dims], dtype=float)
    affine = np.eye(dims + 1)
    affine[:dims, :dims] = direction @ np.diag(spacing)
    affine[:dims, dims] = origin
    return np.diag([-1.0, -1.0] + [1.0] * (dims - 1)) @ affine


class MONAILayoutd(MapTransform):
    """
    The restored label map ``(1, z, y, x)`` in MONAI's layout, for tools that write it themselves (MONAI Label):
    3D inputs give ``(1, x, y, z)``, 2D inputs ``(x, y)`` uint8 (what MONAI Label's 2D writer expects), with the
    input's RAS affine on the tensor and in ``<ref_image>_meta_dict`` (``affine``, ``original_affine``,
    ``spatial_shape``). Place it after :class:`SaveCased`, which writes the file in the input's own format.

    Args:
        keys: label map key(s).
        properties_key: where :class:`LoadCased` put the case's properties.
        ref_image: the image key whose meta dictionary receives the geometry.
    """

    def __init__(self, keys: KeysCollection, properties_key: str = "image_properties", ref_image: str = "image"):
        super().__init__(keys)
        self.properties_key = properties_key
        self.ref_image = ref_image

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        properties = json.loads(d[self.properties_key])
        for key in self.key_iterator(d):
            seg = d[key]
            seg = seg.detach().cpu().numpy() if isinstance(seg, torch.Tensor) else np.asarray(seg)
            two_d = seg.shape[1] == 1 and (properties.get("itk") is None or len(properties["itk"]["spacing"]) == 2)
            # uint8 (int16 beyond 255 labels): ITK writers wrap no int64 image type
            seg = seg.astype(np.uint8 if seg.max(initial=0) < 256 else np.int16)
            array, dims = (seg[0, 0].T, 2) if two_d else (seg[0].transpose(2, 1, 0)[None], 3)
            affine = torch.as_tensor(ras_affine(properties, dims), dtype=torch.float64)
            d[key] = MetaTensor(torch.from_numpy(np.ascontiguousarray(array)), affine=affine)
            spatial = list(array.shape[-dims:])
            meta = {"affine": affine, "original_affine": affine, "spatial_shape": spatial}
            d[f"{self.ref_image}_meta_dict"] = meta
        return d
