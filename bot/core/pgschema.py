"""The chat-state tables in PostgreSQL, and how a database gets them (:mod:`bot.core.postgres`).

Its own module because it changes on another clock than the queries: a new table or column
is one more step appended to :data:`MIGRATIONS`, never an edit of an old one, and this is
the one place that says what the database holds. Every replica runs :func:`migrate` when it
starts; the advisory lock makes the replicas starting at once migrate it once, and the
version in ``bot_meta.schema`` keeps an older bot off a database a newer one migrated.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg

_LOCK_ID = 0x61727462  # pg_advisory_xact_lock key of the migrations ("artb")

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


def migrate(db: psycopg.Connection[Any]) -> str:
    """Bring the database to the newest schema (once, under the lock); the replicas' salt.

    The salt is made by the first replica ever to start and kept in ``bot_meta``, so every
    replica hashes a chat alike. A schema newer than this bot's is an error, not a downgrade.
    """
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
