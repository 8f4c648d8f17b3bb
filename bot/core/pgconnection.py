"""One PostgreSQL connection for the calls of one store, one call at a time.

:class:`bot.core.postgres.PostgresStore` runs every query through :meth:`Connection.call`;
what a connection needs beyond the queries lives here, so the store is only its SQL:

* **One call at a time** (a lock): the store is called from the event loop's worker threads.
* **Opened again once per call.** A connection the server dropped (a restart, a failover)
  fails with :class:`psycopg.OperationalError`; the call opens a new one and runs the work
  once more before giving up.
* **Errors as** :class:`bot.core.stores.StoreError`, which callers handle by going on from
  memory; a psycopg error never escapes.
* **Closed when dropped.** A connection left open (a failed start, a test) is closed when
  this object is collected, rather than left to psycopg to warn about at a random later
  moment (its ResourceWarning would fail whatever test runs then).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from bot.core.stores import StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Connection:
    """The connection to ``url``, opened on the first call."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None

    def __del__(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None and not db.closed:
            with contextlib.suppress(Exception):
                db.close()

    @property
    def where(self) -> str:
        """The server and database, never the password."""
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"

    def call(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
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
