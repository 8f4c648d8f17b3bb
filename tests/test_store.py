"""The index directory is reused when it matches and rebuilt, with a log line, when not."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import pytest

from corpus.ingest import load_article
from embeddings.encoder import Encoder
from embeddings.passages import passages_of
from embeddings.store import (
    BRIDGES_FILE,
    INDEX_FILE,
    MANIFEST_FILE,
    PASSAGES_FILE,
    WORDS_FILE,
    load_or_build,
)
from tests.helpers.paths import DATA


@pytest.fixture
def small_article(tmp_path: Path) -> Path:
    """A five-paragraph article: the store's behaviour does not depend on size, the runtime does."""
    path = tmp_path / "article.md"
    shutil.copyfile(DATA / "sample_article.md", path)
    return path


def _build(directory: Path, article_path: Path, encoder: Encoder):  # type: ignore[no-untyped-def]
    article = load_article(article_path)
    return load_or_build(directory, article.content_hash, passages_of(article), encoder)


def test_manifest_records_what_the_index_was_built_from(
    tmp_path: Path, small_article: Path, encoder: Encoder
) -> None:
    stored = _build(tmp_path / "idx", small_article, encoder)
    manifest = json.loads((tmp_path / "idx" / MANIFEST_FILE).read_text())
    assert stored.rebuilt
    assert manifest["model"] == encoder.model_id
    assert manifest["dimension"] == 384
    assert manifest["article_sha256"] == load_article(small_article).content_hash
    assert manifest["count"] == len(stored.article.paragraph_vectors) == len(stored.passages)


def test_unchanged_index_is_reused(tmp_path: Path, small_article: Path, encoder: Encoder) -> None:
    _build(tmp_path / "idx", small_article, encoder)
    again = _build(tmp_path / "idx", small_article, encoder)
    assert not again.rebuilt


def test_changed_article_rebuilds(
    tmp_path: Path, small_article: Path, encoder: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    first = _build(tmp_path / "idx", small_article, encoder)
    text = small_article.read_text(encoding="utf-8")
    small_article.write_text(text.replace("1852", "1853"), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="embeddings.store"):
        second = _build(tmp_path / "idx", small_article, encoder)
    assert second.rebuilt and "rebuilding" in caplog.text
    assert any("1853" in p.text for p in second.passages)
    assert not any("1853" in p.text for p in first.passages)


def test_changed_model_rebuilds(
    tmp_path: Path, small_article: Path, encoder: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    _build(tmp_path / "idx", small_article, encoder)
    renamed = dataclasses.replace(encoder, model_id="another-model")  # type: ignore[type-var]
    with caplog.at_level(logging.INFO, logger="embeddings.store"):
        again = _build(tmp_path / "idx", small_article, renamed)
    assert again.rebuilt and "another-model" in caplog.text


@pytest.mark.parametrize(
    "name", [INDEX_FILE, PASSAGES_FILE, MANIFEST_FILE, BRIDGES_FILE, WORDS_FILE]
)
# Each case builds the index twice: garbage in every file between edits, all three in `make test`.
@pytest.mark.parametrize(
    "damage",
    [
        "garbage",
        pytest.param("truncate", marks=pytest.mark.slow),
        pytest.param("delete", marks=pytest.mark.slow),
    ],
)
def test_damaged_files_are_rebuilt_not_fatal(
    tmp_path: Path, small_article: Path, encoder: Encoder, name: str, damage: str
) -> None:
    first = _build(tmp_path / "idx", small_article, encoder)
    target = tmp_path / "idx" / name
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif damage == "delete":
        target.unlink()
    else:
        target.write_bytes(b"\x00not what it was\xff")
    again = _build(tmp_path / "idx", small_article, encoder)
    assert again.rebuilt
    assert again.passages == first.passages
    assert again.article.same_as(first.article)


def test_unwritable_index_directory_is_a_clear_error(small_article: Path, encoder: Encoder) -> None:
    from embeddings.errors import IndexStoreError

    with pytest.raises(IndexStoreError, match="/proc/article-bot-index"):
        _build(Path("/proc/article-bot-index"), small_article, encoder)
