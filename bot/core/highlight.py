"""Pick the sentence inside a quoted paragraph that answers, so the reader sees it at once."""

from __future__ import annotations

import numpy as np

from corpus.sentences import sentence_spans
from embeddings.normalize import tokens

# Shared words count for more than meaning: a question naming 第七 wants that sentence.
LEXICAL_WEIGHT = 0.5


def lexical_overlap(question: str, sentence: str) -> float:
    """Share of the question's bigrams found in the sentence (unigrams for a lone character)."""
    q = set(tokens(question))
    grams = {t for t in q if len(t) >= 2} or q
    if not grams:
        return 0.0
    return len(grams & set(tokens(sentence))) / len(grams)


def best_sentence(
    question: str, text: str, sentence_scores: np.ndarray
) -> tuple[tuple[int, int], ...]:
    """The span of the best sentence of ``text``; ``sentence_scores`` are cosines, in order.

    ``text`` may be the Simplified rendering of the stored paragraph; when conversion
    changed its sentence count the cosines no longer line up and words alone decide.
    """
    spans = sentence_spans(text)
    if len(spans) <= 1:
        return tuple(spans)
    overlap = np.array([lexical_overlap(question, text[a:b]) for a, b in spans])
    dense = sentence_scores if len(sentence_scores) == len(spans) else np.zeros(len(spans))
    return (spans[int(np.argmax(dense + LEXICAL_WEIGHT * overlap))],)
