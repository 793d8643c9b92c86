"""``summarize``: the model condenses text. With the offline model the summary is
extractive: the sentences whose words are most frequent in the text, in their order."""

from __future__ import annotations

import re
from collections import Counter

from langchain_core.tools import tool

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


@tool
def summarize(text: str, max_sentences: int = 3) -> str:
    """Summarize a text into a few sentences."""
    from agents.models import chat_model, is_offline

    if is_offline():
        return extractive_summary(text, max_sentences)
    reply = chat_model().invoke(
        f"Summarize the following text in at most {max_sentences} sentences.\n\n{text}"
    )
    return str(reply.content)
