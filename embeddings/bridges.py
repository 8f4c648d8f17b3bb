"""Bridges from an English question to the Chinese article: a bilingual lexicon and pinyin.

e5-small's cross-lingual cosine alone puts the right paragraph first for only about
half of the English questions, and no registry package ships a stronger multilingual
model or a translator. CC-CEDICT (:mod:`embeddings.dictionary`) and toneless pinyin
(``pypinyin``) are data we do have:

- the lexicon: the article's dictionary words with the stems of their English
  glosses, inverted so that "conference" finds 大会 and "registered users" 注册;
- pinyin: 2–4-syllable concatenations of the article's Chinese, so that "Jinxinban"
  or "Jin Xin Ban" finds 津心辦 and "Lin Chenxu" finds 林宸旭.

Both also translate the question for the encoder (:meth:`Bridges.expanded`): e5 matches
Chinese to Chinese better than English to Chinese, so the article's own words for an
English question are appended to it before it is embedded.

The dictionary itself is shared by every article (:func:`embeddings.dictionary.load_dictionary`);
an article keeps only its own slice (:class:`BridgeTables`) in its index directory.
Scores are sparse BM25 tables: memory and time grow with the article's text, not with
its words times its paragraphs.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings.dictionary import Dictionary, unpacked
from embeddings.english import english_stems
from embeddings.normalize import normalize

if TYPE_CHECKING:  # only for annotations: the tables are built on first use
    from scipy import sparse

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z]+")
# A capitalised name, one word or several ("Jinxinban", "Jin Xin Ban", "Lin Chenxu").
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
# The longest dictionary word looked for in the article's text.
MAX_WORD = 6
PINYIN_SPANS = (2, 3, 4)


def _runs(text: str) -> list[str]:
    return _CJK.findall(normalize(text))


def _article_words(texts: list[str], glosses: Mapping[str, object]) -> Counter[str]:
    """Every dictionary word with a gloss that occurs in the texts, and how often.

    Single characters keep a gloss only when they abbreviate a place (冀 "short name for
    Hebei", 津 "abbr. for Tianjin"), which names one thing (see :func:`gloss_shares`).
    """
    found: Counter[str] = Counter()
    for text in texts:
        for run in _runs(text):
            for i in range(len(run)):
                for n in range(1, min(MAX_WORD, len(run) - i) + 1):
                    if run[i : i + n] in glosses:
                        found[run[i : i + n]] += 1
    return found


def pinyin_syllables(text: str) -> list[list[str]]:
    """Toneless pinyin of each run of Chinese characters in ``text``."""
    from pypinyin import lazy_pinyin

    return [[s.lower() for s in lazy_pinyin(run)] for run in _CJK.findall(text)]


@dataclass(frozen=True)
class BridgeTables:
    """The article's own slice of the dictionary and its pinyin; JSON-serialisable.

    ``stems`` maps an English stem to indexes into ``words``, the likeliest translation
    first (:func:`build_tables`); ``syllables`` holds each passage's pinyin runs.
    """

    words: tuple[str, ...]
    stems: dict[str, tuple[int, ...]]
    syllables: tuple[tuple[tuple[str, ...], ...], ...]

    def to_json(self) -> dict[str, object]:
        return {
            "words": list(self.words),
            "stems": {stem: list(ids) for stem, ids in sorted(self.stems.items())},
            "syllables": [[list(run) for run in passage] for passage in self.syllables],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BridgeTables:
        return cls(
            words=tuple(data["words"]),
            stems={k: tuple(v) for k, v in data["stems"].items()},
            syllables=tuple(tuple(tuple(run) for run in passage) for passage in data["syllables"]),
        )


def build_tables(texts: list[str], dictionary: Dictionary) -> BridgeTables:
    """Keep only what this article's ``texts`` need of the shared dictionary.

    A stem's candidates are ordered likeliest first: a word of two or more characters
    before a single one (它 and 的 gloss too much to say what a question is about), then
    by the share of a gloss sense the stem is times how often the article uses the word,
    so "make" reads 制作 ("to make") before 发奋 ("to make an effort") unless the article
    says 发奋 more than twice as often. The expansion appends the first (:meth:`Bridges.expanded`).
    """
    glosses = dictionary.glosses()
    counts = _article_words(texts, glosses)
    words = sorted(counts)
    stems: dict[str, list[tuple[bool, float, int]]] = defaultdict(list)
    for index, word in enumerate(words):
        for stem, share in unpacked(glosses[word]).items():
            stems[stem].append((len(word) > 1, share * counts[word], index))
    return BridgeTables(
        words=tuple(words),
        stems={
            stem: tuple(i for *_, i in sorted(ranked, key=lambda c: c[:2], reverse=True))
            for stem, ranked in stems.items()
        },
        syllables=tuple(tuple(tuple(run) for run in pinyin_syllables(text)) for text in texts),
    )


def _bm25(counts: sparse.coo_matrix, k1: float = 1.5, b: float = 0.75) -> sparse.csr_matrix:
    """BM25 weight of every term (rows) in every document (columns), kept sparse."""
    from scipy import sparse

    counts = counts.tocsr()
    counts.sum_duplicates()
    coo = counts.tocoo()
    lengths = np.asarray(counts.sum(axis=0)).ravel().astype(np.float64)
    average = float(lengths.mean()) if lengths.size else 1.0
    df = np.diff(counts.indptr)
    n = counts.shape[1]
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    tf = coo.data.astype(np.float64)
    norm = k1 * (1 - b + b * lengths[coo.col] / (average or 1.0))
    weights = idf[coo.row] * tf * (k1 + 1) / (tf + norm)
    return sparse.csr_matrix((weights, (coo.row, coo.col)), shape=counts.shape)


def _counts(docs: list[list[int]], rows: int) -> sparse.coo_matrix:
    """Term ids per document → a terms × documents count matrix."""
    from scipy import sparse

    row = [t for doc in docs for t in doc]
    col = [c for c, doc in enumerate(docs) for _ in doc]
    data = np.ones(len(row), dtype=np.int64)
    return sparse.coo_matrix((data, (row, col)), shape=(rows, len(docs)))


def pinyin_tokens(runs: tuple[tuple[str, ...], ...]) -> list[str]:
    """Concatenations of 2–4 consecutive syllables: how a name is romanised in English."""
    out: list[str] = []
    for run in runs:
        for n in PINYIN_SPANS:
            out.extend("".join(run[i : i + n]) for i in range(len(run) - n + 1))
    return out


def _query_pinyin(question: str) -> list[str]:
    """The question's Latin words and their 2–4-word concatenations ("Jin Xin Ban")."""
    words: list[str] = _LATIN.findall(question.lower())
    out = list(words)
    for n in PINYIN_SPANS:
        out.extend("".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return out


class Bridges:
    """Lexicon and pinyin scores of every passage for an English question.

    Each is BM25 over its own vocabulary: the article's dictionary words for the
    lexicon (a question stem scores a passage by its best-matching candidate word,
    so a stem with many translations does not outweigh one with a single exact one),
    pinyin concatenations for names.
    """

    def __init__(self, tables: BridgeTables, texts: list[str]) -> None:
        self.tables = tables
        self._texts = texts
        normalised = [normalize(t) for t in texts]
        self._normalised = normalised
        self._word_index = {w: i for i, w in enumerate(tables.words)}
        self.article_text = "\n".join(normalised)
        self._passages = len(texts)

    # The BM25 tables and the pinyin tokens are built when an English question first needs
    # them: a Chinese question never does, and a start should not wait for them.

    @cached_property
    def _lexicon(self) -> sparse.csr_matrix:
        ids = [self._word_ids(text) for text in self._normalised]
        return _bm25(_counts(ids, len(self.tables.words)))

    @cached_property
    def _pinyin_ids(self) -> tuple[dict[str, int], list[list[int]]]:
        """Each pinyin token's id, and every passage's tokens as ids."""
        index: dict[str, int] = {}
        docs = [
            [index.setdefault(t, len(index)) for t in pinyin_tokens(runs)]
            for runs in self.tables.syllables
        ]
        return index, docs

    @property
    def _pinyin_index(self) -> dict[str, int]:
        return self._pinyin_ids[0]

    @cached_property
    def _pinyin(self) -> sparse.csr_matrix:
        index, docs = self._pinyin_ids
        return _bm25(_counts(docs, len(index)))

    def _word_ids(self, text: str) -> list[int]:
        """Every occurrence of one of the article's dictionary words: one pass over the text."""
        out = []
        for run in _CJK.findall(text):
            for i in range(len(run)):
                for n in range(1, min(MAX_WORD, len(run) - i) + 1):
                    word_id = self._word_index.get(run[i : i + n])
                    if word_id is not None:
                        out.append(word_id)
        return out

    def _spelt(self, token: str) -> str | None:
        """The article's characters a pinyin token (:func:`pinyin_tokens`) spells, read from
        the first passage that has it: the pinyin BM25 table already says which passages do,
        and a map of every token to its characters would double the pinyin's memory."""
        row = self._pinyin_index.get(token)
        if row is None:
            return None
        passage = int(self._pinyin[row].indices.min())
        runs = self.tables.syllables[passage]
        for chars, run in zip(_CJK.findall(self._texts[passage]), runs, strict=False):
            if len(chars) != len(run):  # a character pypinyin spelt in two parts
                continue
            for n in PINYIN_SPANS:
                for i in range(len(run) - n + 1):
                    if "".join(run[i : i + n]) == token:
                        return normalize(chars[i : i + n])
        return None

    def expanded(self, question: str) -> str:
        """An English question followed by the article's own words for it: per content
        word, its likeliest translation in the article; per capitalised name, the
        characters whose pinyin spells it ("Jinxinban" → 津心办).

        Measured on the pool's English questions (README "How good is it?"): the cosine
        of the expanded question puts the right paragraph first far more often than the
        English one's. A question with Chinese in it is returned unchanged.
        """
        if _CJK.search(question):
            return question
        words = [next(iter(self.translations(s)), None) for s in english_stems(question, True)]
        for name in _NAME.findall(question):
            parts = name.lower().split()
            spelt = (self._spelt(t) for t in ("".join(parts), *parts))
            words.append(next((w for w in spelt if w), None))
        added = [w for w in dict.fromkeys(words) if w]
        return f"{question} {' '.join(added)}" if added else question

    def translations(self, stem: str) -> tuple[str, ...]:
        """The article's words for an English stem, likeliest first."""
        return tuple(self.tables.words[i] for i in self.tables.stems.get(stem, ()))

    def lexicon_scores(self, question: str) -> np.ndarray:
        total = np.zeros(self._passages)
        for stem in english_stems(question, question=True):
            ids = list(self.tables.stems.get(stem, ()))
            if ids:
                total += self._lexicon[ids].toarray().max(axis=0)
        return total

    def pinyin_scores(self, question: str) -> np.ndarray:
        rows = [self._pinyin_index[t] for t in _query_pinyin(question) if t in self._pinyin_index]
        if not rows:
            return np.zeros(self._passages)
        return np.asarray(self._pinyin[rows].sum(axis=0)).ravel()

    def pinyin_known(self, token: str) -> bool:
        return token in self._pinyin_index
