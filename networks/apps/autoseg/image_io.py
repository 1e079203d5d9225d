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

"""Read images and label maps the way nnU-Net v2 does, so fingerprints and plans compare key by key.

Arrays come back as ``(channels, z, y, x)`` (ITK's array order, the reverse of the world axes) and the spacing in
the same order. 2D files get a leading axis of length 1 and nnU-Net's dummy spacing: 999 for natural images (PNG,
BMP, 2D TIFF; pixel spacing 1) and 999 x the largest spacing for 2D medical files. 3D TIFF stacks (``.tiff``, or a
``.tif`` that is not a 2D/RGB image) take their spacing from ``<case>.json`` next to them, as nnU-Net's Tiff3DIO.
ITK (a dependency of MONAI's ``ITKReader``) reads every medical format, which keeps origin and direction for export:
``write_seg`` writes a label map back in the reader's format with the geometry it read (as nnU-Net's writers).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

__all__ = [
    "MEDICAL_ENDINGS",
    "NATURAL_2D_ENDINGS",
    "TIFF_3D_ENDINGS",
    "SUPPORTED_ENDINGS",
    "ImageReadError",
    "reader_name",
    "read_images",
    "read_seg",
    "write_seg",
]

MEDICAL_ENDINGS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".gipl")
NATURAL_2D_ENDINGS = (".png", ".bmp", ".tif")
TIFF_3D_ENDINGS = (".tiff", ".tif")
SUPPORTED_ENDINGS = MEDICAL_ENDINGS + (".png", ".bmp", ".tif", ".tiff")
NATURAL_IMAGE_SPACING = (999.0, 1.0, 1.0)  # nnU-Net's marker of a 2D image: never resampled across the dummy axis


class ImageReadError(ValueError):
    """A file cannot be read as an image of the expected kind; the message names the file."""


def reader_name(file_ending: str, natural_2d: bool = True) -> str:
    """Name of nnU-Net v2's reader/writer class for ``file_ending`` (written to plans so nnunetv2 accepts them).

    ``natural_2d=False`` for ``.tif`` files that are 3D stacks (nnU-Net's registry then falls through to Tiff3DIO).
    """
    ending = file_ending.lower()
    if ending == ".tif" and not natural_2d:
        return "Tiff3DIO"
    if ending == ".nii":
        return "NibabelIO"
    if ending in MEDICAL_ENDINGS:
        return "SimpleITKIO"
    if ending in (".png", ".bmp", ".tif"):
        return "NaturalImage2DIO"
    if ending == ".tiff":
        return "Tiff3DIO"
    raise ImageReadError(f"file ending {file_ending!r} is not supported; use one of {', '.join(SUPPORTED_ENDINGS)}")


def _ending(path: str) -> str:
    lower = path.lower()
    for ending in SUPPORTED_ENDINGS:
        if lower.endswith(ending):
            return ending
    raise ImageReadError(f"{path}: unsupported file ending; use one of {', '.join(SUPPORTED_ENDINGS)}")


def _read_medical(path: str) -> tuple[np.ndarray, dict]:
    import itk  # imported lazily: ITK's first import costs seconds

    try:
        try:
            image = itk.imread(path)
        except Exception as err:
            if "not wrapped" not in str(err):
                raise
            # int8/int64/uint64 files (nibabel writes int64 labels): the ITK wheels wrap no such image type, so read
            # as float32, which is what nnU-Net's reader returns for every file anyway
            image = itk.imread(path, itk.F)
    except Exception as err:  # ITK raises RuntimeError/OSError subclasses depending on the format
        raise ImageReadError(f"{path}: cannot be read as an image ({err})") from err
    array = np.asarray(itk.array_from_image(image))
    itk_spacing = [float(s) for s in image.GetSpacing()]
    geometry = {
        "spacing": itk_spacing,
        "origin": [float(o) for o in image.GetOrigin()],
        "direction": np.asarray(image.GetDirection()).reshape(-1).tolist(),
    }
    if array.ndim == 2:
        array = array[None, None]
        spacing = [max(itk_spacing) * 999, *itk_spacing[::-1]]
    elif array.ndim == 3:
        array = array[None]
        spacing = itk_spacing[::-1]
    elif array.ndim == 4:  # several channels in one file (MSD): the 4th world axis is the channel
        spacing = itk_spacing[::-1][1:]
    else:
        raise ImageReadError(f"{path}: expected a 2D, 3D or 4D image, got {array.ndim} dimensions")
    return array, {"spacing": [abs(s) for s in spacing], "itk": geometry}


def _natural_2d(path: str, array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[-1] in (3, 4):  # RGB(A): colour becomes channels
        return array.transpose(2, 0, 1)[:, None]
    if array.ndim == 2:
        return array[None, None]
    raise ImageReadError(f"{path}: a 2D image must be (y, x) or (y, x, 3|4), got shape {array.shape}")


def _tiff_3d_spacing(path: str, is_label: bool) -> list[float]:
    # nnU-Net's Tiff3DIO: imagesTr/case_0000.tiff and labelsTr/case.tiff both read <folder>/case.json
    name = os.path.basename(path)
    stem = name[: -len(_ending(path))]
    if not is_label and len(stem) > 5 and stem[-5] == "_" and stem[-4:].isdigit():
        stem = stem[:-5]
    aux = os.path.join(os.path.dirname(path), stem + ".json")
    if not os.path.isfile(aux):
        return [1.0, 1.0, 1.0]  # nnU-Net assumes isotropic 1 as well (it prints a warning)
    with open(aux) as f:
        spacing = json.load(f).get("spacing")
    if not isinstance(spacing, list) or len(spacing) != 3:
        raise ImageReadError(f"{aux}: expected {{'spacing': [z, y, x]}} with three numbers, got {spacing!r}")
    return [float(s) for s in spacing]


def _read_one(path: str, is_label: bool) -> tuple[np.ndarray, dict]:
    if not os.path.isfile(path):
        raise ImageReadError(f"{path}: file not found")
    ending = _ending(path)
    if ending in MEDICAL_ENDINGS:
        return _read_medical(path)
    if ending in (".png", ".bmp"):
        from PIL import Image

        try:
            with Image.open(path) as img:
                return _natural_2d(path, np.asarray(img)), {"spacing": list(NATURAL_IMAGE_SPACING)}
        except OSError as err:
            raise ImageReadError(f"{path}: cannot be read as an image ({err})") from err
    import tifffile

    try:
        array = tifffile.imread(path)
    except Exception as err:  # tifffile raises several types for corrupt files
        raise ImageReadError(f"{path}: cannot be read as a TIFF ({err})") from err
    if ending == ".tif" and (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        return _natural_2d(path, array), {"spacing": list(NATURAL_IMAGE_SPACING)}
    if array.ndim != 3:
        raise ImageReadError(f"{path}: a TIFF stack must be 3D (z, y, x), got shape {array.shape}")
    return array[None], {"spacing": _tiff_3d_spacing(path, is_label)}


def read_images(paths: Sequence[str]) -> tuple[np.ndarray, dict]:
    """Read the channel files of one case into a float32 ``(c, z, y, x)`` array and its properties.

    Raises:
        ImageReadError: a file is unreadable, or the channels differ in shape or spacing (message names them).
    """
    arrays, props = [], []
    for path in paths:
        array, prop = _read_one(str(path), is_label=False)
        arrays.append(array)
        props.append(prop)
    shapes = {a.shape[1:] for a in arrays}
    if len(shapes) > 1:
        raise ImageReadError(f"channels of {list(map(str, paths))} differ in shape: {[a.shape[1:] for a in arrays]}")
    spacings = [p["spacing"] for p in props]
    if any(not np.allclose(s, spacings[0]) for s in spacings[1:]):
        raise ImageReadError(f"channels of {list(map(str, paths))} differ in spacing: {spacings}")
    data = np.vstack(arrays).astype(np.float32, copy=False)
    return data, props[0]


def read_seg(path: str) -> tuple[np.ndarray, dict]:
    """Read a label map as ``(1, z, y, x)`` (dtype as stored) and its properties."""
    array, prop = _read_one(str(path), is_label=True)
    if array.shape[0] != 1:
        raise ImageReadError(f"{path}: a label map must have one channel, got {array.shape[0]}")
    return array, prop


def _write_atomic(path: str, write) -> None:
    # the writer picks the format from the ending, so the temporary name keeps it
    ending = _ending(path)
    tmp = f"{path[: -len(ending)]}.tmp{os.getpid()}{ending}"
    write(tmp)
    os.replace(tmp, path)


def _label_dtype(seg: np.ndarray):
    return np.uint8 if seg.max(initial=0) < 256 else np.uint16


def write_seg(seg: np.ndarray, properties: dict, path: str | os.PathLike) -> None:
    """Write a ``(z, y, x)`` label map (the array order ``read_seg`` returns, channel axis dropped) to ``path``.

    Medical formats get the spacing, origin and direction that were read (``properties["itk"]``, 2D files written
    as 2D, the channel axis of 4D inputs dropped); PNG/BMP/2D TIFF a 2D image; 3D TIFF the stack plus
    ``<case>.json`` with its spacing. The file is written under a temporary name and renamed into place.
    """
    path = str(path)
    ending = _ending(path)
    seg = np.asarray(seg)
    if seg.ndim != 3:
        raise ValueError(f"{path}: expected a (z, y, x) label map, got shape {seg.shape}")
    seg = seg.astype(_label_dtype(seg), copy=False)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if ending in MEDICAL_ENDINGS:
        import itk

        geometry = properties.get("itk")
        if geometry is None:
            raise ValueError(f"{path}: the input had no medical-image geometry; write {ending} only for such inputs")
        dims = 2 if len(geometry["spacing"]) == 2 else 3
        image = itk.image_from_array(np.ascontiguousarray(seg[0] if dims == 2 else seg))
        full = int(round(len(geometry["direction"]) ** 0.5))
        image.SetSpacing(geometry["spacing"][:dims])
        image.SetOrigin(geometry["origin"][:dims])
        image.SetDirection(np.asarray(geometry["direction"]).reshape(full, full)[:dims, :dims].copy())
        _write_atomic(path, lambda p: itk.imwrite(image, p, compression=True))
    elif ending in (".png", ".bmp") or (ending == ".tif" and seg.shape[0] == 1):
        from PIL import Image

        if seg.shape[0] != 1:
            raise ValueError(f"{path}: {ending} holds 2D images, the label map has {seg.shape[0]} slices")
        _write_atomic(path, lambda p: Image.fromarray(seg[0]).save(p))
    else:  # 3D TIFF: the stack, and the spacing where nnU-Net's Tiff3DIO looks for it
        import tifffile

        _write_atomic(path, lambda p: tifffile.imwrite(p, seg))
        aux = path[: -len(ending)] + ".json"
        with open(aux + ".tmp", "w") as f:
            json.dump({"spacing": [float(s) for s in properties["spacing"]]}, f)
        os.replace(aux + ".tmp", aux)
