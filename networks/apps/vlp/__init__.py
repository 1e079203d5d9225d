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
Synthetic-data chest X-ray vision-language pretraining (the SynCXR recipe): an entity vocabulary from real
reports, a balanced entity sampler, report generators with a verification loop, image generators, a quality
filter, dataset writers and the datalists of the ``synthetic_cxr_vlp`` bundle.
"""

from __future__ import annotations

from .datalists import load_pairs, load_test_datalist, prepare_image_text_batch, prepare_report_batch
from .extractor import EntityExtractor, Mention, split_sentences
from .generate import PairDatasetGenerator, load_reports, mesh_specs
from .images import (
    RENDER_STYLES,
    DiffusersImageGenerator,
    GeneratedImage,
    ImageGenerator,
    PhantomCXRGenerator,
    RenderStyle,
)
from .lexicon import ANATOMY, ENTITY_TYPES, FINDINGS, all_entity_keys, entity_type
from .quality import QualityFilter, bad_image_bank, image_descriptor
from .reports import (
    CausalLMReportGenerator,
    ReportGenerator,
    ReportVerifier,
    SentenceBankReportGenerator,
    generate_verified_report,
)
from .sampler import BalancedEntitySampler

__all__ = [
    "ANATOMY",
    "ENTITY_TYPES",
    "FINDINGS",
    "all_entity_keys",
    "entity_type",
    "EntityExtractor",
    "Mention",
    "split_sentences",
    "BalancedEntitySampler",
    "ReportGenerator",
    "SentenceBankReportGenerator",
    "CausalLMReportGenerator",
    "ReportVerifier",
    "generate_verified_report",
    "ImageGenerator",
    "GeneratedImage",
    "PhantomCXRGenerator",
    "RenderStyle",
    "RENDER_STYLES",
    "DiffusersImageGenerator",
    "QualityFilter",
    "bad_image_bank",
    "image_descriptor",
    "PairDatasetGenerator",
    "load_reports",
    "mesh_specs",
    "load_pairs",
    "load_test_datalist",
    "prepare_image_text_batch",
    "prepare_report_batch",
]
