"""BM25 beside the embeddings: exact names and numbers are what dense vectors blur."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from embeddings.normalize import tokens


class LexicalIndex:
    def __init__(self, texts: list[str], tokenize: Callable[[str], list[str]] = tokens) -> None:
        self._tokenize = tokenize
        # Imported here: bm25s brings scipy (0.3 s), and indexing an article never searches.
        import bm25s

        self._docs = [tokenize(text) for text in texts]
        self._bm25 = bm25s.BM25()
        self._bm25.index(self._docs, show_progress=False)
        self._vocabulary = {token for doc in self._docs for token in doc}

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document, in document order."""
        return self.scores_for_tokens(self._tokenize(query))

    def scores_for_tokens(self, query_tokens: list[str]) -> np.ndarray:
        known = [t for t in query_tokens if t in self._vocabulary]
        if not known:
            return np.zeros(len(self._docs), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def coverage(self, query: str) -> float:
        """Share of the query's bigrams (or words) that occur anywhere in the article.

        A question about the weather shares characters with any Chinese text, but
        rarely its bigrams: this is one of the signals the refusal rule reads.
        """
        grams = [t for t in self._tokenize(query) if len(t) >= 2]
        if not grams:
            return 0.0
        return sum(t in self._vocabulary for t in grams) / len(grams)
