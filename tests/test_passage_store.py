"""Both passage stores pass the same contract (embeddings/passagestore/testing.py): the
embedded one over index directories, and PostgreSQL with pgvector on a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings.passagestore.interface import PassageStore
from embeddings.passagestore.local import LocalStore
from embeddings.passagestore.postgres import PostgresStore
from embeddings.passagestore.testing import PassageStoreContract


class TestLocalStore(PassageStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[PassageStore]:
        store = LocalStore(tmp_path / "indexes")
        yield store
        store.close()


class TestPostgresStore(PassageStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[PassageStore]:
        store = PostgresStore(postgres_url)
        yield store
        store.close()
