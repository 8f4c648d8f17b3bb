"""The encoder's cache of query vectors: bounded, least recently used out, same vectors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

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
