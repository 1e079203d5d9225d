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
The entity vocabulary with its real frequencies (how many training reports state each entity), its table and
bar chart, and the chart that compares a generated entity distribution with the real one.
"""

from __future__ import annotations

import json
from collections import Counter

from networks.apps.vlp.extractor import EntityExtractor
from networks.apps.vlp.lexicon import ENTITY_TYPES, MESH_TO_FINDING, all_entity_keys, entity_type
from networks.data.file_io import figure_png_bytes

__all__ = [
    "report_text",
    "mesh_findings",
    "vocabulary_document",
    "vocabulary_markdown",
    "vocabulary_figure_png",
    "vocabulary_files",
    "distribution_figure_png",
]

TYPE_COLOURS = {
    "abnormality": "tab:red",
    "non-abnormality": "tab:pink",
    "disease": "tab:purple",
    "non-disease": "tab:blue",
    "anatomy": "tab:green",
}


def report_text(report: dict) -> str:
    """FINDINGS and IMPRESSION of a report as one text."""
    return " ".join(s for s in (report.get("findings", ""), report.get("impression", "")) if s)


def mesh_findings(mesh_terms: list[str]) -> dict[str, list[str]]:
    """Vocabulary findings coded by MeSH terms, each with its subheadings (``{"opacity": ["lung", "base"]}``)."""
    found: dict[str, list[str]] = {}
    for term in mesh_terms:
        heading, *subheadings = [part.strip() for part in term.split("/")]
        name = MESH_TO_FINDING.get(heading)
        if name is not None:
            found.setdefault(name, []).extend(s.lower() for s in subheadings)
    return found


def vocabulary_document(reports: list[dict], extractor: EntityExtractor | None = None) -> dict:
    """
    Every entity with its type and real frequency: ``report_count`` (reports whose text states it, by the extractor)
    and, for findings, ``mesh_count`` (reports coded with it in MeSH).
    """
    extractor = extractor or EntityExtractor()
    stated: Counter = Counter()
    coded: Counter = Counter()
    for report in reports:
        stated.update(extractor.entities(report_text(report)))
        coded.update(mesh_findings(report.get("mesh", [])).keys())
    entities = [
        {"key": key, "type": entity_type(key), "report_count": stated[key]}
        | ({"mesh_count": coded[key]} if entity_type(key) in ("abnormality", "disease") else {})
        for key in all_entity_keys()
    ]
    entities.sort(key=lambda e: (ENTITY_TYPES.index(e["type"]), -e["report_count"], e["key"]))
    return {"num_reports": len(reports), "entities": entities}


def vocabulary_markdown(vocabulary: dict) -> str:
    """A markdown table of the vocabulary (type, entity, report count, MeSH count)."""
    lines = [
        f"Entity vocabulary: frequencies over {vocabulary['num_reports']} training reports (FINDINGS + IMPRESSION).",
        "",
        "| type | entity | reports stating it | reports coded with it (MeSH) |",
        "|---|---|---:|---:|",
    ]
    for e in vocabulary["entities"]:
        lines.append(f"| {e['type']} | {e['key']} | {e['report_count']} | {e.get('mesh_count', '')} |")
    return "\n".join(lines) + "\n"


def _pyplot():
    """matplotlib's pyplot on the file-only backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def vocabulary_figure_png(vocabulary: dict) -> bytes:
    """Bar chart (log scale) of every entity's real report frequency, coloured by type."""
    plt = _pyplot()
    entities = vocabulary["entities"]
    fig, ax = plt.subplots(figsize=(14, 4.5))
    counts = [max(e["report_count"], 0.8) for e in entities]  # zero shown as a stub on the log axis
    ax.bar(range(len(entities)), counts, color=[TYPE_COLOURS[e["type"]] for e in entities])
    ax.set_yscale("log")
    ax.set_xticks(range(len(entities)))
    ax.set_xticklabels([e["key"] for e in entities], rotation=90, fontsize=7)
    ax.set_ylabel("training reports stating it")
    ax.set_title(f"Entity frequencies in {vocabulary['num_reports']} Indiana University CXR reports")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in TYPE_COLOURS.values()]
    ax.legend(handles, list(TYPE_COLOURS), fontsize=8)
    fig.tight_layout()
    return figure_png_bytes(fig)


def vocabulary_files(train_reports: list[dict]) -> dict[str, bytes]:
    """The vocabulary files of a ``cxr_reports`` folder (JSON, markdown table, frequency chart) from its training
    reports."""
    vocabulary = vocabulary_document(train_reports)
    return {
        "vocabulary.json": (json.dumps(vocabulary, indent=1) + "\n").encode(),
        "vocabulary.md": vocabulary_markdown(vocabulary).encode(),
        "vocabulary.png": vocabulary_figure_png(vocabulary),
    }


def distribution_figure_png(real: dict[str, float], generated: dict[str, float], title: str) -> bytes:
    """Side-by-side bars of two entity distributions (each normalised to sum 1 over the finding entities shown)."""
    plt = _pyplot()
    # ties broken by name: set order changes with Python's string hashing, the chart must not
    keys = sorted(set(real) | set(generated), key=lambda k: (-real.get(k, 0), k))
    total_real, total_gen = sum(real.values()) or 1, sum(generated.values()) or 1
    fig, ax = plt.subplots(figsize=(14, 4.5))
    x = range(len(keys))
    ax.bar([i - 0.2 for i in x], [real.get(k, 0) / total_real for k in keys], width=0.4, label="real reports")
    ax.bar([i + 0.2 for i in x], [generated.get(k, 0) / total_gen for k in keys], width=0.4, label="generated")
    ax.set_xticks(list(x))
    ax.set_xticklabels(keys, rotation=90, fontsize=7)
    ax.set_ylabel("share of finding mentions")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return figure_png_bytes(fig)
