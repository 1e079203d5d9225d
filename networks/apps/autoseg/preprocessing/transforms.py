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

"""The bundle's load transform: a case from the preprocessed cache or from raw files, in a plan's preprocessed
space, preprocessed exactly as ``autoseg preprocess`` does. Case properties travel as a JSON string under
``<key>_properties`` so they survive MONAI's collate/decollate unchanged (``RestoreGeometryd`` reads them back)."""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Mapping
from pathlib import Path

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform

from ..image_io import read_images, read_seg
from ..plans import Plans
from .preprocess import preprocess_case

__all__ = ["properties_key", "LoadCased"]


def properties_key(key: Hashable) -> str:
    return f"{key}_properties"


class LoadCased(MapTransform):
    """
    Load one case in a plan's preprocessed space: ``image`` as float32 ``(c, z, y, x)``, ``label`` as int
    ``(1, z, y, x)`` (voxels outside the nonzero mask, -1 in the cache, become background), ``class_locations``
    (foreground voxels for patch sampling) and ``image_properties`` (JSON: what undoing the preprocessing needs).

    ``image`` is either a cached ``<case>.npy`` (its label ``<case>_seg.npy``, properties ``<case>.json``) or raw
    file(s), one path or a list of channel paths, preprocessed on the fly; raw labels are checked against the
    dataset's label values. A 2D configuration keeps the ``z`` axis: the patch sampler and the slice inferer take
    slices from it.

    Args:
        keys: image key first, optional label key second.
        plans_file: the plans (``nnUNetPlans.json``), used for raw files.
        configuration: the configuration name in the plans.
        dataset_json_file: nnU-Net's ``dataset.json`` (labels, channels).
        mmap: memory-map cached arrays and keep -1 in the label (the patch sampler clips it per patch).
    """

    def __init__(
        self,
        keys: KeysCollection,
        plans_file: str,
        configuration: str,
        dataset_json_file: str,
        mmap: bool = False,
        allow_missing_keys: bool = True,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        plans = Plans.load(plans_file, dataset_json_file)
        self.plans, self.dataset_json = plans.raw, plans.dataset_json
        self.configuration_name = configuration
        self.configuration = plans.configuration(configuration)
        self.label_values = sorted({int(v) for v in self.dataset_json["labels"].values()})
        self.mmap = mmap

    def _cached(self, image_path: str, label_path: str | None):
        folder, case = os.path.dirname(image_path), os.path.basename(image_path)[: -len(".npy")]
        props_path = os.path.join(folder, f"{case}.json")
        if not os.path.isfile(props_path):
            raise FileNotFoundError(f"{props_path}: missing; {image_path} is not a complete preprocessed case")
        props = json.loads(Path(props_path).read_text())
        image = np.load(image_path, mmap_mode="r" if self.mmap else None)
        seg, locations = None, {}
        if label_path is not None:
            seg = np.load(label_path, mmap_mode="r" if self.mmap else None)
            with np.load(os.path.join(folder, f"{case}_locations.npz")) as npz:
                locations = {int(k[len("class_") :]): npz[k] for k in npz.files}
        return image, seg, props, locations

    def _raw(self, image, label_path: str | None):
        paths = [str(p) for p in image] if isinstance(image, (list, tuple)) else [str(image)]
        expected = len(self.dataset_json["channel_names"])
        data, props = read_images(paths)  # one file may hold every channel (RGB PNG, MSD 4D)
        if data.shape[0] != expected:
            raise ValueError(
                f"{paths}: the plans expect {expected} channel(s) per case, the file(s) hold {data.shape[0]}"
            )
        seg = None
        if label_path is not None:
            seg, _ = read_seg(label_path)
            if seg.shape[1:] != data.shape[1:]:
                raise ValueError(f"{label_path}: label shape {seg.shape[1:]} differs from image shape {data.shape[1:]}")
            unexpected = sorted(set(np.unique(seg).astype(int).tolist()) - set(self.label_values))
            if unexpected:
                raise ValueError(f"{label_path}: label values {unexpected} are not in dataset.json {self.label_values}")
            seg = seg.astype(np.int16)
        foreground = [v for v in self.label_values if v != 0]
        data, seg_pp, props = preprocess_case(data, seg, props, self.plans, self.configuration, foreground)
        locations = props.pop("class_locations")
        props["source_files"] = paths
        return data, (seg_pp if seg is not None else None), props, locations

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        keys = list(self.keys)
        image_key, label_key = keys[0], (keys[1] if len(keys) > 1 else None)
        label_path = d.get(label_key) if label_key is not None else None
        image = d[image_key]
        if isinstance(image, (str, os.PathLike)) and str(image).endswith(".npy"):
            array, seg, props, locations = self._cached(str(image), None if label_path is None else str(label_path))
        else:
            array, seg, props, locations = self._raw(image, None if label_path is None else str(label_path))
        d[image_key] = array if self.mmap else torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
        if seg is not None:
            d[label_key] = seg if self.mmap else torch.from_numpy(np.maximum(seg, 0).astype(np.int64))
        d["class_locations"] = locations
        d[properties_key(image_key)] = json.dumps(props)
        return d
