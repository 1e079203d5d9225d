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
"""The text side of the SynCXR recipe: reports, vocabulary, entity extraction, sampling, report generation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from networks.apps.vlp import (
    ANATOMY,
    BalancedEntitySampler,
    CausalLMReportGenerator,
    EntityExtractor,
    ReportGenerator,
    ReportVerifier,
    SentenceBankReportGenerator,
    all_entity_keys,
    entity_type,
    generate_verified_report,
    split_sentences,
)


@pytest.fixture(scope="module")
def reports(cxr_reports_dir):
    return json.loads((cxr_reports_dir / "reports.json").read_text())


@pytest.fixture(scope="module")
def bank_generator(reports):
    return SentenceBankReportGenerator([r for r in reports if r["split"] == "train"])


def test_prepared_reports_and_vocabulary(cxr_reports_dir, reports, prepare_data):
    assert len(reports) == 3955
    assert sum(bool(r["findings"] and r["impression"]) for r in reports) == 3419
    assert len({h.split("/")[0] for r in reports for h in r["mesh"]}) == 122
    counts = {s: sum(r["split"] == s for r in reports) for s in ("train", "test")}
    assert counts == {"train": 3084, "test": 871}  # the fixed hash split
    vocabulary = json.loads((cxr_reports_dir / "vocabulary.json").read_text())
    assert vocabulary["num_reports"] == counts["train"]
    types = {e["type"] for e in vocabulary["entities"]}
    assert types == {"abnormality", "non-abnormality", "disease", "non-disease", "anatomy"}
    by_key = {e["key"]: e for e in vocabulary["entities"]}
    # long-tailed: common negations and rare positives
    assert by_key["no pneumothorax"]["report_count"] > 1000 > 50 > by_key["pneumothorax"]["report_count"] > 0
    assert by_key["cardiomegaly"]["mesh_count"] > 200
    assert (cxr_reports_dir / "vocabulary.png").read_bytes()[:4] == b"\x89PNG"
    assert "| abnormality | opacity |" in (cxr_reports_dir / "vocabulary.md").read_text()
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (cxr_reports_dir / "text_encoder" / f).is_file()
    assert "CC BY-NC-ND" in (cxr_reports_dir / "LICENCE.txt").read_text()
    assert prepare_data.verify_dataset(cxr_reports_dir, "cxr_reports")  # a re-run has nothing to do


@pytest.mark.parametrize(
    "text, expected",
    [
        ("No pleural effusion or pneumothorax.", {"no pleural effusion", "no pneumothorax"}),
        ("No pleural effusion or pneumothorax is seen.", {"no pleural effusion", "no pneumothorax"}),
        ("Pneumothorax has resolved.", {"no pneumothorax"}),
        ("Mild cardiomegaly. The lungs are clear.", {"cardiomegaly", "lung"}),
        ("Heart size is mildly enlarged.", {"cardiomegaly"}),
        ("No change in the small left pleural effusion.", {"pleural effusion"}),  # pseudo-negation
        ("Left basilar airspace disease, but no pneumothorax.", {"consolidation", "lower lobe", "no pneumothorax"}),
        ("Stable cardiomegaly without edema.", {"cardiomegaly", "no edema"}),
        ("Calcified granuloma in the right upper lobe.", {"calcified granuloma", "upper lobe"}),
        (
            "Specifically, no evidence of focal consolidation, pneumothorax, or pleural effusion.",
            {"no consolidation", "no pneumothorax", "no pleural effusion"},
        ),
        ("The cardiomediastinal silhouette is normal.", {"heart", "mediastinum"}),
        ("Left effusion persists while the pneumothorax has resolved.", {"pleural effusion", "no pneumothorax"}),
        ("No pneumothorax, there is a large right effusion.", {"no pneumothorax", "pleural effusion"}),
        ("The heart is not enlarged.", {"no cardiomegaly"}),
        ("Pleural effusion or large pneumothorax is not seen.", {"no pleural effusion", "no pneumothorax"}),
        ("Small left effusion, which has not changed.", {"pleural effusion"}),
    ],
)
def test_extractor_negation_and_anatomy(text, expected):
    assert EntityExtractor().entities(text) == expected


def test_extractor_side_and_zone():
    mentions = EntityExtractor().mentions("Small right pleural effusion. Left apical pneumothorax.")
    found = {m.key: (m.side, m.zone) for m in mentions}
    assert found["pleural effusion"] == ("right", None)
    assert found["pneumothorax"] == ("left", "upper")
    # each finding takes the words nearest to it, not the sentence's first
    mentions = EntityExtractor().mentions("Left lower lobe atelectasis and right upper lobe nodule.")
    found = {m.key: (m.side, m.zone) for m in mentions}
    assert found["atelectasis"] == ("left", "lower") and found["nodule"] == ("right", "upper")
    assert {m.key: m.side for m in EntityExtractor().mentions("Effusion on the left.")}["pleural effusion"] == "left"


def test_entity_types():
    assert entity_type("pneumonia") == "disease" and entity_type("no pneumonia") == "non-disease"
    assert entity_type("nodule") == "abnormality" and entity_type("no nodule") == "non-abnormality"
    assert entity_type("heart") == "anatomy"
    with pytest.raises(KeyError, match="unknown entity 'spleen'"):
        entity_type("spleen")


def _finding_pool():
    keys = all_entity_keys()
    return [k for k in keys if k not in ANATOMY], [k for k in keys if k in ANATOMY]


def test_sampler_is_seeded_capped_and_balanced():
    findings, anatomy = _finding_pool()
    draws = [BalancedEntitySampler(findings, anatomy, num_samples=300, seed=3) for _ in range(2)]
    sets = [[s.sample() for _ in range(300)] for s in draws]
    assert sets[0] == sets[1]
    sampler = draws[0]
    counts = [sampler.counts[k] for k in findings]
    assert max(counts) <= sampler.max_count and sampler.redraws > 0
    assert max(sampler.counts[k] for k in anatomy) <= sampler.max_count_anatomy
    assert max(counts) / max(min(counts), 1) < 3  # the real vocabulary spans three orders of magnitude
    for entities in sets[0]:
        names = [e.removeprefix("no ") for e in entities if e not in ANATOMY]
        assert len(names) == len(set(names))  # never a finding and its negation together
        assert 1 <= len(names) <= 4 and 1 <= len(entities) - len(names) <= 3


def test_sampler_redraws_only_the_capped_slot():
    sampler = BalancedEntitySampler(["cardiomegaly", "edema"], ["heart"], k=(1, 1), m=(0, 0), max_count=1, seed=0)
    first, second = sampler.sample(), sampler.sample()
    assert {first[0], second[0]} == {"cardiomegaly", "edema"}  # the capped entity was redrawn, not repeated
    with pytest.raises(RuntimeError, match="reached the cap"):
        sampler.sample()
    sampler.release(first)
    assert sampler.sample() == first


def test_sentence_bank_reports_state_exactly_the_entities(bank_generator):
    verifier = ReportVerifier(bank_generator.extractor)
    rng = np.random.default_rng(0)
    entities = ["pleural effusion", "no pneumothorax", "cardiomegaly", "heart"]
    report = generate_verified_report(bank_generator, verifier, entities, rng)
    assert report.verified, report.problems
    assert bank_generator.extractor.entities(report.findings) == set(entities)
    assert {"pleural effusion", "cardiomegaly"} <= bank_generator.extractor.entities(report.impression)
    assert all(sentence in bank_generator.findings_bank for sentence in split_sentences(report.findings))
    normal = generate_verified_report(bank_generator, verifier, ["no pneumothorax", "lung"], rng)
    assert normal.verified and normal.impression in bank_generator.normal_impressions


def test_verifier_rejects_and_loop_counts_attempts(bank_generator):
    verifier = ReportVerifier()
    assert verifier.problems(["edema"], "Mild pulmonary edema.", "Pulmonary edema.") == []
    assert verifier.problems(["edema"], "No pulmonary edema.", "Normal.")  # negated: not what was sampled
    assert verifier.problems(["edema"], "Mild pulmonary edema. Small effusion.", "Edema.")  # an extra entity

    class FailsTwice(ReportGenerator):
        calls = 0

        def findings(self, entities, rng):
            self.calls += 1
            return "Mild pulmonary edema." if self.calls > 2 else "No pulmonary edema."

        def impression(self, findings, entities, rng):
            return "Pulmonary edema."

    report = generate_verified_report(FailsTwice(), verifier, ["edema"], np.random.default_rng(0), max_attempts=5)
    assert report.verified and report.attempts == 3
    failed = generate_verified_report(FailsTwice(), verifier, ["nodule"], np.random.default_rng(0), max_attempts=4)
    assert not failed.verified and failed.attempts == 4 and failed.problems


def _tiny_causal_lm(path):
    """A randomly initialised GPT-2 with a word-level tokenizer, saved like a downloaded model."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = "no pleural effusion pneumothorax heart size normal lungs clear mild cardiomegaly findings impression"
    vocab = {w: i for i, w in enumerate(["[UNK]", "[EOS]", *sorted(set(words.split())), ".", ":", ","])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", eos_token="[EOS]")
    tokenizer.save_pretrained(path)
    config = GPT2Config(vocab_size=len(vocab), n_positions=256, n_embd=16, n_layer=1, n_head=2, eos_token_id=1)
    GPT2LMHeadModel(config).save_pretrained(path)


def test_causal_lm_generator_runs_from_a_local_folder(tmp_path):
    _tiny_causal_lm(tmp_path / "lm")
    generator = CausalLMReportGenerator(str(tmp_path / "lm"), max_new_tokens=12)
    findings = generator.findings(["pleural effusion", "heart"], np.random.default_rng(0))
    again = generator.findings(["pleural effusion", "heart"], np.random.default_rng(0))
    assert isinstance(findings, str) and findings == again  # seeded sampling
    report = generate_verified_report(generator, ReportVerifier(), ["pleural effusion"], np.random.default_rng(1), 2)
    assert report.attempts == 2 and not report.verified  # random weights: rejected by the verifier, counted


def test_mesh_findings_become_drawn_findings_and_test_labels(cxr_reports_dir, tmp_path):
    from networks.apps.vlp import PairDatasetGenerator, mesh_specs

    assert mesh_specs(["Opacity/lung/base/left", "Pneumonia/right", "Cardiomegaly/mild", "Spine/degenerative"]) == [
        ("opacity", "left", "lower"),
        ("pneumonia", "right", None),
        ("cardiomegaly", None, None),
    ]
    generator = PairDatasetGenerator(
        str(cxr_reports_dir), str(tmp_path / "pairs"), num_pairs=1, test_dir=str(tmp_path / "test"), num_test_cases=30
    )
    generator.write_test_set()
    test = json.loads((tmp_path / "test" / "datalist.json").read_text())["test"]
    reports = {r["id"]: r for r in json.loads((cxr_reports_dir / "reports.json").read_text())}
    assert len(test) == 30 and all(reports[item["id"]]["split"] == "test" for item in test)
    for item in test:
        drawn = {name for name, _, _ in mesh_specs(reports[item["id"]]["mesh"])}
        positives = {name for name, value in item["labels"].items() if value}
        assert drawn <= positives  # every MeSH finding is a positive label (and its signs, e.g. pneumonia's)
        if "pneumonia" in drawn:
            assert item["labels"]["consolidation"] == 1


def test_real_and_mixed_pairs_and_an_interrupted_rewrite(cxr_reports_dir, tmp_path):
    from networks.apps.vlp import PairDatasetGenerator

    real = PairDatasetGenerator(str(cxr_reports_dir), str(tmp_path / "real"), source="real", num_pairs=6).write_pairs()
    items = json.loads((real / "datalist.json").read_text())["training"]
    reports = {r["id"]: r for r in json.loads((cxr_reports_dir / "reports.json").read_text())}
    for item in items:  # real texts of training reports
        report = reports[item["id"].split("_", 1)[1]]
        assert (
            report["split"] == "train"
            and item["report"] == f"FINDINGS: {report['findings']} IMPRESSION: {report['impression']}"
        )
    # with validation phantoms, their reports (the last training ones) are held out of the pairs and the sentence bank
    held = PairDatasetGenerator(str(cxr_reports_dir), str(tmp_path / "held"), source="real", num_pairs=6,
                                val_dir=str(tmp_path / "val"), num_val_cases=1000)  # fmt: skip
    validation = {r["id"] for r in held.validation_reports}
    assert len(validation) == 1000 and not validation & {r["id"] for r in held.train_reports}
    assert held.config()["held_out_for_validation"] == 1000  # the pairs and the sentence bank come from train_reports
    both = PairDatasetGenerator(str(cxr_reports_dir), str(tmp_path / "both"), source="both", num_pairs=6).write_pairs()
    sources = [item["source"] for item in json.loads((both / "datalist.json").read_text())["training"]]
    assert sources == ["synthetic"] * 3 + ["real"] * 3
    # a rewrite killed half-way leaves no "complete" manifest behind, so the next run starts again
    manifest = json.loads((both / "manifest.json").read_text())
    written = {name: (both / name).read_bytes() for name in ("datalist.json", "images/syn00001.png")}
    generator = PairDatasetGenerator(str(cxr_reports_dir), str(both), source="both", num_pairs=8)
    generator._real_pairs = lambda *args: (_ for _ in ()).throw(KeyboardInterrupt)  # the kill, after the synthetic half
    with pytest.raises(KeyboardInterrupt):
        generator.write_pairs()
    assert not (both / "manifest.json").exists()
    again = PairDatasetGenerator(str(cxr_reports_dir), str(both), source="both", num_pairs=6).write_pairs()
    assert json.loads((again / "manifest.json").read_text()) == manifest  # the same seed, the same dataset
    assert all((again / name).read_bytes() == data for name, data in written.items())
    with pytest.raises(ValueError, match="source must be one of"):
        PairDatasetGenerator(str(cxr_reports_dir), str(tmp_path / "x"), source="imaginary")
    with pytest.raises(FileNotFoundError, match="zoo-prepare-data cxr_reports"):
        PairDatasetGenerator(str(tmp_path), str(tmp_path / "x"))
