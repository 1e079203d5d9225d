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
Report generation behind one interface (entities -> FINDINGS, FINDINGS -> IMPRESSION), and the verification loop
that regenerates until the extractor finds exactly the sampled entities.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from networks.apps.vlp.extractor import EntityExtractor, split_sentences
from networks.apps.vlp.lexicon import finding_of

__all__ = [
    "ReportGenerator",
    "SentenceBankReportGenerator",
    "CausalLMReportGenerator",
    "ReportVerifier",
    "GeneratedReport",
    "generate_verified_report",
]


class ReportGenerator(ABC):
    """Writes a report for a set of entities: :py:meth:`findings` first, then :py:meth:`impression` from it."""

    @abstractmethod
    def findings(self, entities: Sequence[str], rng: np.random.Generator) -> str:
        """A FINDINGS section that states exactly ``entities``."""

    @abstractmethod
    def impression(self, findings: str, entities: Sequence[str], rng: np.random.Generator) -> str:
        """An IMPRESSION section summarising ``findings``."""

    def can_state(self, key: str) -> bool:
        """Whether this generator can state entity ``key`` (generators that write freely can state any)."""
        return True


# sentences not reused: hedged statements (the verifier reads them as certain), other body parts, devices
_HEDGED = re.compile(r"\bcannot\b|\bmay\b|\bmight\b|\bcould\b|possib|question|suspic|concern|versus|\bvs\b|\?|\bor\b")
_OFF_TOPIC = re.compile(
    r"knee|ankle|wrist|\bhand\b|\bfoot\b|\bhip\b|elbow|shoulder|abdom|pelvi|breast|carcinoma|metasta|catheter|"
    r"\btube\b|\bline\b|pacemaker|\bclips?\b|surgical|sternotomy|compar|prior|previous|interval|stable|unchanged|"
    r"^(?:this|it|these|they|which)\b"
)
_NORMAL_IMPRESSION = re.compile(r"\bno acute\b|\bnormal\b|\bnegative\b|\bunremarkable\b|\bno active\b")


def _usable_sentence(sentence: str) -> bool:
    """Real sentences worth reusing: definite, about the chest itself, 2 to 40 words, no anonymisation tokens."""
    text = sentence.lower()
    return (
        "xxxx" not in text and 2 <= len(text.split()) <= 40 and not _HEDGED.search(text) and not _OFF_TOPIC.search(text)
    )


class SentenceBankReportGenerator(ReportGenerator):
    """
    The offline default: composes reports from real report sentences.

    Every usable sentence of the given reports' FINDINGS (and IMPRESSION) is indexed by the entities the
    extractor finds in it, negated ones included ("No pleural effusion." states ``no pleural effusion``). A
    FINDINGS section is built by covering the requested entities in random order, each with a random real sentence
    that states it and nothing outside the request; the IMPRESSION restates the positive findings with real
    impression sentences (or a real "no acute disease" sentence when there are none).

    Args:
        reports: report dicts with ``findings`` and ``impression`` texts (use the training split only).
        extractor: the entity extractor (also used by the verifier).
    """

    def __init__(self, reports: Sequence[dict], extractor: EntityExtractor | None = None) -> None:
        self.extractor = extractor or EntityExtractor()
        self.findings_bank = self._bank(r.get("findings", "") for r in reports)
        self.impression_bank = self._bank(r.get("impression", "") for r in reports)
        self.normal_impressions = [
            s for s, ents in self.impression_bank.items() if not ents and _NORMAL_IMPRESSION.search(s.lower())
        ]
        self._index: dict[str, list[str]] = {}
        for sentence, ents in self.findings_bank.items():
            for key in ents:
                self._index.setdefault(key, []).append(sentence)
        self._impression_index: dict[str, list[str]] = {}
        for sentence, ents in self.impression_bank.items():
            for key in ents:
                self._impression_index.setdefault(key, []).append(sentence)
        # the impression restates a finding with an impression sentence, else with a findings sentence
        self._all_sentences = {**self.findings_bank, **self.impression_bank}
        self._restating_index = {
            k: self._impression_index.get(k, []) + self._index.get(k, [])
            for k in set(self._index) | set(self._impression_index)
        }
        if not self.findings_bank or not self.normal_impressions:
            raise ValueError("SentenceBankReportGenerator: the reports hold no usable FINDINGS/IMPRESSION sentences.")

    def _bank(self, texts) -> dict[str, frozenset]:
        bank: dict[str, frozenset] = {}
        for text in texts:
            for sentence in split_sentences(text):
                sentence = sentence if sentence[-1] in ".?!" else sentence + "."  # composed reports keep boundaries
                if _usable_sentence(sentence) and sentence not in bank:
                    bank[sentence] = self.extractor.entities(sentence)
        return dict(sorted(bank.items()))  # independent of report order

    def can_state(self, key: str) -> bool:
        """True when some real sentence states ``key`` and nothing else."""
        return any(self.findings_bank[s] == {key} for s in self._index.get(key, ()))

    @staticmethod
    def _cover(targets: list[str], wanted: frozenset, index: dict, bank: dict, rng) -> list[str]:
        covered: set = set()
        chosen = []
        for key in targets:
            if key in covered:
                continue
            candidates = [s for s in index.get(key, ()) if bank[s] <= wanted and s not in chosen]
            if not candidates:
                continue
            sentence = candidates[int(rng.integers(len(candidates)))]
            chosen.append(sentence)
            covered |= bank[sentence]
        return chosen

    def findings(self, entities: Sequence[str], rng: np.random.Generator) -> str:
        wanted = frozenset(entities)
        order = [entities[i] for i in rng.permutation(len(entities))]
        order.sort(key=lambda key: finding_of(key) is None)  # findings first: their sentences often name anatomy
        return " ".join(self._cover(order, wanted, self._index, self.findings_bank, rng))

    def impression(self, findings: str, entities: Sequence[str], rng: np.random.Generator) -> str:
        positives = [e for e in entities if finding_of(e) is not None and not finding_of(e)[1]]
        if not positives:
            return self.normal_impressions[int(rng.integers(len(self.normal_impressions)))]
        order = [positives[i] for i in rng.permutation(len(positives))]
        return " ".join(self._cover(order, frozenset(entities), self._restating_index, self._all_sentences, rng))


class CausalLMReportGenerator(ReportGenerator):
    """
    Reports written by a causal language model loaded with ``transformers`` from a local folder (no hub access).

    The model gets one instruction per section; sampling is seeded from the caller's generator. Whatever the model
    writes is checked by :py:class:`ReportVerifier` like any other generator's output.

    Args:
        model_path: folder with the model and its tokenizer (``save_pretrained`` layout).
        max_new_tokens: length limit of each section.
        temperature: sampling temperature.
        device: where the model runs.
    """

    FINDINGS_PROMPT = (
        "Write the FINDINGS section of a chest X-ray report. State exactly these entities and nothing else "
        "(an entity starting with 'no' is stated as absent): {entities}.\nFINDINGS:"
    )
    IMPRESSION_PROMPT = "FINDINGS: {findings}\nWrite the IMPRESSION section of this chest X-ray report.\nIMPRESSION:"

    def __init__(
        self, model_path: str, max_new_tokens: int = 96, temperature: float = 0.7, device: str = "cpu"
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_path = str(model_path)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True).to(device).eval()
        self.max_new_tokens, self.temperature, self.device = max_new_tokens, temperature, device

    def _complete(self, prompt: str, rng: np.random.Generator) -> str:
        import torch

        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        torch.manual_seed(int(rng.integers(2**31)))
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with torch.no_grad():
            out = self.model.generate(
                **inputs,
                do_sample=True,
                temperature=self.temperature,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=pad,
            )
        text = self.tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        return re.split(r"\n\s*\n|IMPRESSION:|FINDINGS:", text)[0].strip()

    def findings(self, entities: Sequence[str], rng: np.random.Generator) -> str:
        return self._complete(self.FINDINGS_PROMPT.format(entities=", ".join(entities)), rng)

    def impression(self, findings: str, entities: Sequence[str], rng: np.random.Generator) -> str:
        return self._complete(self.IMPRESSION_PROMPT.format(findings=findings), rng)


class ReportVerifier:
    """
    SynCXR's check of a generated report: the extractor must find exactly the sampled entities in FINDINGS, and
    the IMPRESSION must state every sampled positive finding and nothing outside the sampled set.
    """

    def __init__(self, extractor: EntityExtractor | None = None) -> None:
        self.extractor = extractor or EntityExtractor()

    def problems(self, entities: Sequence[str], findings: str, impression: str) -> list[str]:
        """What is wrong with a report (empty when it passes)."""
        wanted = frozenset(entities)
        found = self.extractor.entities(findings)
        out = []
        if found != wanted:
            missing, extra = sorted(wanted - found), sorted(found - wanted)
            out.append(f"FINDINGS: missing {missing}, unexpected {extra}")
        stated = self.extractor.entities(impression)
        positives = {e for e in wanted if finding_of(e) is not None and not finding_of(e)[1]}
        if not impression.strip():
            out.append("IMPRESSION is empty")
        elif not positives <= stated or not stated <= wanted:
            out.append(f"IMPRESSION: missing {sorted(positives - stated)}, unexpected {sorted(stated - wanted)}")
        return out


@dataclass
class GeneratedReport:
    """A verified report (or the last failed attempt) and how many attempts it took."""

    findings: str
    impression: str
    attempts: int
    verified: bool
    problems: list


def generate_verified_report(
    generator: ReportGenerator,
    verifier: ReportVerifier,
    entities: Sequence[str],
    rng: np.random.Generator,
    max_attempts: int = 5,
) -> GeneratedReport:
    """Generate FINDINGS then IMPRESSION until the verifier passes them, at most ``max_attempts`` times."""
    problems: list = []
    findings = impression = ""
    for attempt in range(1, max_attempts + 1):
        findings = generator.findings(entities, rng)
        impression = generator.impression(findings, entities, rng)
        problems = verifier.problems(entities, findings, impression)
        if not problems:
            return GeneratedReport(findings, impression, attempt, True, [])
    return GeneratedReport(findings, impression, max_attempts, False, problems)
