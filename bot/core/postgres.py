"""The state of several replicas of one bot, in one PostgreSQL database (``DATABASE_URL``).

:class:`PostgresStore` implements every protocol of :mod:`bot.core.stores` over one
connection, so a replica keeps its chats' state, the updates it handled, the votes and the
question log where every other replica reads them:

* **Chat state**, one row per chat (``bot_chat_state``), written through after each update
  and read again before the next (PTB's ``refresh_chat_data``): a chat that moves to another
  replica (its own went away) goes on with its follow-up context and its old buttons.
  Writes to one chat are serialised by the routing (HAProxy sends a chat to one replica,
  ``deploy/haproxy.cfg``) and by Telegram (it delivers one chat's updates in order), not by
  a lock here: the last write of a chat wins.
* **Handled updates** (``bot_handled_updates``): an update is marked once its handlers ran;
  Telegram's retry of it, on whichever replica, is skipped. No update bodies are kept: in
  this mode a replica answers Telegram only after handling (``bot.telegram.webhook``), so an
  update a killed replica had not finished is delivered again by Telegram itself.
* **Votes** and the **question log**, chats as a salted hash whose salt is made once and
  kept in the database (``bot_meta``), the same for every replica.

The schema is versioned (``bot_meta.schema``) and migrated under an advisory lock, so two
replicas starting at once migrate it once. Tables start with ``bot_``: the database may be
the one the shelf's passage store uses. Calls block (a network round trip, ~0.2 ms on
loopback); callers off the event loop run them in a thread. One connection, one call at a
time; a broken connection is opened again once per call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg

from bot.core.feedback import FeedbackError, salted_hash
from bot.core.stores import Key, PassageVotes, QuestionRecord, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

_LOCK_ID = 0x61727462  # pg_advisory_xact_lock key of the migrations ("artb")
KEEP_HANDLED = dt.timedelta(days=3)  # Telegram retries an update for 24 hours at most
PRUNE_EVERY = 1000
PRUNABLE = ("chat", "user")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE bot_chat_state (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (kind, id)
        )""",
        """CREATE TABLE bot_handled_updates (
            update_id BIGINT PRIMARY KEY,
            handled_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""",
        """CREATE TABLE bot_votes (
            chat_hash TEXT NOT NULL,
            question TEXT NOT NULL,
            passage_id TEXT NOT NULL,
            article TEXT NOT NULL,
            vote SMALLINT NOT NULL CHECK (vote IN (-1, 1)),
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (chat_hash, question, passage_id)
        )""",
        """CREATE TABLE bot_questions (
            asked_at TIMESTAMPTZ NOT NULL,
            article TEXT NOT NULL,
            language TEXT NOT NULL,
            kind TEXT NOT NULL,
            outcome TEXT NOT NULL,
            answered BOOLEAN NOT NULL,
            missing TEXT[] NOT NULL,
            latency_ms REAL NOT NULL,
            chat_hash TEXT NOT NULL
        )""",
        "CREATE INDEX bot_questions_by_time ON bot_questions (asked_at)",
    ),
)


class PostgresStore:
    """Chat rows, handled updates, votes and the question log in one database."""

    shared = True

    def __init__(self, url: str, *, max_idle_days: float | None = 90) -> None:
        self.url = url
        self.max_idle_days = max_idle_days
        self._lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None
        self._active: set[int] = set()
        self._since_pruned = 0
        try:
            self._salt = self._call(self._migrate)
        except StoreError as exc:
            self.close()
            raise StoreError(f"the database at {self.where} cannot be used: {exc}") from exc

    def __del__(self) -> None:
        # A store dropped without close() (a failed start, a test) closes its connection now,
        # rather than leaving psycopg to warn about it whenever the collector gets to it.
        db = getattr(self, "_db", None)
        if db is not None and not db.closed:
            with contextlib.suppress(Exception):
                db.close()

    @property
    def where(self) -> str:
        """The server and database, never the password."""
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"

    # ---- the connection ----------------------------------------------------------------------

    def _call(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``work`` on the connection, opened (again) if needed; errors as StoreError."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._db is None or self._db.closed:
                        self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                    return work(self._db)
                except psycopg.OperationalError as exc:
                    self._close_connection()
                    if attempt == 2:
                        raise StoreError(str(exc).strip()) from exc
                except psycopg.Error as exc:
                    raise StoreError(str(exc).strip()) from exc
        raise AssertionError("unreachable")

    def _close_connection(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except psycopg.Error as exc:
                log.debug("closing the database connection: %s", exc)
            self._db = None

    def close(self) -> None:
        with self._lock:
            self._close_connection()

    def _migrate(self, db: psycopg.Connection[Any]) -> str:
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            db.execute(
                "CREATE TABLE IF NOT EXISTS bot_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = db.execute("SELECT value FROM bot_meta WHERE name = 'schema'").fetchone()
            version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise psycopg.DataError(
                    f"schema {version} is from a newer version of the bot (this one: "
                    f"{len(MIGRATIONS)})"
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    db.execute(statement.encode())
            db.execute(
                "INSERT INTO bot_meta VALUES ('schema', %s), ('salt', %s) "
                "ON CONFLICT (name) DO UPDATE SET value = CASE WHEN bot_meta.name = 'schema' "
                "THEN excluded.value ELSE bot_meta.value END",
                (str(len(MIGRATIONS)), secrets.token_hex(16)),
            )
            salt = db.execute("SELECT value FROM bot_meta WHERE name = 'salt'").fetchone()
        assert salt is not None
        return str(salt[0])

    # ---- chat state (RowStore) ---------------------------------------------------------------

    def open(self) -> tuple[dict[Key, str], dict[Key, float]] | None:
        """Nothing is loaded at start: each chat's row is read before its update (``load``).
        Rows idle for ``max_idle_days`` are deleted, as the SQLite file does."""
        if self.max_idle_days is not None:
            cutoff = time.time() - self.max_idle_days * 86_400
            pruned = self._call(
                lambda db: db.execute(
                    "DELETE FROM bot_chat_state WHERE kind = ANY(%s) AND updated_at < %s",
                    (list(PRUNABLE), cutoff),
                ).rowcount
            )
            if pruned:
                log.info("persistence: pruned %d idle chats (%g days)", pruned, self.max_idle_days)
        return {}, {}

    def load(self, key: Key) -> tuple[str, float] | None:
        row = self._call(
            lambda db: db.execute(
                "SELECT value, updated_at FROM bot_chat_state WHERE kind = %s AND id = %s", key
            ).fetchone()
        )
        return (str(row[0]), float(row[1])) if row else None

    def store(self, batch: dict[Key, str | None]) -> None:
        now = time.time()

        def write(db: psycopg.Connection[Any]) -> None:
            with db.transaction(), db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bot_chat_state VALUES (%s, %s, %s, %s) ON CONFLICT (kind, id) "
                    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    [(k, i, v, now) for (k, i), v in batch.items() if v is not None],
                )
                cursor.executemany(
                    "DELETE FROM bot_chat_state WHERE kind = %s AND id = %s",
                    [key for key, v in batch.items() if v is None],
                )

        self._call(write)

    def checkpoint_and_close(self) -> None:
        self.close()

    # ---- handled updates (UpdateLedger) ------------------------------------------------------

    def record(self, updates: list[dict[str, Any]]) -> None:
        """Bodies are not kept: an update not answered 200 is delivered again by Telegram."""

    def claim(self, update_id: int) -> bool:
        """True unless this update is being handled here or was handled by any replica. A
        database that cannot be asked answers True: better a rare duplicate than a loss."""
        if update_id in self._active:
            return False
        try:
            seen = self._call(
                lambda db: db.execute(
                    "SELECT 1 FROM bot_handled_updates WHERE update_id = %s", (update_id,)
                ).fetchone()
            )
        except StoreError as exc:
            log.warning("cannot ask the database whether update %d was handled: %s", update_id, exc)
            seen = None
        if seen is not None:
            return False
        self._active.add(update_id)
        return True

    def release(self, update_id: int, handled: bool) -> None:
        self._active.discard(update_id)
        if not handled:
            return
        self._since_pruned += 1
        prune = self._since_pruned >= PRUNE_EVERY
        if prune:
            self._since_pruned = 0

        def mark(db: psycopg.Connection[Any]) -> None:
            db.execute(
                "INSERT INTO bot_handled_updates (update_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (update_id,),
            )
            if prune:
                db.execute(
                    "DELETE FROM bot_handled_updates WHERE handled_at < now() - %s",
                    (KEEP_HANDLED,),
                )

        try:
            self._call(mark)
        except StoreError as exc:
            log.warning("cannot mark update %d handled in the database: %s", update_id, exc)

    def unhandled(self) -> list[dict[str, Any]]:
        return []

    # ---- votes and the question log (Feedback) -----------------------------------------------

    def chat_hash(self, chat_id: int | str) -> str:
        return salted_hash(self._salt, chat_id)

    def _feedback(self, what: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            return self._call(work)
        except StoreError as exc:
            raise FeedbackError(f"cannot {what} in the database at {self.where}: {exc}") from exc

    def vote(
        self, chat_id: int | str, question: str, passage_id: str, up: bool, article: str = ""
    ) -> None:
        row = (self.chat_hash(chat_id), question, passage_id, article, 1 if up else -1)
        self._feedback(
            "record the vote",
            lambda db: db.execute(
                "INSERT INTO bot_votes VALUES (%s, %s, %s, %s, %s, now()) "
                "ON CONFLICT (chat_hash, question, passage_id) "
                "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                row,
            ),
        )

    def by_passage(self) -> list[PassageVotes]:
        rows = self._feedback(
            "read the votes",
            lambda db: db.execute(
                "SELECT passage_id, count(*) FILTER (WHERE vote = 1), "
                "count(*) FILTER (WHERE vote = -1) FROM bot_votes GROUP BY passage_id "
                "ORDER BY count(*) FILTER (WHERE vote = -1) DESC, passage_id"
            ).fetchall(),
        )
        return [PassageVotes(pid, int(up), int(down)) for pid, up, down in rows]

    def most_down_voted(self, limit: int = 10) -> list[tuple[str, str, int]]:
        rows = self._feedback(
            "read the votes",
            lambda db: db.execute(
                "SELECT question, passage_id, count(*) FROM bot_votes WHERE vote = -1 "
                "GROUP BY question, passage_id ORDER BY count(*) DESC, question LIMIT %s",
                (limit,),
            ).fetchall(),
        )
        return [(q, pid, int(n)) for q, pid, n in rows]

    def votes_by_article(self, since: dt.datetime) -> dict[str, tuple[int, int]]:
        rows = self._feedback(
            "read the votes",
            lambda db: db.execute(
                "SELECT article, count(*) FILTER (WHERE vote = 1), "
                "count(*) FILTER (WHERE vote = -1) FROM bot_votes WHERE created_at >= %s "
                "GROUP BY article",
                (since,),
            ).fetchall(),
        )
        return {article: (int(up), int(down)) for article, up, down in rows}

    def log_questions(self, records: Sequence[QuestionRecord]) -> None:
        rows = [
            (
                r.at, r.article, r.language, r.kind, r.outcome, r.answered, list(r.missing),
                r.latency_ms, r.chat,
            )
            for r in records
        ]

        def insert(db: psycopg.Connection[Any]) -> None:
            with db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bot_questions VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows
                )

        self._feedback("log the question", insert)

    def questions(self, since: dt.datetime) -> list[QuestionRecord]:
        rows = self._feedback(
            "read the question log",
            lambda db: db.execute(
                "SELECT * FROM bot_questions WHERE asked_at >= %s ORDER BY asked_at", (since,)
            ).fetchall(),
        )
        return [
            QuestionRecord(
                at=at,
                article=article,
                language=language,
                kind=kind,
                outcome=outcome,
                answered=bool(answered),
                missing=tuple(missing),
                latency_ms=float(latency),
                chat=chat,
            )
            for at, article, language, kind, outcome, answered, missing, latency, chat in rows
        ]

    def forget_before(self, cutoff: dt.datetime) -> int:
        return int(
            self._feedback(
                "trim the question log",
                lambda db: db.execute(
                    "DELETE FROM bot_questions WHERE asked_at < %s", (cutoff,)
                ).rowcount,
            )
        )
