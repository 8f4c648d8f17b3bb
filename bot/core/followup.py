"""Follow-up questions: "那它的访问量呢？" only makes sense after the question before it.

A question that points back (a pronoun, "and …?", "那…呢？") is searched together with
the previous question, which names what "it" is. A question that stands on its own
is searched alone, so context never drags an unrelated new question off course.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from embeddings.normalize import normalize

_ZH_BACK_REFERENCE = re.compile(
    r"^(那|那么|还有|还|又|另外|具体|它|他|她|这|上面|上述|前面|刚才)|它|他们|其中|呢(?:[？?，,。]|$)"
)
_EN_BACK_REFERENCE = re.compile(
    r"^(and|also|what about|how about|then)\b"
    r"|\b(it|its|they|them|their|he|she|his|her|the same|that one|this one|that in)\b"
    r"|\bthe \w+ one\b"
)


@dataclass(frozen=True)
class Turn:
    """What the asker saw last: enough to resolve "it" in the next question."""

    question: str
    passage_ids: tuple[str, ...] = ()


def points_back(question: str) -> bool:
    text = normalize(question).strip()
    if re.search(r"[\u4e00-\u9fff]", text):
        return bool(_ZH_BACK_REFERENCE.search(text))
    return bool(_EN_BACK_REFERENCE.search(text))


def with_context(question: str, previous: Turn | None) -> str | None:
    """The text to search for ``question`` after ``previous``; None when it stands alone."""
    if previous is None or not points_back(question):
        return None
    return f"{previous.question} {question}"
