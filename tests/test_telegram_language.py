"""The reader's language end to end over HTTP: replies follow the question's script,
commands the chat's last question or the client's language, and /language fixes one."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bot.core.engine import ArticleBot
from bot.messages import CATALOGS, EN, ZH_HANS, ZH_HANT, Messages
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.telegram import (
    QUESTION,
    TRADITIONAL,
    RunningBot,
    button,
    buttons,
    only_message,
    only_reply,
    press,
    running,
    toast,
    visible,
)


@pytest.fixture
def readers(api: FakeBotApi, core: ArticleBot) -> Iterator[RunningBot]:
    """The bot as deployed: no language fixed by the operator."""
    with running(api, core, language=None) as bot:
        yield bot


def labels(message: dict[str, object]) -> list[str]:
    return [b["text"] for b in buttons(message)]  # type: ignore[arg-type]


def test_every_catalog_has_every_message_and_every_entry() -> None:
    for name, catalog in CATALOGS.items():
        for field in dataclasses.fields(Messages):
            value = getattr(catalog, field.name)
            assert value, (name, field.name)
            if isinstance(value, dict):
                assert value.keys() == getattr(EN, field.name).keys(), (name, field.name)
    assert ZH_HANT.not_covered != ZH_HANS.not_covered  # converted, not copied


def test_a_simplified_question_gets_chinese_buttons_and_notes(readers: RunningBot) -> None:
    answer = only_message(readers.ask(QUESTION))
    text = visible(answer)
    assert "第七" in text and ZH_HANS.converted in text
    assert "第 " in text and " 段，共 " in text
    assert labels(answer)[:3] == [
        ZH_HANS.button_previous_paragraph,
        ZH_HANS.button_section,
        ZH_HANS.button_next_paragraph,
    ]
    assert ZH_HANS.button_more in labels(answer)
    exchanges = press(readers, button(answer, ZH_HANS.button_previous_paragraph)["callback_data"])
    assert ZH_HANS.converted in visible(only_message(exchanges))


def test_a_traditional_question_gets_traditional_words(readers: RunningBot) -> None:
    readers.ask(TRADITIONAL)
    help_text = visible(only_reply(readers.ask("/help")))  # a command: the last question's
    assert ZH_HANT.help_inline in help_text and ZH_HANS.help_inline not in help_text


def test_an_english_question_gets_english(readers: RunningBot) -> None:
    answer = only_message(readers.ask("What is 津心辦?"))
    assert EN.button_more in labels(answer) or EN.button_show_anyway in labels(answer)


def test_before_any_question_the_client_language_decides(readers: RunningBot) -> None:
    chinese = f.user("Wang", language_code="zh-hans")
    start = visible(only_reply(readers.ask("/start", from_user=chinese)))
    assert ZH_HANS.start_more in start
    taiwanese = f.user("Lin", language_code="zh-TW")
    assert ZH_HANT.start_more in visible(only_reply(readers.ask("/start", from_user=taiwanese)))
    assert EN.start_more in visible(only_reply(readers.ask("/start", from_user=f.user("Ann"))))


def test_language_fixes_the_reply_language_until_reset(readers: RunningBot) -> None:
    menu = only_message(readers.ask("/language"))
    assert len(buttons(menu)) == 4
    exchanges = press(readers, button(menu, "English")["callback_data"], menu)
    assert toast(exchanges) is None
    assert visible(only_message(exchanges)) == EN.language_set
    answer = only_message(readers.ask(QUESTION))  # Simplified, but English was chosen
    assert EN.converted in visible(answer) and EN.button_more in labels(answer)
    follow = button(menu, EN.button_follow_language)["callback_data"]
    assert visible(only_message(press(readers, follow, menu))) == EN.language_follow
    assert ZH_HANS.converted in visible(only_message(readers.ask(QUESTION)))


def test_the_chinese_command_menu_is_registered(readers: RunningBot) -> None:
    default, chinese = readers.api.calls_to("setMyCommands")
    assert [c["description"] for c in chinese["commands"]] == list(ZH_HANS.commands.values())
    assert [c["description"] for c in default["commands"]] == list(EN.commands.values())


def test_a_refusal_names_the_missing_term_in_the_askers_language(readers: RunningBot) -> None:
    message = only_message(readers.ask("明天天气怎么样？"))
    missing = ZH_HANS.not_mentioned.format(terms=ZH_HANS.term.format(term="明天天气"))
    assert visible(message).startswith(missing)  # 这篇文章没有提到「明天天气」。
    assert labels(message) == [ZH_HANS.button_show_anyway]
