"""The tests' PostgreSQL launcher: a real server, one fresh database per test, pgvector in it."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.helpers.postgres import running_postgres


def test_each_test_gets_its_own_database_with_pgvector(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        connection.execute("CREATE TABLE t (v vector(3))")
        connection.execute("INSERT INTO t VALUES ('[1,2,3]'), ('[0,0,1]')")
        nearest = connection.execute("SELECT v::text FROM t ORDER BY v <-> '[0,0,0.9]'").fetchone()
        version = connection.execute("SHOW server_version_num").fetchone()
    assert nearest == ("[0,0,1]",)
    assert version is not None and int(version[0]) >= 180000


def test_databases_do_not_share_tables(postgres_url: str) -> None:
    """The test above created ``t`` in its own database; this one starts empty."""
    with psycopg.connect(postgres_url) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)


@pytest.mark.slow
def test_the_server_stops_when_the_block_ends(tmp_path: Path) -> None:
    with running_postgres(tmp_path) as url, psycopg.connect(url) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    assert (tmp_path / "postgres.log").stat().st_size > 0
