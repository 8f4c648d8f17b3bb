"""Greetings, thanks and questions about the bot are recognised; a question after one is not."""

from __future__ import annotations

import pytest

from bot.core.smalltalk import is_smalltalk


@pytest.mark.parametrize(
    "text",
    ["你好", "謝謝你！", "在吗", "thanks, that's helpful", "who are you?", "hi", "good morning!",
     "Good evening", "good night bot", "早上好"],
)  # fmt: skip
def test_smalltalk_is_recognised(text: str) -> None:
    assert is_smalltalk(text)


@pytest.mark.parametrize(
    "text",
    ["你好，津心办有多少注册用户？", "good morning, where is the conference held?",
     "Good Friday is when?", "What is a good platform for seniors?", ""],
)  # fmt: skip
def test_a_question_is_not_smalltalk(text: str) -> None:
    assert not is_smalltalk(text)
