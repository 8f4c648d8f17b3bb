"""What a chat's buttons refer to: keys that fit the button format, answers that come back
from the chat's data (as JSON, the way persistence stores it), and garbage that does not.

No Application: the chat's data is the plain dict PTB would hand the handlers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.core.answer import Answer
from bot.core.engine import ArticleBot
from bot.core.followup import Turn
from bot.core.shelf import Shelf
from bot.telegram import callbacks as cb
from bot.telegram.remembered import (
    ANSWERS,
    PER_CHAT,
    forget_turn,
    keep_turn,
    last_turn,
    recall,
    remember,
)
from tests.helpers.telegram import QUESTION


@pytest.fixture(scope="module")
def shelf(core: ArticleBot) -> Shelf:
    return Shelf.of(core)


@pytest.fixture(scope="module")
def answer(shelf: Shelf) -> Answer:
    found = shelf.ask(QUESTION)
    assert found.quotes, "the round trips below need an answer that quotes something"
    return found


def test_keys_fit_the_buttons_and_share_the_chats_prefix(answer: Answer) -> None:
    chat: dict[str, Any] = {}
    keys = [remember(chat, answer) for _ in range(40)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert re.fullmatch(cb.KEY, key)
        assert cb.More(key, 9).pack() and cb.Vote(key, 9, "d").pack()  # both kinds take it
    assert len({key[:4] for key in keys}) == 1  # one epoch per chat's data


def test_a_remembered_answer_comes_back_whole(answer: Answer, shelf: Shelf) -> None:
    chat: dict[str, Any] = {}
    key = remember(chat, answer)
    assert recall(chat, key, shelf) == answer


def test_it_comes_back_from_the_json_persistence_writes(answer: Answer, shelf: Shelf) -> None:
    chat: dict[str, Any] = {}
    key = remember(chat, answer)
    stored = json.loads(json.dumps(chat))
    assert recall(stored, key, shelf) == answer


def test_a_chat_keeps_only_its_latest_answers(answer: Answer, shelf: Shelf) -> None:
    chat: dict[str, Any] = {}
    keys = [remember(chat, answer) for _ in range(PER_CHAT + 5)]
    assert len(chat[ANSWERS]) == PER_CHAT
    assert all(recall(chat, key, shelf) is None for key in keys[:5])
    assert all(recall(chat, key, shelf) == answer for key in keys[5:])


def test_other_chat_data_expires_the_buttons_instead_of_borrowing_its_answers(
    answer: Answer, shelf: Shelf
) -> None:
    old: dict[str, Any] = {}
    key = remember(old, answer)
    assert recall({}, key, shelf) is None
    assert recall(None, key, shelf) is None


def _damaged(state: dict[str, Any], damage: str) -> object:
    """A real stored answer state, damaged one way."""
    quote = state["quotes"][0]
    damages: dict[str, object] = {
        "none": None,
        "string": "not a dict",
        "empty": {},
        "no-quotes": {k: v for k, v in state.items() if k != "quotes"},
        "kind": state | {"kind": "no such kind"},
        "quotes": state | {"quotes": 5},
        "empty-quote": state | {"quotes": [{}]},
        "passage": state | {"quotes": [quote | {"passage": "no-such-passage"}]},
        "score": state | {"quotes": [quote | {"score": "high"}]},
        "highlights": state | {"quotes": [quote | {"highlights": 5}]},
        "spans": state | {"quotes": [quote | {"highlights": [[1]]}]},
    }
    return damages[damage]


@pytest.mark.parametrize(
    "damage",
    [
        "none",
        "string",
        "empty",
        "no-quotes",
        "kind",
        "quotes",
        "empty-quote",
        "passage",
        "score",
        "highlights",
        "spans",
    ],
)
def test_a_damaged_or_foreign_state_is_forgotten_not_an_error(
    damage: str, answer: Answer, shelf: Shelf
) -> None:
    chat: dict[str, Any] = {}
    key = remember(chat, answer)
    assert recall(chat, key, shelf) == answer  # undamaged, it comes back
    chat[ANSWERS][key] = _damaged(chat[ANSWERS][key], damage)
    assert recall(chat, key, shelf) is None


def test_the_turn_is_kept_read_and_forgotten() -> None:
    chat: dict[str, Any] = {}
    assert last_turn(chat) is None
    turn = Turn("what about the elderly?", ("s1-p2", "s3-p1"))
    keep_turn(chat, turn)
    assert last_turn(json.loads(json.dumps(chat))) == turn
    forget_turn(chat)
    assert last_turn(chat) is None
    forget_turn(None)  # no chat: nothing to forget, no error
    assert last_turn(None) is None


def test_a_damaged_turn_reads_as_none() -> None:
    assert last_turn({"turn": "garbage"}) is None
