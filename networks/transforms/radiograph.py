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
"""Loading chest radiographs (DICOM or PNG/JPEG) as display-oriented greyscale images."""

from __future__ import annotations

import os
from typing import Hashable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import LoadImage, MapTransform, Transform

__all__ = ["LoadRadiograph", "LoadRadiographd", "LoadMaskStackd"]

_PHOTOMETRIC_TAG = "0028|0004"  # ITK's name of the DICOM Photometric Interpretation


class LoadRadiograph(Transform):
    """
    Load a chest radiograph as a (1, size, size) float tensor in [0, 1], air dark and bone bright.

    DICOM files are read with ITK, whose GDCM reader already inverts MONOCHROME1 images (bright air, as many CR/DR
    systems store them) into MONOCHROME2 (checked against pydicom's raw pixels in the tests); the original
    interpretation is kept in the output's ``photometric_interpretation`` meta entry.
    Intensities are scaled between the 0.5th and 99.5th percentiles, so 12-, 15- and 16-bit detectors and
    8-bit PNGs come out alike; the image is resized (area) to ``size`` x ``size``. Arrays are in row-major display
    order (rows top to bottom), the same as masks saved with numpy.

    Args:
        size: output side length (``None``: keep the input size).
    """

    def __init__(self, size: int | None = 128) -> None:
        self.size = size
        # both readers give (columns, rows) arrays: transposed below into display order
        self._dicom = LoadImage(reader="ITKReader", image_only=False)
        self._other = LoadImage(reader="PILReader", image_only=False)

    def __call__(self, path: str) -> MetaTensor:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"radiograph {path!r} does not exist")
        is_dicom = path.lower().endswith((".dcm", ".dicom"))
        try:
            array, meta = (self._dicom if is_dicom else self._other)(path)
        except Exception as err:  # the readers raise many types; name the file and what was expected
            raise ValueError(
                f"cannot read radiograph {path!r} as {'DICOM' if is_dicom else 'an image'}: {err}"
            ) from err
        image = np.asarray(array, dtype=np.float32).squeeze()
        if image.ndim == 3 and image.shape[-1] in (3, 4):  # RGB(A) export of a radiograph
            image = image[..., :3].mean(-1)
        if image.ndim != 2:
            raise ValueError(f"radiograph {path!r}: expected one 2D image, got shape {tuple(array.shape)}")
        image = np.ascontiguousarray(image.T)
        photometric = str(meta.get(_PHOTOMETRIC_TAG, "")).strip().upper()  # GDCM has inverted MONOCHROME1 already
        low, high = np.percentile(image, (0.5, 99.5))
        image = np.clip((image - low) / max(high - low, 1e-6), 0, 1).astype(np.float32)
        tensor = torch.from_numpy(image)[None]
        if self.size is not None and tensor.shape[1:] != (self.size, self.size):
            tensor = F.interpolate(tensor[None], size=(self.size, self.size), mode="area")[0]
        out_meta = {"filename_or_obj": path, "photometric_interpretation": photometric or "MONOCHROME2"}
        return MetaTensor(tensor, meta=out_meta)


class LoadRadiographd(MapTransform):
    """Dictionary version of :py:class:`LoadRadiograph`."""

    def __init__(self, keys: KeysCollection, size: int | None = 128, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.loader = LoadRadiograph(size)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.loader(d[key])
        return d


class LoadMaskStackd(MapTransform):
    """
    Load per-finding lesion masks (``.npz``, one boolean array per finding) as a (C, size, size) float tensor in
    the order of ``names``; findings absent from the file (or items without a mask file) give empty channels.
    """

    def __init__(
        self, keys: KeysCollection, names: Sequence[str], size: int = 128, allow_missing_keys: bool = False
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.names, self.size = list(names), int(size)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            stack = torch.zeros(len(self.names), self.size, self.size)
            path = d[key]
            if path:
                with np.load(path) as masks:
                    for i, name in enumerate(self.names):
                        if name in masks.files:
                            mask = torch.from_numpy(masks[name].astype(np.float32))[None, None]
                            stack[i] = F.interpolate(mask, size=(self.size, self.size), mode="nearest")[0, 0]
            d[key] = stack
        return d
