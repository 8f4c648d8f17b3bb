"""The Telegram adapter end to end: the real Application over HTTP against FakeBotApi.

Each test runs the bot the way ``python -m bot telegram`` does (same builder, same
post_init/post_shutdown sequence as ``run_polling``) on an event loop in a background
thread, so the tests themselves are plain synchronous code: push an update, wait until
the Application has finished with it, look at what reached the fake server. The fake
parses our HTML by Telegram's rules and enforces its length limits, so a 200 from it
means Telegram would have accepted the message. The harness lives in ``telegram_harness``;
conversations (follow-ups, navigation, refusals, feedback) are in
``test_telegram_conversation.py``, faults and the allow-list in ``test_telegram_faults.py``.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bot.build import build_core
from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.telegram.adapter import COMMAND_HANDLERS
from bot.telegram.liveness import check
from bot.telegram.state import TelegramOptions
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import FakeBotApi, parse_html
from corpus.ingest import MAX_PARAGRAPH_CHARS
from tests.helpers.paths import SAFETY_TIMEOUT, fresh_data_dir, run_bot
from tests.helpers.telegram import (
    MENTION,
    QUESTION,
    TRADITIONAL,
    WEBHOOK_SECRET,
    RunningBot,
    blockquotes,
    bold,
    button,
    buttons,
    for_chat,
    free_port,
    last_bot_message,
    only_reply,
    press,
    running,
    sent,
    statuses,
    toast,
    visible,
)

# ---- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "heading", "subheading", "converted"),
    [
        (QUESTION, "数字天津", "体悟网络文明建设的“获”与“得”", True),
        (TRADITIONAL, "數字天津", "體悟網絡文明建設的“獲”與“得”", False),
    ],
    ids=["simplified", "traditional"],
)
def test_a_private_question_gets_the_quoted_paragraph(
    tg: RunningBot, question: str, heading: str, subheading: str, converted: bool
) -> None:
    reply = only_reply(tg.ask(question))
    html = reply["text"]
    [quote] = blockquotes(html)
    [sentence] = bold(quote)
    assert "第七" in sentence and ("全国" in sentence) is converted
    assert f"<b>{heading}</b>" in html and f"<b>{subheading}</b>" in html
    core = tg.services.shelf.first()[1]
    position = core.ask(question).quotes[0].position
    assert f"Paragraph {position} of {len(core.retriever.passages)}" in html
    assert ("converted from the original" in html) is converted
    # What Telegram shows: the quote as a blockquote entity, the sentence bold inside it.
    [message] = tg.api.bot_messages(f.DEFAULT_USER["id"])[-1:]
    kinds = {e["type"] for e in message["entities"]}
    assert {"blockquote", "bold", "italic"} <= kinds
    assert [b["text"] for b in buttons(reply)] == [
        "⬅ Paragraph",
        "Section",
        "Paragraph ➡",
        "More ➡",
    ]
    for b in buttons(reply):  # compact, ASCII, never the question
        assert len(b["callback_data"].encode()) <= 64 and b["callback_data"].isascii()


def test_the_typing_indicator_is_shown_while_answering(tg: RunningBot) -> None:
    exchanges = tg.ask(QUESTION)
    methods = [e.method for e in exchanges if e.method != "getUpdates"]
    assert methods == ["sendChatAction", "sendMessage"]
    assert sent(exchanges, "sendChatAction")[0]["action"] == "typing"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("你好", "Hello!"),
        ("🙂🙂", "Please type a question"),
        ("问" * 600, "too long"),
    ],
    ids=["greeting", "empty", "too-long"],
)
def test_questions_without_a_quote_get_a_plain_reply(
    tg: RunningBot, question: str, expected: str
) -> None:
    reply = only_reply(tg.ask(question))
    assert expected in visible(reply)
    assert "<blockquote>" not in reply["text"] and not buttons(reply)


@pytest.mark.parametrize(
    ("update", "kind"),
    [
        (f.sticker_update, "stickers"),
        (f.photo_update, "photos"),
        (f.voice_update, "voice messages"),
        (f.document_update, "files"),
        (f.location_update, "locations"),
    ],
)
def test_non_text_messages_get_a_hint_to_type(tg: RunningBot, update: Any, kind: str) -> None:
    reply = only_reply(tg.process(update()))
    assert f"I can only read text questions, not {kind}." in visible(reply)


def test_edited_messages_and_channel_posts_get_silence(
    tg: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    original = f.message_update(QUESTION)
    assert "第七" in visible(only_reply(tg.process(original)))
    quiet = [
        f.edited_message_update("津心办有多少注册用户？", original=original),
        f.edited_message_update("/start", original=original),
        f.channel_post_update(QUESTION),
        f.channel_post_update("/start"),
        f.channel_post_update(f"{MENTION} {QUESTION}"),
    ]
    for update in quiet:
        exchanges = tg.process(update)
        assert [e.method for e in exchanges if e.method != "getUpdates"] == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---- commands ------------------------------------------------------------------------------------


def section_headings(core: ArticleBot) -> list[str]:
    return [s.heading for s in core.sections]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/start", [QUESTION, "/sections", "/help", "tap a question below"]),
        (
            "/help",
            ["/sections", "/section N", "/new", "/about", "/ask question", "More", "👍/👎"],
        ),
        (
            "/about",
            [
                "Title: 2022年中國網絡文明大會今日在津啟幕",
                "Date: 2022-08-28",
                " in 4 sections",
                "Content hash:",
                "Model:",
                "Index:",
            ],
        ),
        ("/section 99", ["There is no section 99: choose 1 to 4."]),
        ("/section 0", ["There is no section 0"]),
        ("/section abc", ["Usage: /section N, where N is 1 to 4."]),
        ("/section", ["Usage: /section N"]),
        ("/section 1 2", ["Usage: /section N"]),
        ("/ask", ["Usage: /ask your question"]),
        (f"/start@{f.BOT_USERNAME}", [QUESTION]),
    ],
)
def test_commands(tg: RunningBot, command: str, expected: list[str]) -> None:
    text = visible(only_reply(tg.ask(command)))
    for fragment in expected:
        assert fragment in text


def test_sections_lists_every_heading(tg: RunningBot, core: ArticleBot) -> None:
    text = visible(only_reply(tg.ask("/sections")))
    for number, heading in enumerate(section_headings(core), start=1):
        assert f"/section {number} · {heading}" in text


def test_section_shows_its_paragraphs(tg: RunningBot, core: ArticleBot) -> None:
    reply = only_reply(tg.ask("/section 2"))
    text = visible(reply)
    section = core.sections[1]
    assert text.startswith(f"2. {section.heading}\n{section.subheading}")
    for paragraph in section.paragraphs:
        assert f"¶{paragraph.position} {paragraph.text}" in text
    assert not buttons(reply)  # a short section fits in one page


def test_every_command_in_the_menu_is_answered(tg: RunningBot) -> None:
    registered, chinese = tg.api.calls_to("setMyCommands")
    names = [c["command"] for c in registered["commands"]]
    assert names == list(COMMAND_HANDLERS) == [c["command"] for c in chinese["commands"]]
    assert set(names) == {
        *("start", "help", "sections", "section", "new", "about", "ask", "language", "articles")
    }
    assert chinese["language_code"] == "zh" and "language_code" not in registered
    for name in names:
        assert len(sent(tg.ask(f"/{name}"))) == 1, name


def test_the_bot_starts_even_if_the_command_menu_cannot_be_set(
    api: FakeBotApi, core: ArticleBot, caplog: pytest.LogCaptureFixture
) -> None:
    api.inject("setMyCommands", error_code=500, times=4)  # the call and its 3 retries
    with running(api, core, TelegramOptions(retry_backoff=0.01)) as bot:
        assert "第七" in visible(only_reply(bot.ask(QUESTION)))
    assert any("command" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_the_heartbeat_is_touched_while_running(
    api: FakeBotApi, core: ArticleBot, tmp_path: Path
) -> None:
    heartbeat = tmp_path / "data" / "telegram.heartbeat"
    with running(api, core, TelegramOptions(heartbeat=heartbeat)) as bot:
        assert bot.ask("津心办是什么？")  # a question answered: the record says so too
        healthy, why = check(heartbeat)
        assert healthy, why


def test_too_many_questions_are_refused_politely(api: FakeBotApi, core: ArticleBot) -> None:
    with running(api, core, TelegramOptions(questions_per_minute=2)) as bot:
        for _ in range(2):
            assert "第七" in visible(only_reply(bot.ask(QUESTION)))
        refused = only_reply(bot.ask(QUESTION))
        assert "at most 2 questions a minute" in visible(refused)
        other = f.user("Bob")
        assert "第七" in visible(only_reply(bot.ask(QUESTION, from_user=other)))


# ---- buttons -------------------------------------------------------------------------------------


def test_more_shows_the_next_best_passages_in_turn(tg: RunningBot, core: ArticleBot) -> None:
    expected = core.ask(QUESTION).quotes
    assert len(expected) == 3
    key = button(only_reply(tg.ask(QUESTION)), "More ➡")["callback_data"].split(":")[1]
    chat = f.DEFAULT_USER["id"]
    for rank in (1, 2):
        answer = last_bot_message(tg.api, chat)
        more = button(answer, "More ➡")
        assert more["callback_data"] == f"m:{key}:{rank}"
        exchanges = press(tg, more["callback_data"], answer)
        assert toast(exchanges) is None
        reply = only_reply(exchanges)
        text = visible(reply)
        assert text.startswith(f"Next best passage ({rank + 1} of 3):")
        assert f"Paragraph {expected[rank].position} of " in text
        assert expected[rank].text in text
        walk = button(reply, "Paragraph ➡")["callback_data"]  # navigation from this passage
        assert walk == f"n:{expected[rank].passage.id}:s"
    last = last_bot_message(tg.api, chat)
    assert "More ➡" not in [b["text"] for b in buttons(last)]  # the last one has no "More"
    assert toast(press(tg, f"m:{key}:3", answer)) == "No more passages."


def test_a_more_button_from_before_a_restart_has_expired(api: FakeBotApi, core: ArticleBot) -> None:
    chat = f.DEFAULT_USER["id"]
    with running(api, core) as before:
        before.ask(QUESTION)
        old = last_bot_message(api, chat)
    with running(api, core) as after:
        assert buttons(only_reply(after.ask("津心办累计注册人数是多少？")))
        exchanges = press(after, button(old, "More ➡")["callback_data"], old)
    assert "expired" in sent(exchanges, "answerCallbackQuery")[0]["text"]
    assert sent(exchanges) == []


@pytest.mark.parametrize(
    "data",
    [
        "m:zzz:1",
        "garbage",
        "",
        "s:99:0",
        "m:1:99",
        "s:1:x",
        "c:zzz",
        "v:zzz:0:u",
        "v:zzz:0:x",
        "n:pdeadbeef:s",
        "p:p3edf9c4d:x",
        "n:" + "p" * 60 + ":s",
        "w:99",
        "w:0",
        "q:99",
        "q:-1",
    ],
)
def test_forged_or_stale_buttons_are_answered_politely(
    tg: RunningBot, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    exchanges = press(tg, data)
    [answered] = sent(exchanges, "answerCallbackQuery")
    assert "expired" in answered["text"] and "ask" in answered["text"]
    assert sent(exchanges) == [] and sent(exchanges, "editMessageText") == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# ---- groups --------------------------------------------------------------------------------------


def test_in_groups_the_bot_speaks_only_when_spoken_to(tg: RunningBot) -> None:
    group = f.group_chat()
    assert [e.method for e in tg.ask(QUESTION, chat=group) if e.method != "getUpdates"] == []
    assert sent(tg.ask("/sections", chat=group))  # commands work everywhere

    asked = only_reply(tg.ask(f"/ask {QUESTION}", chat=group))
    assert "第七" in visible(asked)
    addressed = only_reply(tg.ask(f"/ask@{f.BOT_USERNAME} {QUESTION}", chat=group))
    assert "第七" in visible(addressed)
    mentioned = only_reply(tg.ask(f"{MENTION} {QUESTION}", chat=group))
    assert "第七" in visible(mentioned)

    bot_message = last_bot_message(tg.api, group["id"])
    follow_up = only_reply(tg.ask("津心办累计注册人数是多少？", chat=group, reply_to=bot_message))
    assert "1880" in visible(follow_up)

    someone = f.message("I think so", chat=group, from_user=f.user("Carol"))
    assert sent(tg.ask(QUESTION, chat=group, reply_to=someone)) == []
    assert sent(tg.process(f.sticker_update(chat=group))) == []


def test_a_bare_mention_asks_for_a_question(tg: RunningBot) -> None:
    reply = only_reply(tg.ask(MENTION, chat=f.group_chat()))
    assert "Please type a question" in visible(reply)


# ---- inline mode ---------------------------------------------------------------------------------


def test_inline_queries_offer_quotes_to_share(tg: RunningBot) -> None:
    exchanges = tg.process(f.inline_query_update(QUESTION))
    assert statuses(exchanges, "answerInlineQuery") == [200]  # the fake checked every result
    [answer] = sent(exchanges, "answerInlineQuery")
    results = answer["results"]
    assert 1 <= len(results) <= 5
    for result in results:
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML"
        assert blockquotes(content["message_text"])
    assert "第七" in parse_html(results[0]["input_message_content"]["message_text"])[0]


@pytest.mark.parametrize("query", ["", "明天天气怎么样？"])
def test_inline_queries_without_an_answer_get_no_results(tg: RunningBot, query: str) -> None:
    exchanges = tg.process(f.inline_query_update(query))
    [answer] = sent(exchanges, "answerInlineQuery")
    assert answer["results"] == []


# ---- long replies --------------------------------------------------------------------------------

LONG_QUESTION = "第7座灯塔建于哪一年？"


def long_article(directory: Path) -> Path:
    """A Markdown article whose one section is a single paragraph of over 10,000 characters."""
    sentences, length, i = [], 0, 0
    while length < 10_000:
        i += 1
        sentence = f"第{i}座灯塔建于{1800 + i}年，塔高{20 + i % 30}米，灯光射程{10 + i % 15}海里。"
        sentences.append(sentence)
        length += len(sentence)
    text = (
        "# 海岸灯塔年鉴\n\n本年鉴记录北方海岸每一座灯塔的建造年份、高度与射程。\n\n"
        "## 灯塔档案\n### 北方海岸的灯塔\n\n" + "".join(sentences) + "\n\n"
        "## 参观指南\n\n灯塔每年四月至十月向游客开放，门票六欧元，十二岁以下儿童免费。\n"
    )
    path = directory / "lighthouses.md"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def long_core(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> ArticleBot:
    base = tmp_path_factory.mktemp("long")
    data_dir = fresh_data_dir(base, model_cache)
    return build_core(Settings(article=long_article(base), data_dir=data_dir))


def huge_paragraph(core: ArticleBot) -> str:
    """The 10,000-character paragraph, as ingest split it between sentences (issue 22)."""
    [section, _] = core.article.sections
    pieces = [p.text for p in section.paragraphs]
    assert len(pieces) > 3 and all(len(piece) <= MAX_PARAGRAPH_CHARS for piece in pieces)
    text = "".join(pieces)
    assert len(text) > 10_000
    return text


def assert_valid_messages(texts: list[str]) -> None:
    for text in texts:
        shown, _ = parse_html(text)  # raises like Telegram on broken HTML
        assert 0 < len(shown) <= 4096


def test_a_long_paragraph_is_answered_in_one_message_the_rest_a_button_away(
    api: FakeBotApi, long_core: ArticleBot
) -> None:
    total = sum(1 for _ in long_core.article.paragraphs())
    with running(api, long_core) as bot:
        exchanges = bot.ask(LONG_QUESTION)
        reply = only_reply(exchanges)
        assert_valid_messages([reply["text"]])
        assert "第7座灯塔建于1807年" in visible(reply)
        assert f"Paragraph 2 of {total}" in visible(reply)
        walked = press(bot, button(reply, "Paragraph ➡")["callback_data"])
        assert f"Paragraph 3 of {total}" in visible(only_reply(walked))
    shown = re.sub(r"\s", "", visible(reply))
    assert shown.split("灯塔档案")[0] in huge_paragraph(long_core)  # one piece, whole


def test_a_long_section_is_paged_without_losing_text(
    api: FakeBotApi, long_core: ArticleBot
) -> None:
    pages: list[str] = []
    with running(api, long_core) as bot:
        first = only_reply(bot.ask("/section 1"))
        pages.append(first["text"])
        chat = f.DEFAULT_USER["id"]
        while nxt := [b for b in buttons(last_bot_message(api, chat)) if "Next" in b["text"]]:
            exchanges = press(bot, nxt[0]["callback_data"], last_bot_message(api, chat))
            assert statuses(exchanges, "editMessageText") == [200]
            [edit] = sent(exchanges, "editMessageText")
            pages.append(edit["text"])
        assert len(pages) >= 3
        back = [b for b in buttons(last_bot_message(api, chat)) if "Previous" in b["text"]]
        exchanges = press(bot, back[0]["callback_data"], last_bot_message(api, chat))
        assert sent(exchanges, "editMessageText")[0]["text"] == pages[-2]
    assert_valid_messages(pages)
    shown = "".join(parse_html(page)[0] for page in pages)
    assert huge_paragraph(long_core) in re.sub(r"\s|¶\d+", "", shown)


def test_an_inline_answer_from_a_long_paragraph_fits_in_one_message(
    api: FakeBotApi, long_core: ArticleBot
) -> None:
    with running(api, long_core) as bot:
        exchanges = bot.process(f.inline_query_update(LONG_QUESTION))
    assert statuses(exchanges, "answerInlineQuery") == [200]
    [answer] = sent(exchanges, "answerInlineQuery")
    texts = [r["input_message_content"]["message_text"] for r in answer["results"]]
    assert texts
    assert_valid_messages(texts)
    shown = parse_html(texts[0])[0]
    assert "第7座灯塔建于1807年" in shown and "Paragraph 2 of " in shown


# ---- failures at the network edge ----------------------------------------------------------------


def test_flood_control_is_waited_out_and_the_reply_sent_once(tg: RunningBot) -> None:
    chat = f.DEFAULT_USER["id"]
    tg.api.inject("sendMessage", error_code=429, retry_after=1, when=for_chat(chat))
    started = time.monotonic()
    exchanges = tg.ask(QUESTION)
    assert time.monotonic() - started >= 1.0  # Telegram's retry_after was honoured
    assert statuses(exchanges) == [429, 200]
    assert len(tg.api.sent_messages(chat)) == 1
    assert "第七" in visible(tg.api.sent_messages(chat)[0])


def test_html_rejected_by_telegram_is_resent_as_plain_text(
    tg: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    tg.api.inject(
        "sendMessage",
        error_code=400,
        description="Bad Request: can't parse entities: Unsupported start tag at byte offset 0",
    )
    exchanges = tg.ask(QUESTION)
    assert statuses(exchanges) == [400, 200]
    rejected, resent = (e.params for e in exchanges if e.method == "sendMessage")
    assert "parse_mode" not in resent
    assert resent["text"] == parse_html(rejected["text"])[0]  # the same words, no markup
    assert buttons(resent) == buttons(rejected)
    assert any("plain text" in r.getMessage() for r in caplog.records)


def test_a_failing_handler_is_logged_the_user_told_and_the_bot_goes_on(
    api: FakeBotApi, core: ArticleBot, caplog: pytest.LogCaptureFixture
) -> None:
    options = TelegramOptions(send_retries=2, retry_backoff=0.01)
    with running(api, core, options) as bot:
        api.inject("sendMessage", error_code=500, times=3)  # the send and both retries fail
        update = f.message_update(QUESTION)
        exchanges = bot.process(update)
        assert statuses(exchanges) == [500, 500, 500, 200]
        assert "something went wrong" in visible(sent(exchanges)[0])
        [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert str(update["update_id"]) in record.getMessage()
        assert record.exc_info is not None
        assert "第七" in visible(only_reply(bot.ask(QUESTION)))


def test_a_chat_that_blocked_the_bot_is_not_an_error(
    tg: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    tg.api.inject("sendMessage", error_code=403)
    exchanges = tg.ask(QUESTION)
    assert statuses(exchanges) == [403]  # no apology sent into a chat that refuses messages
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("cannot write" in r.getMessage() for r in caplog.records)


# ---- webhook mode --------------------------------------------------------------------------------


def test_webhook_mode_accepts_only_updates_with_the_secret(
    api: FakeBotApi, core: ArticleBot
) -> None:
    with running(api, core, webhook_port=free_port()) as bot:
        assert bot.webhook_url is not None
        assert api.webhook == {
            "url": bot.webhook_url,
            "secret_token": WEBHOOK_SECRET,
            "max_connections": 40,
            "ip_address": "127.0.0.1",
        }
        stranger, forger = f.user("Mallory"), f.user("Trudy")
        unsigned = f.message_update(QUESTION, from_user=stranger)
        assert api.post_webhook(bot.webhook_url, unsigned) == 403
        forged = f.message_update(QUESTION, from_user=forger)
        assert api.post_webhook(bot.webhook_url, forged, "wrong-secret-0123456789") == 403
        reply = only_reply(bot.ask(QUESTION))
        assert "第七" in visible(reply)
        assert not bot.processed(unsigned["update_id"]) and not bot.processed(forged["update_id"])
        assert api.sent_messages(stranger["id"]) == api.sent_messages(forger["id"]) == []


# ---- load ----------------------------------------------------------------------------------------


def test_twenty_chats_at_once_are_each_answered_exactly_once(tg: RunningBot) -> None:
    questions = [QUESTION, TRADITIONAL, "津心办累计注册人数是多少？", "What is 津心辦?"]
    askers = [f.user(f"User {i}") for i in range(20)]
    updates = [
        f.message_update(questions[i % len(questions)], from_user=asker)
        for i, asker in enumerate(askers)
    ]
    pushed = tg.api.push_updates(updates)
    tg.wait_done([u["update_id"] for u in pushed], timeout=SAFETY_TIMEOUT)
    for asker in askers:
        [reply] = tg.api.sent_messages(asker["id"])
        assert blockquotes(reply["text"]), visible(reply)
    assert all(e.status == 200 for e in tg.api.exchanges if e.method != "getUpdates")


# ---- the entry point -----------------------------------------------------------------------------


def run_telegram(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_bot(["telegram", *args], tmp_path / "data", **env)


def test_a_missing_token_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_telegram(tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: TELEGRAM_BOT_TOKEN is not set")


def test_a_malformed_token_is_refused_without_echoing_it(tmp_path: Path) -> None:
    token = "12345-Secret-Pasted-Wrong-9f8e7d6c5b4a"
    result = run_telegram(tmp_path, TELEGRAM_BOT_TOKEN=token)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "malformed" in result.stderr
    assert "Secret-Pasted" not in result.stdout + result.stderr


def test_webhook_mode_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    token = "123456:" + "A" * 35
    result = run_telegram(
        tmp_path, "--webhook-url", "https://bot.example.org/telegram", TELEGRAM_BOT_TOKEN=token
    )
    assert result.returncode == 2
    assert "webhook mode needs a secret" in result.stderr
    assert "A" * 35 not in result.stdout + result.stderr


def test_flood_control_at_start_is_waited_out_not_a_traceback(api: FakeBotApi) -> None:
    """A 429 on the first getMe (a restart in a busy moment) is waited out."""
    import asyncio

    from bot.__main__ import _get_me

    api.inject("getMe", error_code=429, retry_after=1)
    asyncio.run(_get_me(api.token, api.base_url))
    statuses = [e.status for e in api.exchanges if e.method == "getMe"]
    assert statuses[0] == 429 and 200 in statuses, statuses
