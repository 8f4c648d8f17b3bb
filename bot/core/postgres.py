"""The state of several replicas of one bot, in one PostgreSQL database (``DATABASE_URL``).

:class:`PostgresStore` implements every protocol of :mod:`bot.core.stores` over one
connection (its ``feedback``, a :class:`bot.core.pgfeedback.PostgresFeedback`, the votes and
the question log), so a replica keeps its chats' state, the updates it handled, the votes and
the question log where every other replica reads them:

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
* **Votes** and the **question log** (``feedback``, :mod:`bot.core.pgfeedback`), chats as a
  salted hash whose salt is made once and kept in the database (``bot_meta``), the same for
  every replica.

The schema is versioned (``bot_meta.schema``) and migrated under an advisory lock, so two
replicas starting at once migrate it once (:mod:`bot.core.pgschema`). Tables start with
``bot_``: the database may be the one the shelf's passage store uses. Calls block (a network
round trip, ~0.2 ms on loopback); callers off the event loop run them in a thread. One
connection, one call at a time; a broken connection is opened again once per call
(:mod:`bot.core.pgconnection`). This module is the queries of the chat state and the
handled updates only.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import psycopg

from bot.core.pgconnection import Connection
from bot.core.pgfeedback import PostgresFeedback
from bot.core.pgschema import migrate
from bot.core.stores import Key, StoreError

log = logging.getLogger(__name__)

KEEP_HANDLED = dt.timedelta(days=3)  # Telegram retries an update for 24 hours at most
PRUNE_EVERY = 1000
PRUNABLE = ("chat", "user")


class PostgresStore:
    """Chat rows and handled updates in one database; ``feedback``: its votes and question log."""

    shared = True

    def __init__(self, url: str, *, max_idle_days: float | None = 90) -> None:
        self.url = url
        self.max_idle_days = max_idle_days
        self._conn = Connection(url)
        self._active: set[int] = set()
        self._since_pruned = 0
        try:
            salt = self._conn.call(migrate)
        except StoreError as exc:
            self.close()
            raise StoreError(f"the database at {self.where} cannot be used: {exc}") from exc
        self.feedback = PostgresFeedback(self._conn, salt)

    @property
    def where(self) -> str:
        """The server and database, never the password."""
        return self._conn.where

    def close(self) -> None:
        self._conn.close()

    # ---- chat state (RowStore) ---------------------------------------------------------------

    def open(self) -> tuple[dict[Key, str], dict[Key, float]] | None:
        """Nothing is loaded at start: each chat's row is read before its update (``load``).
        Rows idle for ``max_idle_days`` are deleted, as the SQLite file does."""
        if self.max_idle_days is not None:
            cutoff = time.time() - self.max_idle_days * 86_400
            pruned = self._conn.call(
                lambda db: db.execute(
                    "DELETE FROM bot_chat_state WHERE kind = ANY(%s) AND updated_at < %s",
                    (list(PRUNABLE), cutoff),
                ).rowcount
            )
            if pruned:
                log.info("persistence: pruned %d idle chats (%g days)", pruned, self.max_idle_days)
        return {}, {}

    def load(self, key: Key) -> tuple[str, float] | None:
        row = self._conn.call(
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

        self._conn.call(write)

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
            seen = self._conn.call(
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
            self._conn.call(mark)
        except StoreError as exc:
            log.warning("cannot mark update %d handled in the database: %s", update_id, exc)

    def unhandled(self) -> list[dict[str, Any]]:
        return []
