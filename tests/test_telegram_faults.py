"""Hardening, end to end through the loopback Bot API server: faults injected by the
server (5xx, a timeout, a dropped connection, broken JSON and 429 on getUpdates), a
restart that resumes from the right offset, the allow-list, and the rate limit in
inline mode. The invariant throughout: every question is answered exactly once.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, from_env
from bot.core.engine import ArticleBot
from bot.messages import EN, ZH_HANS
from bot.telegram.state import TelegramOptions
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.paths import SAFETY_TIMEOUT, copy_index, start_telegram
from tests.helpers.telegram import (
    QUESTION,
    RunningBot,
    blockquotes,
    button,
    for_chat,
    only_message,
    press,
    running,
    sent,
    statuses,
    toast,
    visible,
)

FAST_RETRIES = TelegramOptions(retry_backoff=0.01, read_timeout=1.0)


def answers_in(api: FakeBotApi, chat_id: int) -> list[str]:
    """What the user sees in the chat, bot messages only, oldest first."""
    return [m.get("text", "") for m in api.bot_messages(chat_id)]


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# ---- faults on sendMessage -----------------------------------------------------------------------


def test_send_faults_are_retried_only_when_safe_and_each_question_is_answered_once(
    api: FakeBotApi, core: ArticleBot, caplog: pytest.LogCaptureFixture
) -> None:
    """5xx and a dropped connection cannot have delivered: retried. A read timeout may have
    (here the server does deliver, late): not retried, so the user sees the answer once."""
    faults = {
        "500": {"error_code": 500},
        "502": {"error_code": 502, "malformed": True},  # nginx's HTML page, not JSON
        "drop": {"error_code": None, "drop": True},
        "timeout": {"error_code": None, "delay": 1.5},  # over the bot's read timeout of 1 s
    }
    users = {name: f.user(name) for name in faults}
    for name, fault in faults.items():
        api.inject("sendMessage", when=for_chat(users[name]["id"]), **fault)
    with running(api, core, FAST_RETRIES) as bot:
        updates = api.push_updates(f.message_update(QUESTION, from_user=u) for u in users.values())
        bot.wait_done([u["update_id"] for u in updates])
        late = users["timeout"]["id"]  # the fake records the late delivery once it is made
        api.wait_for(lambda c: c.method == "sendMessage" and c.params["chat_id"] == late)
        time.sleep(0.5)  # room for a (wrong) retry to show up
        calls = {
            name: statuses(
                [e for e in api.exchanges if e.params.get("chat_id") == users[name]["id"]]
            )
            for name in faults
        }
    assert calls["500"] == [500, 200] and calls["502"] == [502, 200]
    assert calls["drop"] == [0, 200]  # 0: the connection closed with no answer
    assert len(calls["timeout"]) == 1  # the late answer is not sent again
    for name in faults:
        [answer] = answers_in(api, users[name]["id"])
        assert "第七" in answer, name
    assert not any("something went wrong" in m for m in answers_in(api, users["timeout"]["id"]))
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("did not answer a sendMessage in time" in m and "not resent" in m for m in warned)
    assert not [m for m in errors(caplog) if "update" in m]  # handled: nothing escaped


def test_after_the_retries_an_error_is_logged_and_the_bot_goes_on(
    api: FakeBotApi, core: ArticleBot, caplog: pytest.LogCaptureFixture
) -> None:
    with running(api, core, FAST_RETRIES) as bot:
        api.inject("sendMessage", error_code=502, times=4)  # the send and its 3 retries
        update = f.message_update(QUESTION)
        exchanges = bot.process(update)
        assert statuses(exchanges) == [502, 502, 502, 502, 200]
        assert "something went wrong" in visible(sent(exchanges)[0])
        assert any(str(update["update_id"]) in m for m in errors(caplog))
        assert "第七" in visible(only_message(bot.ask(QUESTION)))


def test_button_presses_survive_faults_too(api: FakeBotApi, core: ArticleBot) -> None:
    with running(api, core, FAST_RETRIES) as bot:
        answer = only_message(bot.ask(QUESTION))
        api.inject("answerCallbackQuery", error_code=500)
        api.inject("sendMessage", error_code=None, drop=True)
        exchanges = press(bot, button(answer, "Paragraph ➡")["callback_data"], answer)
        assert statuses(exchanges, "answerCallbackQuery") == [500, 200]
        assert statuses(exchanges) == [0, 200]
        position = core.ask(QUESTION).quotes[0].position + 1
        total = len(core.retriever.passages)
        assert f"Paragraph {position} of {total}" in visible(sent(exchanges)[0])


# ---- faults on getUpdates ------------------------------------------------------------------------


def test_polling_survives_broken_json_and_flood_control_without_losing_an_update(
    api: FakeBotApi, core: ArticleBot, caplog: pytest.LogCaptureFixture
) -> None:
    askers = [f.user(f"Poll {i}") for i in range(3)]
    queued = api.push_updates(f.message_update(QUESTION, from_user=a) for a in askers)
    api.inject("getUpdates", error_code=None, malformed=True)  # truncated JSON, status 200
    api.inject("getUpdates", error_code=429, retry_after=1)
    with running(api, core) as bot:
        bot.wait_done([u["update_id"] for u in queued], timeout=SAFETY_TIMEOUT)
        more = api.push_update(f.message_update(QUESTION, from_user=askers[0]))
        bot.wait_done([more["update_id"]])
    broken, flooded, delivered = [e for e in api.exchanges if e.method == "getUpdates"][:3]
    assert isinstance(broken.response, str) and broken.response.startswith('{"ok": true')
    assert flooded.status == 429 and delivered.status == 200
    assert [len(answers_in(api, a["id"])) for a in askers] == [2, 1, 1]
    ours = [r for r in caplog.records if r.name == "bot.telegram.handlers.errors"]
    assert any("polling for updates failed" in r.getMessage() for r in ours)
    assert not [r for r in ours if r.levelno >= logging.ERROR]  # transient: a warning


def test_a_restart_resumes_from_the_right_offset(api: FakeBotApi, core: ArticleBot) -> None:
    before, during, after = f.user("Before"), f.user("During"), f.user("After")
    with running(api, core) as first:
        first_update = f.message_update(QUESTION, from_user=before)
        assert blockquotes(first.process(first_update)[-1].params["text"])
    assert api.pending_updates == []  # the shutdown confirmed what it processed
    waiting = api.push_update(f.message_update(QUESTION, from_user=during))  # while down
    with running(api, core) as second:
        second.wait_done([waiting["update_id"]])
        second.process(f.message_update(QUESTION, from_user=after))
        assert not second.processed(first_update["update_id"])
    for user in (before, during, after):  # none lost, none twice
        [answer] = answers_in(api, user["id"])
        assert "第七" in answer


# ---- the allow-list ------------------------------------------------------------------------------


@pytest.fixture
def guarded(api: FakeBotApi, core: ArticleBot) -> Iterator[tuple[RunningBot, dict[str, int]]]:
    group = f.group_chat("Allowed group")
    ids = {"alice": f.DEFAULT_USER["id"], "group": group["id"]}
    options = TelegramOptions(allowed_chat_ids=frozenset(ids.values()))
    with running(api, core, options) as bot:
        yield bot, ids


def test_allowed_chats_are_answered(guarded: tuple[RunningBot, dict[str, int]]) -> None:
    bot, ids = guarded
    assert "第七" in visible(only_message(bot.ask(QUESTION)))
    group = {"id": ids["group"], "type": "supergroup", "title": "Allowed group"}
    assert "第七" in visible(only_message(bot.ask(f"/ask {QUESTION}", chat=group)))
    inline = sent(bot.process(f.inline_query_update(QUESTION)), "answerInlineQuery")
    assert inline[0]["results"] and inline[0]["is_personal"] is True  # never cached for others


def test_other_private_chats_get_one_polite_refusal_then_silence(
    guarded: tuple[RunningBot, dict[str, int]],
) -> None:
    bot, _ = guarded
    mallory = f.user("Mallory")
    [refusal] = sent(bot.ask(QUESTION, from_user=mallory))
    assert refusal["text"] == EN.not_allowed
    for text in (QUESTION, "/start", "/new"):
        calls = [e.method for e in bot.ask(text, from_user=mallory)]
        assert set(calls) <= {"getUpdates"}, calls
    assert sent(bot.process(f.sticker_update(from_user=mallory))) == []
    assert len(bot.api.sent_messages(mallory["id"])) == 1


def test_other_groups_get_silence_and_strangers_buttons_and_inline_queries_nothing(
    guarded: tuple[RunningBot, dict[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    bot, _ = guarded
    stranger_group = f.group_chat("Somewhere else")
    for text in (f"/ask {QUESTION}", "/start", f"@{f.BOT_USERNAME} {QUESTION}"):
        assert sent(bot.ask(text, chat=stranger_group)) == []

    trudy = f.user("Trudy")
    exchanges = bot.process(f.callback_query_update("m:0000:1", from_user=trudy))
    assert toast(exchanges) == EN.not_allowed and sent(exchanges) == []

    exchanges = bot.process(f.inline_query_update(QUESTION, from_user=trudy))
    [answer] = sent(exchanges, "answerInlineQuery")
    assert answer["results"] == [] and answer["cache_time"] == 0
    assert errors(caplog) == []


# ---- rate limit and inline mode ------------------------------------------------------------------


def test_inline_queries_count_against_the_rate_limit(api: FakeBotApi, core: ArticleBot) -> None:
    with running(api, core, TelegramOptions(questions_per_minute=2)) as bot:
        assert "第七" in visible(only_message(bot.ask(QUESTION)))
        [first] = sent(bot.process(f.inline_query_update(QUESTION)), "answerInlineQuery")
        assert first["results"]
        [limited] = sent(bot.process(f.inline_query_update(QUESTION)), "answerInlineQuery")
        assert limited["results"] == [] and limited["cache_time"] == 0
        assert limited["is_personal"] is True  # the refusal is never served to anyone else
        assert limited["button"]["text"] == "Too many questions: at most 2 a minute"
        assert "at most 2" in visible(only_message(bot.ask(QUESTION)))
        [empty] = sent(bot.process(f.inline_query_update("")), "answerInlineQuery")
        assert empty["results"] == []  # typing nothing yet asks nothing: not refused either
        assert "button" not in empty
        other = f.user("Bob")
        [fine] = sent(
            bot.process(f.inline_query_update(QUESTION, from_user=other)), "answerInlineQuery"
        )
        assert fine["results"]


# ---- the entry point wires feedback and the allow-list -------------------------------------------


@pytest.mark.slow  # a whole `python -m bot telegram` process
def test_python_m_bot_telegram_with_a_broken_feedback_db_and_an_allow_list(
    api: FakeBotApi, data_dir: Path, settings: Settings, core: ArticleBot
) -> None:
    copy_index(data_dir, settings.index_dir, settings.data_dir)
    (data_dir / "feedback.sqlite3").write_bytes(b"not a database at all" * 200)
    alice, bob = f.DEFAULT_USER, f.user("Bob")
    allowed = f" {alice['id']}, -100123 ,"
    process = start_telegram(
        data_dir, api.base_url, api.token, ALLOWED_CHAT_IDS=allowed, LOG_LEVEL="WARNING"
    )
    try:
        api.push_update(f.message_update(QUESTION, from_user=bob))
        api.push_update(f.message_update(QUESTION, from_user=alice))
        api.wait_for(lambda c: c.params.get("chat_id") == alice["id"], timeout=SAFETY_TIMEOUT)
        api.wait_for(lambda c: c.params.get("chat_id") == bob["id"], timeout=SAFETY_TIMEOUT)
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=SAFETY_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    [answer] = api.sent_messages(alice["id"])
    assert "第七" in answer["text"]
    assert "👍" not in str(answer.get("reply_markup"))  # no store: no votes offered
    assert ZH_HANS.button_more in str(answer.get("reply_markup"))  # the reader's language
    assert [m["text"] for m in api.sent_messages(bob["id"])] == [EN.not_allowed]
    assert "feedback.sqlite3" in stderr and "without feedback" in stderr
    assert api.token.split(":")[1] not in stderr


# ---- ALLOWED_CHAT_IDS ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("   ", None),
        ("42", frozenset({42})),
        (" 42, -1001234567890 ,7,", frozenset({42, -1001234567890, 7})),
    ],
)
def test_allowed_chat_ids_are_read_from_the_environment(
    raw: str, expected: frozenset[int] | None
) -> None:
    assert from_env({"ALLOWED_CHAT_IDS": raw}).allowed_chat_ids == expected


@pytest.mark.parametrize("raw", ["42;43", "alice", "4 2", "0x2a", ",", "1.5"])
def test_malformed_allowed_chat_ids_are_refused_by_name(raw: str) -> None:
    with pytest.raises(ConfigError, match="ALLOWED_CHAT_IDS"):
        from_env({"ALLOWED_CHAT_IDS": raw})
