"""Which catalog a reply is written from: the operator's choice, the chat's /language, the
question's script, the chat's last question, the client's language, English — in that order.

A real Update and a real BotContext on an Application that is built but never started: no
server, no event loop.
"""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.core.batcher import Batcher
from bot.core.engine import ArticleBot
from bot.core.shelf import Shelf
from bot.messages import EN, ZH_HANS, ZH_HANT
from bot.telegram.language import FIXED, LAST, fix, speak
from bot.telegram.state import CONTEXT_TYPES, BotContext, Services, TelegramOptions, install
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import DEFAULT_TOKEN

SIMPLIFIED = "这篇文章讲了什么？"
TRADITIONAL = "這篇文章講了什麼？"
ENGLISH = "What is this article about?"

App = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture(scope="module")
def core_shelf(core: ArticleBot) -> Shelf:
    return Shelf.of(core)


def _app(shelf: Shelf, language: str | None = None) -> App:
    app: App = ApplicationBuilder().token(DEFAULT_TOKEN).context_types(CONTEXT_TYPES).build()
    install(app, Services(shelf, Batcher(shelf), TelegramOptions(language=language)))
    return app


def _context(app: App, client: str | None = "en", **message: Any) -> tuple[Update, BotContext]:
    user = f.user("Reader", language_code=client)
    update = Update.de_json(f.message_update("text", from_user=user, **message), app.bot)
    return update, BotContext.from_update(update, app)


def test_a_question_is_answered_in_its_own_script_and_remembered(core_shelf: Shelf) -> None:
    update, context = _context(_app(core_shelf), client="en")
    assert speak(update, context, SIMPLIFIED) is ZH_HANS
    assert context.chat_data is not None and context.chat_data[LAST] == "zh-Hans"
    assert speak(update, context, TRADITIONAL) is ZH_HANT
    assert speak(update, context, ENGLISH) is EN


def test_commands_follow_the_chats_last_question(core_shelf: Shelf) -> None:
    update, context = _context(_app(core_shelf), client="en")
    speak(update, context, TRADITIONAL)
    assert speak(update, context) is ZH_HANT  # /help after a Traditional question


def test_before_any_question_the_clients_language_then_english(core_shelf: Shelf) -> None:
    app = _app(core_shelf)
    assert speak(*_context(app, client="zh-hans")) is ZH_HANS
    assert speak(*_context(app, client="zh-TW")) is ZH_HANT
    assert speak(*_context(app, client="fr")) is EN
    assert speak(*_context(app, client=None)) is EN


def test_language_fixes_one_for_the_chat_until_auto(core_shelf: Shelf) -> None:
    update, context = _context(_app(core_shelf), client="en")
    fix(context, "zh-Hant")
    assert context.chat_data is not None and context.chat_data[FIXED] == "zh-Hant"
    assert speak(update, context, ENGLISH) is ZH_HANT
    assert speak(update, context) is ZH_HANT
    fix(context, None)
    assert speak(update, context) is EN  # the chat's last question was English
    fix(context, None)  # already following the questions: nothing to undo


def test_the_operators_language_wins_over_everything(core_shelf: Shelf) -> None:
    update, context = _context(_app(core_shelf, language="zh-Hans"), client="en")
    fix(context, "en")
    assert speak(update, context, TRADITIONAL) is ZH_HANS
    assert speak(update, context) is ZH_HANS


def test_a_damaged_chat_value_is_ignored(core_shelf: Shelf) -> None:
    update, context = _context(_app(core_shelf), client="zh-hant")
    assert context.chat_data is not None
    context.chat_data[FIXED] = "klingon"
    context.chat_data[LAST] = 42
    assert speak(update, context) is ZH_HANT  # falls through to the client's language
