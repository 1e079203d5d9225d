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
A rule-based entity extractor for chest X-ray reports, with NegEx-style negation.

Findings are matched first (in lexicon order, specific phrases before general ones, each word claimed once),
anatomy in the words they leave. A finding is negated when a negation cue ("no", "without", "negative for", ...)
comes before it in the same clause, or a post-negation ("is not seen", "has resolved") follows it or the list of
findings it ends; "but", "however", "while", ";", a comma that opens a new clause and the like end a cue's scope,
and pseudo-negations ("no change", "no interval change") are not cues. Side (patient's left/right/both) and zone
(upper/middle/lower/hilar) words nearest to each finding (preferably before it, never across another finding or
clause) are attached to it, so an image generator can place it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from networks.apps.vlp.lexicon import ANATOMY, FINDINGS, negated_key

__all__ = ["Mention", "EntityExtractor", "split_sentences"]

_PRE_NEGATION = re.compile(
    r"\b(?:no|not|without|negative for|free of|clear of|absence of|resolution of|resolved|rather than|"
    r"no evidence of|no signs? of|no findings? of|nor|neither)\b"
)
_PSEUDO_NEGATION = re.compile(
    r"\bno (?:significant |interval |appreciable |substantial )?(?:change|increase|decrease|worsening)\b|"
    r"\bnot (?:significantly )?changed\b|\bnot only\b"
)
_POST_NEGATION = re.compile(
    r"\W*(?:(?:is|are|was|were|has|have)\s+)?(?:(?:not|no longer)\s+(?:seen|present|identified|visualized|"
    r"demonstrated|evident|appreciated)|(?:been\s+)?resolved|absent|cleared)\b"
)
# what may stand between a finding and a post-negation: other findings (masked as '#') joined by commas/or/and/nor
_LIST_GAP = re.compile(r"(?:[\s,]*(?:(?:or|and|nor)\s+)?(?:[a-z]+\s+){0,2}#+)*")
_NEGATED_IN_MATCH = re.compile(r"\b(?:not|no longer)\b")  # "the heart is not enlarged"
_SCOPE_END = re.compile(
    r"\b(?:but|however|although|though|except|aside from|apart from|which|whereas|while)\b|[;:]"
    r"|,\s*(?=(?:there|it|this|the|which)\b)"  # a comma that starts a new clause
)
_SIDE = {"both": r"\bbilateral\w*|\bboth\b|\bbibasilar\b", "right": r"\bright\b", "left": r"\bleft\b"}
_ZONE = {
    "upper": r"upper|\bap(?:ex|ices|ical)\b",
    "middle": r"middle|lingula\w*|\bmid\b",
    "lower": r"lower|\bbases?\b|basilar|basal|retrocardiac",
    "hilar": r"\bhil(?:um|a|ar)\b|perihilar|central",
}


@dataclass(frozen=True)
class Mention:
    """One entity mention: its key, whether it is negated, the sentence, and side/zone words for findings."""

    key: str
    negated: bool
    sentence: int
    side: str | None = None
    zone: str | None = None


def split_sentences(text: str) -> list[str]:
    """Split a report section into sentences (on '.', '?' and '!' followed by space or the end)."""
    parts = re.split(r"(?<=[.?!])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip(" .")]


class EntityExtractor:
    """
    Extract vocabulary entities from report text.

    Example::

        >>> EntityExtractor().entities("No pleural effusion. Mild cardiomegaly.")
        frozenset({'no pleural effusion', 'cardiomegaly'})
    """

    def __init__(self) -> None:
        self._findings = [(f.name, re.compile(f.pattern)) for f in FINDINGS]
        self._anatomy = [(name, re.compile(pattern)) for name, pattern in ANATOMY.items()]

    @staticmethod
    def _negated(text: str, masked: str, start: int, end: int) -> bool:
        """``text[start:end]`` is a finding; ``masked`` is ``text`` with every finding replaced by '#'."""
        if _NEGATED_IN_MATCH.search(text[start:end]):
            return True
        before = text[:start]
        cut = [m.end() for m in _SCOPE_END.finditer(before)]
        clause = _PSEUDO_NEGATION.sub(" ", before[cut[-1] :] if cut else before)
        if _PRE_NEGATION.search(clause):
            return True
        gap = _LIST_GAP.match(masked, end).end()
        return bool(_POST_NEGATION.match(text, gap))

    @staticmethod
    def _nearest(words: dict[str, str], masked: str, start: int, end: int) -> str | None:
        """The side/zone word closest before a finding (else closest after), with no other finding in between."""
        before, after = [], []
        for name, pattern in words.items():
            for m in re.finditer(pattern, masked):
                gap = masked[m.end() : start] if m.end() <= start else masked[end : m.start()]
                if "#" in gap or _SCOPE_END.search(gap) or (m.end() > start and m.start() < end):
                    continue
                (before if m.end() <= start else after).append((len(gap), name))
        return min(before)[1] if before else min(after)[1] if after else None

    def sentence_mentions(self, sentence: str, index: int = 0) -> list[Mention]:
        """Mentions in one sentence (lower-cased internally)."""
        text = sentence.lower()
        claimed = list(text)
        spans: list[tuple[int, int, str]] = []
        for name, pattern in self._findings:  # first pass: every finding claims its words
            for match in pattern.finditer("".join(claimed)):
                spans.append((match.start(), match.end(), name))
                claimed[match.start() : match.end()] = "#" * (match.end() - match.start())
        masked = "".join(claimed)
        mentions: list[Mention] = []
        for start, end, name in sorted(spans):  # second pass: negation, side and zone, knowing every finding
            negated = self._negated(text, masked, start, end)
            side, zone = self._nearest(_SIDE, masked, start, end), self._nearest(_ZONE, masked, start, end)
            mentions.append(Mention(negated_key(name) if negated else name, negated, index, side, zone))
        rest = masked
        for name, pattern in self._anatomy:
            if pattern.search(rest):
                mentions.append(Mention(name, False, index))
        return mentions

    def mentions(self, text: str) -> list[Mention]:
        """Mentions in a text of several sentences, in sentence order."""
        out: list[Mention] = []
        for i, sentence in enumerate(split_sentences(text)):
            out.extend(self.sentence_mentions(sentence, i))
        return out

    def entities(self, text: str) -> frozenset[str]:
        """
        The set of entity keys stated by ``text``. A finding both asserted and negated counts as asserted
        ("no change in the small left effusion; no right effusion" states an effusion).
        """
        keys = {m.key for m in self.mentions(text)}
        for key in list(keys):
            if key.startswith("no ") and key[3:] in keys:
                keys.discard(key)
        return frozenset(keys)
