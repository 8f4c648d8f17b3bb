"""Does the article answer this at all? Evidence beyond the retrieval score.

e5's cosines for answerable and off-topic questions overlap, so the strongest
evidence that the article does not answer is a content term of the question that
the article never mentions (面积, 下载地址, Bitcoin): looked up in both scripts, and
for English through the lexicon and pinyin bridges. A missing term whose encoder
neighbour among the article's own words is close (骗局 ~ 詐騙) counts as covered, so
a paraphrase is not refused for its synonym. The second check is the answer's type:
"how many" wants a number in the passage, "when" a date, "who" a person, "website"
an address; a passage that shares the words but holds no such thing is no answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from embeddings.bridges import ENGLISH_STOPWORDS, Bridges, english_stems
from embeddings.encoder import Encoder
from embeddings.normalize import normalize

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_OR_NUMBER = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_LONGEST_WORD = 6
_QUOTED = re.compile(r"'[^']+'|\"[^\"]+\"|“[^”]+”|‘[^’]+’|「[^」]+」")



def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words any question uses whatever it asks about: never a missing "content term".
CHINESE_QUESTION_WORDS = _word_set(
    """什么 甚么 哪些 哪个 哪里 哪儿 哪一 哪位 哪年 哪天 多少 多大 多长 多久 多高 多远 几个 几次
    怎么 怎样 怎么样 如何 为什么 为何 是否 是不是 有没有 有多 文章 这篇 本文 文中 提到 提及 讲述
    介绍 关于 有关 一下 请问 告诉 我们 你们 他们 她们 这个 那个 这些 那些 主要 内容 一个 时候
    可以 能够 进行 情况 方面 什么样 哪方面 说明 讲了 说了 谈到 是谁 叫什么 哪一年 哪一天 一些
    具体 其中 之后 之前 以及 还有 或者 通过 为了 怎么办 干什么 做什么 有什么 是什么 分别"""
)
ENGLISH_QUESTION_WORDS = _word_set(
    """article text story piece mention mentioned mentions say says said tell tells told
    describe described describes according talk talks written write writes main kind
    type sort way ways thing things part parts give gives given name named called list
    anything something someone anyone exactly really please know much many happen happens"""
)

# Answer types: what the question asks for, and what a passage needs to hold to answer it.
_WANTS = {
    "number": re.compile(
        r"多少|多大|多高|多长|多久|几[个位次项年万名家座条种岁]|how (?:many|much|often|old|long)"
        r"|what (?:number|percentage|share)"
    ),
    "date": re.compile(
        r"哪一?年|哪一?天|什么时候|何时|几月|几号|日期|\bwhen\b|what (?:year|date|day)"
    ),
    "person": re.compile(r"谁|哪位|\bwho\b|\bwhom\b|\bwhose\b"),
    "address": re.compile(r"网址|网站|链接|官网|下载地址|website|\burl\b|\blink\b|web address"),
}
_HOLDS = {
    "number": re.compile(r"\d|[十百千万亿]"),
    "date": re.compile(r"\d{4}年?|\d{1,2}月|\d{1,2}日|今年|去年|明年|今日|昨日|今天|日前|近年"),
    # A person in Chinese news text: a role, a name introduced by it, or a reported speaker.
    "person": re.compile(
        r"记者|选手|书记|主任|主席|市长|部长|局长|院长|校长|经理|教授|专家|先生|女士|同志|模范|好人|说[:：,，。]"
        r"|表示|指出|介绍说|习近平"
    ),
    "address": re.compile(r"https?://|www\.|\.(?:com|cn|org|net)\b"),
}


def holds(wanted: str | None, passage_text: str) -> bool:
    """Whether a passage holds the type of answer asked for (always, when none is)."""
    return wanted is None or bool(_HOLDS[wanted].search(normalize(passage_text)))


@dataclass(frozen=True)
class Evidence:
    """What the refusal rule reads besides the retrieval scores."""

    missing: tuple[str, ...]  # content terms the article never mentions, as the asker wrote them
    names: int  # how many of them are names or numbers (北京, Bitcoin, 2023): the surest sign
    wanted: str | None  # the answer type the question asks for, if any
    type_found: bool  # the best passage holds that type (True when nothing is wanted)


def _segment(run: str, words: frozenset[str]) -> list[tuple[int, str]]:
    """Forward maximum matching: (offset, word) for each word of a Chinese run."""
    out, i = [], 0
    while i < len(run):
        for n in range(min(_LONGEST_WORD, len(run) - i), 0, -1):
            if n == 1 or run[i : i + n] in words:
                out.append((i, run[i : i + n]))
                i += n
                break
    return out


def _merge(spans: list[tuple[int, int]], text: str) -> tuple[str, ...]:
    """Adjacent missing words read as one phrase: 下载 + 地址 → 下载地址."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + (1 if text[merged[-1][1] : start] == " " else 0):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(dict.fromkeys(text[a:b].strip() for a, b in merged))


class Answerability:
    """Content terms and answer types of a question against one article."""

    def __init__(
        self,
        bridges: Bridges,
        word_vectors: np.ndarray,
        encoder: Encoder,
        neighbour: float = 0.96,
        neighbour_cross: float = 0.89,
    ) -> None:
        self.bridges = bridges
        self.article = bridges.article_text
        self.words = bridges.tables.headwords | frozenset(bridges.tables.words)
        self.word_vectors = word_vectors
        self.encoder = encoder
        # Cosine above which one of the article's words covers a missing term. e5's word
        # cosines sit in a narrow band (参加~参与 0.97, 北京~中国 0.95; English to Chinese
        # 0.85–0.90): measured on the gold set's questions (`bot eval`).
        self.neighbour = neighbour
        self.neighbour_cross = neighbour_cross

    def _chinese_terms(self, norm: str) -> list[tuple[int, int]]:
        spans = []
        for match in _CJK.finditer(norm):
            for offset, word in _segment(match.group(0), self.words):
                if len(word) >= 2 and word not in CHINESE_QUESTION_WORDS:
                    start = match.start() + offset
                    spans.append((start, start + len(word)))
        return spans

    def _english_terms(self, norm: str) -> list[tuple[int, int]]:
        matches = list(_LATIN_OR_NUMBER.finditer(norm))
        tokens = [m.group(0) for m in matches]
        in_name: set[int] = set()
        for n in (2, 3, 4):
            for i in range(len(tokens) - n + 1):
                if self.bridges.pinyin_known("".join(tokens[i : i + n])):
                    in_name.update(range(i, i + n))
        spans = []
        for i, m in enumerate(matches):
            word = m.group(0)
            if word in ENGLISH_STOPWORDS or word in ENGLISH_QUESTION_WORDS or len(word) < 2:
                continue
            if i not in in_name:
                spans.append((m.start(), m.end()))
        return spans

    def _covered(self, term: str) -> bool:
        """Whether the article mentions the (normalised) term, literally or by a bridge."""
        if term in self.article:
            return True
        if _CJK.search(term):
            return False
        if term.isdigit() or re.fullmatch(r"\d+\.\d+", term):
            return False
        stems = english_stems(term)
        return bool(stems) and (
            all(self.bridges.tables.stems.get(s) for s in stems)
            or self.bridges.pinyin_known(term)
        )

    def _missing(self, question: str, norm: str) -> list[tuple[int, int]]:
        spans = [
            (a, b)
            for a, b in self._chinese_terms(norm) + self._english_terms(norm)
            if not self._covered(norm[a:b])
        ]
        if not spans or not len(self.word_vectors):
            return spans
        vectors = self.encoder.encode_passages([norm[a:b] for a, b in spans])
        closest = (vectors @ self.word_vectors.T).max(axis=1)
        return [
            (a, b)
            for (a, b), c in zip(spans, closest, strict=True)
            if c < (self.neighbour if _CJK.search(norm[a:b]) else self.neighbour_cross)
        ]

    def _is_name(self, term: str, typed: str) -> bool:
        """A proper noun or a number: CC-CEDICT's capitalised readings, or capitals in English."""
        if any(ch.isdigit() for ch in term):
            return True
        if _CJK.search(term):
            return term in self.bridges.tables.names
        return typed[:1].isupper() and (typed.isupper() or len(typed) > 1)

    def evidence(self, question: str, passage_text: str) -> Evidence:
        norm = normalize(question)
        spans = self._missing(question, norm)
        # Normalising keeps the length of nearly every question: then the terms are cut from
        # what the asker typed, in their script and case.
        typed = question if len(norm) == len(question) else norm
        first_word = re.search(r"[A-Za-z]+", typed)
        # Inside quotation marks the asker renders one of the article's own titles in
        # their words ('Two Establishments'): capitals there do not make a name.
        quoted = [m.span() for m in _QUOTED.finditer(typed)]
        names = sum(
            self._is_name(norm[a:b], typed[a:b])
            and not (first_word is not None and first_word.start() == a)
            and not any(qa <= a < qb for qa, qb in quoted)
            for a, b in spans
        )
        wanted = next((kind for kind, pattern in _WANTS.items() if pattern.search(norm)), None)
        return Evidence(_merge(spans, typed), names, wanted, holds(wanted, passage_text))
