"""A question is analysed once: the typed script decides the quotes' script, the searched
text (with a follow-up's context) decides cross-lingual ranking. Pure: no model."""

from __future__ import annotations

from bot.core.followup import Turn
from bot.core.question import Question, clean_question
from bot.messages import language_of


def test_cleaning_drops_control_characters_and_collapses_whitespace() -> None:
    assert clean_question(" 天津\x00的\t\n排名 ") == "天津的 排名"
    assert clean_question("What is\nthe\r\nranking?") == "What is the ranking?"
    assert clean_question("\u200b") == ""  # a format character alone is nothing to search


def test_a_question_that_stands_alone_is_searched_as_typed() -> None:
    q = Question.of("  What is 津心辦? ", Turn("天津数字化综合发展水平在全国排第几？", ("p1",)))
    assert (q.cleaned, q.searched, q.context) == ("What is 津心辦?", "What is 津心辦?", None)
    assert q.script == "hant" and not q.simplified and q.cross  # English, naming 津心辦


def test_a_follow_up_is_searched_with_the_previous_question() -> None:
    before = Turn("天津数字化综合发展水平在全国排第几？", ("p1",))
    q = Question.of("那它的网络安全水平呢？", before)
    assert q.context == before and q.searched.startswith(before.question)
    assert q.simplified and not q.cross


def test_an_english_follow_up_to_a_chinese_question_is_not_cross_lingual() -> None:
    """Its script is the reader's (English: quotes unconverted), but what is searched holds
    Chinese, so the Chinese ranking and refusal rule judge it: one analysis, two fields."""
    q = Question.of("and what about it?", Turn("津心办是什么？"))
    assert q.script == "other" and not q.simplified
    assert q.context is not None and not q.cross
    assert Question.of("What is it?").cross


def test_an_english_question_naming_a_chinese_term_is_english() -> None:
    """Ranked by the bridges, judged by the cross-lingual rule, answered in English; a
    Chinese question about a Latin name or an English title stays Chinese."""
    for english in ("What is 津心辦?", "What are the goals of the 津心办 Qingming zone?"):
        assert Question.of(english).cross and language_of(english) == "en"
    for chinese in (
        "NASUWT是什么？",
        "MIT OpenCourseWare指什么？",
        "《This Is Where I Came In》是第几张专辑？",
    ):
        assert not Question.of(chinese).cross and language_of(chinese) == "zh-Hans"
