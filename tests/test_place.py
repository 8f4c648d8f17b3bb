"""Questions about the article's opening or close are answered from that place."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.answer import AnswerKind
from bot.core.engine import ArticleBot
from embeddings.passages import Passage
from embeddings.place import Place, asked_place, named_section, place_mask, priorities


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("文章開頭寫了什麼景色？", Place.OPENING),
        ("这篇文章的开头提到哪个城市", Place.OPENING),
        ("导语部分讲了什么？", Place.OPENING),
        ("What does the first paragraph say?", Place.OPENING),
        ("How does the article begin?", Place.OPENING),
        ("Which river does the opening line mention?", Place.OPENING),
        ("文章最后呼吁大家做什么？", Place.CLOSE),
        ("本文結尾說了什麼", Place.CLOSE),
        ("How does the article wrap up?", Place.CLOSE),
        ("What closing wish does the article make?", Place.CLOSE),
        ("What is said at the end of the story?", Place.CLOSE),
    ],
)
def test_a_question_naming_a_place_in_the_text_is_about_that_place(
    question: str, place: Place
) -> None:
    assert asked_place(question) is place


@pytest.mark.parametrize(
    "question",
    [
        "谁是最后一名？",
        "最后谁赢了比赛",
        "比赛什么时候开始？",
        "Who won the final?",
        "What were his last words?",
        "What did the mayor say in his closing remarks?",
        "When does the festival begin?",
    ],
)
def test_last_first_and_begin_about_something_else_are_topics(question: str) -> None:
    assert asked_place(question) is None


def _passages(sections: list[int | None]) -> list[Passage]:
    return [
        Passage(f"p{i}", "text", i + 1, section, None, None, ((0, 4),))
        for i, section in enumerate(sections)
    ]


def test_the_opening_is_the_lead_before_any_heading_and_the_close_the_last_paragraph() -> None:
    lead = place_mask(Place.OPENING, _passages([None, None, 1, 1, 2]))
    np.testing.assert_array_equal(lead, [True, True, False, False, False])
    close = place_mask(Place.CLOSE, _passages([None, None, 1, 1, 2]))
    np.testing.assert_array_equal(close, [False, False, False, False, True])


@pytest.mark.parametrize("sections", [[None, None, None], [1, 1, 2]])
def test_without_a_lead_before_a_heading_the_opening_is_the_first_paragraph(
    sections: list[int | None],
) -> None:
    mask = place_mask(Place.OPENING, _passages(sections))
    np.testing.assert_array_equal(mask, [True, False, False])


def test_the_real_article_answers_its_close_from_its_last_paragraph(core: ArticleBot) -> None:
    passages = core.retriever.passages
    for question in ("How does the article end?", "这篇文章最后说了什么？"):
        answer = core.ask(question)
        assert answer.kind is AnswerKind.ANSWER, question
        assert answer.quotes[0].passage.id == passages[-1].id, question


def test_the_real_article_answers_its_opening_from_its_lead(core: ArticleBot) -> None:
    lead = place_mask(Place.OPENING, core.retriever.passages)
    answer = core.ask("文章开头写了什么？")
    assert answer.kind is AnswerKind.ANSWER
    top = next(i for i, p in enumerate(core.retriever.passages) if p is answer.quotes[0].passage)
    assert lead[top]


def _sectioned() -> list[Passage]:
    headings = [None, "Harbours", "Harbours", "Rivers", "Rivers"]
    return [
        Passage(f"p{i}", "text", i + 1, None if h is None else (1 if h == "Harbours" else 2),
                h, None, ((0, 4),))
        for i, h in enumerate(headings)
    ]  # fmt: skip


def test_a_section_named_by_its_heading_comes_first_opening_paragraph_foremost() -> None:
    order = priorities("What does the Rivers section say?", _sectioned())
    assert order is not None
    np.testing.assert_array_equal(order, [0, 0, 0, 2, 1])


def test_a_heading_without_a_word_for_a_section_is_a_topic() -> None:
    assert named_section("What flows through the rivers?", _sectioned()) is None
    assert priorities("What flows through the rivers?", _sectioned()) is None


def test_the_real_article_answers_a_section_from_its_first_paragraph(core: ArticleBot) -> None:
    passages = core.retriever.passages
    first = next(p for p in passages if p.section is not None)
    assert first.heading is not None
    answer = core.ask(f"{first.heading}这一部分讲了什么？")
    assert answer.kind is AnswerKind.ANSWER
    assert answer.quotes[0].passage.id == first.id
