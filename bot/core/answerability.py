"""Does the article answer this at all? Evidence beyond the retrieval score.

e5's cosines for answerable and off-topic questions overlap, so the strongest
evidence that the article does not answer is a content term of the question that
the article never mentions (面积, 下载地址, Bitcoin). Each term gets one of three verdicts:

- **found**: the article has it in some form — literally, in the other script,
  through a dictionary translation, its pinyin, a sound-alike transliteration
  (Jacksonville ~ 杰克逊维尔), or for a number in any spelling (XXXIII ~ 33, 三千 ~ 3000);
- **missing**: the bot could have found it and did not — a Chinese dictionary word,
  an English word the dictionary translates, a number in digits;
- **unknown**: nothing could have found it (a name no dictionary lists and no
  sound-alike matches, "first", a month the article would write otherwise). An
  unknown term is neutral: the bot's inability to read it is no proof of absence.

A missing term whose encoder neighbour among the article's own words is close (骗局 ~
詐騙) counts as found, so a paraphrase is not refused for its synonym. The second
check is the answer's type: "how many" wants a number in the passage, "when" a date,
"how old" an age, "how much does it cost" a price, "website" or "where can I download
it" an address, "who is the director" a post; a passage that shares the words but holds
no such thing is no answer. Types whose answer has no shape that holds across texts
(who did it, which company) are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from bot.core.forms import MONTHS, SCALES, SoundAlikes, number_of, numbers_in, roman_number
from embeddings.bridges import Bridges
from embeddings.dictionary import Dictionary
from embeddings.encoder import Encoder
from embeddings.encoder.base import cached_queries
from embeddings.english import ENGLISH_QUESTION_WORDS, ENGLISH_STOPWORDS, english_stems
from embeddings.normalize import normalize

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Latin letters with their accents (Temüjin, Börte are one word each), or a number.
_LATIN_OR_NUMBER = re.compile(r"[a-z\u00df-\u00ff\u0100-\u024f]+|\d+(?:[.,]\d+)*")
# A stretch holding a question word asks, it is not asked about: 什么的, 什么时候, 哪条.
_INTERROGATIVE = re.compile(r"什么|甚么|哪|多少|几|怎|如何|为何|何[时处地人种年日故以谓]|谁|吗|啥")
_LONGEST_WORD = 6
# The words next to a missing name, to find the same phrase in the article: four characters
# after it (past a 的) or before it, then three, none of them asking. Two were too few: 美国的
# 哪个城市 matched another country's 的哪… in the pool; three matched no answerable question.
_CONTEXT_CHARS = 3
_NUMBER_REACH = 12
_CONTEXT = re.compile(r"的?([\u4e00-\u9fff]{2,4})")
_CONTEXT_BEFORE = re.compile(r"([\u4e00-\u9fff]{2,4})的?$")
_QUOTED = re.compile(r"'[^']+'|\"[^\"]+\"|“[^”]+”|‘[^’]+’|「[^」]+」")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words any question uses whatever it asks about: never a missing "content term".
CHINESE_QUESTION_WORDS = _word_set(
    """什么 甚么 哪些 哪个 哪里 哪儿 哪一 哪位 哪年 哪天 哪家 哪种 哪部 哪座 哪国 多少 多大 多长
    多久 多高 多远 几个 几次 怎么 怎样 怎么样 如何 为什么 为何 是否 是不是 有没有 有多 文章 这篇
    本文 文中 提到 提及 讲述 介绍 关于 有关 一下 请问 告诉 我们 你们 他们 她们 这个 那个 这些
    那些 主要 内容 一个 时候 可以 能够 进行 情况 方面 什么样 哪方面 说明 讲了 说了 谈到 是谁
    叫什么 哪一年 哪一天 一些 具体 其中 之后 之前 以及 还有 或者 通过 为了 怎么办 干什么 做什么
    有什么 是什么 分别 开头 结尾 最后 导语 部分 这一节 这节 一节 章节 段落 总结 概括 标题 小标题
    觉得 认为 有人"""
)

# Posts a person holds, as a Chinese text names them.
_POSTS = (
    "主任|局长|处长|科长|部长|厅长|书记|市长|省长|县长|区长|主席|总理|总统|首相|国王|皇帝|"
    "董事长|总经理|经理|总裁|院长|校长|主编|负责人|创始人|会长|理事长|行长|总监|秘书长|领导|"
    "教练|队长|司令|指挥|首席|主管|老板|委员长|议长|首长"
)

# Answer types: what the question asks for, and what a passage needs to hold to answer it.
# Checked in this order: the first that matches is what the question wants.
_WANTS = {
    # "age" asked of someone (what age, Lin's age), not the word in a name (the Ice Age).
    "age": re.compile(
        r"多大年纪|几岁|多少岁|年龄|年纪|今年多大|how old|\b(?:what|which) age\b|['’]s age\b"
        r"|\bage (?:is|was|of) (?!the\b)"
    ),
    "money": re.compile(
        r"多少钱|价格|价钱|费用|收费|票价|门票|how much (?:does|do|is|are|will)\b.*\bcost|\bprice"
        # A charge paid, not an electric one: "charge for", "how much do they charge".
        r"|\bcost\b|\bfees?\b|\bcharged? for\b|how much .*\bcharge\b"
    ),
    "ordinal": re.compile(r"第几|排名第|排第|what place|which place|\branked?\b.*\bwhere"),
    # Kinds of number with a shape of their own: any numeral is not an answer to them.
    "population": re.compile(
        r"人口|\bpopulation\b|\binhabitants\b|how many (?:people|residents) live"
    ),
    "area": re.compile(
        r"面积|占地|平方(?:公里|千米|米)|square (?:kilomet|met|mile|feet|foot)|\bkm2\b|km²"
        r"|(?<!in )\bthe (?:total |land |surface )?area of\b"
    ),
    "phone": re.compile(r"电话|热线|手机号|\b(?:tele)?phone\b|\bhotline\b|contact number"),
    # Who holds a post: answered by a passage that names the post (主任, 局长, 总统 …).
    "post": re.compile(
        rf"(?:{_POSTS})(?:是谁|是哪位|叫什么)|谁是.{{0,12}}(?:{_POSTS})"
        r"|\bwho (?:is|was|are|were) (?:the |its |their )?(?:current |first |new |former )?"
        r"(?:director|head|chairman|chairwoman|chair|president|mayor|governor|secretary|minister"
        r"|ceo|founder|leader|manager|principal|dean|editor|coach|captain|commander|chief|boss)\b"
    ),
    "headcount": re.compile(
        r"多少[个名位]?人(?!口)|几[个名位]?人(?!口)|多少名"
        r"|how many (?:people|persons|participants|visitors|attendees|residents|inhabitants"
        r"|members|employees|staff)"
    ),
    "rate": re.compile(
        r"增长了?多少|增速|增幅|增长率|百分之几|百分比|比例|what (?:percentage|share|proportion)"
        r"|growth rate|grow by how much|by what percent"
    ),
    "number": re.compile(
        r"多少|多大|多高|多长|多久|(?<![这近前哪第])几[个位次项年万名家座条种]"
        r"|how (?:many|much|often|long)"
        r"|what (?:number|percentage|share)"
    ),
    # A day, not a year or a period: 几月几号 is not answered by 今年 or 近年.
    "day": re.compile(r"哪一?天|几月几[号日]|几号|什么日子|(?:what|which) (?:day|date)\b"),
    "date": re.compile(
        r"哪一?年|哪一?天|什么时候|何时|几月|几号|日期|^when\b|what (?:year|date|day)"
    ),
    # A web address, or where to get an app ("where can I download it"): a link or a store.
    "address": re.compile(
        r"网址|链接|官网|下载地址|\burl\b|web ?address|website address|what(?:'s| is) the website"
        r"|link to|(?:哪里|哪儿|哪|怎么|怎样|如何)(?:能|可以)?下载"
        r"|\b(?:where|how) (?:can|do|does|should|to)\b.*\bdownload|\bdownload (?:link|page)"
    ),
}
_NUMERAL = r"[\d〇零一二两三四五六七八九十百千万亿]"
# What a passage must hold to answer each: generic shapes of Chinese text.
_HOLDS = {
    "age": re.compile(rf"{_NUMERAL}+\s*[岁周]|年龄|年纪|高龄|享年"),
    "money": re.compile(
        rf"{_NUMERAL}\s*[十百千万亿]*\s*(?:元|块|圆|镑|美金|法郎|马克|卢布|卢比|比索|里拉|先令|"
        r"令吉|泰铢|兰特|克朗|韩元|日元|欧元|美元|港元|英镑|澳元|加元|台币|人民币|银|金币)"
        r"|价格|价值|费用|免费|收费|票价|成本|造价|[$¥￥£€]"
    ),
    "post": re.compile(rf"{_POSTS}|创办|创立|\bceo\b"),
    "phone": re.compile(
        r"(?<!\d)(?:\d{3,4}[-\s]?\d{7,8}|1[3-9]\d{9}|\d{5})(?![\d年.%人万元名个])|电话|热线|拨打"
    ),
    "headcount": re.compile(rf"{_NUMERAL}\s*[十百千万亿]*\s*[余多]?\s*(?:[个名位]?人|名|位)"),
    "population": re.compile(rf"人口|居民|{_NUMERAL}\s*[十百千万亿]*\s*[余多]?\s*(?:万|亿)?\s*人"),
    "area": re.compile(r"平方|公顷|亩|km|㎡|面积|占地"),
    "rate": re.compile(rf"[%％‰]|百分之|{_NUMERAL}\s*成|{_NUMERAL}\s*倍|翻番|翻了"),
    "number": re.compile(_NUMERAL),
    "day": re.compile(rf"{_NUMERAL}+\s*[日号]|星期|周[一二三四五六日天]|礼拜|[节夕旦]"),
    "date": re.compile(
        rf"\d{{3,4}}|{_NUMERAL}+\s*[年月日号]|世纪|年代|公元|今年|去年|明年|今日|昨日|今天|日前|近年"
        r"|时期|期间|时代|朝|[春夏秋冬]"
    ),
    "ordinal": re.compile(rf"第\s*{_NUMERAL}+|[冠亚季]军|首位|榜首|之首|最"),
    "address": re.compile(
        r"https?://|www\.|\.(?:com|cn|org|net)\b|下载|应用(?:商店|市场)|app ?store|google play"
        r"|二维码|扫码"
    ),
}


# Every type a question can ask for (the renderers name each in every language).
ANSWER_TYPES = tuple(_WANTS)


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
    focus: bool = False  # a missing term is what the question asks about (面积 in 面积有多大)
    unmatched: float = 0.0  # share of the question's content terms the article lacks
    found: float = 0.0  # share of the question's content terms the article has in some form
    swapped: bool = False  # a missing name stands where the article has another (2023 for 2022)


# Question words, and what may stand between one and the term it asks about.
_ASKING = re.compile(
    r"什么|甚么|多少|哪[里儿个些位年天]?|几|怎么|怎样|如何|谁|吗|啥|多大|多长|多久|多高|多远"
)
_LINK = re.compile(r"[的是有了在个一要能可以]{0,3}")
_ENGLISH_ASKING = re.compile(
    r"\b(?:what|which|who|whose|how|where|when)(?:'s| is| are| was| were| does| do| did)?"
    r"(?: (?:many|much|big|old|long|the|a|an|of|to))*\s+$"
)


def _in_focus(norm: str, start: int, end: int) -> bool:
    """Whether the term at ``norm[start:end]`` is what the question asks about.

    In Chinese the asked-about thing sits next to the question word (面积有多大, 有多少个
    地铁站, 门票怎么买); in English it follows "what is the", "how many". A missing term
    there is the question's subject, not the asker's wording of something else.
    """
    after, before = norm[end:], norm[:start]
    for asking in _ASKING.finditer(after):
        if _LINK.fullmatch(after[: asking.start()]):
            return True
        break
    for asking in _ASKING.finditer(before):
        if _LINK.fullmatch(before[asking.end() :]):
            return True
    return bool(_ENGLISH_ASKING.search(before))


@dataclass(frozen=True)
class Words:
    """The dictionary's words and the article's own, read as one set without copying either:
    the dictionary's hundred thousand headwords are shared by every article."""

    shared: frozenset[str]
    own: frozenset[str]

    def __contains__(self, word: object) -> bool:
        return word in self.shared or word in self.own


def segment(run: str, words: Words | frozenset[str], article: str) -> list[tuple[int, str]]:
    """(offset, word) for each word of a Chinese run: maximum matching read both ways.

    Chinese segmenters without word frequencies read from the end (哪家公司 is 哪家 + 公司,
    not 哪 + 家公 + 司; 活动中美国 is 活动 + 中 + 美国), but the end cuts across a boundary as
    often the other way (玩家用什么 read from the end is 玩 + 家用, 建设有哪些 is 建 + 设有).
    Both readings are made and the one with fewer words wins; between equals, the one whose
    words the article or a question holds cover more of the run, then the reading from the end.
    A stretch the article itself contains is a word too: names no dictionary knows (胡充华)
    stay whole.
    """
    backward = _matching(run, words, article, reverse=True)
    forward = _matching(run, words, article, reverse=False)
    if forward == backward:
        return backward

    def cost(reading: list[tuple[int, str]]) -> tuple[int, int]:
        known = sum(len(w) for _, w in reading if len(w) > 1 and (w in article or _asks(w)))
        return len(reading), -known

    return forward if cost(forward) < cost(backward) else backward


def _asks(word: str) -> bool:
    return word in CHINESE_QUESTION_WORDS or bool(_INTERROGATIVE.search(word))


def _matching(
    run: str, words: Words | frozenset[str], article: str, *, reverse: bool
) -> list[tuple[int, str]]:
    """Maximum matching from the end (``reverse``) or from the start: (offset, word)."""
    out: list[tuple[int, str]] = []
    at = len(run) if reverse else 0
    while (room := at if reverse else len(run) - at) > 0:
        for n in range(min(_LONGEST_WORD, room), 0, -1):
            first, last = (at - n, at) if reverse else (at, at + n)
            piece = run[first:last]
            if n == 1 or piece in words or piece in article:
                out.append((first, piece))
                at = first if reverse else last
                break
    return sorted(out)


def _merge(spans: list[tuple[int, int]], text: str) -> tuple[str, ...]:
    """Adjacent missing words read as one phrase: 下载 + 地址 → 下载地址."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + (1 if text[merged[-1][1] : start] == " " else 0):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(dict.fromkeys(text[a:b].strip() for a, b in merged))


def swaps_a_name(norm: str, start: int, end: int, article: str, names: frozenset[str]) -> bool:
    """Whether the missing name at ``norm[start:end]`` stands where the article writes
    another of its kind, in the same words: 2023年中国网络文明大会 where the article has
    2022年中国网络文明大会, 北京的网络文明大会 where it has 天津网络文明. The question asks
    about something else than the article does, in the article's own phrase. ``names`` are
    the dictionary's proper nouns: a missing word that is none is no swap."""
    term = norm[start:end]
    number = term[:1].isdigit()
    if not number and term not in names:
        return False
    after = _CONTEXT.match(norm, end)
    before = _CONTEXT_BEFORE.search(norm[:start])
    contexts = [
        (context.group(1)[:n] if ahead else context.group(1)[-n:], ahead)
        for context, ahead in ((after, True), (before, False))
        if context is not None
        for n in range(len(context.group(1)), _CONTEXT_CHARS - 1, -1)
    ]
    for words, ahead in contexts:
        if _INTERROGATIVE.search(words):
            continue
        at = article.find(words)
        # Wide enough for the whole number beside the phrase (2015 where 15 is asked).
        reach = len(term) + 1 + (_NUMBER_REACH if number else 0)
        while at >= 0:
            other = (
                article[max(0, at - reach) : at]
                if ahead
                else article[at + len(words) : at + len(words) + reach]
            )
            other = other.rstrip("的") if ahead else other.lstrip("的")
            if number:
                digits = re.search(r"\d+$" if ahead else r"^\d+", other)
                if digits and digits.group(0) != term:
                    return True
            else:
                piece = other[-len(term) :] if ahead else other[: len(term)]
                if piece != term and piece in names:
                    return True
            at = article.find(words, at + 1)
    return False


FOUND, MISSING, UNKNOWN = "found", "missing", "unknown"


class Answerability:
    """Content terms and answer types of a question against one article."""

    def __init__(
        self,
        bridges: Bridges,
        dictionary: Dictionary,
        word_vectors: np.ndarray,
        encoder: Encoder,
        *,
        neighbour: float = 0.96,
        neighbour_cross: float = 0.89,
    ) -> None:
        self.bridges = bridges
        self.dictionary = dictionary
        self.article = bridges.article_text
        self.words = Words(dictionary.headwords, frozenset(bridges.tables.words))
        self.word_vectors = word_vectors
        self.encoder = encoder
        # Cosine above which one of the article's words covers a missing term. e5's word
        # cosines sit in a narrow band (参加~参与 0.97, 北京~中国 0.95; English to Chinese
        # 0.85–0.90): measured on the gold set's questions (`bot eval`).
        self.neighbour = neighbour
        self.neighbour_cross = neighbour_cross

    # What the article spells out, gathered when a question first needs it: a shelf's
    # start builds this for every article, and most questions need neither.

    @cached_property
    def latin(self) -> frozenset[str]:
        return frozenset(_LATIN_OR_NUMBER.findall(self.article))

    @cached_property
    def numbers(self) -> frozenset[float]:
        return numbers_in(self.article)

    @cached_property
    def sound_alikes(self) -> SoundAlikes:
        """Built when an English name first needs it (a tenth of a second on a start)."""
        return SoundAlikes.of([run for p in self.bridges.tables.syllables for run in p])

    def _chinese_terms(self, norm: str) -> list[tuple[int, int]]:
        spans = []
        for match in _CJK.finditer(norm):
            for offset, word in segment(match.group(0), self.words, self.article):
                if (
                    len(word) >= 2
                    and word not in CHINESE_QUESTION_WORDS
                    and not _INTERROGATIVE.search(word)
                ):
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
        scaled: set[int] = set()  # a scale word read with the number before it: 66 million
        for i, m in enumerate(matches):
            word = m.group(0)
            if i in scaled:
                continue
            if word[:1].isdigit() and i + 1 < len(matches):
                after = matches[i + 1]
                if after.group(0) in SCALES and norm[m.end() : after.start()] == " ":
                    scaled.add(i + 1)
                    spans.append((m.start(), after.end()))
                    continue
            if word in ENGLISH_STOPWORDS or word in ENGLISH_QUESTION_WORDS or len(word) < 2:
                continue
            if i not in in_name:
                spans.append((m.start(), m.end()))
        return spans

    def _number_status(self, value: float | None) -> str | None:
        if value is None:
            return None
        return FOUND if value in self.numbers else MISSING

    def status(self, term: str, typed: str) -> str:
        """found, missing or unknown: see the module's docstring."""
        if _CJK.search(term):
            return FOUND if term in self.article else MISSING
        if term in self.latin:
            return FOUND
        if term[:1].isdigit():
            return self._number_status(number_of(term)) or MISSING
        if typed.isupper() and roman_number(term) is not None:
            return FOUND if float(roman_number(term) or 0) in self.numbers else UNKNOWN
        if term in MONTHS:
            return FOUND if f"{MONTHS[term]}月" in self.article else UNKNOWN
        if number_of(term) is not None:
            return FOUND if self._number_status(number_of(term)) == FOUND else UNKNOWN
        stems = english_stems(term)
        if not stems:
            return UNKNOWN
        if all(self.bridges.tables.stems.get(s) for s in stems):
            return FOUND
        if self.bridges.pinyin_known(term) or (
            typed[:1].isupper() and self.sound_alikes.finds(term)
        ):
            return FOUND
        return MISSING if all(self.dictionary.checkable(s) for s in stems) else UNKNOWN

    def _terms(self, norm: str, typed: str) -> tuple[list[tuple[int, int]], list[str]]:
        """Spans of the missing terms, and every content term's verdict."""
        terms = self._chinese_terms(norm) + self._english_terms(norm)
        verdicts = [self.status(norm[a:b], typed[a:b]) for a, b in terms]
        return [t for t, v in zip(terms, verdicts, strict=True) if v == MISSING], verdicts

    def _without_neighbours(self, norm: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The missing terms with no close encoder neighbour among the article's words: one
        forward pass over the terms, the costliest step of the evidence (once per question
        on a shelf: the encoder's term cache serves every other shortlisted article)."""
        if not spans or not len(self.word_vectors):
            return spans
        encoder = self.encoder
        terms = [norm[a:b] for a, b in spans]
        vectors = cached_queries(
            encoder.term_cache, terms, encoder.encode_passages, encoder.dimension
        )
        closest = (vectors @ self.word_vectors.T).max(axis=1)
        # A number was looked up in every spelling already, and its neighbour is another
        # number (2024 ~ 2022): no neighbour covers it.
        return [
            (a, b)
            for (a, b), c in zip(spans, closest, strict=True)
            if norm[a].isdigit()
            or c < (self.neighbour if _CJK.search(norm[a:b]) else self.neighbour_cross)
        ]

    def _is_name(self, term: str, typed: str) -> bool:
        """A proper noun or a number: CC-CEDICT's capitalised readings, for English a word
        the dictionary glosses only as a name; an English common word is no name for its
        capital (Game, Pro)."""
        if any(ch.isdigit() for ch in term):
            return True
        if _CJK.search(term):
            return term in self.dictionary.names
        stems = english_stems(term)
        return (
            bool(stems)
            and typed[:1].isupper()
            and all(s in self.dictionary.name_stems for s in stems)
        )

    @staticmethod
    def wanted(question: str) -> str | None:
        """The answer type ``question`` asks for (a key of the shapes below), if any."""
        norm = normalize(question)
        return next((kind for kind, pattern in _WANTS.items() if pattern.search(norm)), None)

    def evidence(
        self,
        question: str,
        passage_text: str,
        matters: Callable[[Evidence], bool] | None = None,
    ) -> Evidence:
        """The evidence for ``question`` with ``passage_text`` as the best passage.

        The neighbour check can only turn missing terms into found ones, which never makes
        a refusal likelier (every weight keeps its direction): when ``matters`` says the
        evidence as it stands before the check would not refuse, the check is skipped.
        """
        norm = normalize(question)
        # Normalising keeps the length of nearly every question: then the terms are cut from
        # what the asker typed, in their script and case.
        typed = question if len(norm) == len(question) else norm
        spans, verdicts = self._terms(norm, typed)
        wanted = self.wanted(question)
        found = holds(wanted, passage_text)
        evidence = self._weigh(norm, typed, spans, verdicts, wanted=wanted, type_found=found)
        if spans and (matters is None or matters(evidence)):
            kept = self._without_neighbours(norm, spans)
            if kept != spans:
                covered = verdicts + [FOUND] * (len(spans) - len(kept))
                verdicts = [v for v in covered if v != MISSING] + [MISSING] * len(kept)
                evidence = self._weigh(norm, typed, kept, verdicts, wanted=wanted, type_found=found)
        return evidence

    def _weigh(
        self,
        norm: str,
        typed: str,
        spans: list[tuple[int, int]],
        verdicts: list[str],
        *,
        wanted: str | None,
        type_found: bool,
    ) -> Evidence:
        terms = len(verdicts)
        # Inside quotation marks the asker renders one of the article's own titles in
        # their words ('Two Establishments'): capitals there do not make a name.
        quoted = [m.span() for m in _QUOTED.finditer(typed)]
        names = sum(
            self._is_name(norm[a:b], typed[a:b]) and not any(qa <= a < qb for qa, qb in quoted)
            for a, b in spans
        )
        return Evidence(
            _merge(spans, typed),
            names,
            wanted,
            type_found,
            any(_in_focus(norm, a, b) for a, b in spans),
            len(spans) / terms if terms else 0.0,
            verdicts.count(FOUND) / terms if terms else 0.0,
            swapped=any(
                swaps_a_name(norm, a, b, self.article, self.dictionary.names) for a, b in spans
            ),
        )
