"""Bad input never gets a traceback or a message Telegram would reject.

Property-based: random Unicode goes through the real core and the real renderers;
the HTML is checked with the same parser the loopback Bot API server uses, which
follows Telegram's own rules.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.answer import AnswerKind
from bot.core.engine import MAX_QUESTION_CHARS, ArticleBot
from bot.render.html import MESSAGE_LIMIT, answer_blocks, pack
from bot.render.text import render_answer
from bot.tools.fakeapi.server import parse_html
from tests.helpers.paths import run_bot

NASTY = [
    "",
    "   \t  ",
    "\x00\x01\x02",
    "津心办\x00有多少\x07用户？",
    "🙂🙂🙂",
    "？？？!!!...",
    "<b>津心办</b> & <script>alert(1)</script>",
    "*bold* _it_ `code` [link](http://x)",
    "مرحبا كيف حالك",
    "\u202e津心办\u202d RTL override",
    "天津 Tianjin 天津市 digital 数字化 Цифровой",
    "x" * 10_000,
    "/section",
]


def _check_html(messages: list[str]) -> None:
    for message in messages:
        text, _ = parse_html(message)  # raises like Telegram on a bad tag or entity
        assert 0 < len(text) <= MESSAGE_LIMIT


def test_nasty_inputs_get_clear_answers(core: ArticleBot) -> None:
    for question in NASTY:
        answer = core.ask(question)
        _check_html(pack(answer_blocks(answer)))
        assert render_answer(answer)
    assert core.ask("").kind is AnswerKind.EMPTY
    assert core.ask("🙂🙂🙂").kind is AnswerKind.EMPTY
    assert core.ask("x" * 10_000).kind is AnswerKind.TOO_LONG
    assert str(MAX_QUESTION_CHARS) in render_answer(core.ask("x" * 10_000))


def test_user_markup_comes_back_escaped(core: ArticleBot) -> None:
    answer = core.ask("<b>津心办</b> 有多少<i>注册</i>用户？ & more")
    for message in pack(answer_blocks(answer)):
        assert "<script" not in message and "<i>注册" not in message
        _check_html([message])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=0, max_size=300))
def test_random_unicode_always_renders_valid_html(core: ArticleBot, question: str) -> None:
    answer = core.ask(question)
    _check_html(pack(answer_blocks(answer)))
    assert answer.question == question  # nothing the user typed is lost or rewritten


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
        min_size=1,
        max_size=20,
    )
)
def test_packing_never_exceeds_the_limit_or_breaks_tags(paragraphs: list[str]) -> None:
    from bot.render.html import esc

    blocks = [f"<blockquote>{esc(p * 60)}</blockquote>" for p in paragraphs if p.strip()]
    _check_html(pack(blocks) if blocks else ["<i>empty</i>"])


@pytest.mark.slow  # a whole `python -m bot ask` process
def test_ask_json_prints_one_line_per_input_line(served_data_dir: Path) -> None:
    lines = ["", "津心办有多少注册用户？", "\x00", "<b>x</b>", "🙂", "x" * 10_000, "  ", "ok"]
    result = run_bot(["ask", "--json"], served_data_dir, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(lines)
    assert [json.loads(o)["question"] for o in out] == lines
    assert "Traceback" not in result.stderr
