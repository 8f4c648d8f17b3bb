"""The data directory's cache of word and off-topic-question vectors, with the real encoder."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from embeddings import vectorcache
from embeddings.encoder import Encoder
from embeddings.vectorcache import CACHE_FILE, cached_vectors

WORDS = ["中国", "网络", "文明", "天津", "网络"]  # a repeat, as an article's lists can hold


class Counting:
    """The real encoder's passage embedding, counting what it is asked to embed."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.texts: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts += texts
        return self.encoder.encode_passages(texts)


def test_a_text_is_embedded_once_per_model_and_kind(encoder: Encoder, tmp_path: Path) -> None:
    first, second = Counting(encoder), Counting(encoder)
    fresh = cached_vectors(tmp_path, encoder.model_id, "passage", WORDS, first)
    again = cached_vectors(tmp_path, encoder.model_id, "passage", [*WORDS, "发展"], second)
    assert first.texts == ["中国", "网络", "文明", "天津"] and second.texts == ["发展"]
    assert np.allclose(again[:5], fresh, atol=1e-6)
    assert np.allclose(fresh, encoder.encode_passages(WORDS), atol=1e-5)
    other = Counting(encoder)
    cached_vectors(tmp_path, encoder.model_id, "query", WORDS, other)  # another kind
    cached_vectors(tmp_path, "another-model", "passage", WORDS[:1], other)
    assert other.texts == ["中国", "网络", "文明", "天津", "中国"]


def test_a_damaged_cache_is_moved_aside_and_the_vectors_still_come(
    encoder: Encoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / CACHE_FILE).write_bytes(b"not a database, " * 512)
    with caplog.at_level(logging.WARNING, logger="embeddings.vectorcache"):
        vectors = cached_vectors(tmp_path, encoder.model_id, "passage", WORDS, Counting(encoder))
    assert vectors.shape == (5, encoder.dimension)
    assert [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(caplog.records) == 1
    assert list(tmp_path.glob(f"{CACHE_FILE}.corrupt-*"))
    counting = Counting(encoder)
    cached_vectors(tmp_path, encoder.model_id, "passage", WORDS, counting)  # afresh
    assert counting.texts == ["中国", "网络", "文明", "天津"]


def test_a_locked_cache_is_left_alone_for_this_article(
    encoder: Encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_vectors(tmp_path, encoder.model_id, "passage", WORDS[:1], Counting(encoder))
    monkeypatch.setattr(vectorcache, "_TIMEOUT_S", 0.1)
    holder = sqlite3.connect(tmp_path / CACHE_FILE)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        counting = Counting(encoder)
        vectors = cached_vectors(tmp_path, encoder.model_id, "passage", WORDS, counting)
    finally:
        holder.close()
    assert counting.texts == WORDS and vectors.shape == (5, encoder.dimension)
