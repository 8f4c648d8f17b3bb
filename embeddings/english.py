"""English words as the bridges read them: function words dropped, the rest stemmed.

Shared by the dictionary (its glosses), the bridges (a question's words) and the refusal
evidence, so that a question's stem and a gloss's stem are made the same way.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

_LATIN = re.compile(r"[a-z\u00df-\u00ff\u0100-\u024f]+")
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
        anything something someone anyone exactly really please know happen happens
        section sections summarize summarise summary headline heading paragraph paragraphs
        begin begins opens open end ends wrap conclude concludes stress stresses""",
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


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """One word's stem, remembered: the dictionary's glosses repeat the same words."""
    return str(_stem_words().stemWord(word))  # type: ignore[attr-defined]


def english_stems(text: str, question: bool = False) -> list[str]:
    """Stems of the content words of English text, in order, duplicates dropped.

    For a ``question``, the words every question about an article uses are dropped too.
    """
    skip = ENGLISH_STOPWORDS | ENGLISH_QUESTION_WORDS if question else ENGLISH_STOPWORDS
    words = [_american(w) for w in _LATIN.findall(text.lower()) if w not in skip]
    stems = [_stem(w) for w in words]
    return list(dict.fromkeys(s for s in stems if len(s) >= 2))
