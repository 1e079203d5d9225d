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

"""Early input checks: fail with an error that names the case file and what was expected."""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform, Transform

__all__ = ["check_datalist", "check_class_labels", "CheckInput", "CheckInputd"]


def check_datalist(
    datalist: Sequence[Mapping[str, Any]], keys: KeysCollection = ("image", "label"), name: str = "datalist"
) -> list[dict]:
    """
    Check that every entry of a datalist has the given keys and that their files exist.

    Called in bundle configs around load_decathlon_datalist so that a missing file stops the
    run before training starts, with the case named, instead of failing in a dataloader worker.

    Args:
        datalist: list of dictionaries, e.g. [{"image": "/x/a.nii.gz", "label": "/x/b.nii.gz"}].
        keys: keys whose values must be existing files. Defaults to ("image", "label").
        name: name of the list in error messages (e.g. "training").

    Returns:
        the datalist as a list of dictionaries (unchanged).

    Raises:
        ValueError: if the datalist is empty or an entry lacks a key.
        FileNotFoundError: if a file named in the datalist does not exist.
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    datalist = [dict(item) for item in datalist]
    if not datalist:
        raise ValueError(f"{name} is empty: expected at least one case with keys {keys}.")
    for i, item in enumerate(datalist):
        for key in keys:
            if key not in item:
                raise ValueError(f"{name} entry {i} ({item}) has no '{key}': expected keys {keys}.")
            path = item[key]
            if isinstance(path, str) and not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{name} entry {i}: {key} file '{path}' does not exist (case {item.get('image', item)})."
                )
    return datalist


def check_class_labels(
    datalist: Sequence[Mapping[str, Any]], num_classes: int, key: str = "label", name: str = "datalist"
) -> list[dict]:
    """
    Check that every entry's class label (``key``) is an integer in [0, ``num_classes``), so that a wrong
    ``dataset.json`` stops a classification run before training, with the entry named, instead of failing inside
    the loss ("Target 130 is out of bounds").

    Args:
        datalist: list of dictionaries, e.g. [{"image": "/x/a.nii.gz", "label": 3}].
        num_classes: number of classes of the network.
        key: key of the class label.
        name: name of the list in error messages (e.g. "training").

    Returns:
        the datalist as a list of dictionaries (unchanged).
    """
    datalist = [dict(item) for item in datalist]
    for i, item in enumerate(datalist):
        value = item.get(key)
        valid = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < num_classes
        if not valid:
            raise ValueError(
                f"{name} entry {i} ({item.get('image', item)}): '{key}' is {value!r}, expected an integer class index "
                f"in [0, {num_classes})."
            )
    return datalist


def _case_name(img: Any, fallback: str = "<unknown case>") -> str:
    if isinstance(img, MetaTensor):
        name = img.meta.get("filename_or_obj")
        if name:
            return str(name)
    return fallback


class CheckInput(Transform):
    """
    Check one channel-first image (and optionally its label) before it reaches the network.

    Checks: number of spatial dimensions, number of image channels, finite intensities (no NaN/inf),
    label with one channel and the same spatial shape as the image and, with ``num_classes``, label values that
    are classes of the bundle (0 .. num_classes - 1, the keys of ``channel_def`` in its metadata). Errors name
    the case file (meta["filename_or_obj"] of a MetaTensor) and what was expected.

    Args:
        num_channels: expected number of image channels. Defaults to 1.
        spatial_dims: expected number of spatial dimensions. Defaults to 2.
        check_finite: raise if the image has NaN or inf values. Defaults to True.
        num_classes: if given, label values must be integers in [0, num_classes). Defaults to None (not checked).
        min_size: if given, every spatial side must be at least this many pixels (e.g. one object across).
    """

    def __init__(
        self,
        num_channels: int = 1,
        spatial_dims: int = 2,
        check_finite: bool = True,
        num_classes: int | None = None,
        min_size: float | None = None,
    ) -> None:
        self.num_channels = num_channels
        self.spatial_dims = spatial_dims
        self.check_finite = check_finite
        self.num_classes = num_classes
        self.min_size = min_size

    def __call__(
        self, img: torch.Tensor, label: torch.Tensor | None = None, check_classes: bool = True
    ) -> torch.Tensor:
        case = _case_name(img)
        if img.ndim != self.spatial_dims + 1:
            raise ValueError(
                f"case '{case}': image has {img.ndim - 1} spatial dimensions (channel-first shape "
                f"{tuple(img.shape)}), expected {self.spatial_dims} spatial dimensions."
            )
        if img.shape[0] != self.num_channels:
            raise ValueError(
                f"case '{case}': image has {img.shape[0]} channels (shape {tuple(img.shape)}), "
                f"expected {self.num_channels}."
            )
        if self.min_size is not None and min(img.shape[1:]) < self.min_size:
            raise ValueError(
                f"case '{case}': image of {'x'.join(map(str, img.shape[1:]))} pixels is smaller than one object "
                f"({self.min_size:g} pixels across, the object_size given)."
            )
        if self.check_finite and not bool(torch.isfinite(torch.as_tensor(img)).all()):
            raise ValueError(f"case '{case}': image contains NaN or inf values.")
        if label is not None:
            label_case = _case_name(label, case)
            if label.ndim != img.ndim or label.shape[0] != 1 or label.shape[1:] != img.shape[1:]:
                raise ValueError(
                    f"case '{case}': label '{label_case}' has shape {tuple(label.shape)}, expected "
                    f"{(1, *img.shape[1:])} (one channel, same spatial shape as the image)."
                )
            if check_classes and self.num_classes is not None:
                self._check_classes(label, label_case)
        return img

    def _check_classes(self, label: torch.Tensor, label_case: str) -> None:
        values = torch.unique(torch.as_tensor(label))
        bad = values[(values != values.round()) | (values < 0) | (values >= self.num_classes)]
        if bad.numel():
            shown = ", ".join(f"{v:g}" for v in bad[:10].tolist()) + (", ..." if bad.numel() > 10 else "")
            raise ValueError(
                f"label '{label_case}' has values [{shown}] that are not classes of this bundle: expected integers "
                f"0..{self.num_classes - 1} (the channel_def of its metadata.json)."
            )


class CheckInputd(MapTransform):
    """
    Dictionary version of :py:class:`CheckInput`: checks image_key and, when present, every
    key of label_keys against it. Place it right after EnsureChannelFirstd.

    Args:
        image_key: key of the image. Defaults to "image".
        label_keys: keys of label maps that must match the image shape (missing ones are skipped).
        num_channels: expected number of image channels. Defaults to 1.
        spatial_dims: expected number of spatial dimensions. Defaults to 2.
        check_finite: raise if the image has NaN or inf values. Defaults to True.
        num_classes: if given, the values of ``class_keys`` must be integers in [0, num_classes).
        class_keys: label keys holding class maps (checked against ``num_classes``); other label keys, e.g.
            instance ids, are only checked for shape. Defaults to ("label",).
        min_size: if given, every spatial side of the image must be at least this many pixels.
    """

    def __init__(
        self,
        image_key: str = "image",
        label_keys: KeysCollection = ("label",),
        num_channels: int = 1,
        spatial_dims: int = 2,
        check_finite: bool = True,
        num_classes: int | None = None,
        class_keys: KeysCollection = ("label",),
        min_size: float | None = None,
    ) -> None:
        super().__init__(image_key, allow_missing_keys=False)
        self.image_key = image_key
        self.label_keys = [label_keys] if isinstance(label_keys, str) else list(label_keys)
        self.class_keys = {class_keys} if isinstance(class_keys, str) else set(class_keys)
        self.checker = CheckInput(
            num_channels=num_channels,
            spatial_dims=spatial_dims,
            check_finite=check_finite,
            num_classes=num_classes,
            min_size=min_size,
        )

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        self.checker(d[self.image_key])
        for key in self.label_keys:
            if key in d:
                self.checker(d[self.image_key], d[key], check_classes=key in self.class_keys)
        return d
