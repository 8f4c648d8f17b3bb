"""Questions about a place in the article: its opening, its close, or a named section.

"文章最后呼吁大家做什么？", "How does the article wrap up?", "导语部分讲了什么？" name no
topic a retriever can match: what they name is a place in the text. Every paragraph of a
themed article shares its vocabulary, so cosine and BM25 pick an arbitrary one; the
honest reading is the article's own structure. Such a question is ranked within its
place (the lead paragraphs before the first heading, or the last paragraph) and by the
usual scores inside it. "凝心聚力那一节说的是什么？" names a section by its heading: the
section's first paragraph, which introduces it, comes first, then the rest of it.

Only explicit wording counts: 最后 or "the end" alone ("who came last?", "最后一名") is
not about the article, so the Chinese forms need 文章/本文/全文… beside them unless the
word itself is a part of a text (导语, 结尾, 第一段), and the English forms name the
article or a paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum
from functools import lru_cache

import numpy as np

from embeddings.normalize import normalize
from embeddings.passages import Passage


class Place(Enum):
    OPENING = "opening"
    CLOSE = "close"


_TEXT = r"(?:这篇文章|这篇报道|这篇|文章|本文|全文|报道|原文|通讯)"
_TEXT_EN = r"(?:article|text|story|piece|report|essay|author|writer)"

_CHINESE = {
    Place.OPENING: (
        re.compile(rf"{_TEXT}的?(?:一)?(?:开头|开篇|开始|起首|第一段|首段|第一句)"),
        re.compile(r"导语|引言|开篇|第一段|首段"),
    ),
    Place.CLOSE: (
        re.compile(rf"{_TEXT}的?(?:结尾|末尾|最后|结束|末段|最后一段|最后一句|收尾)"),
        re.compile(r"结尾处|结尾部分|文末|末段|最后一段|结束语|结语"),
    ),
}
_ENGLISH = {
    Place.OPENING: (
        re.compile(
            rf"\b(?:how|where|with what) does (?:the|this) {_TEXT_EN} (?:begin|start|open)\b"
        ),
        re.compile(rf"\b(?:at|in) the (?:beginning|start|opening) of (?:the|this) {_TEXT_EN}\b"),
        re.compile(r"\b(?:first|opening|introductory|lead) (?:paragraph|lines?|sentences?)\b"),
        re.compile(rf"\b{_TEXT_EN}'s (?:opening|beginning|start|introduction|intro)\b"),
    ),
    Place.CLOSE: (
        re.compile(
            rf"\b(?:how|where|with what) does (?:the|this) {_TEXT_EN} "
            r"(?:end|finish|conclude|close|wrap up|sign off)\b"
        ),
        re.compile(rf"\b(?:at|in) the (?:end|close|conclusion) of (?:the|this) {_TEXT_EN}\b"),
        re.compile(r"\b(?:last|final|closing|concluding) (?:paragraph|lines?|sentences?)\b"),
        re.compile(rf"\b{_TEXT_EN}'s (?:ending|end|close|conclusion|closing)\b"),
        # "What closing wish does the article make?": the text named as well, so "his
        # closing remarks" alone stays a question about a speaker.
        re.compile(
            rf"^(?=.*\b{_TEXT_EN}\b).*\b(?:closing|concluding) "
            r"(?:wish|words|remarks|message|appeal|call|thoughts?|note|hope)\b"
        ),
    ),
}


def asked_place(question: str) -> Place | None:
    """The place a question asks about, or None for a question about a topic."""
    text = normalize(question)
    for place in Place:
        if any(p.search(text) for p in _CHINESE[place] + _ENGLISH[place]):
            return place
    return None


# A question about a section says so; a heading's words alone are a topic.
_SECTION_WORD = re.compile(r"节|部分|章节|板块|小标题|标题|\b(?:section|part|chapter|heading)\b")


@lru_cache(maxsize=4096)
def _folded(title: str) -> str:
    """A heading as questions are compared with it; every paragraph repeats its heading."""
    return normalize(title)


def named_section(question: str, passages: Sequence[Passage]) -> int | None:
    """The section a question names by its heading (the longest heading it contains)."""
    text = normalize(question)
    if not _SECTION_WORD.search(text):
        return None
    found = {
        (len(title), p.section)
        for p in passages
        if p.section is not None
        for title in (p.heading, p.subheading)
        if title and len(title) >= 2 and _folded(title) in text
    }
    return max(found)[1] if found else None


def priorities(question: str, passages: Sequence[Passage]) -> np.ndarray | None:
    """Per passage, how far forward the place the question asks about puts it (0: not at
    all), or None for a question about a topic."""
    section = named_section(question, passages)
    if section is not None:
        inside = np.array([p.section == section for p in passages])
        order = inside.astype(np.int8)
        order[int(np.argmax(inside))] = 2  # the section's first paragraph introduces it
        return order
    place = asked_place(question)
    return None if place is None else place_mask(place, passages).astype(np.int8)


def place_mask(place: Place, passages: Sequence[Passage]) -> np.ndarray:
    """True for the passages that are ``place``: the lead (every paragraph before the
    first one under a heading; the first paragraph if the article has no headings, or
    opens with one) or the last paragraph."""
    mask = np.zeros(len(passages), dtype=bool)
    if not passages:
        return mask
    if place is Place.CLOSE:
        mask[-1] = True
        return mask
    lead = 0
    while lead < len(passages) and passages[lead].section is None:
        lead += 1
    mask[: lead if 0 < lead < len(passages) else 1] = True
    return mask
