"""The SQLite file behind the chat state: open it safely, or say once why it cannot be.

:class:`StateFile` knows the file, not what its rows mean (that is
:mod:`bot.telegram.persistence`). One row per ``(kind, id)`` holds JSON text. What it promises:

* **Atomic.** :meth:`StateFile.store` writes a batch in one transaction (``BEGIN IMMEDIATE`` …
  ``COMMIT``); a crash mid-write leaves the previous committed state. The journal is WAL with
  ``synchronous=NORMAL``: a commit survives the process being killed at any point; after a
  power cut the newest commits may be rolled back, but the file is never corrupt.
* **Never a crash loop.** If the file is *corrupt* (not a database, ``PRAGMA integrity_check``
  fails, or its schema is not ours), one warning says so, the file and its ``-wal``/``-shm``
  companions are moved aside to ``<name>.broken-<UTC timestamp>``, and a fresh file is started,
  empty. If it is *locked* (another process holds a write lock for longer than
  ``lock_timeout``), unopenable, or from a newer schema, one warning says so, the file is left
  alone and :meth:`StateFile.open` answers None: this run keeps its state in memory only.
* **Bounded.** At open, chat and user rows not written for ``max_idle_days`` days are deleted.
* **Versioned.** ``PRAGMA user_version`` holds :data:`SCHEMA_VERSION`; :data:`_MIGRATIONS`
  maps each older version to the SQL that brings it one step forward.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
import time
from pathlib import Path

from bot.core.stores import Key

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of a file this module writes."""

_SCHEMA = """
CREATE TABLE data (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID
"""
_COLUMNS = ["kind", "id", "value", "updated_at"]

_MIGRATIONS: dict[int, list[str]] = {}
"""``{n: [sql, ...]}`` turns a version-``n`` file into version ``n + 1`` (none yet: version 1 is the
first). Each step runs in the opening transaction, so a failed migration changes nothing."""
# Rows of these kinds belong to one chat or user, and are pruned when idle.
PRUNABLE = ("chat", "user")

_HEADER = b"SQLite format 3\x00"
_BUSY, _LOCKED = 5, 6  # SQLite primary result codes for "someone else holds the lock"


class _UnusableError(Exception):
    """The file cannot be used this run; ``move_aside`` says whether it is safe to replace."""

    def __init__(self, reason: str, *, move_aside: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.move_aside = move_aside


def _is_lock_error(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in (_BUSY, _LOCKED)


def _is_corruption(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))



class StateFile:
    """The file at ``path``: opened, checked, migrated and pruned once, then written in batches.

    Its methods block (SQLite calls): the persistence runs them in a worker thread. One
    process uses it (the data directory's lock, ``bot.instance``): it is not ``shared``.
    """

    shared = False

    def __init__(self, path: Path, *, max_idle_days: float | None, lock_timeout: float) -> None:
        self.path = path
        self.max_idle_days = max_idle_days
        self.lock_timeout = lock_timeout
        self.db: sqlite3.Connection | None = None

    def open(self) -> tuple[dict[Key, str], dict[Key, float]] | None:
        """The rows and when each was written; None when this run must keep to memory.

        Opening creates, migrates, checks, prunes and loads the file; on failure it decides
        (move aside, or leave alone) and says so once.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._open_file()
        except _UnusableError as exc:
            problem = exc
        except sqlite3.Error as exc:
            if _is_lock_error(exc):
                problem = _UnusableError(f"locked by another process ({exc})", move_aside=False)
            elif _is_corruption(exc):
                problem = _UnusableError(f"corrupt ({exc})", move_aside=True)
            else:
                problem = _UnusableError(f"unusable ({exc})", move_aside=False)
        except OSError as exc:
            problem = _UnusableError(f"unusable ({exc})", move_aside=False)
        self.close_quietly()
        if problem.move_aside:
            try:
                moved = self._move_aside()
                rows = self._open_file()
            except (OSError, sqlite3.Error, _UnusableError) as exc:
                self.close_quietly()
                log.warning(
                    "persistence: %s is %s and could not be replaced (%s); started with empty "
                    "state kept in memory only, nothing will be saved this run",
                    self.path,
                    problem.reason,
                    exc,
                )
                return None
            log.warning(
                "persistence: %s is %s; moved it aside to %s and started with empty state",
                self.path,
                problem.reason,
                moved,
            )
            return rows
        log.warning(
            "persistence: %s is %s; left it in place and started with empty state kept in "
            "memory only, nothing will be saved this run",
            self.path,
            problem.reason,
        )
        return None

    def _connect(self, *, configure: bool = True) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self.lock_timeout, isolation_level=None, check_same_thread=False
        )
        self.db = db
        db.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")
        if configure:
            self._configure(db)
        return db

    def _configure(self, db: sqlite3.Connection) -> None:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # e.g. a file system without shared memory
            log.info("persistence: %s uses journal_mode=%s (WAL unavailable)", self.path, mode)
        db.execute("PRAGMA synchronous = NORMAL")

    def _open_file(self) -> tuple[dict[Key, str], dict[Key, float]]:
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as head:
            start = head.read(len(_HEADER))
            if start and start != _HEADER:  # before SQLite gets to close (delete) its -wal
                raise _UnusableError("corrupt (file is not a database)", move_aside=True)
        db = self._connect(configure=False)
        # Checked before anything is written (even the WAL switch), so what is moved aside
        # or left in place is the file as it was.
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise _UnusableError(
                f"from a newer version of the bot (schema {version} > {SCHEMA_VERSION})",
                move_aside=False,
            )
        check = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if check != ["ok"]:
            raise _UnusableError(f"corrupt (integrity_check: {check[0]})", move_aside=True)
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        if version == 0 and tables:
            raise _UnusableError(f"corrupt (not our schema: tables {tables})", move_aside=True)
        if version == SCHEMA_VERSION:
            self._check_columns(db)
        self._configure(db)
        db.execute("BEGIN IMMEDIATE")  # fails here, after lock_timeout, if someone holds it
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # as of this transaction
            if version == 0:
                db.execute(_SCHEMA)
            for step in range(version or SCHEMA_VERSION, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:  # not executescript: it would COMMIT
                    db.execute(statement)
            self._check_columns(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._prune(db)
            rows: dict[Key, str] = {}
            written: dict[Key, float] = {}
            for kind, row_id, text, updated_at in db.execute(
                "SELECT kind, id, value, updated_at FROM data"
            ):
                rows[kind, row_id] = text
                written[kind, row_id] = updated_at
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        return rows, written

    @staticmethod
    def _check_columns(db: sqlite3.Connection) -> None:
        columns = [r[1] for r in db.execute("PRAGMA table_info(data)")]
        if columns != _COLUMNS:
            raise _UnusableError(
                f"corrupt (schema not readable: columns {columns})", move_aside=True
            )

    def _prune(self, db: sqlite3.Connection) -> None:
        if self.max_idle_days is None:
            return
        cutoff = time.time() - self.max_idle_days * 86_400
        marks = ",".join("?" * len(PRUNABLE))
        pruned = db.execute(
            f"DELETE FROM data WHERE kind IN ({marks}) AND updated_at < ?", (*PRUNABLE, cutoff)
        ).rowcount
        if pruned:
            log.info(
                "persistence: pruned %d chats/users idle for more than %g days",
                pruned,
                self.max_idle_days,
            )

    def _move_aside(self) -> Path:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.broken-{stamp}")
        number = 1
        while target.exists():
            number += 1
            target = self.path.with_name(f"{self.path.name}.broken-{stamp}-{number}")
        for suffix in ("-wal", "-shm"):
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                companion.replace(target.with_name(target.name + suffix))
        if self.path.exists():
            self.path.replace(target)
        return target

    def close_quietly(self) -> None:
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            self.db = None

    def load(self, key: Key) -> tuple[str, float] | None:
        """One row as the file holds it now."""
        db = self.db if self.db is not None else self._connect()
        row = db.execute(
            "SELECT value, updated_at FROM data WHERE kind = ? AND id = ?", key
        ).fetchone()
        return (str(row[0]), float(row[1])) if row is not None else None

    def store(self, batch: dict[Key, str | None]) -> None:
        """Write the batch (None: delete the row) in one transaction."""
        db = self.db if self.db is not None else self._connect()
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO data (kind, id, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, id) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                [(k, i, v, now) for (k, i), v in batch.items() if v is not None],
            )
            db.executemany(
                "DELETE FROM data WHERE kind = ? AND id = ?",
                [key for key, v in batch.items() if v is None],
            )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    def checkpoint_and_close(self) -> None:
        """Fold the WAL into the file and close it: what a clean stop leaves."""
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close_quietly()
