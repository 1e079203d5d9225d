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
"""
SynCXR's image quality filter: an image whose embedding is as similar as ``threshold`` (0.5) to any image of a
bank of known-bad images (blank, saturated, noise, non-chest) is rejected and regenerated.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy import ndimage

__all__ = ["QualityFilter", "image_descriptor", "bad_image_bank"]


def image_descriptor(image: np.ndarray, grid: int = 16) -> np.ndarray:
    """
    A training-free image embedding: the image's layout (a ``grid`` x ``grid`` thumbnail of its standardised
    intensities) and its edge layout (the same of its gradient magnitude), each L2-normalised, plus two markers:
    flatness (no layout at all: blank or saturated) and fine-scale energy (the share of the variance below
    one-pixel scale: about 0.8 for white noise, about 0.01 for a radiograph). Cosine similarity of two descriptors
    mixes the layouts' correlations with agreement of the markers, so flat images match flat images and noise
    matches noise, and neither matches a chest.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"image_descriptor expects a 2D image, got shape {image.shape}")
    zoom = (grid / image.shape[0], grid / image.shape[1])
    parts = []
    for channel in (image, ndimage.gaussian_gradient_magnitude(image, 1.0)):
        thumb = ndimage.zoom(ndimage.gaussian_filter(channel, max(image.shape) / grid / 2), zoom, order=1)
        thumb = thumb - thumb.mean()
        norm = np.linalg.norm(thumb)
        parts.append(thumb.ravel() / norm if norm > 1e-6 * thumb.size else np.zeros(thumb.size))
    flat = float(not parts[0].any())
    fine = float(np.var(image - ndimage.gaussian_filter(image, 1.0)) / max(np.var(image), 1e-12)) if not flat else 0
    vector = np.concatenate(parts + [np.array([2.0 * flat, 3.0 * fine])])
    return vector / max(np.linalg.norm(vector), 1e-12)


def bad_image_bank(size: int = 128, seed: int = 0) -> list[np.ndarray]:
    """Known-bad images: blank, saturated, white noise, and non-chest patterns (ramps, a checkerboard, a blob)."""
    rng = np.random.default_rng(seed)
    y, x = (np.mgrid[0:size, 0:size] + 0.5) / size
    return [
        np.zeros((size, size)),  # blank
        np.ones((size, size)),  # saturated
        rng.random((size, size)),  # white noise
        x,  # a horizontal ramp (detector or windowing failure)
        y,  # a vertical ramp
        ((np.floor(x * 8) + np.floor(y * 8)) % 2).astype(float),  # a test pattern
        np.exp(-((x - 0.5) ** 2 + (y - 0.5) ** 2) / 0.05),  # one bright blob (not a chest)
    ]


class QualityFilter:
    """
    Reject images too similar to a bank of bad images.

    Args:
        bank: the known-bad images (default :py:func:`bad_image_bank`).
        threshold: rejection threshold on the cosine similarity of embeddings (SynCXR: 0.5).
        embed: image -> 1D embedding; the default is the training-free :py:func:`image_descriptor`. A learned
            encoder (for example a pretrained image tower) can be passed instead.
    """

    def __init__(
        self,
        bank: Sequence[np.ndarray] | None = None,
        threshold: float = 0.5,
        embed: Callable[[np.ndarray], np.ndarray] = image_descriptor,
    ) -> None:
        self.embed, self.threshold = embed, float(threshold)
        images = bad_image_bank() if bank is None else bank
        self.bank = np.stack([self._unit(embed(np.asarray(b, dtype=np.float64))) for b in images])

    @staticmethod
    def _unit(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64).ravel()
        return v / max(np.linalg.norm(v), 1e-12)

    def similarity(self, image: np.ndarray) -> float:
        """Highest cosine similarity of ``image``'s embedding to the bank."""
        return float(np.max(self.bank @ self._unit(self.embed(np.asarray(image, dtype=np.float64)))))

    def accepts(self, image: np.ndarray) -> bool:
        """True when the image is less similar than ``threshold`` to every bad image."""
        return self.similarity(image) < self.threshold
