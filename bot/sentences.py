"""Find the sentence inside a paragraph that answers, so the reader sees it at a glance."""

from __future__ import annotations

import re

from embeddings.normalize import tokens

_SENTENCE_END = re.compile(r"[^。！？!?；;]*(?:[。！？!?；;]+[”」』\"]?|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _SENTENCE_END.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        if end > start:
            spans.append((start, end))
    return spans


def lexical_overlap(question: str, sentence: str) -> float:
    """Share of the question's bigrams found in the sentence (unigrams for a lone character)."""
    q = set(tokens(question))
    grams = {t for t in q if len(t) >= 2} or q
    if not grams:
        return 0.0
    s = set(tokens(sentence))
    return len(grams & s) / len(grams)
