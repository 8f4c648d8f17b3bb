"""What a chat's buttons refer to, kept in PTB's ``chat_data`` so they survive a restart.

"More", "Show it anyway" and the votes carry a short key; the answer behind it lives in
the chat's own data (persisted by the Application's persistence, see
``bot.telegram.persistence``) as plain JSON: passage ids, scores and highlighted spans,
revived against the core. A chat keeps its last :data:`PER_CHAT` answers.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from bot.core.answer import Answer, AnswerKind, Quote
from bot.core.followup import Turn
from bot.core.shelf import Shelf

PER_CHAT = 50
ANSWERS = "answers"  # chat_data: key -> answer state, oldest first
NEXT_KEY = "next_key"  # chat_data: the counter behind the keys
EPOCH = "key_epoch"  # chat_data: a random prefix, new whenever the chat's data is new
TURN = "turn"  # chat_data: the last turn, for follow-ups

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def remember(chat_data: dict[str, Any], answer: Answer) -> str:
    """Keep ``answer`` for this chat's buttons; the key fits the buttons' format.

    Keys start with a random prefix drawn when the chat's data is new: if that data is
    ever lost (no persistence, or a broken file moved aside), buttons under old messages
    expire instead of fetching whatever the chat's new answer "1" is.
    """
    epoch = chat_data.setdefault(EPOCH, _base36(secrets.randbelow(36**4)).rjust(4, "0"))
    number = int(chat_data.get(NEXT_KEY, 0)) + 1
    chat_data[NEXT_KEY] = number
    key = f"{epoch}{_base36(number)}"
    answers: dict[str, Any] = chat_data.setdefault(ANSWERS, {})
    answers[key] = _state(answer)
    for old in list(answers)[: max(0, len(answers) - PER_CHAT)]:
        del answers[old]
    return key


def recall(chat_data: dict[str, Any] | None, key: str, shelf: Shelf) -> Answer | None:
    """The answer behind a button, or None: forgotten, or its passages no longer exist."""
    state = (chat_data or {}).get(ANSWERS, {}).get(key)
    if not isinstance(state, dict):
        return None
    try:
        converted = bool(state["converted"])
        quotes = tuple(_revive(q, shelf, converted) for q in state["quotes"])
        closest = _revive(state["closest"], shelf, converted) if state["closest"] else None
        shown = quotes[0] if quotes else closest
        article = shelf.article(shown.article) if shown and shown.article else None
        return Answer(
            str(state["question"]),
            AnswerKind(state["kind"]),
            quotes,
            converted=converted,
            closest=closest,
            source=article or shelf.first()[1].article,
        )
    except (KeyError, TypeError, ValueError, LookupError):
        return None  # written by another version, or the article changed since


def keep_turn(chat_data: dict[str, Any], turn: Turn) -> None:
    chat_data[TURN] = {"question": turn.question, "passage_ids": list(turn.passage_ids)}


def last_turn(chat_data: dict[str, Any] | None) -> Turn | None:
    state = (chat_data or {}).get(TURN)
    if not isinstance(state, dict):
        return None
    return Turn(str(state.get("question", "")), tuple(state.get("passage_ids", ())))


def forget_turn(chat_data: dict[str, Any] | None) -> None:
    if chat_data is not None:
        chat_data.pop(TURN, None)


def _state(answer: Answer) -> dict[str, Any]:
    return {
        "question": answer.question,
        "kind": answer.kind.value,
        "converted": answer.converted,
        "quotes": [_quote_state(q) for q in answer.quotes],
        "closest": _quote_state(answer.closest) if answer.closest else None,
    }


def _quote_state(quote: Quote) -> dict[str, Any]:
    return {
        "article": quote.article,
        "passage": quote.passage.id,
        "score": quote.score,
        "similarity": quote.similarity,
        "highlights": [list(span) for span in quote.highlights],
    }


def _revive(state: dict[str, Any], shelf: Shelf, converted: bool) -> Quote:
    name = state.get("article")
    bot = shelf.get(name) if isinstance(name, str) else None
    if bot is None or not isinstance(name, str):  # from before the shelf named articles
        name, bot = shelf.first()
    passage = bot.passage_by_id(str(state["passage"]))
    if passage is None:
        raise LookupError(state["passage"])
    return replace(
        shelf.show(name, passage, converted),
        score=float(state["score"]),
        similarity=float(state["similarity"]),
        highlights=tuple((int(a), int(b)) for a, b in state["highlights"]),
    )


def _base36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if not n:
            return out
