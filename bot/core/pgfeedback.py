"""Votes and the question log of several replicas, in their PostgreSQL database.

The PostgreSQL side of :class:`bot.core.stores.Feedback`, as
:class:`bot.core.feedback.FeedbackStore` is the SQLite one. Its own class, beside the chat
state and the handled updates (:class:`bot.core.postgres.PostgresStore`, whose ``feedback``
it is), because it is another contract, read by other commands (``python -m bot feedback``
and ``report``; answering only writes to it), with its own error
(:class:`bot.core.feedback.FeedbackError`, which callers report and go on from). It shares
the store's connection and its salt (``bot_meta``, made once for every replica), so a chat
hashes alike on every replica; the tables are in :mod:`bot.core.pgschema`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg

from bot.core.feedback import FeedbackError, salted_hash
from bot.core.pgconnection import Connection
from bot.core.stores import PassageVotes, QuestionRecord, StoreError

T = TypeVar("T")


class PostgresFeedback:
    """The Feedback contract over ``connection``; chats hashed with ``salt``."""

    def __init__(self, connection: Connection, salt: str) -> None:
        self._conn = connection
        self._salt = salt

    def close(self) -> None:
        self._conn.close()

    def chat_hash(self, chat_id: int | str) -> str:
        return salted_hash(self._salt, chat_id)

    def _call(self, what: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            return self._conn.call(work)
        except StoreError as exc:
            where = self._conn.where
            raise FeedbackError(f"cannot {what} in the database at {where}: {exc}") from exc

    def vote(
        self, chat_id: int | str, question: str, passage_id: str, up: bool, article: str = ""
    ) -> None:
        row = (self.chat_hash(chat_id), question, passage_id, article, 1 if up else -1)
        self._call(
            "record the vote",
            lambda db: db.execute(
                "INSERT INTO bot_votes VALUES (%s, %s, %s, %s, %s, now()) "
                "ON CONFLICT (chat_hash, question, passage_id) "
                "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                row,
            ),
        )

    def by_passage(self) -> list[PassageVotes]:
        rows = self._call(
            "read the votes",
            lambda db: db.execute(
                "SELECT passage_id, count(*) FILTER (WHERE vote = 1), "
                "count(*) FILTER (WHERE vote = -1) FROM bot_votes GROUP BY passage_id "
                "ORDER BY count(*) FILTER (WHERE vote = -1) DESC, passage_id"
            ).fetchall(),
        )
        return [PassageVotes(pid, int(up), int(down)) for pid, up, down in rows]

    def most_down_voted(self, limit: int = 10) -> list[tuple[str, str, int]]:
        rows = self._call(
            "read the votes",
            lambda db: db.execute(
                "SELECT question, passage_id, count(*) FROM bot_votes WHERE vote = -1 "
                "GROUP BY question, passage_id ORDER BY count(*) DESC, question LIMIT %s",
                (limit,),
            ).fetchall(),
        )
        return [(q, pid, int(n)) for q, pid, n in rows]

    def votes_by_article(self, since: dt.datetime) -> dict[str, tuple[int, int]]:
        rows = self._call(
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

        self._call("log the question", insert)

    def questions(self, since: dt.datetime) -> list[QuestionRecord]:
        rows = self._call(
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
            self._call(
                "trim the question log",
                lambda db: db.execute(
                    "DELETE FROM bot_questions WHERE asked_at < %s", (cutoff,)
                ).rowcount,
            )
        )
