"""Conversations survive a restart: the chat's state lives in SQLite through PTB's
persistence, so a follow-up after a restart is read with the earlier question and the
buttons under old answers still work; a broken state file costs the state, not the bot."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.core.engine import ArticleBot
from bot.messages import EN
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.telegram import button, only_message, press, running, visible

USERS = "津心办有多少注册用户？"
FOLLOW_UP = "那它的访问量呢？"


def test_a_follow_up_after_a_restart_is_read_with_the_earlier_question(
    api: FakeBotApi, core: ArticleBot, tmp_path: Path
) -> None:
    state = tmp_path / "telegram-state.sqlite3"
    with running(api, core, state_file=state) as before:
        first = only_message(before.ask(USERS))
    with running(api, core, state_file=state) as after:
        followed = visible(only_message(after.ask(FOLLOW_UP)))
        assert EN.read_with_previous.format(question=USERS) in followed
        more = press(after, button(first, EN.button_more)["callback_data"], first)
        shown = visible(only_message(more))  # the old answer's More, served after the restart
        assert EN.next_best.format(rank=2, count=3) in shown


def test_without_a_state_file_old_answer_buttons_expire(api: FakeBotApi, core: ArticleBot) -> None:
    with running(api, core) as before:
        first = only_message(before.ask(USERS))
    with running(api, core) as after:
        after.ask(USERS)  # the new process's first answer must not answer the old button
        exchanges = press(after, button(first, EN.button_more)["callback_data"], first)
        [answered] = [e.params for e in exchanges if e.method == "answerCallbackQuery"]
        assert answered["text"] == EN.expired


@pytest.mark.parametrize("damage", ["corrupted", "locked"])
def test_a_broken_state_file_is_reported_and_the_bot_starts_empty(
    api: FakeBotApi,
    core: ArticleBot,
    tmp_path: Path,
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = tmp_path / "telegram-state.sqlite3"
    with running(api, core, state_file=state) as before:
        before.ask(USERS)
    locker = sqlite3.connect(state)
    if damage == "corrupted":
        state.write_bytes(b"\x00not a database" * 512)
    else:
        locker.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING), running(api, core, state_file=state) as after:
            answer = visible(only_message(after.ask(FOLLOW_UP)))
            assert EN.read_with_previous.split(":")[0] not in answer  # the state is gone
    finally:
        locker.close()
    state_loggers = ("bot.telegram.persistence", "bot.telegram.statefile")
    ours = [r for r in caplog.records if r.name in state_loggers]
    assert len([r for r in ours if r.levelno == logging.WARNING]) >= 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
