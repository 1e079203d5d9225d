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
Image generation behind one interface (report text -> chest radiograph):

- :py:class:`PhantomCXRGenerator`, the offline default: a rendered chest radiograph *phantom* (anatomy plus the
  stated findings where radiology puts them) with a mask per finding. It is a stand-in for a learned generator,
  not a realistic radiograph: models trained on it learn the phantom's signs, which is what the offline recipe
  and its tests need, and nothing about real radiographs' appearance.
- :py:class:`DiffusersImageGenerator`: a text-to-image ``diffusers`` pipeline from a local folder (RoentGen's
  Stable Diffusion layout), guidance scale 4 and 50 steps as in SynCXR.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

import numpy as np
from scipy import ndimage

from networks.apps.vlp.extractor import EntityExtractor

__all__ = [
    "GeneratedImage",
    "ImageGenerator",
    "RenderStyle",
    "RENDER_STYLES",
    "PhantomCXRGenerator",
    "DiffusersImageGenerator",
    "RENDERED_FINDINGS",
]


@dataclass
class GeneratedImage:
    """A generated radiograph (H x W float32 in [0, 1], display orientation) and per-finding lesion masks."""

    image: np.ndarray
    masks: dict = field(default_factory=dict)


class ImageGenerator(ABC):
    """Turns report text (SynCXR conditions on the IMPRESSION) into an image; ``seed`` makes it repeatable."""

    @abstractmethod
    def generate(self, text: str, seed: int) -> GeneratedImage:
        """One image for ``text``."""


# A finding to draw: (name, patient side 'left'/'right'/'both'/None, zone 'upper'/'middle'/'lower'/'hilar'/None)
FindingSpec = tuple[str, Optional[str], Optional[str]]

# findings drawn with another finding's picture: their masks (and hence test labels) count for that one too
_SAME_PICTURE = {
    "pneumonia": ("consolidation",),
    "hyperinflation": ("emphysema",),
    "emphysema": ("hyperinflation",),
    "granulomatous disease": ("calcified granuloma",),
}


@dataclass(frozen=True)
class RenderStyle:
    """
    How the phantom looks, apart from what it shows: anatomy proportions, contrast, finding appearance, blur and
    noise. The default is the style every training pair is drawn with; another style draws the same findings in the
    same places differently, so a test set in it scores what a model learned about the findings rather than about
    the training renderer's marks.

    Args:
        body_width: half-width of the body outline (fraction of the image).
        lung_scale: factor on both lungs' size.
        heart_scale: factor on the heart's radii (normal and enlarged alike, so cardiomegaly stays the larger one).
        lung_value: grey value of aerated lung (body 0.5): lower is more lung-to-body contrast.
        finding_contrast: factor on every finding's change to the image (1: as drawn; below 1: fainter).
        gamma_log_mean: mean of the log display gamma (0: none on average; above 0 darkens mid-greys).
        gamma_log_sd: spread of the log display gamma between images.
        blur_sigma: Gaussian blur in pixels (detector unsharpness).
        noise: standard deviation of the added quantum-like noise.
    """

    body_width: float = 0.45
    lung_scale: float = 1.0
    heart_scale: float = 1.0
    lung_value: float = 0.15
    finding_contrast: float = 1.0
    gamma_log_mean: float = 0.0
    gamma_log_sd: float = 0.1
    blur_sigma: float = 0.6
    noise: float = 0.015


# "training": every pair and the main test set; "shifted": a second test set in a setting never trained on (narrower
# body, smaller lungs, larger heart, flatter lung contrast, findings at 70% strength, darker, blurrier, noisier)
RENDER_STYLES = {
    "training": RenderStyle(),
    "shifted": RenderStyle(
        body_width=0.41,
        lung_scale=0.9,
        heart_scale=1.1,
        lung_value=0.24,
        finding_contrast=0.7,
        gamma_log_mean=0.25,
        blur_sigma=1.1,
        noise=0.035,
    ),
}


class _Canvas:
    """The phantom's geometry for one image: a grid in [0, 1]^2 and the lungs (image left = patient's right)."""

    def __init__(self, size: int, rng: np.random.Generator, hyperinflated: bool, lung_scale: float = 1.0) -> None:
        self.size, self.rng = size, rng
        self.y, self.x = (np.mgrid[0:size, 0:size] + 0.5) / size
        self.cx = 0.5 + rng.normal(0, 0.012)
        scale = (1 + rng.normal(0, 0.03)) * lung_scale
        drop, dome = (0.06, 0.015) if hyperinflated else (0.0, 0.06)
        self.lung_centre = {"right": (self.cx - 0.175 * scale, 0.44), "left": (self.cx + 0.175 * scale, 0.45)}
        self.lung_radius = {
            "right": (0.135 * scale, 0.31 * scale + drop),
            "left": (0.125 * scale, 0.30 * scale + drop),
        }
        self.base = {"right": 0.70 + drop, "left": 0.73 + drop}
        self.dome = dome
        self.draw_lungs()

    def draw_lungs(self) -> None:
        """(Re)compute both lung masks from the current geometry (after a hemidiaphragm moves)."""
        self.lungs = {side: self._lung(side) for side in ("right", "left")}

    def dome_y(self, side: str) -> np.ndarray:
        (lx, _), (rx, _) = self.lung_centre[side], self.lung_radius[side]
        return self.base[side] - self.dome * np.clip(1 - ((self.x - lx) / rx) ** 2, 0, 1)

    def _lung(self, side: str) -> np.ndarray:
        (lx, ly), (rx, ry) = self.lung_centre[side], self.lung_radius[side]
        return (((self.x - lx) / rx) ** 2 + ((self.y - ly) / ry) ** 2 <= 1) & (self.y < self.dome_y(side))

    def zone_rows(self, side: str, zone: str | None) -> tuple[float, float]:
        rows = np.nonzero(self.lungs[side].any(axis=1))[0] / self.size
        top, bottom = rows.min(), rows.max()
        h = bottom - top
        return {
            "upper": (top + 0.08 * h, top + 0.38 * h),
            "middle": (top + 0.35 * h, top + 0.62 * h),
            "lower": (top + 0.6 * h, top + 0.9 * h),
            "hilar": (top + 0.38 * h, top + 0.6 * h),
        }.get(zone, (top + 0.15 * h, top + 0.85 * h))

    def point_in(self, side: str, zone: str | None, margin: float = 0.02) -> tuple[float, float]:
        """A random point inside ``side``'s lung within ``zone``, at least ``margin`` from the lung edge."""
        inside = ndimage.binary_erosion(self.lungs[side], iterations=max(1, int(margin * self.size)))
        y0, y1 = self.zone_rows(side, zone)
        candidates = np.argwhere(inside & (self.y >= y0) & (self.y <= y1))
        if len(candidates) == 0:
            candidates = np.argwhere(self.lungs[side])
        r, c = candidates[int(self.rng.integers(len(candidates)))]
        return (c + 0.5) / self.size, (r + 0.5) / self.size

    def disc(self, centre: tuple[float, float], radius: float) -> np.ndarray:
        return np.clip(1.5 - np.hypot(self.x - centre[0], self.y - centre[1]) / radius, 0, 1) ** 0.5

    def blob(self, centre: tuple[float, float], radius: float, parts: int = 4) -> np.ndarray:
        field_ = np.zeros_like(self.x)
        for _ in range(parts):
            c = (centre[0] + self.rng.normal(0, radius / 2), centre[1] + self.rng.normal(0, radius / 2))
            field_ += np.exp(-((self.x - c[0]) ** 2 + (self.y - c[1]) ** 2) / (2 * (radius * 0.7) ** 2))
        return np.clip(field_, 0, 1)


def _sides(side: str) -> list[str]:
    """The lungs of a resolved side (``render`` resolves a missing side once per finding)."""
    return ["right", "left"] if side == "both" else [side]


class PhantomCXRGenerator(ImageGenerator):
    """
    Render a PA chest radiograph phantom for the findings stated (positively) in a report.

    Anatomy: body, lungs with vessel markings and hila, mediastinum, spine and trachea, heart, diaphragm domes
    with sharp costophrenic angles, posterior ribs, clavicles. Findings, placed on the stated side and zone
    (patient's right is image left) or at random: cardiomegaly (cardiothoracic ratio above 0.5), pleural effusion
    (basal fluid with a meniscus that blunts the angle), consolidation/pneumonia, opacity, atelectasis (plate-like
    band, raised hemidiaphragm), nodule, mass, calcified granuloma(s), granulomatous disease, pneumothorax (a
    lucent apical-lateral rim without markings behind a pleural line), edema (perihilar haze) and heart failure
    (edema with cardiomegaly), emphysema/hyperinflation (low, flat diaphragms, lucent lungs), pulmonary fibrosis
    (basal reticulation), rib fracture. Every drawn finding gets a boolean mask; so do the signs it is drawn with
    (a pneumonia's consolidation, a heart failure's edema and cardiomegaly), which is what a test label should say.

    This is a stand-in for a learned generator (see the module docstring).

    Args:
        size: output side length in pixels.
        extractor: finds the positive findings (and their side/zone) in the text given to :py:meth:`generate`.
        style: how the phantom looks (:py:class:`RenderStyle` or a name of ``RENDER_STYLES``); default the
            training style.
    """

    def __init__(
        self, size: int = 128, extractor: EntityExtractor | None = None, style: RenderStyle | str = "training"
    ) -> None:
        if size < 32:
            raise ValueError(f"PhantomCXRGenerator: size must be at least 32 pixels, got {size}.")
        if isinstance(style, str):
            if style not in RENDER_STYLES:
                raise ValueError(f"PhantomCXRGenerator: unknown style {style!r}, choose from {list(RENDER_STYLES)}.")
            style = RENDER_STYLES[style]
        self.size, self.style = int(size), style
        self.extractor = extractor or EntityExtractor()

    @property
    def style_name(self) -> str:
        """The style's name in ``RENDER_STYLES``, or its parameters when it has none (recorded in manifests)."""
        return next((k for k, v in RENDER_STYLES.items() if v == self.style), str(asdict(self.style)))

    def findings_in(self, text: str) -> list[FindingSpec]:
        """The positive findings stated in ``text`` with their side and zone words."""
        seen, out = set(), []
        for m in self.extractor.mentions(text):
            if m.key in _RENDERERS and m.key not in seen:
                seen.add(m.key)
                out.append((m.key, m.side, m.zone))
        return out

    def generate(self, text: str, seed: int) -> GeneratedImage:
        return self.render(self.findings_in(text), seed)

    def render(self, findings: Sequence[FindingSpec], seed: int) -> GeneratedImage:
        """Render the given findings; the same findings and seed give the same image."""
        rng = np.random.default_rng(seed)
        unknown = [f[0] for f in findings if f[0] not in _RENDERERS]
        if unknown:
            raise KeyError(f"PhantomCXRGenerator cannot draw {unknown}; it draws {sorted(_RENDERERS)}")
        # one side per finding, drawn once, so every part of it (a band and its raised hemidiaphragm) agrees
        findings = [
            (n, s if s in ("left", "right", "both") else ("right", "left")[int(rng.integers(2))], z)
            for n, s, z in findings
        ]
        names, style = {f[0] for f in findings}, self.style
        hyperinflated = bool(names & {"emphysema", "hyperinflation"})
        canvas = _Canvas(self.size, rng, hyperinflated, lung_scale=style.lung_scale)
        for name, side, _zone in findings:  # volume loss raises the hemidiaphragm before the lungs are drawn
            if name == "atelectasis":
                for s in _sides(side):
                    canvas.base[s] -= 0.025
                canvas.draw_lungs()
        big_heart = bool(names & {"cardiomegaly", "heart failure"})
        image, heart = self._anatomy(canvas, rng, big_heart, lucent="emphysema" in names)
        anatomy = image.copy() if style.finding_contrast != 1 else None
        masks: dict[str, np.ndarray] = {}
        for name, side, zone in findings:
            drawn = _RENDERERS[name](self, canvas, image, rng, side, zone, heart)
            parts = drawn if isinstance(drawn, dict) else {name: drawn}  # a disease may draw several signs
            union = np.logical_or.reduce(list(parts.values()))
            for key, mask in [(name, union), *parts.items(), *((a, union) for a in _SAME_PICTURE.get(name, ()))]:
                masks[key] = masks.get(key, np.zeros_like(mask)) | mask
        if anatomy is not None:  # every finding's change to the picture, scaled
            image = anatomy + style.finding_contrast * (image - anatomy)
        gamma = np.exp(rng.normal(style.gamma_log_mean, style.gamma_log_sd))
        image = ndimage.gaussian_filter(np.clip(image, 0, 1) ** gamma, style.blur_sigma)
        image = image + rng.normal(0, style.noise, image.shape)
        return GeneratedImage(np.clip(image, 0, 1).astype(np.float32), {k: v.astype(bool) for k, v in masks.items()})

    # ---- anatomy ---------------------------------------------------------------------------------------------------
    def _anatomy(self, c: _Canvas, rng, big_heart: bool, lucent: bool):
        x, y, style = c.x, c.y, self.style
        body = ((x - c.cx) / style.body_width) ** 2 + ((y - 0.6) / 0.56) ** 2 <= 1
        image = np.where(body, 0.5, 0.03)
        lungs = c.lungs["right"] | c.lungs["left"]
        texture = ndimage.gaussian_filter(rng.normal(0, 1, x.shape), 1.2)
        hila = np.exp(-(((x - c.cx) / 0.16) ** 2) - ((y - 0.46) / 0.12) ** 2)
        lung_value = style.lung_value - (0.05 if lucent else 0) + 0.05 * hila + (0.01 if lucent else 0.025) * texture
        image = np.where(lungs, lung_value, image)
        image += 0.07 * (np.abs(x - c.cx) < 0.035) * body  # spine through the mediastinum
        image -= 0.22 * ((np.abs(x - c.cx) < 0.018) & (y > 0.04) & (y < 0.33))  # trachea
        rx, ry = np.multiply((0.19, 0.14) if big_heart else (0.13, 0.12), style.heart_scale)
        heart_centre = (c.cx + 0.04 + (0.02 if big_heart else 0), 0.61)
        heart = ((x - heart_centre[0]) / rx) ** 2 + ((y - heart_centre[1]) / ry) ** 2 <= 1
        heart &= y < np.maximum(c.dome_y("left"), c.dome_y("right")) + 0.02
        image = np.where(heart, 0.6, image)
        for i in range(9):  # posterior ribs: arcs falling laterally, brighter over the lungs
            row = 0.15 + 0.058 * i + 0.09 * ((x - c.cx) / 0.32) ** 2
            image += 0.09 * (np.abs(y - row) < 0.011) * body * (np.abs(x - c.cx) > 0.04)
        for sign in (-1, 1):  # clavicles
            t = np.clip((x - c.cx) * sign / 0.3, 0, 1)
            row = 0.15 - 0.05 * t
            image += 0.13 * ((np.abs(y - row) < 0.012) & ((x - c.cx) * sign > 0.03) & ((x - c.cx) * sign < 0.3))
        return image, heart

    # ---- findings: each draws into ``image`` and returns its mask (or a dict of masks of the signs it draws) --------
    def _cardiomegaly(self, c, image, rng, side, zone, heart):
        k = self.style.heart_scale
        normal = ((c.x - c.cx - 0.04) / (0.13 * k)) ** 2 + ((c.y - 0.61) / (0.12 * k)) ** 2 <= 1
        return heart & ~normal

    def _effusion(self, c, image, rng, side, zone, heart):
        mask = np.zeros_like(c.lungs["right"])
        for s in _sides(side):
            lung = c.lungs[s]
            (lx, _), (rx, _) = c.lung_centre[s], c.lung_radius[s]
            lateral = np.clip((c.x - lx) * (1 if s == "left" else -1) / rx, -1, 1)
            level = c.base[s] - rng.uniform(0.06, 0.13) - 0.05 * (lateral + 1) ** 2  # meniscus rises laterally
            fluid = lung & (c.y > level)
            image[fluid] = 0.5 + 0.03 * rng.normal()
            mask |= fluid
        return mask

    def _consolidation(self, c, image, rng, side, zone, heart, strength=0.3, radius=(0.05, 0.08)):
        mask = np.zeros_like(c.lungs["right"])
        for s in _sides(side):
            blob = c.blob(c.point_in(s, zone), rng.uniform(*radius)) * c.lungs[s]
            image += strength * blob
            mask |= blob > 0.35
        return mask

    def _opacity(self, c, image, rng, side, zone, heart):
        return self._consolidation(c, image, rng, side, zone, heart, strength=0.16, radius=(0.03, 0.05))

    def _atelectasis(self, c, image, rng, side, zone, heart):
        mask = np.zeros_like(c.lungs["right"])
        for s in _sides(side):
            px, py = c.point_in(s, zone or "lower", margin=0.04)
            angle = rng.uniform(-0.35, 0.35)
            dist = np.abs((c.y - py) * np.cos(angle) - (c.x - px) * np.sin(angle))
            band = (dist < rng.uniform(0.008, 0.014)) & (np.hypot(c.x - px, c.y - py) < 0.09) & c.lungs[s]
            image[band] += 0.24
            mask |= band
        return mask

    def _spots(self, c, image, rng, side, zone, radius, strength, count):
        mask = np.zeros_like(c.lungs["right"])
        for _ in range(count):
            s = side if side in ("right", "left") else ("right", "left")[int(rng.integers(2))]
            r = rng.uniform(*radius)
            disc = c.disc(c.point_in(s, zone, margin=r + 0.01), r)
            image += strength * disc
            mask |= disc > 0.5
        return mask

    def _nodule(self, c, image, rng, side, zone, heart):
        return self._spots(c, image, rng, side, zone, (0.016, 0.026), 0.28, 1)

    def _mass(self, c, image, rng, side, zone, heart):
        return self._spots(c, image, rng, side, zone, (0.05, 0.075), 0.33, 1)

    def _granuloma(self, c, image, rng, side, zone, heart):
        return self._spots(c, image, rng, side, zone, (0.007, 0.011), 0.5, int(rng.integers(1, 3)))

    def _granulomatous_disease(self, c, image, rng, side, zone, heart):
        mask = self._spots(c, image, rng, None, zone, (0.007, 0.011), 0.5, int(rng.integers(3, 6)))
        for s in ("right", "left"):  # calcified hilar nodes
            if rng.random() < 0.7:
                hx = c.lung_centre[s][0] + (0.1 if s == "right" else -0.09)
                disc = c.disc((hx, 0.46 + rng.normal(0, 0.02)), 0.012)
                image += 0.45 * disc
                mask |= disc > 0.5
        return mask

    def _pneumothorax(self, c, image, rng, side, zone, heart):
        mask = np.zeros_like(c.lungs["right"])
        for s in _sides(side):
            lung = c.lungs[s]
            (lx, ly), (rx, ry) = c.lung_centre[s], c.lung_radius[s]
            depth = rng.uniform(0.25, 0.45)  # collapsed fraction of the lung's half-width at the apex
            # the visceral pleural line: an inner ellipse, lateral and apical to which the lung is gone
            inner = ((c.x - lx - (0.5 if s == "left" else -0.5) * -depth * rx) / (rx * (1 - depth))) ** 2 + (
                (c.y - ly - depth * ry * 0.5) / (ry * (1 - depth * 0.5))
            ) ** 2 <= 1
            rim = lung & ~inner & (c.y < ly + 0.5 * ry)
            image[rim] = 0.06
            line = rim & ndimage.binary_dilation(inner, iterations=1)
            image[line] = 0.3
            mask |= rim
        return mask

    def _edema(self, c, image, rng, side, zone, heart):
        lungs = c.lungs["right"] | c.lungs["left"]
        haze = np.exp(-(((c.x - c.cx) / 0.2) ** 2) - ((c.y - 0.5) / 0.17) ** 2) * lungs
        image += 0.22 * haze
        return haze > 0.45

    def _heart_failure(self, c, image, rng, side, zone, heart):
        return {
            "edema": self._edema(c, image, rng, side, zone, heart),
            "cardiomegaly": self._cardiomegaly(c, image, rng, side, zone, heart),
        }

    def _hyperinflation(self, c, image, rng, side, zone, heart):
        return c.lungs["right"] | c.lungs["left"]

    def _fibrosis(self, c, image, rng, side, zone, heart):
        lungs = c.lungs["right"] | c.lungs["left"]
        y0, _ = c.zone_rows("right", "lower")
        reticular = ndimage.gaussian_filter(rng.normal(0, 1, c.x.shape), 0.8) > 0.35
        region = lungs & (c.y > y0 - 0.05)
        image[region & reticular] += 0.14
        return region

    def _fracture(self, c, image, rng, side, zone, heart):
        s = _sides(side)[0]
        i = int(rng.integers(3, 7))
        bx = c.lung_centre[s][0] + (-0.07 if s == "right" else 0.07)
        row = 0.15 + 0.058 * i + 0.09 * ((bx - c.cx) / 0.32) ** 2
        gap = (np.abs(c.x - bx) < 0.008) & (np.abs(c.y - row) < 0.014)
        image[gap] -= 0.09  # a lucent break through the rib
        shifted = (c.x > bx) & (np.abs(c.x - bx) < 0.05) & (np.abs(c.y - row - 0.012) < 0.01)
        image[shifted] += 0.05  # the displaced fragment's edge
        return np.hypot(c.x - bx, c.y - row) < 0.035


_RENDERERS = {
    "cardiomegaly": PhantomCXRGenerator._cardiomegaly,
    "pleural effusion": PhantomCXRGenerator._effusion,
    "consolidation": PhantomCXRGenerator._consolidation,
    "pneumonia": PhantomCXRGenerator._consolidation,
    "opacity": PhantomCXRGenerator._opacity,
    "atelectasis": PhantomCXRGenerator._atelectasis,
    "nodule": PhantomCXRGenerator._nodule,
    "mass": PhantomCXRGenerator._mass,
    "calcified granuloma": PhantomCXRGenerator._granuloma,
    "granulomatous disease": PhantomCXRGenerator._granulomatous_disease,
    "pneumothorax": PhantomCXRGenerator._pneumothorax,
    "edema": PhantomCXRGenerator._edema,
    "heart failure": PhantomCXRGenerator._heart_failure,
    "emphysema": PhantomCXRGenerator._hyperinflation,
    "hyperinflation": PhantomCXRGenerator._hyperinflation,
    "pulmonary fibrosis": PhantomCXRGenerator._fibrosis,
    "fracture": PhantomCXRGenerator._fracture,
}
RENDERED_FINDINGS = tuple(_RENDERERS)  # the findings the phantom draws


class DiffusersImageGenerator(ImageGenerator):
    """
    A text-to-image ``diffusers`` pipeline loaded from a local folder (e.g. RoentGen's Stable Diffusion layout).

    Args:
        model_path: folder saved with ``save_pretrained`` (``model_index.json`` and the component folders).
        guidance_scale: classifier-free guidance (SynCXR: 4).
        num_inference_steps: denoising steps (SynCXR: 50).
        size: output side length (``None``: the pipeline's default).
        device: where the pipeline runs.
    """

    def __init__(
        self,
        model_path: str,
        guidance_scale: float = 4.0,
        num_inference_steps: int = 50,
        size: int | None = None,
        device: str = "cpu",
    ) -> None:
        from diffusers import DiffusionPipeline

        self.model_path = str(model_path)
        self.pipeline = DiffusionPipeline.from_pretrained(model_path, local_files_only=True).to(device)
        self.pipeline.set_progress_bar_config(disable=True)
        self.guidance_scale, self.steps, self.size, self.device = guidance_scale, num_inference_steps, size, device

    def generate(self, text: str, seed: int) -> GeneratedImage:
        import torch

        generator = torch.Generator(device=self.device).manual_seed(int(seed))
        size = {"height": self.size, "width": self.size} if self.size else {}
        result = self.pipeline(
            text,
            guidance_scale=self.guidance_scale,
            num_inference_steps=self.steps,
            generator=generator,
            output_type="np",
            **size,
        )
        image = np.asarray(result.images[0], dtype=np.float32)
        if image.ndim == 3:  # RGB output of Stable Diffusion: radiographs are grey
            image = image.mean(axis=-1)
        return GeneratedImage(np.clip(image, 0, 1))
