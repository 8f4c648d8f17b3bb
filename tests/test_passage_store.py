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
from embeddings.passagestore.testing import PassageStoreContract, shelf


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
