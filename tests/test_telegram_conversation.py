"""Conversations in Telegram, end to end through the loopback Bot API server.

Follow-ups read with the previous question (and /new), the navigation buttons under
an answer, refusals that show their closest passage on demand, suggested questions,
and 👍/👎 stored in SQLite, including a database that breaks.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.build import build_core
from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackError, FeedbackStore
from bot.messages import EN
from bot.render.common import strength
from bot.telegram.state import TelegramOptions
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.paths import fresh_data_dir
from tests.helpers.telegram import (
    QUESTION,
    RunningBot,
    blockquotes,
    button,
    buttons,
    last_bot_message,
    only_message,
    only_reply,
    press,
    running,
    sent,
    toast,
    visible,
)

USERS = "津心办有多少注册用户？"
FOLLOW_UP = "那它的访问量呢？"
OPENING = "风起渤海之滨，潮涌海河两岸，是在写什么？"  # answered by paragraph 1
OFF_TOPIC = "明天天气怎么样？"
CHAT = f.DEFAULT_USER["id"]


def labels(params: dict[str, object]) -> list[str]:
    return [b["text"] for b in buttons(params)]  # type: ignore[arg-type]


# ---- follow-ups ----------------------------------------------------------------------------------


def test_a_follow_up_is_answered_from_context_and_new_resets_it(tg: RunningBot) -> None:
    first = visible(only_message(tg.ask(USERS)))
    assert "1880" in first and "previous question" not in first
    followed = visible(only_message(tg.ask(FOLLOW_UP)))
    assert "访问量超12亿次" in followed
    assert f"Read together with your previous question: {USERS}" in followed

    reset = visible(only_message(tg.ask("/new")))
    assert reset == "New conversation: your next question is read on its own."
    alone = visible(only_message(tg.ask(FOLLOW_UP)))
    assert "previous question" not in alone


def test_context_belongs_to_one_chat_and_never_bends_a_new_question(tg: RunningBot) -> None:
    only_message(tg.ask(USERS))
    other = f.user("Bob")
    assert "previous question" not in visible(only_message(tg.ask(FOLLOW_UP, from_user=other)))
    unrelated = visible(only_message(tg.ask(QUESTION)))  # stands on its own: read alone
    assert "第七" in unrelated and "previous question" not in unrelated


def test_the_context_note_escapes_what_the_user_typed(tg: RunningBot) -> None:
    only_reply(tg.ask("<b>津心办</b> & 有多少注册用户？"))
    reply = only_reply(tg.ask(FOLLOW_UP))
    assert "&lt;b&gt;津心办&lt;/b&gt; &amp; 有多少注册用户？" in reply["text"]
    assert "<b>津心办</b> & 有多少注册用户？" in visible(reply)


# ---- navigation ----------------------------------------------------------------------------------


def test_navigation_walks_the_whole_article_and_stops_at_both_ends(
    tg: RunningBot, core: ArticleBot
) -> None:
    passages = core.retriever.passages
    total = len(passages)
    answer = only_message(tg.ask(OPENING))
    assert f"Paragraph 1 of {total}" in visible(answer)
    assert labels(answer) == ["⬅ Paragraph", "Paragraph ➡", "More ➡"]  # the lead: no section

    exchanges = press(tg, button(answer, "⬅ Paragraph")["callback_data"], answer)
    assert toast(exchanges) == "That is the first paragraph."
    assert sent(exchanges) == []

    shown = answer
    for passage in passages[1:]:
        exchanges = press(tg, button(shown, "Paragraph ➡")["callback_data"], shown)
        assert toast(exchanges) is None
        shown = only_message(exchanges)
        text = visible(shown)
        assert core.show(passage, simplified=True).text in text
        assert f"Paragraph {passage.position} of {total}" in text
        assert "converted from the original" in text  # the asker reads Simplified
        expected = ["⬅ Paragraph", "Paragraph ➡"]
        if passage.section is not None:
            expected.insert(1, "Section")
        assert labels(shown) == expected

    exchanges = press(tg, button(shown, "Paragraph ➡")["callback_data"], shown)
    assert toast(exchanges) == "That is the last paragraph."
    assert sent(exchanges) == []

    back = only_message(press(tg, button(shown, "⬅ Paragraph")["callback_data"], shown))
    assert core.show(passages[-2], simplified=True).text in visible(back)


def test_traditional_askers_walk_the_original_text(tg: RunningBot, core: ArticleBot) -> None:
    answer = only_message(tg.ask("天津數字化綜合發展水平在全國排第幾？"))
    nxt = only_message(press(tg, button(answer, "Paragraph ➡")["callback_data"], answer))
    answered = core.ask("天津數字化綜合發展水平在全國排第幾？").quotes[0].passage
    passage = core.neighbour(answered, 1)
    assert passage is not None and passage.text in visible(nxt) and "converted" not in visible(nxt)


def test_the_section_button_shows_the_whole_section(tg: RunningBot, core: ArticleBot) -> None:
    answer = only_message(tg.ask(QUESTION))
    exchanges = press(tg, button(answer, "Section")["callback_data"], answer)
    assert toast(exchanges) is None
    text = visible(only_message(exchanges))
    number = core.ask(QUESTION).quotes[0].passage.section
    assert number is not None
    section = core.sections[number - 1]
    assert text.startswith(f"{number}. {section.heading}")
    for paragraph in section.paragraphs:
        assert paragraph.text in text
    assert sent(exchanges, "editMessageText") == []  # the answer stays as it was


def test_navigation_buttons_survive_a_restart(api: FakeBotApi, core: ArticleBot) -> None:
    with running(api, core) as before:
        answer = only_message(before.ask(QUESTION))
    with running(api, core) as after:
        nxt = only_message(press(after, button(answer, "Paragraph ➡")["callback_data"], answer))
    position = core.ask(QUESTION).quotes[0].position + 1  # passage ids are stable, not per process
    assert f"Paragraph {position} of {len(core.retriever.passages)}" in visible(nxt)


# ---- refusals ------------------------------------------------------------------------------------


def test_a_refusal_explains_itself_and_shows_the_closest_passage_on_demand(
    tg: RunningBot, core: ArticleBot
) -> None:
    closest = core.ask(OFF_TOPIC).closest
    assert closest is not None
    exchanges = tg.ask(OFF_TOPIC)
    reply, html = only_message(exchanges), only_reply(exchanges)["text"]
    text = visible(reply)
    assert text.startswith("The article does not mention “明天天气”.")  # and says what is missing
    total = len(core.retriever.passages)
    assert f"The closest passage is paragraph {closest.position} of {total}, in" in text
    assert f": a {strength(closest)}." in text and "match" in strength(closest)
    assert str(closest.heading or "Introduction") in text
    for number, section in enumerate(core.sections, start=1):  # and the section list
        assert f"/section {number} · {section.heading}" in text
    assert not blockquotes(html)  # nothing quoted unasked
    assert labels(reply) == ["Show it anyway"]

    exchanges = press(tg, button(reply, "Show it anyway")["callback_data"], reply)
    assert toast(exchanges) is None
    shown = only_message(exchanges)
    assert visible(shown).startswith(f"Closest passage ({strength(closest)}), shown anyway:")
    [quote] = blockquotes(only_reply(exchanges)["text"])
    assert closest.text in visible(shown) and "<b>" in quote  # its best sentence marked
    assert "⬅ Paragraph" in labels(shown) and "Paragraph ➡" in labels(shown)


# ---- suggested questions -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/start", "/help"])
def test_suggested_question_buttons_ask_their_question(
    tg: RunningBot, core: ArticleBot, command: str
) -> None:
    questions = core.article.suggested_questions
    assert len(questions) == 4
    offer = only_message(tg.ask(command))
    assert labels(offer) == list(questions)
    for label in ("津心办有多少注册用户？", QUESTION):
        exchanges = press(tg, button(offer, label)["callback_data"], offer)
        assert toast(exchanges) is None
        reply = only_message(exchanges)
        expected = core.ask(label).quotes[0]
        assert visible(reply).startswith(f"❓ {label}")
        assert expected.text in visible(reply)
        assert "More ➡" in labels(reply)


def test_suggested_questions_count_against_the_rate_limit(
    api: FakeBotApi, core: ArticleBot
) -> None:
    with running(api, core, TelegramOptions(questions_per_minute=1)) as bot:
        offer = only_message(bot.ask("/start"))
        data = buttons(offer)[0]["callback_data"]
        assert "第七" in visible(only_message(press(bot, data, offer)))
        assert "at most 1 questions a minute" in visible(only_message(press(bot, data, offer)))


def test_without_a_sidecar_the_start_buttons_open_the_sections(
    api: FakeBotApi, tmp_path: Path, model_cache: Path
) -> None:
    article = tmp_path / "plain.md"
    article.write_text(
        "# 小城图书馆\n\n小城图书馆建于1980年。\n\n"
        "## 开放时间\n\n图书馆每天上午九点开门，晚上八点关门。\n\n"
        "## 借阅规则\n\n每位读者最多可以借五本书，借期一个月。\n",
        encoding="utf-8",
    )
    small = build_core(Settings(article=article, data_dir=fresh_data_dir(tmp_path, model_cache)))
    assert small.article.suggested_questions == ()
    with running(api, small) as bot:
        offer = only_message(bot.ask("/start"))
        assert labels(offer) == ["1. 开放时间", "2. 借阅规则"]
        assert "tap a section below" in visible(offer)
        section = only_message(press(bot, button(offer, "2. 借阅规则")["callback_data"], offer))
        assert visible(section).startswith("2. 借阅规则") and "五本书" in visible(section)


# ---- feedback ------------------------------------------------------------------------------------


def votes(path: Path) -> list[tuple[str, str, str, int]]:
    with sqlite3.connect(path / "feedback.sqlite3") as db:
        return list(db.execute("SELECT chat_hash, question, passage_id, vote FROM votes"))


def test_a_vote_lands_in_sqlite_hashed_and_a_second_vote_replaces_it(
    api: FakeBotApi, core: ArticleBot, tmp_path: Path
) -> None:
    store = FeedbackStore.open(tmp_path)
    expected = core.ask(USERS).quotes
    with running(api, core, feedback=store) as bot:
        answer = only_message(bot.ask(USERS))
        assert labels(answer)[-3:] == ["More ➡", "👍", "👎"]
        assert toast(press(bot, button(answer, "👍")["callback_data"], answer)) == EN.thanks
        [(chat_hash, question, passage_id, vote)] = votes(tmp_path)
        assert (question, passage_id, vote) == (USERS, expected[0].passage.id, 1)
        assert chat_hash == store.chat_hash(CHAT) and str(CHAT) not in chat_hash
        assert len(chat_hash) == 32

        assert toast(press(bot, button(answer, "👎")["callback_data"], answer)) == EN.thanks
        assert [row[3] for row in votes(tmp_path)] == [-1]  # replaced, not added

        more = only_message(press(bot, button(answer, "More ➡")["callback_data"], answer))
        assert toast(press(bot, button(more, "👍")["callback_data"], more)) == EN.thanks
        rows = {(pid, vote) for _, _, pid, vote in votes(tmp_path)}
        assert rows == {(expected[0].passage.id, -1), (expected[1].passage.id, 1)}
    raw = (tmp_path / "feedback.sqlite3").read_bytes()
    assert str(CHAT).encode() not in raw and f.DEFAULT_USER["username"].encode() not in raw


def test_a_database_corrupted_at_start_means_no_feedback_but_answers(
    api: FakeBotApi, core: ArticleBot, tmp_path: Path
) -> None:
    (tmp_path / "feedback.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(FeedbackError, match=r"feedback\.sqlite3"):
        FeedbackStore.open(tmp_path)  # what `python -m bot telegram` does: it goes on with None
    with running(api, core, feedback=None) as bot:
        answer = only_message(bot.ask(USERS))
        assert "1880" in visible(answer)
        assert "👍" not in labels(answer)  # nothing offered that cannot be kept
        key = button(answer, "More ➡")["callback_data"].split(":")[1]
        assert toast(press(bot, f"v:{key}:0:u", answer)) == EN.feedback_off


@pytest.mark.parametrize("damage", ["corrupted", "locked"])
def test_a_database_that_breaks_while_running_is_reported_and_answering_goes_on(
    api: FakeBotApi,
    core: ArticleBot,
    tmp_path: Path,
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FeedbackStore.open(tmp_path)
    store._db.execute("PRAGMA busy_timeout = 50")  # fail fast when locked
    path = tmp_path / "feedback.sqlite3"
    locker = sqlite3.connect(path)
    with running(api, core, feedback=store) as bot:
        answer = only_message(bot.ask(USERS))
        if damage == "corrupted":
            path.write_bytes(b"\x00garbage" * 4096)
        else:
            locker.execute("BEGIN EXCLUSIVE")
        exchanges = press(bot, button(answer, "👍")["callback_data"], answer)
        assert toast(exchanges) == EN.feedback_failed
        assert sent(exchanges) == []
        assert "第七" in visible(only_message(bot.ask(QUESTION)))
    locker.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("feedback.sqlite3" in w for w in warnings)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_buttons_of_an_earlier_answer_still_vote_for_that_answer(
    api: FakeBotApi, core: ArticleBot, tmp_path: Path
) -> None:
    store = FeedbackStore.open(tmp_path)
    with running(api, core, feedback=store) as bot:
        first = only_message(bot.ask(USERS))
        only_message(bot.ask(QUESTION))
        assert toast(press(bot, button(first, "👎")["callback_data"], first)) == EN.thanks
    [(_, question, passage_id, vote)] = votes(tmp_path)
    assert (question, vote) == (USERS, -1)
    assert passage_id == core.ask(USERS).quotes[0].passage.id
    assert last_bot_message(api, CHAT)  # the chat is still there, nothing was edited away
