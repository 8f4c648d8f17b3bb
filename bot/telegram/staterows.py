"""PTB's state as rows of JSON text, held in memory and written to a RowStore in batches.

:class:`bot.telegram.persistence.StatePersistence` speaks PTB: dicts in and out, what JSON
can keep, one warning per key it cannot. Under it, whatever PTB asks, is the same work,
which lives here: the rows in memory (authoritative while the bot runs), which of them
changed since the last commit, one store call at a time in a worker thread, the retry after
a failed write, re-reading one row of a shared store, and the last commit at shutdown. The
promises (atomic batches, failing while running, the daily rewrite that keeps a used chat
from being pruned) are in the persistence's module docstring; this is how they are kept.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable

from bot.core.stores import Key, RowStore, StoreError

# The persistence's log lines keep the persistence's name: operators and tests filter on it.
log = logging.getLogger("bot.telegram.persistence")

_TOUCH = 86_400.0  # an unchanged chat PTB reports as used is rewritten once a day, for pruning


class StateRows:
    """The rows of ``store`` (named ``where`` in log lines); ``readable`` says which of the
    rows found in the store the persistence can decode (the others are ignored, once said)."""

    def __init__(
        self,
        store: RowStore,
        where: str,
        *,
        readable: Callable[[Key, str], bool],
        retry_interval: float,
    ) -> None:
        self.store = store
        self.where = where
        self.readable = readable
        self.retry_interval = retry_interval
        self.opened = False
        self.memory_only = False  # the store is not ours to use this run
        self.rows: dict[Key, str] = {}  # the state as JSON text: what the store should hold
        self._dirty: set[Key] = set()  # changed since the last successful commit
        self._written: dict[Key, float] = {}  # updated_at: when a row was last written
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self._lock = asyncio.Lock()  # one store call at a time: one connection, shared safely

    async def ensure_open(self) -> None:
        """Open the store on first use and load its readable rows (none: memory only)."""
        if self.opened:
            return
        async with self._lock:
            if not self.opened:
                opened = await asyncio.to_thread(self.store.open)
                if opened is None:
                    self.memory_only = True
                else:
                    self.rows, self._written = self._readable_rows(*opened)
                self.opened = True

    def _readable_rows(
        self, rows: dict[Key, str], written: dict[Key, float]
    ) -> tuple[dict[Key, str], dict[Key, float]]:
        """The rows get_* can decode; the others (written by another program) ignored, once said."""
        unreadable = {key for key, text in rows.items() if not self.readable(key, text)}
        if unreadable:
            log.warning(
                "persistence: %s has %d rows this version cannot read (first: %r); ignoring them",
                self.where,
                len(unreadable),
                min(unreadable),
            )
        return {k: t for k, t in rows.items() if k not in unreadable}, written

    # ---- writing -------------------------------------------------------------------------------

    def _set(self, key: Key, text: str | None) -> bool:
        """Record the new value (None: delete); True if it differs from what is stored."""
        if text is None:
            if key not in self.rows:
                return False
            del self.rows[key]
        else:
            if self.rows.get(key) == text and time.time() - self._written.get(key, 0) < _TOUCH:
                return False  # unchanged, and its idle clock was reset less than a day ago
            self.rows[key] = text
        self._dirty.add(key)
        return True

    async def write(self, key: Key, text: str | None) -> None:
        """Set one row (None: delete it) and commit it with whatever else is pending."""
        await self.ensure_open()
        if self._set(key, text):
            await self._commit()

    async def _commit(self) -> None:
        """Write every pending change in one transaction; on failure keep them for later."""
        async with self._lock:
            if self.memory_only or not self._dirty:
                return
            if self._failing_since is not None and time.monotonic() < self._retry_at:
                return
            batch = {key: self.rows.get(key) for key in self._dirty}
            self._dirty.clear()
            try:
                await asyncio.to_thread(self.store.store, batch)
            except (sqlite3.Error, StoreError) as exc:
                self._dirty.update(batch)  # the newest values are read again from rows
                self._retry_at = time.monotonic() + self.retry_interval
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                    log.warning(
                        "persistence: writing %s failed (%s); serving on from memory, %d "
                        "changes pending, retrying every %gs",
                        self.where,
                        exc,
                        len(self._dirty),
                        self.retry_interval,
                    )
                return
            self._written.update(dict.fromkeys(batch, time.time()))
            if self._failing_since is not None:
                log.info(
                    "persistence: %s is writable again after %.0fs; pending changes saved",
                    self.where,
                    time.monotonic() - self._failing_since,
                )
                self._failing_since = None

    # ---- reading a shared store again ----------------------------------------------------------

    async def read_again(self, key: Key) -> tuple[bool, str | None]:
        """Take the store's row for ``key`` if another process changed it: (True, its text,
        None if deleted), else (False, None). Ours pending, or the store's unreadable, is
        kept. Raises StoreError if the store cannot be read."""
        await self.ensure_open()
        async with self._lock:
            if key in self._dirty:
                return False, None  # ours, newer, not yet written: the store's row is older
            row = await asyncio.to_thread(self.store.load, key)
            text = row[0] if row is not None else None
            if text == self.rows.get(key) or (text is not None and not self.readable(key, text)):
                return False, None
            if text is None:
                self.rows.pop(key, None)
            else:
                self.rows[key] = text
                self._written[key] = row[1] if row is not None else time.time()
        return True, text

    # ---- shutting down -------------------------------------------------------------------------

    async def flush(self) -> None:
        """Commit what is pending (retrying now), checkpoint and close the store."""
        if not self.opened or self.memory_only:
            return
        self._retry_at = 0.0
        await self._commit()
        async with self._lock:
            if self._dirty:
                log.warning(
                    "persistence: %d changes could not be saved to %s before shutdown",
                    len(self._dirty),
                    self.where,
                )
            await asyncio.to_thread(self.store.checkpoint_and_close)
