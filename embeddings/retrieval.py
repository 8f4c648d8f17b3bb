"""Hybrid retrieval: dense (FAISS) and lexical (BM25) scores fused into one ranking.

Rank fusion (RRF) throws away how far apart scores are, which matters on a corpus
of a few dozen paragraphs; a weighted sum of min-max-normalised scores keeps it
(``python -m bot eval`` reports both).
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from embeddings.encoder import Encoder
from embeddings.lexical import LexicalIndex
from embeddings.passages import Passage

# Candidates taken from each retriever before fusion.
CANDIDATES = 100


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # fused, 0..1 within this query
    dense: float  # cosine similarity
    lexical: float  # raw BM25


@dataclass(frozen=True)
class FusionConfig:
    method: str = "minmax"  # or "rrf"
    dense_weight: float = 0.5
    rrf_k: float = 60.0


def _minmax(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def fuse(dense: np.ndarray, lexical: np.ndarray, config: FusionConfig) -> np.ndarray:
    if config.method == "rrf":
        fused = config.dense_weight / (config.rrf_k + _ranks(dense)) + (1 - config.dense_weight) / (
            config.rrf_k + _ranks(lexical)
        )
        return _minmax(fused)
    return config.dense_weight * _minmax(dense) + (1 - config.dense_weight) * _minmax(lexical)


class Retriever:
    def __init__(
        self,
        passages: list[Passage],
        index: faiss.Index,
        encoder: Encoder,
        fusion: FusionConfig | None = None,
    ) -> None:
        self.passages = passages
        self.encoder = encoder
        self.fusion = fusion or FusionConfig()
        self._index = index
        self.lexical = LexicalIndex([p.embedding_text() for p in passages])

    def dense_scores(self, query_vectors: np.ndarray) -> np.ndarray:
        """Cosine of every passage for each query; passages past the candidates get the floor."""
        k = min(CANDIDATES, self._index.ntotal)
        sims, ids = self._index.search(query_vectors, k)
        out = np.empty((len(query_vectors), len(self.passages)), dtype=np.float32)
        for row in range(len(query_vectors)):
            out[row] = sims[row].min() if k else 0.0
            valid = ids[row] >= 0
            out[row, ids[row][valid]] = sims[row][valid]
        return out

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        """One encoder call for many questions: batching is most of the throughput."""
        if not queries:
            return []
        return self.rank_many(queries, self.encoder.encode_queries(queries), k)

    def rank_many(self, queries: list[str], vectors: np.ndarray, k: int = 5) -> list[list[Hit]]:
        """Rank with query vectors the caller already has (it may need them again)."""
        dense = self.dense_scores(vectors)
        return [self._rank(query, dense[row], k) for row, query in enumerate(queries)]

    def _rank(self, query: str, dense: np.ndarray, k: int) -> list[Hit]:
        lexical = self.lexical.scores(query)
        fused = fuse(dense, lexical, self.fusion)
        order = np.lexsort((-dense, -fused))[:k]
        return [
            Hit(self.passages[i], float(fused[i]), float(dense[i]), float(lexical[i]))
            for i in order
        ]
