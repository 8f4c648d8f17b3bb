"""The buttons under the bot's messages, built without an Application: labels and data as
the user's client receives them. The data strings are a contract with every message already
sent (see ``bot.telegram.callbacks``), so they are asserted whole.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardMarkup

from bot.core.answer import Answer, AnswerKind
from bot.core.batcher import Batcher
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackStore
from bot.core.shelf import Shelf
from bot.messages import EN, ZH_HANS
from bot.render.html import shorten
from bot.telegram import keyboards
from bot.telegram.remembered import recall
from bot.telegram.state import Services
from tests.helpers.telegram import QUESTION

Rows = list[list[tuple[str, str]]]


def rows(markup: InlineKeyboardMarkup | None) -> Rows:
    """The keyboard as (label, callback data) rows."""
    assert markup is not None
    return [[(b.text, str(b.callback_data)) for b in row] for row in markup.inline_keyboard]


@pytest.fixture(scope="module")
def shelf(core: ArticleBot) -> Shelf:
    return Shelf.of(core)


@pytest.fixture
def services(shelf: Shelf, tmp_path: Path) -> Services:
    return Services(shelf, Batcher(shelf), feedback=FeedbackStore(tmp_path / "fb.sqlite3", "s"))


@pytest.fixture(scope="module")
def answer(shelf: Shelf) -> Answer:
    found = shelf.ask(QUESTION)
    assert found.answered and len(found.quotes) >= 2, "the buttons below need two quotes"
    return found


def test_an_answer_walks_shows_more_and_takes_votes(services: Services, answer: Answer) -> None:
    chat: dict[str, Any] = {}
    markup = keyboards.for_answer(services, EN, answer, chat)
    passage = answer.quotes[0].passage
    [key] = chat["answers"]
    script = "s" if answer.converted else "o"
    assert rows(markup) == [
        [
            (EN.button_previous_paragraph, f"p:{passage.id}:{script}"),
            (EN.button_section, f"w:{passage.section}"),
            (EN.button_next_paragraph, f"n:{passage.id}:{script}"),
        ],
        [(EN.button_more, f"m:{key}:1"), ("👍", f"v:{key}:0:u"), ("👎", f"v:{key}:0:d")],
    ]
    assert recall(chat, key, services.shelf) == answer


def test_the_last_quote_has_no_more_and_no_feedback_store_no_votes(
    shelf: Shelf, answer: Answer
) -> None:
    services = Services(shelf, Batcher(shelf))  # feedback unavailable
    last = len(answer.quotes) - 1
    quote = answer.quotes[last]
    markup = keyboards.for_quote(services, EN, quote, True, key="k1", rank=last, answer=answer)
    assert rows(markup) == [
        [
            (EN.button_previous_paragraph, f"p:{quote.passage.id}:s"),
            (EN.button_section, f"w:{quote.passage.section}"),
            (EN.button_next_paragraph, f"n:{quote.passage.id}:s"),
        ]
    ]


def test_without_chat_data_only_the_walk_remains(services: Services, answer: Answer) -> None:
    markup = keyboards.for_answer(services, ZH_HANS, answer, None)
    assert [label for label, _ in rows(markup)[0]] == [
        ZH_HANS.button_previous_paragraph,
        ZH_HANS.button_section,
        ZH_HANS.button_next_paragraph,
    ]
    assert len(rows(markup)) == 1


def test_a_refusal_offers_its_closest_passage(services: Services, answer: Answer) -> None:
    refusal = Answer(
        "q", AnswerKind.NOT_COVERED, closest=answer.quotes[0], source=answer.source
    )
    chat: dict[str, Any] = {}
    markup = keyboards.for_answer(services, EN, refusal, chat)
    [key] = chat["answers"]
    assert rows(markup) == [[(EN.button_show_anyway, f"c:{key}")]]
    assert keyboards.for_answer(
        services, EN, Answer("hi", AnswerKind.GREETING, source=answer.source), chat
    ) is None


def test_suggestions_are_the_sidecars_questions_else_the_sections(core: ArticleBot) -> None:
    asked = copy.copy(core)
    asked.article = dataclasses.replace(core.article, suggested_questions=("Who?", "Q" * 80))
    assert rows(keyboards.suggestions(asked)) == [
        [("Who?", "q:0")],
        [(shorten("Q" * 80, 60), "q:1")],
    ]
    plain = copy.copy(core)
    plain.article = dataclasses.replace(core.article, suggested_questions=())
    expected = [
        [(shorten(f"{s.number}. {s.heading}", 60), f"w:{s.number}")] for s in core.sections[:10]
    ]
    assert rows(keyboards.suggestions(plain)) == expected


def test_section_pages_turn_and_an_unknown_section_says_so(core: ArticleBot) -> None:
    text, markup = keyboards.section_page(core, EN, 0, 0)
    assert markup is None
    assert text == EN.no_such_section.format(number=0, count=len(core.sections))
    for section in core.sections:
        first, turn = keyboards.section_page(core, EN, section.number, 0)
        assert first
        if turn is not None:
            assert rows(turn) == [[(EN.button_next_page, f"s:{section.number}:1")]]
            _, back = keyboards.section_page(core, EN, section.number, 1)
            assert (EN.button_previous_page, f"s:{section.number}:0") in rows(back)[0]


def test_languages_offer_each_catalog_and_auto() -> None:
    assert rows(keyboards.languages(EN)) == [
        [("English", "l:en")],
        [("简体中文", "l:zh-Hans")],
        [("繁體中文", "l:zh-Hant")],
        [(EN.button_follow_language, "l:auto")],
    ]


def test_articles_mark_the_choice_and_offer_all(services: Services) -> None:
    [entry] = services.shelf.entries()
    _, everything = keyboards.articles_page(services, EN, None, 0)
    label = shorten(f"{entry.number}. {entry.title}", 60)
    assert rows(everything) == [
        [(label, "a:1")],
        [(f"✓ {EN.button_all_articles}", "a:0")],
    ]
    _, chosen = keyboards.articles_page(services, EN, entry.name, 0)
    assert rows(chosen)[0][0][0].startswith("✓ 1.")
    assert rows(chosen)[-1] == [(EN.button_all_articles, "a:0")]
