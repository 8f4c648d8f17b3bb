"""Every reader's update survives a crash, and none is answered twice after a restart.

Telegram forgets an update once the bot confirms it (the next ``getUpdates`` offset, or a
2xx to a webhook POST), and PTB confirms a batch as soon as it has been *queued*, before
it is handled. So a SIGKILL after 5 of 50 replies lost the other 45. The journal closes
that gap: every update is written here (SQLite, WAL, one transaction per batch) *before*
Telegram is told it arrived; it is marked handled the moment its handlers have run. At
start the unhandled ones are handed to the Application again; an ``update_id`` already
handled, or being handled, is skipped wherever it comes from (Telegram delivering an
unconfirmed update a second time, or the replay).

What stays at-least-once: a reply Telegram carried out just before the process died,
whose answer the bot had not yet read, is sent again after the restart. Telegram offers no
way to ask whether it arrived, so the window is kept as short as it can be: the mark is
written on the event loop right after the last reply's answer is read, with no thread hop
and no fsync (``synchronous=NORMAL``: a commit survives the process being killed at any
point; a power cut can take back the last ones: a duplicate, or an update lost).
Measured: ``python -m bot soak --crashes N`` (README, Reliability).

Handled rows are kept for :data:`KEEP_SECONDS` (Telegram keeps an unconfirmed update for
24 hours, so an id older than that cannot come back), then pruned: at start and every
:data:`PRUNE_EVERY` updates recorded, so a bot that runs for months keeps a small file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "telegram-updates.sqlite3"  # in the data directory
KEEP_SECONDS = 3 * 24 * 3600
PRUNE_EVERY = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    received REAL NOT NULL,
    handled REAL
)
"""


class JournalError(Exception):
    """The journal file cannot be opened or written."""


@dataclass
class UpdateJournal:
    """The durable record of updates received and handled (one SQLite file)."""

    path: Path
    _db: sqlite3.Connection = field(init=False)
    _active: set[int] = field(init=False, default_factory=set)
    _since_pruned: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        try:
            self._open()
        except (OSError, sqlite3.OperationalError) as exc:  # no access, a folder in the way
            raise JournalError(f"cannot open the update journal {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # not a database: keep it for a look, start anew
            aside = self.path.with_name(f"{self.path.name}.broken-{int(time.time())}")
            log.warning("the update journal %s is damaged (%s): moved to %s", self.path, exc, aside)
            try:
                self._db.close()
                self.path.rename(aside)
                self._open()
            except (OSError, sqlite3.Error) as again:
                raise JournalError(f"cannot open the update journal {self.path}: {again}") from exc

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # survives a kill; see the docstring
        self._db.execute(_SCHEMA)
        self._prune()

    def record(self, updates: list[dict[str, Any]]) -> None:
        """Keep these raw updates (Bot API JSON) before Telegram is told they arrived."""
        rows = [
            (u["update_id"], json.dumps(u, ensure_ascii=False), time.time())
            for u in updates
            if isinstance(u, dict) and isinstance(u.get("update_id"), int)
        ]
        if not rows:
            return
        with self._lock:
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO updates (update_id, body, received) VALUES (?, ?, ?)",
                    rows,
                )
                self._since_pruned += len(rows)
                if self._since_pruned >= PRUNE_EVERY:
                    self._prune()
            except sqlite3.Error as exc:
                raise JournalError(f"cannot write the update journal: {exc}") from exc

    def claim(self, update_id: int) -> bool:
        """True if the caller should handle this update: not handled, not being handled."""
        with self._lock:
            if update_id in self._active:
                return False
            row = self._db.execute(
                "SELECT handled FROM updates WHERE update_id = ?", (update_id,)
            ).fetchone()
            if row is not None and row[0] is not None:
                return False
            self._active.add(update_id)
            return True

    def release(self, update_id: int, handled: bool) -> None:
        """The handlers are done (``handled``) or were stopped before the end (replay it)."""
        with self._lock:
            self._active.discard(update_id)
            if not handled:
                return
            try:
                self._db.execute(
                    "UPDATE updates SET handled = ? WHERE update_id = ?", (time.time(), update_id)
                )
            except sqlite3.Error as exc:  # answered, just not remembered: say so, go on
                log.warning("cannot mark update %d handled in the journal: %s", update_id, exc)

    def unhandled(self) -> list[dict[str, Any]]:
        """The updates received but never handled, oldest first: replay them at start."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM updates WHERE handled IS NULL ORDER BY update_id"
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def _prune(self) -> None:
        self._since_pruned = 0
        self._db.execute(
            "DELETE FROM updates WHERE handled IS NOT NULL AND handled < ?",
            (time.time() - KEEP_SECONDS,),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
