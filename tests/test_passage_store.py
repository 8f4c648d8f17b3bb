"""Both passage stores pass the same contract (embeddings/passagestore/testing.py): the
embedded one over index directories, and PostgreSQL with pgvector on a real server."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from embeddings.errors import IndexStoreError
from embeddings.passagestore import local
from embeddings.passagestore.interface import PassageStore
from embeddings.passagestore.local import LocalStore
from embeddings.passagestore.postgres import PostgresStore, migrations
from embeddings.passagestore.testing import TEXTS, PassageStoreContract, make_article, shelf


class TestLocalStore(PassageStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[PassageStore]:
        store = LocalStore(tmp_path / "indexes")
        yield store
        store.close()


def test_a_large_filter_is_searched_as_exactly_as_a_small_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_BELOW rows the local store filters inside FAISS (a bitmap of rows) rather
    than by one matrix product over the rows: the same matches either way."""
    store = LocalStore(tmp_path / "indexes")
    for article in shelf().values():
        store.put(article)
    query = shelf()["railway"].paragraph_vectors[:2]
    small = store.dense(query, 5, articles=["tea", "lighthouse"])
    monkeypatch.setattr(local, "EXACT_BELOW", 1)
    large = store.dense(query, 5, articles=["tea", "lighthouse"])
    assert [[(m.article, m.position) for m in row] for row in large] == [
        [(m.article, m.position) for m in row] for row in small
    ]
    assert {m.article for row in large for m in row} == {"tea", "lighthouse"}


def test_the_shelf_wide_index_is_made_from_what_get_read(tmp_path: Path) -> None:
    """A shelf's start reads every article through ``get``; its first search merges those
    reads instead of reading every directory again. A file damaged behind the store's back
    after the read (its manifest untouched, no write by any store) is therefore not read."""
    articles = shelf()
    writer = LocalStore(tmp_path / "indexes")
    for article in articles.values():
        writer.put(article)
    reader = LocalStore(tmp_path / "indexes")
    for name in articles:
        assert reader.get(name) is not None
    (tmp_path / "indexes" / "tea" / "index.faiss").write_bytes(b"damaged")
    query = articles["tea"].paragraph_vectors[:1]
    assert reader.dense(query, 1)[0][0].article == "tea"
    assert LocalStore(tmp_path / "indexes").dense(query, 1)[0][0].article != "tea"  # unread


def test_an_article_rewritten_after_get_is_searched_as_it_is_now(tmp_path: Path) -> None:
    """What ``get`` read stands in for a directory only while its manifest is unchanged."""
    articles = shelf()
    reader, writer = LocalStore(tmp_path / "indexes"), LocalStore(tmp_path / "indexes")
    for article in articles.values():
        writer.put(article)
    for name in articles:
        reader.get(name)
    reader.dense(articles["tea"].paragraph_vectors[:1], 1)  # merged from the reads
    renamed = make_article("tea", TEXTS["railway"], seed=7)
    writer.put(renamed)
    found = reader.dense(renamed.paragraph_vectors[:1], 1)[0][0]
    assert (found.article, found.position, round(found.score, 5)) == ("tea", 1, 1.0)
    reader.get("tea")  # the new version read again: the merged index stays as it is now
    found = reader.dense(renamed.paragraph_vectors[:1], 1)[0][0]
    assert (found.article, found.position, round(found.score, 5)) == ("tea", 1, 1.0)


class TestPostgresStore(PassageStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[PassageStore]:
        store = PostgresStore(postgres_url)
        yield store
        store.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_database_is_one_clear_line() -> None:
    port = _closed_port()
    expected = rf"^cannot reach shelf on 127\.0\.0\.1:{port}: "
    with pytest.raises(IndexStoreError, match=expected) as caught:
        PostgresStore(f"postgresql://bot:secret@127.0.0.1:{port}/shelf")
    assert "\n" not in str(caught.value) and "secret" not in str(caught.value)


def test_a_database_without_pgvector_is_one_clear_line(postgres_url: str) -> None:
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("DROP EXTENSION vector")
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        with pytest.raises(IndexStoreError, match="has no pgvector extension") as caught:
            PostgresStore(postgres_url.replace("//postgres@", f"//{role}@", 1))
        assert "\n" not in str(caught.value) and "secret" not in str(caught.value)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{role}"')


def test_several_stores_opening_one_database_at_once_migrate_it_once(postgres_url: str) -> None:
    opened: list[PostgresStore] = []
    threads = [
        threading.Thread(target=lambda: opened.append(PostgresStore(postgres_url)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(opened) == 4
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute("SELECT version, name FROM shelf.migrations").fetchall()
        assert rows == [(version, name) for version, name, _ in migrations()]
    finally:
        for store in opened:
            store.close()


def _hnsw_indexes(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'shelf' AND indexdef LIKE '%USING hnsw%' ORDER BY indexname"
        ).fetchall()
    return [(name, definition) for name, definition in rows]


def test_a_bulk_load_writes_what_put_would_and_rebuilds_the_migrations_indexes(
    postgres_url: str,
) -> None:
    """put_many drops the HNSW indexes, COPYs batches, then builds them again: the shelf ends
    as one put per article would leave it, with the very indexes the migration made."""
    store = PostgresStore(postgres_url)
    try:
        migrated = _hnsw_indexes(postgres_url)
        assert [name for name, _ in migrated] == ["passages_embedding", "sentences_embedding"]
        articles = shelf()
        store.put(make_article("tea", TEXTS["tea"][:1], 9))  # replaced by the load
        twice = [*articles.values(), make_article("tea", TEXTS["tea"], 3)]
        load = store.put_many(twice, batch=3)  # tea in both batches: written twice
        assert load.passages == sum(len(a.passages) for a in articles.values()) + 4
        assert _hnsw_indexes(postgres_url) == migrated
        assert sorted(store.articles(), key=lambda a: a.name) == sorted(
            (a.summary() for a in articles.values()), key=lambda a: a.name
        )
        for article in articles.values():
            back = store.get(article.name)
            assert back is not None and back.same_as(article)
        top = store.dense(articles["railway"].paragraph_vectors[1:2], 1)[0][0]
        assert (top.article, top.position) == ("railway", 2)
        assert store.lexical("When did Margaret Lowe retire?", 1)[0].article == "lighthouse"
    finally:
        store.close()


def test_an_index_a_killed_bulk_load_dropped_is_built_by_the_next(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    try:
        migrated = _hnsw_indexes(postgres_url)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DROP INDEX shelf.sentences_embedding")
        store.put_many([], build_indexes_after=False)
        assert _hnsw_indexes(postgres_url) == migrated
    finally:
        store.close()


def test_migration_002_gives_each_term_row_its_passages_length(postgres_url: str) -> None:
    """A shelf written under migration 001 (lengths only on passages) is searched the same
    after 002 copies each passage's length onto its term rows."""
    (_, name, first), *_ = migrations()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(first)
        conn.execute(
            "CREATE TABLE shelf.migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("INSERT INTO shelf.migrations (version, name) VALUES (1, %s)", (name,))
        conn.execute(
            "INSERT INTO shelf.articles (name, content_hash, model, passages, tokens,"
            " calibration, bridges, word_vectors) VALUES ('keeper', 'h', 'm', 2, 5, '{}',"
            " '{}', '')"
        )
        zero = "[" + ",".join(["0"] * 384) + "]"
        conn.execute(
            "INSERT INTO shelf.passages VALUES ('keeper', 1, '{}', 2, %s),"
            " ('keeper', 2, '{}', 3, %s)",
            (zero, zero),
        )
        conn.execute(
            "INSERT INTO shelf.terms VALUES ('lowe', 'keeper', 1, 1), ('lowe', 'keeper', 2, 1),"
            " ('keeper', 'keeper', 2, 2)"
        )
    store = PostgresStore(postgres_url)
    try:
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute(
                "SELECT term, position, length FROM shelf.terms ORDER BY term, position"
            ).fetchall()
        assert rows == [("keeper", 2, 3), ("lowe", 1, 2), ("lowe", 2, 3)]
        found = store.lexical("lowe", 2)
        assert [m.position for m in found] == [1, 2]  # the shorter passage first
    finally:
        store.close()


def test_the_shelfs_totals_follow_every_write(postgres_url: str) -> None:
    """BM25's N and average length come from shelf.totals (migration 004), which each write
    keeps in step: after puts, a replace, a removal, a bulk load and writers at once it holds
    exactly the sums over the articles."""
    store = PostgresStore(postgres_url)
    try:
        for article in shelf().values():
            store.put(article)
        store.put(make_article("tea", TEXTS["tea"][:2], 9))
        store.remove("railway")
        store.put_many([make_article("railway", TEXTS["railway"][:1], 4)], batch=1)
        writers = [
            threading.Thread(target=store.put, args=(make_article(f"a{i}", TEXTS["tea"], 20 + i),))
            for i in range(4)
        ]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        with psycopg.connect(postgres_url) as conn:
            kept = conn.execute("SELECT passages, tokens FROM shelf.totals").fetchone()
            summed = conn.execute(
                "SELECT sum(passages), sum(tokens) FROM shelf.articles"
            ).fetchone()
        assert kept == summed and kept is not None and kept[0] == 3 + 2 + 1 + 4 * 4
    finally:
        store.close()


def test_an_article_of_another_index_format_is_not_served_until_written_again(
    postgres_url: str,
) -> None:
    """As the local store reads its manifests' format (migration 006): vectors made another
    way are never reused from a database, the bot indexes the article again."""
    store = PostgresStore(postgres_url)
    try:
        articles = shelf()
        for article in articles.values():
            store.put(article)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("UPDATE shelf.articles SET format = format - 1 WHERE name = 'tea'")
        assert store.get("tea") is None and store.outline("tea") is None
        assert "tea" not in {a.name for a in store.articles()}
        assert store.count() == len(articles) - 1
        store.put(articles["tea"])
        found = store.get("tea")
        assert found is not None and found.same_as(articles["tea"])
        assert store.count() == len(articles)
    finally:
        store.close()
