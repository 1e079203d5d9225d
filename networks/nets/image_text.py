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
Image-text dual encoders for chest X-ray vision-language pretraining (ConVIRT, GLoRIA): a MONAI ResNet image
encoder and a pretrained ``transformers`` text encoder (all-MiniLM-L6-v2 from a local folder), with global
projections (ConVIRT's two-layer heads) and local ones (GLoRIA's region and word features).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from monai.networks.nets import resnet
from torch import nn

from networks.losses.contrastive import word_region_attention

__all__ = [
    "PretrainedTextEncoder",
    "ImageTextDualEncoder",
    "ZeroShotClassifier",
    "ReportZeroShotClassifier",
    "GroundingMapper",
]


class PretrainedTextEncoder(nn.Module):
    """
    A ``transformers`` encoder and its tokenizer from a local folder (no hub access).

    Returns token features, a mask of real words (padding and special tokens out) and the mean-pooled text
    feature (sentence-transformers' pooling for MiniLM). Only the last ``trainable_layers`` transformer layers
    train; the rest, the embeddings included, stay as pretrained (and cost no gradients on a CPU).

    Args:
        model_path: folder with ``config.json``, weights and tokenizer files.
        max_length: tokens kept per text (longer reports are truncated).
        trainable_layers: how many of the last layers train (0: frozen encoder).
    """

    def __init__(self, model_path: str, max_length: int = 128, trainable_layers: int = 2) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
            self.model = AutoModel.from_pretrained(model_path, local_files_only=True)
        except OSError as err:
            raise FileNotFoundError(
                f"no text encoder in {model_path!r} (expected config.json, weights and tokenizer files; "
                "`zoo-prepare-data cxr_reports` writes all-MiniLM-L6-v2 into <out>/text_encoder)"
            ) from err
        self.max_length = int(max_length)
        self.hidden_size = int(self.model.config.hidden_size)
        for p in self.model.parameters():
            p.requires_grad_(False)
        layers = self.model.encoder.layer
        if not 0 <= int(trainable_layers) <= len(layers):
            raise ValueError(f"trainable_layers must be in 0..{len(layers)} for {model_path}, got {trainable_layers}")
        for layer in list(layers)[len(layers) - int(trainable_layers) :] if trainable_layers else []:
            for p in layer.parameters():
                p.requires_grad_(True)

    def forward(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if isinstance(texts, str):
            texts = [texts]
        tokens = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
            return_special_tokens_mask=True,
        )
        device = next(self.model.parameters()).device
        special = tokens.pop("special_tokens_mask").to(device)
        tokens = {k: v.to(device) for k, v in tokens.items()}
        hidden = self.model(**tokens).last_hidden_state
        attention = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * attention).sum(1) / attention.sum(1).clamp(min=1)
        words = tokens["attention_mask"].bool() & ~special.bool()
        return hidden, words, pooled


def _projection(in_features: int, out_features: int) -> nn.Sequential:
    """ConVIRT's nonlinear projection head."""
    return nn.Sequential(
        nn.Linear(in_features, in_features), nn.ReLU(inplace=True), nn.Linear(in_features, out_features)
    )


class ImageTextDualEncoder(nn.Module):
    """
    A MONAI ResNet image encoder and a pretrained text encoder with global and local projections.

    ``forward(images, texts)`` returns a dict with ``image_embedding`` / ``text_embedding`` (B, D) from the
    global heads, ``region_features`` (B, R, D) from the third ResNet stage (GLoRIA's local image features),
    ``word_features`` (B, W, D) and ``word_mask`` (B, W): what :py:class:`~networks.losses.ConVIRTLoss` and
    :py:class:`~networks.losses.GLoRIALoss` take.

    Args:
        text_encoder_path: folder of the text encoder (all-MiniLM-L6-v2 in this zoo).
        spatial_dims: 2 for radiographs.
        in_channels: image channels.
        embed_dim: joint embedding size (ConVIRT: 512).
        resnet_depth: 18, 34 or 50 (MONAI ``resnet18``...).
        max_length: text tokens kept.
        trainable_text_layers: last text-encoder layers that train.
    """

    def __init__(
        self,
        text_encoder_path: str,
        spatial_dims: int = 2,
        in_channels: int = 1,
        embed_dim: int = 512,
        resnet_depth: int = 18,
        max_length: int = 128,
        trainable_text_layers: int = 2,
    ) -> None:
        super().__init__()
        factory = {18: resnet.resnet18, 34: resnet.resnet34, 50: resnet.resnet50}
        if resnet_depth not in factory:
            raise ValueError(f"resnet_depth must be one of {sorted(factory)}, got {resnet_depth}")
        self.image_encoder = factory[resnet_depth](
            spatial_dims=spatial_dims,
            n_input_channels=in_channels,
            feed_forward=False,
            num_classes=1,
            conv1_t_size=7,
            conv1_t_stride=2,  # the ImageNet stem: regions are 1/16 of the image (8 x 8 at 128 pixels)
        )
        expansion = 4 if resnet_depth == 50 else 1
        self.text_encoder = PretrainedTextEncoder(text_encoder_path, max_length, trainable_text_layers)
        hidden = self.text_encoder.hidden_size
        self.image_projection = _projection(512 * expansion, embed_dim)
        self.text_projection = _projection(hidden, embed_dim)
        self.region_projection = nn.Linear(256 * expansion, embed_dim)
        self.word_projection = nn.Linear(hidden, embed_dim)

    def _stages(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        net = self.image_encoder
        x = net.maxpool(net.act(net.bn1(net.conv1(images))))
        stage3 = net.layer3(net.layer2(net.layer1(x)))
        return stage3, net.layer4(stage3)

    def encode_image(self, images: torch.Tensor) -> dict:
        """Global embedding, region features (B, R, D) and the region grid shape."""
        stage3, stage4 = self._stages(images)
        pooled = torch.flatten(F.adaptive_avg_pool2d(stage4, 1) if stage4.ndim == 4 else stage4.mean((2, 3, 4)), 1)
        regions = self.region_projection(stage3.flatten(2).transpose(1, 2))
        return {
            "image_embedding": self.image_projection(pooled),
            "region_features": regions,
            "region_shape": tuple(stage3.shape[2:]),
        }

    def encode_text(self, texts: Sequence[str]) -> dict:
        """Global embedding, word features (B, W, D) and the word mask."""
        hidden, words, pooled = self.text_encoder(texts)
        return {
            "text_embedding": self.text_projection(pooled),
            "word_features": self.word_projection(hidden),
            "word_mask": words,
        }

    def forward(self, images: torch.Tensor, texts: Sequence[str]) -> dict:
        if images.shape[0] != len(texts):
            raise ValueError(f"{images.shape[0]} images but {len(texts)} texts in the batch")
        return {**self.encode_image(images), **self.encode_text(texts)}


class _PromptClassifierBase(nn.Module):
    """Shared by the zero-shot heads: a trained dual encoder and fixed prompt pairs per class."""

    def __init__(self, model: ImageTextDualEncoder, prompts: dict) -> None:
        super().__init__()
        if not prompts:
            raise ValueError("prompts must map each class name to {'positive': [...], 'negative': [...]}")
        for name, pair in prompts.items():
            if not (isinstance(pair, dict) and pair.get("positive") and pair.get("negative")):
                raise ValueError(f"prompts[{name!r}] needs non-empty 'positive' and 'negative' lists, got {pair!r}")
        self.model, self.prompts, self.class_names = model, prompts, list(prompts)

    def _prompt_embeddings(self, polarity: str) -> torch.Tensor:
        rows = []
        for name in self.class_names:
            emb = F.normalize(self.model.encode_text(self.prompts[name][polarity])["text_embedding"], dim=-1)
            rows.append(F.normalize(emb.mean(0), dim=-1))
        return torch.stack(rows)


class ZeroShotClassifier(_PromptClassifierBase):
    """
    CheXzero-style zero-shot classification: per class, the softmax over the image's similarity to the mean
    positive-prompt and mean negative-prompt embeddings (temperature ``temperature``) gives P(class). Returns
    (B, C) probabilities; 0.5 is where the positive prompts win.
    """

    def __init__(self, model: ImageTextDualEncoder, prompts: dict, temperature: float = 0.1) -> None:
        super().__init__(model, prompts)
        self.temperature = temperature

    def embed(self, inputs) -> torch.Tensor:
        """The inputs' embeddings in the shared space (here: images through the image tower)."""
        return self.model.encode_image(inputs)["image_embedding"]

    def forward(self, inputs) -> torch.Tensor:
        embedding = F.normalize(self.embed(inputs), dim=-1)
        positive, negative = self._prompt_embeddings("positive"), self._prompt_embeddings("negative")
        logits = torch.stack([embedding @ positive.t(), embedding @ negative.t()], dim=-1) / self.temperature
        return torch.softmax(logits, dim=-1)[..., 0]


class ReportZeroShotClassifier(ZeroShotClassifier):
    """
    The text side of zero-shot classification: the same prompt pairs and softmax, applied to the embedding of a
    report by the text tower (``network(list_of_reports)``). Scored against a report's labels, it measures what the
    text tower learned to read from real report language, with no image involved. Returns (B, C) probabilities.
    """

    def embed(self, inputs) -> torch.Tensor:
        if isinstance(inputs, str) or not all(isinstance(t, str) for t in inputs):
            raise TypeError(f"ReportZeroShotClassifier takes a list of report texts, got {type(inputs).__name__}")
        return self.model.encode_text(list(inputs))["text_embedding"]


class GroundingMapper(_PromptClassifierBase):
    """
    Where each class's positive prompt points in the image: GLoRIA's word-region attention (temperature
    ``attention_temperature``) averaged over the prompt's words and prompts, on the region grid, upsampled to the
    image and scaled to [0, 1] per map. Returns (B, C, H, W).
    """

    def __init__(self, model: ImageTextDualEncoder, prompts: dict, attention_temperature: float = 4.0) -> None:
        super().__init__(model, prompts)
        self.attention_temperature = attention_temperature

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        encoded = self.model.encode_image(images)
        maps = []
        for name in self.class_names:
            text = self.model.encode_text(self.prompts[name]["positive"])
            attention = word_region_attention(
                text["word_features"], encoded["region_features"], self.attention_temperature
            )  # B, P, W, R
            weights = text["word_mask"].to(attention.dtype)[None, :, :, None]
            maps.append((attention * weights).sum((1, 2)) / weights.sum().clamp(min=1))
        grid = torch.stack(maps, 1).reshape(images.shape[0], len(maps), *encoded["region_shape"])
        grid = F.interpolate(grid, size=images.shape[2:], mode="bilinear", align_corners=False)
        low = grid.flatten(2).min(-1).values[..., None, None]
        high = grid.flatten(2).max(-1).values[..., None, None]
        return (grid - low) / (high - low).clamp(min=1e-8)
