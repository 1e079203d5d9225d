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
Writing image-report pair datasets: SynCXR's synthetic pairs (balanced entities -> verified report -> image ->
quality filter), the "real-distribution" pairs (real report texts with images rendered from their own MeSH
findings), and the fixed held-out test set (images rendered from the test reports' MeSH findings, with labels
and lesion masks).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from networks.apps.vlp.extractor import EntityExtractor
from networks.apps.vlp.images import (
    RENDER_STYLES,
    RENDERED_FINDINGS,
    GeneratedImage,
    ImageGenerator,
    PhantomCXRGenerator,
)
from networks.apps.vlp.lexicon import ANATOMY, all_entity_keys, finding_of
from networks.apps.vlp.quality import QualityFilter
from networks.apps.vlp.reports import (
    ReportGenerator,
    ReportVerifier,
    SentenceBankReportGenerator,
    generate_verified_report,
)
from networks.apps.vlp.sampler import BalancedEntitySampler
from networks.apps.vlp.vocabulary import distribution_figure_png, mesh_findings, report_text
from networks.data.file_io import write_bytes_atomic, write_json_atomic

__all__ = ["PairDatasetGenerator", "load_reports", "mesh_specs", "png16_bytes", "report_with_sections", "SOURCES"]

SOURCES = ("synthetic", "real", "both")
REPORT_KEYS = ("id", "findings", "impression", "mesh", "split")
TEST_SET_SEED = 12345
VALIDATION_SET_SEED = 54321
_SIDE_WORDS = {"left": "left", "right": "right", "bilateral": "both"}
_ZONE_WORDS = {
    "base": "lower",
    "lower lobe": "lower",
    "upper lobe": "upper",
    "apex": "upper",
    "middle lobe": "middle",
    "lingula": "middle",
    "hilum": "hilar",
}


def load_reports(reports_dir: str | os.PathLike) -> list[dict]:
    """``reports.json`` of a ``zoo-prepare-data cxr_reports`` folder, with a clear error when it is missing."""
    path = Path(reports_dir) / "reports.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: prepare the reports first with " f"`zoo-prepare-data cxr_reports --out {reports_dir}`."
        )
    reports = json.loads(path.read_text())
    if not isinstance(reports, list) or not reports:
        raise ValueError(f"{path}: expected a non-empty list of reports (re-run zoo-prepare-data cxr_reports)")
    for i, report in enumerate(reports):
        missing = [k for k in REPORT_KEYS if not isinstance(report, dict) or k not in report]
        if missing:
            raise ValueError(f"{path}: report {i} lacks {missing} (re-run zoo-prepare-data cxr_reports)")
    return reports


def report_with_sections(findings: str, impression: str) -> str:
    """The text a model is trained on: both sections, labelled."""
    return f"FINDINGS: {findings} IMPRESSION: {impression}"


def mesh_specs(mesh_terms: Sequence[str]) -> list[tuple]:
    """Findings to render for a report's MeSH terms, with side and zone from their subheadings."""
    specs = []
    for name, subheadings in mesh_findings(mesh_terms).items():
        side = next((_SIDE_WORDS[s] for s in subheadings if s in _SIDE_WORDS), None)
        zone = next((_ZONE_WORDS[s] for s in subheadings if s in _ZONE_WORDS), None)
        specs.append((name, side, zone))
    return specs


def png16_bytes(image: np.ndarray) -> bytes:
    """A [0, 1] image as 16-bit greyscale PNG bytes (rows x columns as given)."""
    from PIL import Image

    array = np.round(np.clip(image, 0, 1) * 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _npz_bytes(masks: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: np.asarray(v, dtype=bool) for k, v in masks.items()})
    return buffer.getvalue()


class PairDatasetGenerator:
    """
    Write an image-report pair dataset (and, once, the held-out test set and the validation phantoms) into folders,
    with a manifest.

    Output in ``output_dir``: ``images/<id>.png`` (16-bit), ``masks/<id>.npz`` (one boolean mask per drawn
    finding), ``datalist.json`` (``training``: ``{"image", "report", "entities", "seed", "mask"}``),
    ``manifest.json`` (configuration, counts, and the seed of every pair), ``distribution.png``/``.json`` (entity
    distribution of the written reports against the real one). ``test_dir`` gets the test set in the same layout
    with ``labels`` (0/1 per rendered finding, from MeSH) in ``datalist.json``'s ``test`` list.

    A finished folder whose manifest holds the same configuration is left as it is; otherwise it is rewritten
    (every file atomically), the same seed giving the same bytes.

    Args:
        reports_dir: a ``zoo-prepare-data cxr_reports`` folder.
        output_dir: where the pairs go.
        source: ``"synthetic"`` (balanced sampler + generators), ``"real"`` (real reports, images from MeSH) or
            ``"both"`` (half each).
        num_pairs: number of pairs.
        seed: seed of the whole run (sampler, sentence choices, image seeds).
        test_dir: where the fixed test set goes (``None``: not written).
        num_test_cases: the first this many test reports only (``None``: all 863; fewer for quick checks).
        test_style: renderer style of the test images (a name of ``RENDER_STYLES``): ``"training"``, or
            ``"shifted"`` for a test set in a setting no pair is drawn in.
        val_dir: where the validation phantoms go, on which zero-shot calibration is fitted (``None``: not written).
        num_val_cases: number of validation phantoms; with ``val_dir``, their reports (the last training-split ones)
            are held out of the pairs and of the synthetic reports' sentence bank.
        image_size: side of the default phantom images.
        report_generator: default :py:class:`SentenceBankReportGenerator` over the training reports.
        image_generator: default :py:class:`PhantomCXRGenerator`.
        quality_filter: default :py:class:`QualityFilter` (threshold 0.5).
        k: range of finding entities per synthetic report.
        m: range of anatomy entities per synthetic report.
        cap_factor: the sampler's per-entity cap over the uniform expectation.
        max_report_attempts: report generations per entity set before the set is dropped.
        max_image_attempts: image generations per report before the pair is dropped.
    """

    def __init__(
        self,
        reports_dir: str,
        output_dir: str,
        source: str = "synthetic",
        num_pairs: int = 1000,
        seed: int = 0,
        test_dir: str | None = None,
        num_test_cases: int | None = None,
        test_style: str = "training",
        val_dir: str | None = None,
        num_val_cases: int = 400,
        image_size: int = 128,
        report_generator: ReportGenerator | None = None,
        image_generator: ImageGenerator | None = None,
        quality_filter: QualityFilter | None = None,
        k: Sequence[int] = (1, 4),
        m: Sequence[int] = (1, 3),
        cap_factor: float = 1.25,
        max_report_attempts: int = 5,
        max_image_attempts: int = 3,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if int(num_pairs) < 1:
            raise ValueError(f"num_pairs must be at least 1, got {num_pairs}")
        self.reports = load_reports(reports_dir)
        vocabulary = Path(reports_dir) / "vocabulary.json"
        if not vocabulary.is_file():
            raise FileNotFoundError(f"{vocabulary} not found: re-run `zoo-prepare-data cxr_reports`")
        self.reports_sha256 = hashlib.sha256((Path(reports_dir) / "reports.json").read_bytes()).hexdigest()
        self.reports_dir, self.output_dir, self.test_dir = Path(reports_dir), Path(output_dir), test_dir
        self.num_test_cases = None if num_test_cases in (None, "none") else int(num_test_cases)
        if test_style not in RENDER_STYLES:
            raise ValueError(f"test_style must be one of {list(RENDER_STYLES)}, got {test_style!r}")
        self.test_style = test_style
        self.val_dir = None if val_dir in (None, "none") else val_dir
        self.num_val_cases = int(num_val_cases)
        self.source, self.num_pairs, self.seed, self.image_size = source, int(num_pairs), int(seed), int(image_size)
        self.extractor = EntityExtractor()
        train = [r for r in self.reports if r["split"] == "train" and report_text(r)]
        # the validation phantoms' reports (the last ones) are held out of the pairs and of the sentence bank, so that
        # what calibration is fitted on was not trained on by any source
        held_out = self.num_val_cases if self.val_dir is not None else 0
        self.validation_reports = train[len(train) - held_out :] if held_out else []
        self.train_reports = train[: len(train) - held_out]
        self._report_generator = report_generator
        self.image_generator = image_generator or PhantomCXRGenerator(image_size, self.extractor)
        self.phantom = PhantomCXRGenerator(image_size, self.extractor)  # real-distribution and validation images
        self.quality_filter = quality_filter or QualityFilter()
        self.k, self.m, self.cap_factor = tuple(k), tuple(m), float(cap_factor)
        self.max_report_attempts, self.max_image_attempts = int(max_report_attempts), int(max_image_attempts)

    @property
    def report_generator(self) -> ReportGenerator:
        if self._report_generator is None:
            self._report_generator = SentenceBankReportGenerator(self.train_reports, self.extractor)
        return self._report_generator

    @staticmethod
    def _describe(generator) -> str:
        """A generator's class and, for learned ones, the folder of its weights."""
        path = getattr(generator, "model_path", None)
        return type(generator).__name__ + (f"({path})" if path else "")

    def config(self) -> dict:
        """What determines the output (compared with a finished folder's manifest)."""
        return {
            "source": self.source,
            "num_pairs": self.num_pairs,
            "seed": self.seed,
            "held_out_for_validation": len(self.validation_reports),
            "image_size": self.image_size,
            "reports_sha256": self.reports_sha256,
            "report_generator": (
                self._describe(self._report_generator)
                if self._report_generator
                else SentenceBankReportGenerator.__name__
            ),
            "image_generator": self._describe(self.image_generator),
            "quality_threshold": self.quality_filter.threshold,
            "k": list(self.k),
            "m": list(self.m),
            "cap_factor": self.cap_factor,
            "max_report_attempts": self.max_report_attempts,
            "max_image_attempts": self.max_image_attempts,
        }

    @staticmethod
    def _finished(folder: Path, config: dict) -> bool:
        manifest = folder / "manifest.json"
        if not manifest.is_file():
            return False
        try:
            doc = json.loads(manifest.read_text())
        except ValueError:
            return False
        items = json.loads((folder / "datalist.json").read_text()) if (folder / "datalist.json").is_file() else {}
        files = [
            i[k] for split in ("training", "test") for i in items.get(split, []) for k in ("image", "mask") if k in i
        ]
        return doc.get("config") == config and doc.get("complete") and all((folder / f).is_file() for f in files)

    # ---- writing ---------------------------------------------------------------------------------------------------
    def _write_pair(self, folder: Path, pair_id: str, generated: GeneratedImage, record: dict) -> dict:
        write_bytes_atomic(folder / "images" / f"{pair_id}.png", png16_bytes(generated.image))
        record = {"id": pair_id, "image": f"images/{pair_id}.png", **record}
        if generated.masks:
            write_bytes_atomic(folder / "masks" / f"{pair_id}.npz", _npz_bytes(generated.masks))
            record["mask"] = f"masks/{pair_id}.npz"
        return record

    def _filtered_image(self, text: str, rng, counts: Counter, render=None):
        for attempt in range(1, self.max_image_attempts + 1):
            seed = int(rng.integers(2**31))
            generated = render(seed) if render else self.image_generator.generate(text, seed)
            if self.quality_filter.accepts(generated.image):
                return generated, seed
            counts["images_rejected_by_filter"] += 1
        counts["pairs_dropped_bad_image"] += 1
        return None, None

    def _synthetic_pairs(self, n: int, rng, counts: Counter, sampler_seed) -> list[dict]:
        generator = self.report_generator
        keys = [k for k in all_entity_keys() if generator.can_state(k)]
        sampler = BalancedEntitySampler(
            [k for k in keys if k not in ANATOMY],
            [k for k in keys if k in ANATOMY],
            self.k,
            self.m,
            num_samples=n,
            cap_factor=self.cap_factor,
            seed=sampler_seed,
        )
        verifier = ReportVerifier(self.extractor)
        records = []
        attempts: Counter = Counter()
        while len(records) < n:
            entities = sampler.sample()
            report = generate_verified_report(generator, verifier, entities, rng, self.max_report_attempts)
            attempts[report.attempts if report.verified else "failed"] += 1
            if not report.verified:
                sampler.release(entities)
                counts["entity_sets_dropped_unverified_report"] += 1
                if counts["entity_sets_dropped_unverified_report"] > 10 * n:
                    raise RuntimeError(
                        f"{type(generator).__name__} failed verification {10 * n} times (last problems: "
                        f"{report.problems}); check the generator."
                    )
                continue
            generated, seed = self._filtered_image(report.impression, rng, counts)
            if generated is None:
                sampler.release(entities)
                continue
            pair_id = f"syn{len(records):05d}"
            text = report_with_sections(report.findings, report.impression)
            records.append(
                self._write_pair(
                    self.output_dir,
                    pair_id,
                    generated,
                    {"report": text, "entities": sorted(entities), "seed": seed, "source": "synthetic"},
                )
            )
        counts["sampler_redraws_capped"] += sampler.redraws
        counts["sampler_cap"] = sampler.max_count
        counts["report_attempts"] = {str(k): v for k, v in sorted(attempts.items(), key=lambda kv: str(kv[0]))}
        return records

    def _real_pairs(self, n: int, rng, counts: Counter) -> list[dict]:
        pool = [r for r in self.train_reports if r["findings"] and r["impression"]]
        if n > len(pool):
            raise ValueError(
                f"source 'real' has {len(pool)} training reports with both sections; num_pairs {n} is more"
            )
        records = []
        for index in rng.permutation(len(pool)):
            if len(records) == n:
                break
            report = pool[int(index)]
            specs = mesh_specs(report["mesh"])
            generated, seed = self._filtered_image("", rng, counts, render=lambda s: self.phantom.render(specs, s))
            if generated is None:
                continue
            text = report_with_sections(report["findings"], report["impression"])
            entities = sorted(self.extractor.entities(report_text(report)))
            records.append(
                self._write_pair(
                    self.output_dir,
                    f"real{len(records):05d}_{report['id']}",
                    generated,
                    {"report": text, "entities": entities, "seed": seed, "source": "real"},
                )
            )
        return records

    def _distribution(self, records: list[dict]) -> None:
        vocabulary = json.loads((self.reports_dir / "vocabulary.json").read_text())
        real = {e["key"]: e["report_count"] for e in vocabulary["entities"] if e["type"] != "anatomy"}
        generated = Counter(e for r in records for e in r["entities"] if finding_of(e) is not None)
        write_json_atomic(self.output_dir / "distribution.json", {"real": real, "generated": dict(generated)})
        title = f"Finding entities: real IU reports vs {len(records)} {self.source} pairs"
        write_bytes_atomic(self.output_dir / "distribution.png", distribution_figure_png(real, generated, title))

    def write_pairs(self) -> Path:
        """Write the pair dataset (skipped when finished with the same configuration); return its folder."""
        config = self.config()
        if self._finished(self.output_dir, config):
            print(f"{self.output_dir}: finished with this configuration, nothing to do", flush=True)
            return self.output_dir
        # an interrupted rewrite must not leave an old "complete" manifest next to a mix of old and new files
        (self.output_dir / "manifest.json").unlink(missing_ok=True)
        # independent streams for the sampler and for everything else (sentences, image seeds)
        sampler_seed, main_seed = np.random.SeedSequence(self.seed).spawn(2)
        rng = np.random.default_rng(main_seed)
        counts: Counter = Counter(
            {"images_rejected_by_filter": 0, "pairs_dropped_bad_image": 0, "entity_sets_dropped_unverified_report": 0}
        )
        n_synthetic = {"synthetic": self.num_pairs, "real": 0, "both": self.num_pairs // 2}[self.source]
        records = self._synthetic_pairs(n_synthetic, rng, counts, sampler_seed) if n_synthetic else []
        if self.num_pairs - n_synthetic:
            records += self._real_pairs(self.num_pairs - n_synthetic, rng, counts)
        write_json_atomic(self.output_dir / "datalist.json", {"training": records})
        self._distribution(records)
        manifest = {"config": config, "counts": dict(counts), "num_pairs": len(records), "complete": True}
        manifest["seeds"] = {r["id"]: r["seed"] for r in records}
        write_json_atomic(self.output_dir / "manifest.json", manifest)
        print(f"{self.output_dir}: {len(records)} {self.source} pairs; counts {dict(counts)}", flush=True)
        return self.output_dir

    def _write_eval_set(self, folder: Path, reports: list[dict], seed: int, renderer: PhantomCXRGenerator) -> Path:
        """Images rendered from ``reports``' MeSH findings, each labelled with what is drawn (once per config)."""
        config = {
            "image_size": self.image_size,
            "seed": seed,
            "renderer": type(renderer).__name__,
            "style": renderer.style_name,
            "num_cases": len(reports),
            "reports": hashlib.sha256(" ".join(r["id"] for r in reports).encode()).hexdigest(),
            "reports_sha256": self.reports_sha256,
        }
        if self._finished(folder, config):
            return folder
        (folder / "manifest.json").unlink(missing_ok=True)
        rng = np.random.default_rng(seed)  # fixed: an evaluation set does not depend on the run's seed
        records = []
        for report in reports:
            specs = mesh_specs(report["mesh"])
            image_seed = int(rng.integers(2**31))
            generated = renderer.render(specs, image_seed)
            labels = {name: int(name in generated.masks) for name in RENDERED_FINDINGS}
            text = report_with_sections(report["findings"], report["impression"])
            record = {"report": text, "labels": labels, "seed": image_seed}
            records.append(self._write_pair(folder, report["id"], generated, record))
        write_json_atomic(folder / "datalist.json", {"test": records})
        write_json_atomic(folder / "manifest.json", {"config": config, "num_cases": len(records), "complete": True})
        print(f"{folder}: {len(records)} cases, {renderer.style_name} renderer style", flush=True)
        return folder

    def write_test_set(self) -> Path | None:
        """Write the held-out test set once: test-split reports, images from their MeSH findings drawn in the
        ``test_style`` renderer style."""
        if self.test_dir is None:
            return None
        reports = [r for r in self.reports if r["split"] == "test" and report_text(r)][: self.num_test_cases]
        renderer = PhantomCXRGenerator(self.image_size, self.extractor, style=self.test_style)
        return self._write_eval_set(Path(self.test_dir), reports, TEST_SET_SEED, renderer)

    def write_validation_set(self) -> Path | None:
        """Write the validation phantoms once (what calibration is fitted on): the last ``num_val_cases``
        training-split reports (held out of the pairs), images from their MeSH findings in the training style, with
        their own seed."""
        if self.val_dir is None:
            return None
        return self._write_eval_set(Path(self.val_dir), self.validation_reports, VALIDATION_SET_SEED, self.phantom)

    def run(self) -> Path:
        """The bundle's ``generate`` workflow: the test and validation sets (once), then the pairs."""
        self.write_test_set()
        self.write_validation_set()
        return self.write_pairs()
