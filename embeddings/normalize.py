"""Script-insensitive text: what the lexical index and the script detector compare."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

import opencc

from embeddings.english import ENGLISH_STOPWORDS


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def to_traditional(text: str) -> str:
    return str(_s2t().convert(text))


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Fold the differences users don't mean: script, width and case.

    Remembered for the last few thousand texts: a passage is folded by its shelf segment's
    tokens, its bridges and its BM25 as its article loads, and a question by every article
    searched for it (NFKC and OpenCC were a fifth of a 100-article shelf's start).
    """
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def tokens(text: str) -> list[str]:
    """Character uni- and bigrams for Chinese, words for Latin script and numbers.

    Chinese has no spaces and this article's names (津心辦, 津治通) are not in any
    segmenter's dictionary; overlapping character n-grams match them anyway.
    """
    norm = normalize(text)
    out: list[str] = []
    for run in _CJK.findall(norm):
        out.extend(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    out.extend(_WORD.findall(norm))
    return out


def script_of(text: str) -> str:
    """'hans', 'hant' or 'other': which script the asker writes, to quote back in it."""
    han = "".join(_CJK.findall(text))
    if not han:
        return "other"
    simplified, traditional = to_simplified(han), to_traditional(han)
    if simplified == traditional:
        return "hans"  # nothing tells them apart; most users write Simplified
    changed_by_t2s = sum(a != b for a, b in zip(han, simplified, strict=False))
    changed_by_s2t = sum(a != b for a, b in zip(han, traditional, strict=False))
    return "hant" if changed_by_t2s > changed_by_s2t else "hans"


_TITLE = re.compile(r"《[^》]*》|“[^”]*”|「[^」]*」|\"[^\"]*\"")


_IDEOGRAPH = re.compile("[\u3400-\u9fff]")


def mostly_chinese(text: str) -> bool:
    """More than half the letters are CJK ideographs (which all count as letters)."""
    return len(_IDEOGRAPH.findall(text)) > sum(map(str.isalpha, text)) / 2


def written_in_english(text: str) -> bool:
    """An English question, which may name a Chinese term ("What is 津心辦?"): no Chinese in
    it, or English words around it — at least two Latin letters for each Chinese character
    and at least two English function words. A Chinese question about a Latin name
    ("NASUWT是什么？", "MIT OpenCourseWare指什么？") is Chinese."""
    han = sum(len(run) for run in _CJK.findall(text))
    if not han:
        return True
    # A title is quoted in its own language: 《This Is Where I Came In》是哪张专辑？ is Chinese.
    latin = [w.lower() for w in re.findall(r"[A-Za-z]+", _TITLE.sub(" ", text))]
    function_words = sum(w in ENGLISH_STOPWORDS for w in latin)
    return sum(map(len, latin)) >= 2 * han and function_words >= 2


def word_tokens(text: str) -> list[str]:
    """jieba's words instead of character n-grams: kept only for comparison in `bot eval`.

    Measured there, character uni+bigrams rank better on this article: jieba splits
    names it does not know (津心办 → 津心 / 办), n-grams match them whole.
    """
    import jieba  # a dev dependency, only the evaluation imports this

    jieba.setLogLevel(logging.WARNING)
    return [w for w in jieba.lcut(normalize(text)) if _CJK.search(w) or _WORD.fullmatch(w)]
