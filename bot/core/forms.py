"""Every form an article could use for a reader's term: numbers and sound-alike names.

Before a term of the question counts as evidence that the article does not answer,
the article is searched for it in each form it could take. A Chinese article writes
"Super Bowl XXXIII" as 第33届, "January" as 1月, 3000 as 三千 or 3千, 2.5 million as
250万, and "Jacksonville" as 杰克逊维尔 — a sound-alike no dictionary lists. These
readers are generic: they know number systems and how Chinese transliterates sounds,
nothing about any one article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_SCALED = re.compile(r"(\d+(?:\.\d+)?)\s*([十百千万亿])")
_CHINESE_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
_CHINESE_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_ROMAN_SHAPE = re.compile(r"m{0,3}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})")
_ENGLISH_NUMBERS = {
    word: value
    for value, words in enumerate(
        (
            "zero", "one first", "two second", "three third", "four fourth", "five fifth",
            "six sixth", "seven seventh", "eight eighth", "nine ninth", "ten tenth",
            "eleven eleventh", "twelve twelfth", "thirteen thirteenth", "fourteen fourteenth",
            "fifteen fifteenth", "sixteen sixteenth", "seventeen seventeenth",
            "eighteen eighteenth", "nineteen nineteenth", "twenty twentieth",
        )
    )
    for word in words.split()
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
     "ninety": 90, "hundred": 100, "thousand": 1000, "million": 1_000_000,
     "billion": 1_000_000_000}  # fmt: skip
MONTHS = {
    month: number
    for number, names in enumerate(
        ("", "january jan", "february feb", "march mar", "april apr", "may", "june jun",
         "july jul", "august aug", "september sep sept", "october oct", "november nov",
         "december dec"),
    )
    for month in names.split()
}  # fmt: skip


def chinese_number(text: str) -> int | None:
    """三千 → 3000, 二十五 → 25, 两万三千 → 23000; None for what is not a number."""
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CHINESE_DIGITS:
            digit = _CHINESE_DIGITS[ch]
        elif ch in ("万", "亿"):
            section = (section + (digit or 0)) or 1
            total = (total + section) * _CHINESE_UNITS[ch]
            section, digit = 0, None
        else:
            section += (1 if digit is None else digit) * _CHINESE_UNITS[ch]
            digit = None
    value = total + section + (digit or 0)
    return value if text and value else None


def roman_number(token: str) -> int | None:
    """xxxiii → 33 (lower-case input); None unless the token is a well-formed numeral."""
    if len(token) < 2 or not _ROMAN_SHAPE.fullmatch(token):
        return None
    values = [_ROMAN[ch] for ch in token]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def numbers_in(text: str) -> frozenset[float]:
    """Every number the (normalised) text writes, in digits, with scales, or in Chinese."""
    out: set[float] = set()
    for match in _DIGITS.finditer(text):
        value = _number(match.group(0))
        if value is not None:
            out.add(value)
    for digits, unit in _SCALED.findall(text):
        out.add(float(digits) * _CHINESE_UNITS[unit])
    for match in _CHINESE_NUMBER.finditer(text):
        value = chinese_number(match.group(0))
        if value is not None:
            out.add(float(value))
    return frozenset(out)


SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}


def number_of(token: str) -> float | None:
    """The number an English token stands for: digits (with a scale word: "66 million"), a
    number word or ordinal."""
    if token[:1].isdigit():
        digits, _, scale = token.partition(" ")
        value = _number(digits)
        if value is None or not scale:
            return value
        return value * SCALES[scale] if scale in SCALES else None
    return float(_ENGLISH_NUMBERS[token]) if token in _ENGLISH_NUMBERS else None


# Sound classes: how Chinese transliterates a consonant, the same on both sides.
_PINYIN_INITIALS = (
    ("zh", "S"), ("ch", "S"), ("sh", "S"), ("b", "B"), ("p", "B"), ("m", "M"), ("f", "F"),
    ("d", "D"), ("t", "D"), ("n", "N"), ("l", "L"), ("g", "G"), ("k", "G"), ("h", ""),
    ("j", "S"), ("q", "S"), ("x", "S"), ("r", "L"), ("z", "S"), ("c", "S"), ("s", "S"),
    ("y", ""), ("w", "F"),
)  # fmt: skip
_ENGLISH_SOUNDS = (
    (re.compile(r"ph"), "f"), (re.compile(r"(?<=[aeiou])gh|gh$"), ""), (re.compile(r"ck"), "k"),
    (re.compile(r"c(?=[eiy])"), "s"), (re.compile(r"qu"), "k"), (re.compile(r"x"), "ks"),
    (re.compile(r"ng"), "n"), (re.compile(r"th|sh|ch"), "s"),
)  # fmt: skip
_ENGLISH_CLASSES = str.maketrans("bpdtgkcqjszxmnlrfvwhy", "BBDDGGGGSSSSMNLLFFF" + "\0\0")


def _collapse(classes: str) -> str:
    return re.sub(r"(.)\1+", r"\1", classes.replace("\0", ""))


def english_skeleton(word: str) -> str:
    """The consonant classes of an English name: Jacksonville → SGSNFL."""
    for pattern, replacement in _ENGLISH_SOUNDS:
        word = pattern.sub(replacement, word)
    return _collapse("".join(ch for ch in word.translate(_ENGLISH_CLASSES) if ch.isupper()))


@lru_cache(maxsize=4096)
def syllable_skeleton(syllable: str) -> str:
    """The consonant classes of one pinyin syllable: xun → SN, er → L."""
    if syllable == "er":
        return "L"
    head = ""
    for initial, sound in _PINYIN_INITIALS:
        if syllable.startswith(initial):
            head, syllable = sound, syllable[len(initial) :]
            break
    return head + ("N" if syllable.endswith(("n", "ng")) else "")


_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


@dataclass(frozen=True)
class SoundAlikes:
    """Skeletons of every 2–6-syllable stretch of the article's Chinese, for name lookups.

    Eight sound classes collide easily, so a match must be long and of a plausible length:
    a skeleton of three classes or more, found exactly (or, from five classes, missing
    one: transliteration drops sounds, Kublai → 忽必烈 hu-bi-lie), in a stretch with about
    as many syllables as the name has vowel groups.
    """

    skeletons: frozenset[tuple[str, int]]

    @classmethod
    def of(cls, runs: list[tuple[str, ...]]) -> SoundAlikes:
        out: set[tuple[str, int]] = set()
        for run in runs:
            parts = [syllable_skeleton(s) for s in run]
            for i in range(len(parts)):
                for n in range(2, min(6, len(parts) - i) + 1):
                    skeleton = _collapse("".join(parts[i : i + n]))
                    if len(skeleton) >= 3:
                        out.add((skeleton, n))
        return cls(frozenset(out))

    def finds(self, word: str) -> bool:
        """Whether the article has a sound-alike of the English name ``word``."""
        skeleton = english_skeleton(word)
        if len(skeleton) < 3:
            return False
        vowels = len(_VOWEL_GROUPS.findall(word.rstrip("e")))
        candidates = {skeleton}
        if len(skeleton) >= 5:
            candidates |= {skeleton[:i] + skeleton[i + 1 :] for i in range(len(skeleton))}
        return any(
            (candidate, n) in self.skeletons
            for candidate in candidates
            for n in range(max(2, vowels - 1), vowels + 3)
        )
