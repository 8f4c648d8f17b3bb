"""What the bot keeps between updates, and the one interface both places that keep it offer.

One process keeps its state in SQLite files in the data directory (the default: nothing to
set up). Several replicas of one bot keep it in PostgreSQL (``DATABASE_URL``), where every
replica reads what the others wrote (:mod:`bot.core.postgres`). Both implement the protocols
here, and the contract tests (``tests/test_stores.py``) run the same assertions on both:

* :class:`RowStore` — chat state as JSON text, one row per ``(kind, id)``;
* :class:`UpdateLedger` — which Telegram updates were handled, so none is answered twice;
* :class:`Feedback` — votes on answers and the question log, chats only as a salted hash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Key = tuple[str, str]
"""A state row: ``(kind, id)``, e.g. ``("chat", "42")``."""


class StoreError(Exception):
    """The store could not be read or written just now; callers go on from memory."""


class RowStore(Protocol):
    """Rows of JSON text. ``shared`` stores are written by other processes too: read a row
    again (:meth:`load`) before using it."""

    shared: bool

    def open(self) -> tuple[dict[Key, str], dict[Key, float]] | None:
        """The rows to start from and when each was written; None: keep to memory this run."""
        ...

    def load(self, key: Key) -> tuple[str, float] | None:
        """One row as it is now, and when it was written (None: there is none)."""
        ...

    def store(self, batch: dict[Key, str | None]) -> None:
        """Write the batch (None: delete the row) in one transaction."""
        ...

    def checkpoint_and_close(self) -> None: ...


class UpdateLedger(Protocol):
    """Updates received and handled (see :mod:`bot.telegram.journal`)."""

    def record(self, updates: list[dict[str, Any]]) -> None: ...

    def claim(self, update_id: int) -> bool: ...

    def release(self, update_id: int, handled: bool) -> None: ...

    def unhandled(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PassageVotes:
    passage_id: str
    up: int
    down: int


@dataclass(frozen=True)
class QuestionRecord:
    """One question as the log keeps it: what an editor needs, never who asked.

    ``outcome`` is the answer's kind (answered, refused, ...); ``missing`` the content terms
    the article does not mention; ``chat`` a salted hash of the chat (:meth:`Feedback.chat_hash`).
    """

    at: dt.datetime
    article: str
    language: str
    kind: str  # how it was asked: question, follow-up, button, inline
    outcome: str
    answered: bool
    missing: tuple[str, ...]
    latency_ms: float
    chat: str


class Feedback(Protocol):
    """Votes and the question log. Raises :class:`bot.core.feedback.FeedbackError`."""

    def chat_hash(self, chat_id: int | str) -> str: ...

    def vote(
        self, chat_id: int | str, question: str, passage_id: str, up: bool, article: str = ""
    ) -> None: ...

    def by_passage(self) -> list[PassageVotes]: ...

    def most_down_voted(self, limit: int = 10) -> list[tuple[str, str, int]]: ...

    def votes_by_article(self, since: dt.datetime) -> dict[str, tuple[int, int]]:
        """Per article (the passage id's prefix): (up, down) since ``since``."""
        ...

    def log_questions(self, records: Sequence[QuestionRecord]) -> None: ...

    def questions(self, since: dt.datetime) -> list[QuestionRecord]: ...

    def forget_before(self, cutoff: dt.datetime) -> int:
        """Drop logged questions asked before ``cutoff`` (the retention); how many."""
        ...

    def close(self) -> None: ...
