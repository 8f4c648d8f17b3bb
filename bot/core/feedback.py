"""👍/👎 on answers, kept in SQLite in the data directory.

Chats are stored only as a salted hash: enough to let a second vote replace the
first, never enough to tell who voted. Votes are read by `python -m bot feedback`
and never change answers.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
)


class FeedbackError(Exception):
    """The feedback database cannot be used; answering goes on without it."""


@dataclass(frozen=True)
class PassageVotes:
    passage_id: str
    up: int
    down: int


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
        return hashlib.sha256(f"{self._salt}:{chat_id}".encode()).hexdigest()[:32]

    def vote(self, chat_id: int | str, question: str, passage_id: str, up: bool) -> None:
        """Record a vote; voting again on the same answer replaces the earlier vote."""
        try:
            with self._db:
                self._db.execute(
                    "INSERT INTO votes VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (chat_hash, question, passage_id) "
                    "DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
                    (self.chat_hash(chat_id), question, passage_id, 1 if up else -1, time.time()),
                )
        except sqlite3.Error as exc:
            raise FeedbackError(f"cannot record the vote in {self.path}: {exc}") from exc

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
