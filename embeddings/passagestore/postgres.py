"""The shelf in PostgreSQL with pgvector: for a shelf larger than one machine's memory, or
several bots and replicas reading the same one (``DATABASE_URL``).

- **Schema** in plain versioned SQL (``migrations/NNN_name.sql``), applied in order once per
  database under an advisory lock, the version recorded in ``shelf.migrations``: several
  processes starting at once migrate it once.
- **Dense search** over the HNSW indexes of passages and sentences (inner product over
  normalised vectors); a search limited to some articles turns on pgvector's iterative index
  scans (``hnsw.iterative_scan = strict_order``) so that a filter does not cost recall.
- **Lexical search** is BM25 over the bot's own tokens (:func:`embeddings.normalize.tokens`,
  stored per passage in ``shelf.terms``), computed in SQL with Lucene's formula, the one
  ``bm25s`` uses: PostgreSQL's text search keeps a run of Chinese as one lexeme.
- **Writers**: an article is written in one transaction, under an advisory lock on its
  name, so several indexers can write different (or the same) articles at once and a reader
  sees an article whole or not at all.
- Connections come from a pool; an unreachable server or a database without the ``vector``
  extension is one clear line (:class:`IndexStoreError`), never a traceback.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
import struct
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from embeddings.bridges import BridgeTables
from embeddings.errors import IndexStoreError
from embeddings.normalize import tokens
from embeddings.passages import Passage
from embeddings.passagestore import pgcopy
from embeddings.passagestore.interface import IndexedArticle, Level, Match, StoredArticle
from embeddings.store import FORMAT_VERSION

log = logging.getLogger(__name__)

# What the schema's vector columns hold: multilingual-e5-small's 384 dimensions.
DIMENSION = 384
CONNECT_TIMEOUT = 5  # seconds: a database that does not answer is reported, not waited for
POOL_SIZE = 4
# HNSW's candidate list: pgvector's default (40) is below the retriever's 100 candidates.
EF_SEARCH = 200
# Articles per transaction of a bulk load: large enough that COPY, not commits, is the cost.
BULK_BATCH = 1000
# maintenance_work_mem for building an HNSW index after a bulk load: the graph of a million
# 384-dimensional vectors needs ~2 GB; one that outgrows it is built far slower, on disk.
BUILD_MEMORY = "1GB"
# The HNSW indexes of migrations/001_shelf.sql, as a bulk load rebuilds them.
HNSW_INDEXES = (
    (
        "passages_embedding",
        "CREATE INDEX IF NOT EXISTS passages_embedding"
        " ON shelf.passages USING hnsw (embedding vector_ip_ops)",
    ),
    (
        "sentences_embedding",
        "CREATE INDEX IF NOT EXISTS sentences_embedding"
        " ON shelf.sentences USING hnsw (embedding vector_ip_ops)",
    ),
)
# Lucene's BM25, as bm25s computes it (k1, b).
BM25 = (1.5, 0.75)
_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any constant both sides agree on: the key of the advisory lock migrations are applied under.
_MIGRATION_LOCK = 0x5E1F_0019


@dataclass(frozen=True)
class BulkLoad:
    """What :meth:`PostgresStore.put_many` did: the cost of the rows and of the indexes."""

    passages: int
    rows_seconds: float
    index_seconds: float


def _where(url: str) -> str:
    """The server and database of ``url``, without a password, for an error message."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the database in DATABASE_URL"
    host = info.get("host") or "localhost"
    port = info.get("port") or 5432
    return f"{info.get('dbname') or 'the default database'} on {host}:{port}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _vector(values: np.ndarray) -> str:
    """pgvector's text form; float32 values round-trip exactly through their shortest repr."""
    return "[" + ",".join(map(repr, np.asarray(values, dtype=np.float32).tolist())) + "]"


def _parse_vector(text: str) -> np.ndarray:
    return np.array(text[1:-1].split(","), dtype=np.float32) if text != "[]" else np.empty(0)


def _add_to_totals(conn: psycopg.Connection[Any], passages: int, tokens: int) -> None:
    """Keep shelf.totals (BM25's N and average length, migration 004) in step with a write."""
    if passages or tokens:
        conn.execute(
            "UPDATE shelf.totals SET passages = passages + %s, tokens = tokens + %s",
            (passages, tokens),
        )


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Every pooled connection searches with :data:`EF_SEARCH` candidates unless told more."""
    conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration shipped with the package, in order."""
    folder = importlib.resources.files("embeddings.passagestore") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class PostgresStore:
    """The shelf in the database at ``url`` (a libpq URL or connection string)."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self._where = _where(url)
        try:
            with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, autocommit=True) as conn:
                self._prepare(conn)
        except psycopg.OperationalError as exc:
            raise IndexStoreError(f"cannot reach {self._where}: {_first_line(exc)}") from exc
        except psycopg.Error as exc:
            raise IndexStoreError(
                f"cannot use {self._where} as the passage store: {_first_line(exc)}"
            ) from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            # Autocommit: a search is one round trip, not BEGIN, query and COMMIT (on a busy
            # machine each round trip waits for a CPU); writers open their transactions.
            kwargs={"connect_timeout": CONNECT_TIMEOUT, "autocommit": True},
            configure=_configure,
            # A connection the server dropped (a restart, a failover) is replaced before it
            # is handed out, not discovered by a reader's question.
            check=ConnectionPool.check_connection,
            open=False,
            name="passage-store",
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT * 2)
        except PoolTimeout as exc:
            raise IndexStoreError(f"cannot reach {self._where}: {exc}") from exc

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        """The extension, then every migration not applied yet, under one advisory lock."""
        has = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
        if has is None:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.Error as exc:
                raise IndexStoreError(
                    f"{self._where} has no pgvector extension and this user cannot create it "
                    f"(a superuser runs CREATE EXTENSION vector): {_first_line(exc)}"
                ) from exc
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(
                "CREATE SCHEMA IF NOT EXISTS shelf;"
                "CREATE TABLE IF NOT EXISTS shelf.migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            rows = conn.execute("SELECT version FROM shelf.migrations").fetchall()
            applied = {row[0] for row in rows}
            for version, name, sql in migrations():
                if version in applied:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        "INSERT INTO shelf.migrations (version, name) VALUES (%s, %s)",
                        (version, name),
                    )
                log.info("passage store: applied migration %s to %s", name, self._where)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection in a transaction; a lost server is one clear error."""
        try:
            with self._pool.connection(timeout=CONNECT_TIMEOUT * 2) as conn:
                yield conn
        except PoolTimeout as exc:
            raise IndexStoreError(f"cannot reach {self._where}: {exc}") from exc
        except PoolClosed as exc:
            raise IndexStoreError(f"the store of {self._where} is closed") from exc
        except psycopg.OperationalError as exc:
            raise IndexStoreError(f"lost {self._where}: {_first_line(exc)}") from exc

    def put(self, article: IndexedArticle) -> None:
        with self._connection() as conn, conn.transaction():
            self._write(conn, [article])

    def put_many(
        self,
        articles: Iterable[IndexedArticle],
        batch: int = BULK_BATCH,
        build_indexes_after: bool = True,
        build_memory: str = BUILD_MEMORY,
    ) -> BulkLoad:
        """Many articles at once (an archive, a benchmark), each replaced whole as by
        :meth:`put`.

        Each ``batch`` of articles is one transaction of binary COPYs. With
        ``build_indexes_after`` (for a load that is most of the shelf) the HNSW indexes are
        dropped first and built once after the last batch, as pgvector advises: a graph built
        at once in ``build_memory`` is far faster than one grown row by row (56 passages/s
        here). Meanwhile searches are exact scans (right, slow) and :meth:`put` still works.
        A load that was killed is run again: it ends by building whatever index is missing.
        """
        written = 0
        began = time.perf_counter()
        if build_indexes_after:
            with self._connection() as conn, conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '10s'")
                for name, _ in HNSW_INDEXES:
                    conn.execute(f"DROP INDEX IF EXISTS shelf.{name}")
        pending: list[IndexedArticle] = []
        for article in articles:
            pending.append(article)
            if len(pending) >= batch:
                written += self._write_batch(pending)
                pending = []
        if pending:
            written += self._write_batch(pending)
        rows = time.perf_counter()
        self.build_indexes(build_memory)
        return BulkLoad(written, rows - began, time.perf_counter() - rows)

    def build_indexes(self, build_memory: str = BUILD_MEMORY) -> None:
        """Build whichever HNSW index is missing (after a bulk load, or one that was killed),
        with ``build_memory`` for the graph (a graph larger than that is built far slower)."""
        for _, create in HNSW_INDEXES:
            with self._connection() as conn, conn.transaction():
                conn.execute(f"SET LOCAL maintenance_work_mem = '{build_memory}'")
                conn.execute(create)

    def _write_batch(self, articles: list[IndexedArticle]) -> int:
        # The last of one name wins, as it would have with put.
        unique = list({a.name: a for a in articles}.values())
        with self._connection() as conn, conn.transaction():
            self._write(conn, unique)
        return sum(len(a.passages) for a in unique)

    def _write(self, conn: psycopg.Connection[Any], articles: list[IndexedArticle]) -> None:
        """Replace ``articles`` (distinct names) inside the caller's transaction."""
        for article in articles:
            if article.dimension != DIMENSION:
                raise IndexStoreError(
                    f"{self._where} holds {DIMENSION}-dimensional vectors; "
                    f"{article.model} makes {article.dimension}"
                )
        names = sorted(a.name for a in articles)
        # One writer per article at a time (locks taken in name order: two batches that
        # share articles wait, never deadlock); writers of other articles do not wait.
        for name in names:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
        gone = conn.execute(
            "DELETE FROM shelf.articles WHERE name = ANY(%s) RETURNING passages, tokens", (names,)
        ).fetchall()
        added = [0, 0]
        heads, passages, sentences, terms = [], [], [], []
        for article in articles:
            key = pgcopy.text(article.name)
            documents = [tokens(p.lexical_text()) for p in article.passages]
            added[0] += len(article.passages)
            added[1] += sum(len(d) for d in documents)
            heads.append(
                pgcopy.row(
                    (
                        key,
                        pgcopy.text(article.content_hash),
                        pgcopy.text(article.model),
                        pgcopy.int4(len(article.passages)),
                        struct.pack(">q", sum(len(d) for d in documents)),
                        pgcopy.jsonb(article.calibration),
                        pgcopy.jsonb(article.bridges.to_json()),
                        np.ascontiguousarray(article.word_vectors, dtype="<f4").tobytes(),
                        pgcopy.text(article.title),
                        None if article.date is None else pgcopy.text(article.date),
                        pgcopy.int4(FORMAT_VERSION),
                    )
                )
            )
            sentence_vectors = iter(pgcopy.vectors(article.sentence_vectors))
            for passage, vector, document in zip(
                article.passages, pgcopy.vectors(article.paragraph_vectors), documents, strict=True
            ):
                position = pgcopy.int4(passage.position)
                length = pgcopy.int4(len(document))
                passages.append(
                    pgcopy.row(
                        (
                            key,
                            position,
                            pgcopy.jsonb(passage.to_json()),
                            length,
                            vector,
                        )
                    )
                )
                for ordinal in range(len(passage.sentences)):
                    sentences.append(
                        pgcopy.row((key, position, pgcopy.int4(ordinal), next(sentence_vectors)))
                    )
                for term, tf in sorted(Counter(document).items()):
                    terms.append(
                        pgcopy.row((pgcopy.text(term), key, position, pgcopy.int4(tf), length))
                    )
        with conn.cursor() as cur:
            pgcopy.copy_rows(
                cur,
                "COPY shelf.articles (name, content_hash, model, passages, tokens,"
                " calibration, bridges, word_vectors, title, date, format) FROM STDIN",
                heads,
            )
            pgcopy.copy_rows(
                cur,
                "COPY shelf.passages (article, position, passage, length, embedding) FROM STDIN",
                passages,
            )
            pgcopy.copy_rows(
                cur,
                "COPY shelf.sentences (article, position, ordinal, embedding) FROM STDIN",
                sentences,
            )
            pgcopy.copy_rows(
                cur, "COPY shelf.terms (term, article, position, tf, length) FROM STDIN", terms
            )
        # Last, so that the one row writers share is held only until the commit.
        _add_to_totals(
            conn,
            added[0] - sum(row[0] for row in gone),
            added[1] - sum(row[1] for row in gone),
        )

    def remove(self, name: str) -> bool:
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
            gone = conn.execute(
                "DELETE FROM shelf.articles WHERE name = %s RETURNING passages, tokens", (name,)
            ).fetchone()
            if gone is None:
                return False
            _add_to_totals(conn, -gone[0], -gone[1])
            return True

    def get(self, name: str) -> IndexedArticle | None:
        with self._connection() as conn, conn.transaction():
            # One snapshot: a writer replacing the article meanwhile is seen whole or not at all.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            head = conn.execute(
                "SELECT content_hash, model, calibration, bridges, word_vectors, title, date"
                " FROM shelf.articles WHERE name = %s AND format = %s",
                (name, FORMAT_VERSION),
            ).fetchone()
            if head is None:
                return None
            passages = conn.execute(
                "SELECT passage, embedding::text FROM shelf.passages"
                " WHERE article = %s ORDER BY position",
                (name,),
            ).fetchall()
            sentences = conn.execute(
                "SELECT embedding::text FROM shelf.sentences"
                " WHERE article = %s ORDER BY position, ordinal",
                (name,),
            ).fetchall()
        content_hash, model, calibration, bridges_json, words, title, date = head
        bridges = BridgeTables.from_json(bridges_json)
        return IndexedArticle(
            name,
            content_hash,
            model,
            tuple(Passage.from_json(row[0]) for row in passages),
            np.stack([_parse_vector(row[1]) for row in passages])
            if passages
            else np.empty((0, DIMENSION), np.float32),
            np.stack([_parse_vector(row[0]) for row in sentences])
            if sentences
            else np.empty((0, DIMENSION), np.float32),
            bridges,
            np.frombuffer(words, dtype="<f4").astype(np.float32).reshape(len(bridges.words), -1)
            if bridges.words
            else np.empty((0, DIMENSION), np.float32),
            {str(k): float(v) for k, v in calibration.items()},
            title,
            date,
        )

    def outline(self, name: str) -> tuple[StoredArticle, tuple[Passage, ...]] | None:
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            head = conn.execute(
                "SELECT name, content_hash, model, passages, title, date FROM shelf.articles"
                " WHERE name = %s AND format = %s",
                (name, FORMAT_VERSION),
            ).fetchone()
            if head is None:
                return None
            rows = conn.execute(
                "SELECT passage FROM shelf.passages WHERE article = %s ORDER BY position",
                (name,),
            ).fetchall()
        return StoredArticle(*head), tuple(Passage.from_json(row[0]) for row in rows)

    def articles(self) -> list[StoredArticle]:
        return self.listing(0, None)

    def count(self) -> int:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM shelf.articles WHERE format = %s", (FORMAT_VERSION,)
            ).fetchone()
        return int(row[0]) if row else 0

    def listing(self, offset: int, limit: int | None) -> list[StoredArticle]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT name, content_hash, model, passages, title, date FROM shelf.articles"
                " WHERE format = %s ORDER BY name OFFSET %s LIMIT %s",
                (FORMAT_VERSION, max(offset, 0), limit),
            ).fetchall()
        return [StoredArticle(*row) for row in rows]

    def holders(self, passage_id: str) -> list[str]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT article FROM shelf.passages WHERE passage ->> 'id' = %s"
                " ORDER BY article",
                (passage_id,),
            ).fetchall()
        return [row[0] for row in rows]

    def dense(
        self,
        vectors: np.ndarray,
        k: int,
        articles: Collection[str] | None = None,
        level: Level = "paragraph",
    ) -> list[list[Match]]:
        if k <= 0 or (articles is not None and not articles):
            return [[] for _ in vectors]
        table = "shelf.passages" if level == "paragraph" else "shelf.sentences"
        where = "" if articles is None else "WHERE article = ANY(%(articles)s)"
        # Materialised first, then ordered: iterative scans may return rows slightly out of
        # order, and the outer sort is exact.
        sql = (
            f"WITH found AS MATERIALIZED (SELECT article, position,"
            f" embedding <#> %(query)s::vector AS distance FROM {table} {where}"
            f" ORDER BY distance LIMIT %(k)s)"
            f" SELECT article, position, -distance FROM found ORDER BY distance, article, position"
        )
        queries = np.asarray(vectors, dtype=np.float32)
        names = list(articles or ())
        with self._connection() as conn:
            if articles is None and k <= EF_SEARCH:  # the connection's settings do
                return [self._closest(conn, sql, query, k, names) for query in queries]
            with conn.transaction():
                conn.execute(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, min(k, 1000))}")
                if articles is not None:
                    conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
                return [self._closest(conn, sql, query, k, names) for query in queries]

    @staticmethod
    def _closest(
        conn: psycopg.Connection[Any], sql: str, query: np.ndarray, k: int, names: list[str]
    ) -> list[Match]:
        rows = conn.execute(sql, {"query": _vector(query), "k": k, "articles": names}).fetchall()
        return [Match(a, int(p), float(s)) for a, p, s in rows]

    def lexical(
        self, query: str, k: int, articles: Collection[str] | None = None
    ) -> list[Match]:
        counted = Counter(tokens(query))
        if not counted or k <= 0 or (articles is not None and not articles):
            return []
        k1, b = (f"{value}::float8" for value in BM25)
        within = "" if articles is None else "AND {} = ANY(%(articles)s)"
        # The whole shelf's N and average length are kept by the writers (shelf.totals); a
        # filter's are summed over its articles.
        totals = (
            "SELECT passages::float8 AS n, tokens::float8 / greatest(passages, 1) AS avg"
            " FROM shelf.totals LIMIT 1"  # one row: the planner, without statistics, cannot tell
            if articles is None
            else "SELECT sum(passages)::float8 AS n,"
            " sum(tokens::float8) / greatest(sum(passages), 1) AS avg"
            " FROM shelf.articles WHERE name = ANY(%(articles)s)"
        )
        # Every operand float8: sum() of integers is bigint (of bigints, numeric), and bigint
        # with a literal like 0.5 is numeric arithmetic, whose ln() per matching row was a
        # third of a question's time at a million passages. The IDF is computed once per
        # query term, not per row; the passage's length is on its term row (migration 002).
        sql = f"""
            WITH everything AS MATERIALIZED ({totals}),
            weight AS MATERIALIZED (
                SELECT q.term, q.times * ln(1 + (e.n - d.df + 0.5) / (d.df + 0.5)) AS w
                FROM unnest(%(terms)s::text[], %(times)s::float8[]) AS q (term, times)
                CROSS JOIN everything e
                CROSS JOIN LATERAL (
                    SELECT count(*)::float8 AS df FROM shelf.terms
                    WHERE term = q.term {within.format("article")}
                ) d
            )
            SELECT t.article, t.position, sum(
                w.w * t.tf / (t.tf + {k1} * (1 - {b} + {b} * t.length / e.avg))
            ) AS score
            FROM weight w
            JOIN shelf.terms t USING (term)
            CROSS JOIN everything e
            WHERE true {within.format("t.article")}
            GROUP BY t.article, t.position
            ORDER BY score DESC, t.article, t.position
            LIMIT %(k)s
        """
        params = {
            "terms": list(counted),
            "times": list(counted.values()),
            "articles": list(articles or ()),
            "k": k,
        }
        with self._connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [Match(a, int(p), float(s)) for a, p, s in rows if s > 0]

    def close(self) -> None:
        self._pool.close()
