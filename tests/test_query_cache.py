"""The encoder's cache of query vectors: bounded, least recently used out, same vectors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bot.core.engine import ArticleBot
from embeddings.encoder import Encoder, QueryCache


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = QueryCache(2)
    for text in ("a", "b"):
        cache.put(text, np.full(3, ord(text), dtype=np.float32))
    assert cache.get("a") is not None  # "a" is now the most recent
    cache.put("c", np.zeros(3, dtype=np.float32))
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_capacity_zero_keeps_nothing() -> None:
    cache = QueryCache(0)
    cache.put("a", np.zeros(3, dtype=np.float32))
    assert len(cache) == 0 and cache.get("a") is None


def test_cached_vectors_equal_fresh_ones_in_the_callers_order(encoder: Encoder) -> None:
    questions = ["津心辦註冊人數", "What is 津心辦?", "津心辦註冊人數"]
    cached = replace(encoder, query_cache=QueryCache())  # type: ignore[type-var]
    first = cached.encode_queries(questions[:2])
    again = cached.encode_queries(questions)
    fresh = replace(encoder, query_cache=QueryCache(0)).encode_queries(questions)  # type: ignore[type-var]
    assert len(cached.query_cache) == 2
    assert again.shape == (3, encoder.dimension)
    np.testing.assert_allclose(again[:2], first, atol=1e-6)
    np.testing.assert_allclose(again, fresh, atol=1e-5)


def test_a_questions_missing_terms_are_encoded_once_for_every_article(core: ArticleBot) -> None:
    """On a shelf each shortlisted article checks the same terms: the second check (here
    the same core again) reads the encoder's term cache and reaches the same verdicts."""
    encoder = core.retriever.encoder
    saved = encoder.term_cache
    encoder.term_cache = QueryCache()
    try:
        checker = core.answerability
        assert checker is not None
        question = "津心办APP在哪里下载？"
        passage = core.retriever.search(question)[0].passage.lexical_text()
        first = checker.evidence(question, passage)  # no ``matters``: the check always runs
        misses = encoder.term_cache.misses
        again = checker.evidence(question, passage)
        assert misses > 0 and encoder.term_cache.misses == misses
        assert encoder.term_cache.hits > 0
        assert again == first
    finally:
        encoder.term_cache = saved
