"""👍/👎 on answers and the question log, kept in SQLite in the data directory.

Chats are stored only as a salted hash: enough to let a second vote replace the
first, never enough to tell who voted. Votes are read by `python -m bot feedback`,
the log by `python -m bot report`; neither changes answers. Several replicas keep the
same in PostgreSQL instead (:class:`bot.core.pgfeedback.PostgresFeedback`, the same
:class:`bot.core.stores.Feedback` contract).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.core.stores import PassageVotes, QuestionRecord

log = logging.getLogger(__name__)

# Each entry moves the schema one version on; PRAGMA user_version records where a file is.
MIGRATIONS = (
    """CREATE TABLE votes (
        chat_hash TEXT NOT NULL,
        question TEXT NOT NULL,
        passage_id TEXT NOT NULL,
        vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_hash, question, passage_id)
    )""",
    "CREATE INDEX votes_by_passage ON votes (passage_id)",
    "ALTER TABLE votes ADD COLUMN article TEXT NOT NULL DEFAULT ''",
    """CREATE TABLE questions (
        asked_at REAL NOT NULL,
        article TEXT NOT NULL,
        language TEXT NOT NULL,
        kind TEXT NOT NULL,
        outcome TEXT NOT NULL,
        answered INTEGER NOT NULL,
        missing TEXT NOT NULL,
        latency_ms REAL NOT NULL,
        chat_hash TEXT NOT NULL
    )""",
    "CREATE INDEX questions_by_time ON questions (asked_at)",
)


class FeedbackError(Exception):
    """The feedback database cannot be used; answering goes on without it."""



class FeedbackStore:
    def __init__(self, path: Path, salt: str) -> None:
        self.path = path
        self._salt = salt
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=2.0, check_same_thread=False)
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise FeedbackError(f"feedback database {path} is unusable: {exc}") from exc

    @classmethod
    def open(cls, data_dir: Path) -> FeedbackStore:
        """The store in ``data_dir``, with a salt made once and kept beside it."""
        salt_file = data_dir / "feedback.salt"
        try:
            if not salt_file.exists():
                data_dir.mkdir(parents=True, exist_ok=True)
                salt_file.write_text(secrets.token_hex(16), encoding="ascii")
            salt = salt_file.read_text(encoding="ascii").strip()
        except OSError as exc:
            raise FeedbackError(f"cannot keep the feedback salt in {salt_file}: {exc}") from exc
        return cls(data_dir / "feedback.sqlite3", salt)

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, statement in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._db:
                self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")

    def chat_hash(self, chat_id: int | str) -> str:
        return salted_hash(self._salt, chat_id)

    def vote(
        self, chat_id: int | str, question: str, passage_id: str, up: bool, article: str = ""
    ) -> None:
        """Record a vote; voting again on the same answer replaces the earlier vote."""
        row = (self.chat_hash(chat_id), question, passage_id, 1 if up else -1, time.time())
        try:
            with self._db:
                self._db.execute(
                    "INSERT INTO votes (chat_hash, question, passage_id, vote, created_at, "
                    "article) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (chat_hash, question, passage_id) "
                    "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                    (*row, article),
                )
        except sqlite3.Error as exc:
            raise FeedbackError(f"cannot record the vote in {self.path}: {exc}") from exc

    def votes_by_article(self, since: dt.datetime) -> dict[str, tuple[int, int]]:
        rows = self._query(
            "SELECT article, SUM(vote = 1), SUM(vote = -1) FROM votes WHERE created_at >= ? "
            "GROUP BY article",
            (since.timestamp(),),
        )
        return {article: (int(up), int(down)) for article, up, down in rows}

    def log_questions(self, records: Sequence[QuestionRecord]) -> None:
        try:
            with self._db:
                self._db.executemany(
                    "INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r.at.timestamp(), r.article, r.language, r.kind, r.outcome,
                            int(r.answered), json.dumps(list(r.missing), ensure_ascii=False),
                            r.latency_ms, r.chat,
                        )
                        for r in records
                    ],
                )
        except sqlite3.Error as exc:
            raise FeedbackError(f"cannot log the question in {self.path}: {exc}") from exc

    def questions(self, since: dt.datetime) -> list[QuestionRecord]:
        rows = self._query(
            "SELECT * FROM questions WHERE asked_at >= ? ORDER BY asked_at", (since.timestamp(),)
        )
        return [
            QuestionRecord(
                at=dt.datetime.fromtimestamp(at, dt.UTC),
                article=article,
                language=language,
                kind=kind,
                outcome=outcome,
                answered=bool(answered),
                missing=tuple(json.loads(missing)),
                latency_ms=float(latency),
                chat=chat,
            )
            for at, article, language, kind, outcome, answered, missing, latency, chat in rows
        ]

    def forget_before(self, cutoff: dt.datetime) -> int:
        try:
            with self._db:
                cursor = self._db.execute(
                    "DELETE FROM questions WHERE asked_at < ?", (cutoff.timestamp(),)
                )
        except sqlite3.Error as exc:
            raise FeedbackError(f"cannot trim the question log in {self.path}: {exc}") from exc
        return int(cursor.rowcount)

    def by_passage(self) -> list[PassageVotes]:
        rows = self._query(
            "SELECT passage_id, SUM(vote = 1), SUM(vote = -1) FROM votes "
            "GROUP BY passage_id ORDER BY SUM(vote = -1) DESC, passage_id"
        )
        return [PassageVotes(pid, int(up), int(down)) for pid, up, down in rows]

    def most_down_voted(self, limit: int = 10) -> list[tuple[str, str, int]]:
        rows = self._query(
            "SELECT question, passage_id, COUNT(*) FROM votes WHERE vote = -1 "
            "GROUP BY question, passage_id ORDER BY COUNT(*) DESC, question LIMIT ?",
            (limit,),
        )
        return [(q, pid, int(n)) for q, pid, n in rows]

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return list(self._db.execute(sql, args))
        except sqlite3.Error as exc:
            raise FeedbackError(f"cannot read {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()


def salted_hash(salt: str, chat_id: int | str) -> str:
    """A chat as the stores keep it: stable for one salt, useless without it."""
    return hashlib.sha256(f"{salt}:{chat_id}".encode()).hexdigest()[:32]
