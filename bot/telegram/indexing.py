"""Shelf changes that take minutes (an upload's indexing, ``/reload``), where a stop can
interrupt them.

They used to run in an executor thread that PTB's stop (which waits for every handler)
and the interpreter (which joins executor threads) both waited for: SIGTERM waited out the
indexing (60 s and more; Docker's 10 s grace ended in SIGKILL). Here the blocking part runs
in a *daemon* thread that nobody joins, and the handler awaits it through
:class:`ShelfJobs`, which a stop cancels first: the handler ends at once, its update is
not marked handled, and the journal (``bot.telegram.journal``) hands it over again after
the restart, which downloads and indexes the upload anew while serving everyone else.

An upload being indexed is marked by an empty ``.<name>.unfinished`` file beside it. A
marker still there at start belongs to an indexing that a stop or a crash cut short: the
half-done upload is discarded (:func:`discard_unfinished`) so that the replayed update
does not put it on the shelf twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_MARK = ".unfinished"


@dataclass
class ShelfJobs:
    """The shelf jobs being awaited, so that a stop can stop awaiting them."""

    _waiting: set[asyncio.Future[object]] = field(default_factory=set, init=False)

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a daemon thread; :meth:`cancel` makes this raise CancelledError."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(outcome: Callable[[], None]) -> None:
            if not future.done():
                outcome()

        def thread() -> None:
            try:
                result = work()
            except BaseException as exc:  # handed to the awaiting handler, which decides
                error = exc
                with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                    loop.call_soon_threadsafe(settle, lambda: future.set_exception(error))
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(settle, lambda: future.set_result(result))

        self._waiting.add(future)  # type: ignore[arg-type]
        try:
            threading.Thread(target=thread, name="shelf job", daemon=True).start()
            return await future
        finally:
            self._waiting.discard(future)

    def cancel(self) -> int:
        """Stop every wait (at shutdown); the threads end with the process. How many."""
        waiting = [f for f in self._waiting if not f.done()]
        for future in waiting:
            future.cancel()
        return len(waiting)


def marker(upload: Path) -> Path:
    return upload.with_name(f".{upload.name}{_MARK}")


def discard_unfinished(folder: Path) -> list[str]:
    """Delete the uploads whose indexing was cut short, and their marks; their names."""
    discarded = []
    try:
        marks = [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(_MARK)]
    except OSError:
        return []
    for mark in marks:
        upload = folder / mark.name[1 : -len(_MARK)]
        with contextlib.suppress(OSError):
            upload.unlink(missing_ok=True)
            mark.unlink(missing_ok=True)
            discarded.append(upload.name)
    return discarded
