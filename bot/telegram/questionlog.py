"""The question log: one row per question answered in Telegram, for ``python -m bot report``.

What an editor needs to see what an article is missing — when, which article, the
language, how it was asked, whether it was answered, the terms the article does not
mention, how long it took — and never who asked: the chat is kept as a salted hash
(:meth:`bot.core.stores.Feedback.chat_hash`). Rows older than ``question_log_days`` are
dropped at each start. A log that cannot be written costs the log, never the answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.core.answer import Answer
from bot.core.feedback import FeedbackError
from bot.core.stores import QuestionRecord
from bot.messages import language_of
from bot.telegram.state import Services

log = logging.getLogger(__name__)


async def log_question(
    services: Services, chat_id: int, answer: Answer, latency_ms: float, kind: str
) -> None:
    """Keep one question; ``kind`` is how it was asked (question, follow-up, button)."""
    store = services.feedback
    if store is None:
        return
    record = QuestionRecord(
        at=dt.datetime.now(dt.UTC),
        article=answer.source.title,
        language=language_of(answer.question),
        kind=kind,
        outcome=answer.kind.value,
        answered=answer.answered,
        missing=answer.missing,
        latency_ms=round(latency_ms, 1),
        chat=store.chat_hash(chat_id),
    )
    try:
        await asyncio.to_thread(store.log_questions, [record])
    except FeedbackError as exc:
        log.warning("%s; the answer was sent, the question is not logged", exc)


async def forget_old_questions(services: Services) -> None:
    """The retention: drop what is older than ``question_log_days`` (at start)."""
    store, days = services.feedback, services.options.question_log_days
    if store is None or days is None:
        return
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    try:
        dropped = await asyncio.to_thread(store.forget_before, cutoff)
    except FeedbackError as exc:
        log.warning("%s; old questions stay in the log for now", exc)
        return
    if dropped:
        log.info("question log: dropped %d questions older than %g days", dropped, days)
