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
Image-text contrastive losses: ConVIRT's bidirectional InfoNCE and GLoRIA's global + local (word-region
attention) losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ConVIRTLoss", "GLoRIALoss", "word_region_attention"]


def _bidirectional_ce(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of each row (image -> text) and each column (text -> image) against the diagonal."""
    target = torch.arange(logits.shape[0], device=logits.device)
    return F.cross_entropy(logits, target), F.cross_entropy(logits.t(), target)


class ConVIRTLoss(nn.Module):
    """
    ConVIRT (Zhang et al., 2020): with ``v``, ``u`` the L2-normalised image and text projections of a batch,

    ``L = lambda * CE(v u^T / tau) + (1 - lambda) * CE(u v^T / tau)`` (mean over the batch),

    the image-to-text and text-to-image InfoNCE terms, each pair's own report the positive.

    Args:
        temperature: tau (ConVIRT: 0.1).
        lambda_: weight of the image-to-text term (ConVIRT: 0.75).
    """

    def __init__(self, temperature: float = 0.1, lambda_: float = 0.75) -> None:
        super().__init__()
        if temperature <= 0 or not 0 <= lambda_ <= 1:
            raise ValueError(
                f"ConVIRTLoss: temperature must be > 0 and lambda_ in [0, 1], got {temperature}, {lambda_}"
            )
        self.temperature, self.lambda_ = temperature, lambda_

    def forward(self, outputs: dict, target=None) -> torch.Tensor:
        image = F.normalize(outputs["image_embedding"], dim=-1)
        text = F.normalize(outputs["text_embedding"], dim=-1)
        image_to_text, text_to_image = _bidirectional_ce(image @ text.t() / self.temperature)
        return self.lambda_ * image_to_text + (1 - self.lambda_) * text_to_image


def word_region_attention(words: torch.Tensor, regions: torch.Tensor, temperature: float) -> torch.Tensor:
    """
    Attention of each word over image regions: ``softmax_j(temperature * cos(word_i, region_j))``.

    Args:
        words: (T, W, D) word features of T texts.
        regions: (I, R, D) region features of I images.

    Returns:
        (I, T, W, R) attention weights.
    """
    cos = torch.einsum("twd,ird->itwr", F.normalize(words, dim=-1), F.normalize(regions, dim=-1))
    return torch.softmax(temperature * cos, dim=-1)


class GLoRIALoss(nn.Module):
    """
    GLoRIA (Huang et al., 2021): a global InfoNCE term on the pooled embeddings plus a local term on word-region
    attention. For image i and text t, each word w attends over the regions (``word_region_attention`` with
    temperature ``attention_temperature``, GLoRIA's tau1 = 4; one softmax over regions of cosine similarities, where
    GLoRIA's code uses dot products normalised over words and then over regions), giving a region context ``c_w``;
    the words' matches ``cos(c_w, word_w)`` are pooled by ``log sum_w exp(word_temperature * cos)`` (tau2 = 5) into
    the image-text score ``Z(i, t)``; both terms are bidirectional cross-entropies of scores scaled by
    ``similarity_temperature`` (tau3 = 10; a multiplier, as in GLoRIA). Padding words are masked out.

    Args:
        attention_temperature: tau1.
        word_temperature: tau2.
        similarity_temperature: tau3.
        local_weight: weight of the local term.
        global_weight: weight of the global term.
    """

    def __init__(
        self,
        attention_temperature: float = 4.0,
        word_temperature: float = 5.0,
        similarity_temperature: float = 10.0,
        local_weight: float = 1.0,
        global_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.tau1, self.tau2, self.tau3 = attention_temperature, word_temperature, similarity_temperature
        self.local_weight, self.global_weight = local_weight, global_weight

    def local_scores(self, words: torch.Tensor, word_mask: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        """(I, T) local image-text scores Z."""
        empty = (~word_mask.bool()).all(dim=1)
        if empty.any():
            raise ValueError(f"GLoRIALoss: text(s) {empty.nonzero().flatten().tolist()} have no word tokens")
        attention = word_region_attention(words, regions, self.tau1)  # I, T, W, R
        context = torch.einsum("itwr,ird->itwd", attention, regions)
        match = F.cosine_similarity(context, words.unsqueeze(0), dim=-1)  # I, T, W
        match = (self.tau2 * match).masked_fill(~word_mask.bool().unsqueeze(0), float("-inf"))
        return torch.logsumexp(match, dim=-1)

    def forward(self, outputs: dict, target=None) -> torch.Tensor:
        image = F.normalize(outputs["image_embedding"], dim=-1)
        text = F.normalize(outputs["text_embedding"], dim=-1)
        global_terms = _bidirectional_ce(self.tau3 * image @ text.t())
        scores = self.local_scores(outputs["word_features"], outputs["word_mask"], outputs["region_features"])
        local_terms = _bidirectional_ce(self.tau3 * scores)
        return self.global_weight * sum(global_terms) + self.local_weight * sum(local_terms)
