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
The chest X-ray entity vocabulary: findings (abnormalities and diseases) and anatomy, with the words that name
them in reports, the MeSH headings that the Indiana University collection codes them with, and where on a
radiograph they appear.

The five entity types follow SynCXR (after RaTE-NER): ``abnormality`` and ``disease`` findings, their negated
forms ``non-abnormality`` / ``non-disease`` ("no pleural effusion"), and ``anatomy``. Entity keys are plain
phrases; a negated finding's key is ``"no " + name``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Finding",
    "FINDINGS",
    "ANATOMY",
    "ENTITY_TYPES",
    "FINDING_TYPES",
    "MESH_TO_FINDING",
    "negated_key",
    "finding_of",
    "entity_type",
    "all_entity_keys",
]

ENTITY_TYPES = ("abnormality", "non-abnormality", "disease", "non-disease", "anatomy")
FINDING_TYPES = ENTITY_TYPES[:4]


@dataclass(frozen=True)
class Finding:
    """A finding: its type (``abnormality`` or ``disease``) and the regular expression of its mentions."""

    name: str
    type: str
    pattern: str


# Order matters: earlier patterns claim their words first (``calcified nodule`` is a granuloma, not a nodule;
# ``airspace opacity`` is consolidation, not opacity).
FINDINGS = (
    Finding("granulomatous disease", "disease", r"granulomatous (?:disease|infection|process|changes?)"),
    Finding("calcified granuloma", "abnormality", r"calcified (?:granulomas?|nodules?|nodular densit\w*)|granulomas?"),
    Finding("pleural effusion", "abnormality", r"(?<!pericardial )(?:pleural )?effusions?"),
    Finding("pneumothorax", "abnormality", r"pneumothora(?:x|ces|xes)"),
    Finding("atelectasis", "abnormality", r"atelecta\w*"),
    Finding("pneumonia", "disease", r"(?:broncho)?pneumonias?|infectious process"),
    Finding(
        "consolidation",
        "abnormality",
        r"consolidat\w*|air ?space (?:disease|opacit(?:y|ies)|consolidation|process)",
    ),
    Finding(
        "cardiomegaly",
        "abnormality",
        r"cardiomegaly|cardiac enlargement|enlarged (?:heart|cardiac silhouette)|enlargement of the cardiac silhouette"
        r"|(?:heart|cardiac silhouette)(?: size)? (?:is |are )?(?:not |no longer )?(?:mildly |moderately |markedly "
        r"|again )?enlarged",
    ),
    Finding("heart failure", "disease", r"(?:congestive )?heart failure|\bchf\b"),
    Finding(
        "edema",
        "abnormality",
        r"(?:pulmonary |interstitial |alveolar )?edema|(?:pulmonary )?(?:vascular|venous) congestion"
        r"|pulmonary congestion",
    ),
    Finding("emphysema", "disease", r"emphysema\w*|\bcopd\b|chronic obstructive pulmonary disease"),
    Finding(
        "hyperinflation",
        "abnormality",
        r"hyperinflat\w*|hyperexpan\w*|hyperaerat\w*|hyperlucen\w*|flattened (?:hemi)?diaphragms?"
        r"|flattening of the (?:hemi)?diaphragms?",
    ),
    Finding("pulmonary fibrosis", "disease", r"fibros\w*|fibrotic"),
    Finding("nodule", "abnormality", r"nodul(?:e|es|ar)\b(?: (?:opacit(?:y|ies)|densit(?:y|ies)))?"),
    Finding("mass", "abnormality", r"\bmass(?:es)?\b"),
    Finding("opacity", "abnormality", r"opacit(?:y|ies)|densit(?:y|ies)|infiltrates?"),
    Finding("fracture", "abnormality", r"fractures?d?"),
)

# Anatomy is matched in what the findings left over; one phrase may name two structures (cardiomediastinal).
ANATOMY = {
    "lung": r"\blungs?\b|lung fields?",
    "upper lobe": r"upper (?:lobes?|lung|zones?)|\bap(?:ex|ices|ical)\b",
    "lower lobe": r"lower (?:lobes?|lung|zones?)|(?:lung )?\bbases?\b|bibasilar|basilar|basal",
    "middle lobe": r"middle lobe|lingula\w*",
    "heart": r"\bheart\b|\bcardiac\b|cardiomediastinal|cardiopericardial",
    "mediastinum": r"mediastin\w*",
    "hilum": r"\bhil(?:um|a|ar)\b",
    "diaphragm": r"(?:hemi)?diaphragms?",
    "costophrenic angle": r"costophrenic (?:angles?|sulc\w*|recess\w*)|\bcp angles?",
    "pleura": r"\bpleura\b|\bpleural\b",
    "aorta": r"\baort\w*",
    "trachea": r"trache\w*",
    "bones": r"osseous|\bbony\b|\bbones?\b|skeletal|\bribs?\b",
    "spine": r"\bspine\b|\bspinal\b|vertebra\w*",
    "vasculature": r"vascular\w*|vasculature",
}

# MeSH headings of the IU collection that code each finding (the real-distribution pairs and the test labels).
MESH_TO_FINDING = {
    "Opacity": "opacity",
    "Density": "opacity",
    "Infiltrate": "opacity",
    "Airspace Disease": "consolidation",
    "Consolidation": "consolidation",
    "Pulmonary Atelectasis": "atelectasis",
    "Cardiomegaly": "cardiomegaly",
    "Calcified Granuloma": "calcified granuloma",
    "Granuloma": "calcified granuloma",
    "Granulomatous Disease": "granulomatous disease",
    "Pleural Effusion": "pleural effusion",
    "Nodule": "nodule",
    "Mass": "mass",
    "Pneumothorax": "pneumothorax",
    "Pulmonary Edema": "edema",
    "Pulmonary Congestion": "edema",
    "Emphysema": "emphysema",
    "Pulmonary Emphysema": "emphysema",
    "Pulmonary Disease, Chronic Obstructive": "emphysema",
    "Lung, Hyperlucent": "hyperinflation",
    "Pneumonia": "pneumonia",
    "Heart Failure": "heart failure",
    "Pulmonary Fibrosis": "pulmonary fibrosis",
    "Fractures, Bone": "fracture",
}

_FINDING_BY_NAME = {f.name: f for f in FINDINGS}
_NEGATED_TYPE = {"abnormality": "non-abnormality", "disease": "non-disease"}


def negated_key(name: str) -> str:
    """The entity key of a negated finding."""
    return f"no {name}"


def finding_of(key: str) -> tuple[str, bool] | None:
    """``(finding name, negated)`` of a finding entity key, ``None`` for anatomy or unknown keys."""
    if key in _FINDING_BY_NAME:
        return key, False
    if key.startswith("no ") and key[3:] in _FINDING_BY_NAME:
        return key[3:], True
    return None


def entity_type(key: str) -> str:
    """The type (one of ``ENTITY_TYPES``) of an entity key; raises ``KeyError`` for unknown keys."""
    if key in ANATOMY:
        return "anatomy"
    found = finding_of(key)
    if found is None:
        raise KeyError(f"unknown entity {key!r}: not a finding, a negated finding ('no ...') or anatomy")
    name, negated = found
    kind = _FINDING_BY_NAME[name].type
    return _NEGATED_TYPE[kind] if negated else kind


def all_entity_keys() -> list[str]:
    """Every entity key of the vocabulary: findings, their negations, anatomy."""
    keys = [f.name for f in FINDINGS] + [negated_key(f.name) for f in FINDINGS] + list(ANATOMY)
    return keys
