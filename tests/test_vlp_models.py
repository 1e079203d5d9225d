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
"""The image and model side of the SynCXR recipe: generators, quality filter, losses, encoders, radiograph loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from networks.apps.vlp import (
    DiffusersImageGenerator,
    PhantomCXRGenerator,
    QualityFilter,
    bad_image_bank,
)
from networks.apps.vlp.images import RENDERED_FINDINGS
from networks.losses import ConVIRTLoss, GLoRIALoss
from networks.transforms import LoadRadiograph


def _cardiothoracic_ratio(image: np.ndarray) -> float:
    """Width of the bright run through the heart (at 62% of the height) over the widest span of the lungs."""
    dark = image < 0.3
    h, w = image.shape
    spans = []
    for r in range(int(0.3 * h), int(0.7 * h)):
        body = np.nonzero(~dark[r])[0]
        air = np.nonzero(dark[r, body.min() : body.max()])[0]  # the air inside the body: the lungs
        if len(air):
            spans.append(air.max() - air.min())
    row = dark[int(0.62 * h)]
    centre = int(0.54 * w)  # the heart sits left of the midline (image right)
    left = centre - np.argmax(row[centre::-1])
    right = centre + np.argmax(row[centre:])
    return (right - left) / max(spans)


def test_phantom_is_repeatable_and_masks_sit_in_the_lungs():
    generator = PhantomCXRGenerator(96)
    a = generator.generate("Small right pleural effusion. Left upper lobe nodule.", seed=5)
    b = generator.generate("Small right pleural effusion. Left upper lobe nodule.", seed=5)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.image.shape == (96, 96) and a.image.dtype == np.float32 and 0 <= a.image.min() <= a.image.max() <= 1
    assert set(a.masks) == {"pleural effusion", "nodule"}
    cols = np.nonzero(a.masks["pleural effusion"])[1]
    assert cols.max() < 48  # patient's right is the image's left
    rows = np.nonzero(a.masks["pleural effusion"])[0]
    assert rows.mean() > 0.55 * 96  # fluid at the base
    nodule_rows, nodule_cols = np.nonzero(a.masks["nodule"])
    assert nodule_cols.min() >= 48 and nodule_rows.mean() < 0.5 * 96  # left upper zone
    assert (
        a.image[a.masks["pleural effusion"]].mean()
        > generator.generate("", seed=5).image[a.masks["pleural effusion"]].mean() + 0.2
    )
    assert generator.generate("No pleural effusion.", seed=5).masks == {}


def test_phantom_renders_every_finding_with_a_mask():
    generator = PhantomCXRGenerator(64)
    for name in RENDERED_FINDINGS:
        out = generator.render([(name, None, None)], seed=1)
        assert out.masks[name].any(), name
    # findings drawn with another finding's signs carry those masks (and test labels) too
    assert set(generator.render([("pneumonia", "left", None)], 0).masks) == {"pneumonia", "consolidation"}
    failing = generator.render([("heart failure", None, None)], 0).masks
    assert set(failing) == {"heart failure", "edema", "cardiomegaly"}
    np.testing.assert_array_equal(failing["heart failure"], failing["edema"] | failing["cardiomegaly"])
    with pytest.raises(KeyError, match="cannot draw"):
        generator.render([("spleen", None, None)], 0)
    normal = generator.render([], seed=2).image
    big = generator.render([("cardiomegaly", None, None)], seed=2).image
    assert _cardiothoracic_ratio(normal) < 0.5 < _cardiothoracic_ratio(big)


def test_quality_filter_rejects_bad_images_and_accepts_phantoms():
    quality = QualityFilter()
    generator = PhantomCXRGenerator(128)
    for seed in range(4):
        for name in ("", "Cardiomegaly.", "Large right pleural effusion.", "Emphysema."):
            assert quality.accepts(generator.generate(name, seed).image)
    for image in bad_image_bank(96, seed=11):  # new instances at another size
        assert not quality.accepts(image)
    rng = np.random.default_rng(0)
    assert not quality.accepts(0.7 * rng.random((128, 128)) + 0.3 * generator.generate("", 0).image)


def _tiny_diffusion_pipeline(path):
    """A randomly initialised Stable Diffusion pipeline (RoentGen's layout), saved like a downloaded one."""
    import json

    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 8),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=4,
    )
    (path / "tok").mkdir(parents=True)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    vocab = {t: i for i, t in enumerate(["<|startoftext|>", "<|endoftext|>"] + letters + [c + "</w>" for c in letters])}
    (path / "tok" / "vocab.json").write_text(json.dumps(vocab))
    (path / "tok" / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(path / "tok" / "vocab.json"), str(path / "tok" / "merges.txt"), model_max_length=77)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=77,
            projection_dim=16,
        )
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DDIMScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(path / "pipeline")
    return path / "pipeline"


def test_diffusers_generator_runs_a_local_pipeline(tmp_path):
    pytest.importorskip("diffusers")
    generator = DiffusersImageGenerator(str(_tiny_diffusion_pipeline(tmp_path)), num_inference_steps=2, size=16)
    assert (generator.guidance_scale, DiffusersImageGenerator.__init__.__defaults__[:2]) == (4.0, (4.0, 50))
    a = generator.generate("large right pleural effusion", seed=3)
    b = generator.generate("large right pleural effusion", seed=3)
    assert a.image.shape == (16, 16) and a.image.dtype == np.float32 and a.masks == {}
    np.testing.assert_array_equal(a.image, b.image)
    assert 0 <= a.image.min() <= a.image.max() <= 1


def test_atelectasis_raises_the_hemidiaphragm_on_its_own_side():
    generator = PhantomCXRGenerator(96)

    def lung_bottom(image: np.ndarray, columns: slice) -> int:
        rows = np.nonzero((image[48:, columns] < 0.3).any(axis=1))[0]
        return 48 + rows.max()

    for seed in range(8):
        out = generator.render([("atelectasis", None, None)], seed)
        band_on_right = np.nonzero(out.masks["atelectasis"])[1].mean() < 48  # image left = patient's right
        # the right dome sits 3 pixels above the left one; volume loss lifts one side's by 2.4 more
        difference = lung_bottom(out.image, slice(67, 72)) - lung_bottom(out.image, slice(24, 29))
        assert (difference > 3) == band_on_right, (seed, difference)


def test_convirt_loss_matches_its_formula():
    torch.manual_seed(0)
    v, u = torch.randn(5, 8), torch.randn(5, 8)
    loss = ConVIRTLoss(temperature=0.1, lambda_=0.75)({"image_embedding": v, "text_embedding": u})
    sim = F.normalize(v, dim=1) @ F.normalize(u, dim=1).t() / 0.1
    i2t = -torch.log_softmax(sim, 1).diag().mean()
    t2i = -torch.log_softmax(sim.t(), 1).diag().mean()
    torch.testing.assert_close(loss, 0.75 * i2t + 0.25 * t2i)
    aligned = ConVIRTLoss()({"image_embedding": u * 3, "text_embedding": u})
    assert aligned < loss


def test_gloria_loss_prefers_matching_words_and_ignores_padding():
    torch.manual_seed(0)
    regions = torch.randn(4, 9, 8)
    words = regions[:, :3].clone()  # each text's words are exactly three regions of its own image
    outputs = {
        "image_embedding": regions.mean(1),
        "text_embedding": words.mean(1),
        "region_features": regions,
        "word_features": words,
        "word_mask": torch.ones(4, 3, dtype=torch.bool),
    }
    loss = GLoRIALoss()
    matched = loss(outputs)
    shuffled = loss({**outputs, "word_features": words[[1, 2, 3, 0]], "text_embedding": words[[1, 2, 3, 0]].mean(1)})
    assert matched < shuffled
    # the local score by hand for image 0, text 1
    attention = torch.softmax(4.0 * F.normalize(words[1], dim=-1) @ F.normalize(regions[0], dim=-1).t(), dim=-1)
    context = attention @ regions[0]
    match = F.cosine_similarity(context, words[1], dim=-1)
    expected = torch.log(torch.exp(5.0 * match).sum())
    torch.testing.assert_close(loss.local_scores(words, outputs["word_mask"], regions)[0, 1], expected)
    with pytest.raises(ValueError, match="no word tokens"):
        loss.local_scores(words, torch.zeros(4, 3, dtype=torch.bool), regions)
    padded = {**outputs, "word_features": torch.cat([words, torch.randn(4, 2, 8)], 1)}
    padded["word_mask"] = torch.cat([outputs["word_mask"], torch.zeros(4, 2, dtype=torch.bool)], 1)
    torch.testing.assert_close(
        loss.local_scores(words, outputs["word_mask"], regions),
        loss.local_scores(padded["word_features"], padded["word_mask"], regions),
    )


def test_dual_encoder_with_the_pretrained_text_encoder(cxr_reports_dir):
    from networks.nets import GroundingMapper, ImageTextDualEncoder, ZeroShotClassifier

    torch.manual_seed(0)
    model = ImageTextDualEncoder(str(cxr_reports_dir / "text_encoder"), trainable_text_layers=1).eval()
    trainable = {n.split(".")[2] for n, p in model.text_encoder.model.named_parameters() if p.requires_grad}
    assert trainable == {"5"}  # MiniLM's last of six layers only
    images = torch.rand(2, 1, 64, 64)
    texts = ["No pleural effusion.", "Large right pleural effusion with cardiomegaly."]
    with torch.no_grad():
        out = model(images, texts)
    assert out["image_embedding"].shape == (2, 512) and out["text_embedding"].shape == (2, 512)
    assert out["region_features"].shape == (2, 16, 512) and out["region_shape"] == (4, 4)
    # word pieces without [CLS]/[SEP]/padding
    assert out["word_mask"].sum(1).tolist() == [len(model.text_encoder.tokenizer.tokenize(t)) for t in texts]
    # the pretrained encoder tells sentences apart before any training
    with torch.no_grad():
        pooled = model.text_encoder(["pleural effusion", "a pleural effusion", "fractured femur"])[2]
    sims = F.normalize(pooled, dim=1) @ F.normalize(pooled, dim=1).t()
    assert sims[0, 1] > sims[0, 2] + 0.2
    prompts = {"effusion": {"positive": ["pleural effusion"], "negative": ["no pleural effusion"]}}
    with torch.no_grad():
        probs = ZeroShotClassifier(model, prompts)(images)
        maps = GroundingMapper(model, prompts)(images)
    assert probs.shape == (2, 1) and ((probs > 0) & (probs < 1)).all()
    assert maps.shape == (2, 1, 64, 64) and maps.min() >= 0 and maps.max() <= 1
    with pytest.raises(ValueError, match="needs non-empty 'positive' and 'negative'"):
        ZeroShotClassifier(model, {"effusion": {"positive": ["x"]}})


def test_load_radiograph_shows_monochrome1_with_dark_air(cxr_reports_dir, tmp_path):
    pydicom = pytest.importorskip("pydicom")
    path = cxr_reports_dir / "dicom" / "RG1_UNCI.dcm"
    stored = pydicom.dcmread(path)
    assert stored.PhotometricInterpretation == "MONOCHROME1"  # high stored values are dark: air is bright as stored
    image = LoadRadiograph(size=None)(str(path))
    assert image.meta["photometric_interpretation"] == "MONOCHROME1"
    assert image.shape == (1, stored.Rows, stored.Columns)  # rows x columns, display orientation
    raw = stored.pixel_array.astype(np.float64)
    corr = np.corrcoef(image[0].numpy().ravel()[::97], raw.ravel()[::97])[0, 1]
    assert corr < -0.95  # inverted exactly once
    h, w = image.shape[1:]
    lungs = (
        image[0, h // 3 : h // 2, w // 5 : w // 3].mean() + image[0, h // 3 : h // 2, 2 * w // 3 : 4 * w // 5].mean()
    ) / 2
    mediastinum = image[0, h // 3 : h // 2, 9 * w // 20 : 11 * w // 20].mean()
    assert mediastinum > lungs + 0.2  # air dark, soft tissue and bone bright, as in the training images
    small = LoadRadiograph(size=128)(str(path))
    assert small.shape == (1, 128, 128) and small.dtype == torch.float32
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"not a dicom file")
    with pytest.raises(ValueError, match="broken.dcm"):
        LoadRadiograph()(str(bad))
