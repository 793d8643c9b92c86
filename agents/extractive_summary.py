"""The offline model's summary: extractive, the sentences whose words are most frequent in
the text, kept in their order. Deterministic, so tests can state what it returns."""

from __future__ import annotations

import re
from collections import Counter

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset("a an the and or of to in on for is are was were be it this that with as by at from".split())


def extractive_summary(text: str, max_sentences: int = 3) -> str:
    sentences = [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]
    if len(sentences) <= max_sentences:
        return " ".join(sentences)
    counts = Counter(w for w in _WORD.findall(text.lower()) if w not in _STOP)

    def score(sentence: str) -> float:
        words = [w for w in _WORD.findall(sentence.lower()) if w not in _STOP]
        return sum(counts[w] for w in words) / (len(words) or 1)

    best = sorted(range(len(sentences)), key=lambda i: (-score(sentences[i]), i))[:max_sentences]
    return " ".join(sentences[i] for i in sorted(best))
