"""Hybrid retrieval: dense (FAISS) and lexical (BM25) scores fused into one ranking.

Rank fusion (RRF) throws away how far apart scores are, which matters on a corpus
of a few dozen paragraphs; a weighted sum of min-max-normalised scores keeps it
(``python -m bot eval`` reports both).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import faiss
import numpy as np

from embeddings.bridges import Bridges, BridgeTables
from embeddings.dictionary import Dictionary
from embeddings.encoder import Encoder
from embeddings.indexed import IndexedArticle
from embeddings.lexical import LexicalIndex
from embeddings.normalize import mostly_chinese, script_of
from embeddings.passages import Passage
from embeddings.place import priorities
from embeddings.store import StoredIndex, make_faiss_index

# Candidates taken from each retriever before fusion.
CANDIDATES = 100
# An English question whose best two passages' fused scores (0..1) lie closer than this is
# ranked again by its expansion (Retriever.signals_many). Over the pool's English questions,
# expanding only these ranked as well held out as expanding every one (XQuAD Hit@1 0.943
# against 0.941) for 29% of the second embeddings.
UNSURE = 0.2


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # fused, 0..1 within this query
    dense: float  # mean of the paragraph's cosine and its best sentence's cosine
    lexical: float  # raw BM25
    sentence_scores: np.ndarray  # cosine of each of the passage's sentences
    # For a question with no Chinese: this passage's lexicon and pinyin BM25 (the bridges).
    bridged: tuple[float, float] = (0.0, 0.0)
    # The question asked for a place in the article (its opening, close or a section).
    placed: bool = False


@dataclass(frozen=True)
class FusionConfig:
    method: str = "minmax"  # or "rrf"
    dense_weight: float = 0.6  # chosen by cross-validation on the gold set (`bot eval`)
    rrf_k: float = 60.0
    # Questions with no Chinese in them: weights of dense, character BM25, lexicon BM25 and
    # pinyin BM25 (embeddings/bridges.py), min-max fused; chosen by cross-validation too.
    cross_weights: tuple[float, float, float, float] = (0.4, 0.1, 0.3, 0.2)


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


def fuse_cross(signals: np.ndarray, config: FusionConfig) -> np.ndarray:
    """Rows of ``signals``: dense, character BM25, lexicon BM25, pinyin BM25 scores.

    A signal that finds nothing (all zeros) adds nothing, so a question with no name
    in it is ranked by the other three.
    """
    weights = np.asarray(config.cross_weights, dtype=np.float64)
    return np.asarray(sum(w * _minmax(row) for w, row in zip(weights, signals, strict=True)))


def fuse(dense: np.ndarray, lexical: np.ndarray, config: FusionConfig) -> np.ndarray:
    if config.method == "rrf":
        fused = config.dense_weight / (config.rrf_k + _ranks(dense)) + (1 - config.dense_weight) / (
            config.rrf_k + _ranks(lexical)
        )
        return _minmax(fused)
    return config.dense_weight * _minmax(dense) + (1 - config.dense_weight) * _minmax(lexical)


def top_margin(fused: np.ndarray) -> float:
    """How far the best fused score stands above the second."""
    if len(fused) < 2:
        return float("inf")
    top = np.partition(fused, len(fused) - 2)[-2:]
    return float(top[1] - top[0])


def ranking(fused: np.ndarray, dense: np.ndarray, place: np.ndarray | None = None) -> np.ndarray:
    """Passage indices best first: by fused score, ties by dense; the passages of a place
    the question asks about (:func:`embeddings.place.priorities`) before all others."""
    if place is None:
        return np.lexsort((-dense, -fused))
    return np.lexsort((-dense, -fused, -place))


class Retriever:
    """Dense scores read both the whole paragraph and its best sentence.

    A long paragraph's vector blurs the one sentence a question is about; the best
    sentence alone ignores context. Their mean ranked best on the gold set.
    """

    def __init__(
        self,
        passages: list[Passage],
        index: faiss.Index,
        sentences: faiss.Index,
        encoder: Encoder,
        fusion: FusionConfig | None = None,
        *,
        bridges: BridgeTables | None = None,
        word_vectors: np.ndarray | None = None,
        calibration: dict[str, float] | None = None,
        dictionary: Dictionary | None = None,
    ) -> None:
        self.passages = passages
        self.encoder = encoder
        self.fusion = fusion or FusionConfig()
        self._index = index
        self._sentences = sentences
        counts = [len(p.sentences) for p in passages]
        self._first_sentence = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self._sentence_count = counts
        texts = [p.lexical_text() for p in passages]
        self.bridges = Bridges(bridges, texts) if bridges is not None else None
        # Rows follow ``bridges.words``: the article's own words, for synonym checks.
        self.word_vectors = word_vectors
        # Off-topic questions' median best dense score here (embeddings/calibration.py).
        self.calibration = calibration or {}
        self.dictionary = dictionary

    @cached_property
    def _expands(self) -> bool:
        """Whether an English question may be expanded here (:meth:`signals_many`): only in an
        article written mostly in Chinese. In an English one with a Chinese paragraph the
        expansion's cosine on that paragraph outran the English one that answers ("How much
        is a return ticket?" quoted 往返票价三十八瑞士法郎 instead of "38 francs")."""
        return self.bridges is not None and mostly_chinese(self.bridges.article_text)

    @cached_property
    def lexical(self) -> LexicalIndex:
        """Character BM25 over the passages, built by the first question searched here: on a
        shelf most articles are never shortlisted for a given question, and a start should
        not index them all."""
        return LexicalIndex([p.lexical_text() for p in self.passages])

    @classmethod
    def from_stored(
        cls, stored: StoredIndex, encoder: Encoder, fusion: FusionConfig | None = None
    ) -> Retriever:
        """A retriever over everything the index directory holds, bridges included."""
        return cls.from_indexed(stored.article, encoder, fusion, stored.dictionary)

    @classmethod
    def from_indexed(
        cls,
        article: IndexedArticle,
        encoder: Encoder,
        fusion: FusionConfig | None = None,
        dictionary: Dictionary | None = None,
    ) -> Retriever:
        """A retriever over one article as a passage store returns it: its vectors are
        indexed in memory exactly as the index directory indexes them, whichever store."""
        return cls(
            list(article.passages),
            make_faiss_index(article.paragraph_vectors),
            make_faiss_index(article.sentence_vectors),
            encoder,
            fusion,
            bridges=article.bridges,
            word_vectors=article.word_vectors,
            calibration=dict(article.calibration),
            dictionary=dictionary,
        )

    def cross_signals(self, query: str, dense: np.ndarray) -> np.ndarray | None:
        """Dense, character, lexicon and pinyin scores for a question with no Chinese.

        None for a Chinese question, or without bridges: those rank on dense and
        character BM25 alone (the bridges add nothing to a Chinese question).
        """
        if self.bridges is None or script_of(query) != "other":
            return None
        return np.stack(
            [
                dense.astype(np.float64),
                self.lexical.scores(query).astype(np.float64),
                self.bridges.lexicon_scores(query),
                self.bridges.pinyin_scores(query),
            ]
        )

    @staticmethod
    def _all_scores(index: faiss.Index, vectors: np.ndarray) -> np.ndarray:
        """Cosine of every stored vector; those past the candidates get the lowest found."""
        k = min(CANDIDATES, index.ntotal)
        sims, ids = index.search(vectors, k)
        out = np.empty((len(vectors), index.ntotal), dtype=np.float32)
        for row in range(len(vectors)):
            out[row] = sims[row].min()
            valid = ids[row] >= 0
            out[row, ids[row][valid]] = sims[row][valid]
        return out

    def scores(self, query_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(passage dense scores, sentence cosines), one row per query."""
        paragraphs = self._all_scores(self._index, query_vectors)
        sentences = self._all_scores(self._sentences, query_vectors)
        best_sentence = np.maximum.reduceat(sentences, self._first_sentence, axis=1)
        return (paragraphs + best_sentence) / 2, sentences

    def paragraph_scores(self, query_vectors: np.ndarray) -> np.ndarray:
        """Each paragraph's cosine alone: what a plain dense pipeline ranks by."""
        return self._all_scores(self._index, query_vectors)

    def dense_scores(self, query_vectors: np.ndarray) -> np.ndarray:
        return self.scores(query_vectors)[0]

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(
        self, queries: list[str], k: int = 5, expand: list[bool] | None = None
    ) -> list[list[Hit]]:
        """One encoder call for many questions: batching is most of the throughput.
        ``expand`` says per question whether :meth:`signals_many` may expand it (default: all)."""
        if not queries:
            return []
        return self.rank_many(queries, self.encoder.encode_queries(queries), k, expand)

    def rank_many(
        self,
        queries: list[str],
        vectors: np.ndarray,
        k: int = 5,
        expand: list[bool] | None = None,
    ) -> list[list[Hit]]:
        dense, sentences = self.scores(vectors)
        signals = self.signals_many(queries, dense, expand)
        return [
            self._rank(query, dense[row], sentences[row], signals[row], k)
            for row, query in enumerate(queries)
        ]

    def signals_many(
        self, queries: list[str], dense: np.ndarray, expand: list[bool] | None = None
    ) -> list[np.ndarray | None]:
        """Each question's :meth:`cross_signals`, an unsure English one's dense row from its
        expansion with the article's own words.

        e5 matches Chinese to Chinese better than English to Chinese
        (:meth:`embeddings.bridges.Bridges.expanded`), but embedding a second text doubles
        an English question's cost, so only a question whose ranking is unsure — its best
        two passages' fused scores within :data:`UNSURE` — is embedded again, all such
        questions in one call. ``dense`` itself, what the refusal rule reads, stays the
        question's own: an off-topic question expanded with this article's words scores
        close to it (XQuAD English off-topic questions declined fell from 90% to 68% when
        the rule read the expansion). ``expand`` (default: every question) leaves out those
        it marks False.
        """
        signals = [self.cross_signals(q, dense[row]) for row, q in enumerate(queries)]
        if self.bridges is None or not self._expands:
            return signals
        allowed = expand or [True] * len(queries)
        unsure = {
            row: said
            for row, (query, found, may) in enumerate(zip(queries, signals, allowed, strict=True))
            if may
            and found is not None
            and top_margin(fuse_cross(found, self.fusion)) < UNSURE
            and (said := self.bridges.expanded(query)) != query
        }
        if unsure:
            expanded = self.dense_scores(self.encoder.encode_queries(list(unsure.values())))
            for row, scores in zip(unsure, expanded, strict=True):
                signals[row][0] = scores  # type: ignore[index]
        return signals

    def place_of(self, query: str) -> np.ndarray | None:
        """Where a question about the article's opening, close or a section is answered
        from (see :func:`embeddings.place.priorities`); None for a question about a topic."""
        return priorities(query, self.passages)

    def _rank(
        self,
        query: str,
        dense: np.ndarray,
        sentences: np.ndarray,
        signals: np.ndarray | None,
        k: int,
    ) -> list[Hit]:
        lexical = self.lexical.scores(query)
        if signals is not None:
            fused = fuse_cross(signals, self.fusion)
        else:
            fused = fuse(dense, lexical, self.fusion)
        place = self.place_of(query)
        order = ranking(fused, dense, place)[:k]
        hits = []
        for i in order:
            first = self._first_sentence[i]
            hits.append(
                Hit(
                    self.passages[i],
                    float(fused[i]),
                    float(dense[i]),
                    float(lexical[i]),
                    sentences[first : first + self._sentence_count[i]],
                    (0.0, 0.0) if signals is None else (float(signals[2, i]), float(signals[3, i])),
                    place is not None,
                )
            )
        return hits
