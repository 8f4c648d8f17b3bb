"""A question, analysed once: what was typed, what is searched, which script it is in.

Every step of answering (screening, the shelf's shortlist, ranking, the refusal rule,
converting quotes to Simplified) reads this one analysis, so no two steps can read the
script of different texts and disagree about the same question.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.core.followup import Turn, with_context
from embeddings.normalize import script_of, written_in_english


def clean_question(text: str) -> str:
    """Drop control characters (NUL included) and collapse whitespace; keep everything else.

    Line breaks and tabs are whitespace first: "What is\nit" must not become "What isit".
    """
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(kept.split())


@dataclass(frozen=True)
class Question:
    """``raw`` as typed (echoed in the answer); ``cleaned`` is what the reader asked;
    ``searched`` adds the previous question to a follow-up that points back to it."""

    raw: str
    cleaned: str
    searched: str
    context: Turn | None  # the previous turn ``searched`` was read together with
    # The script the reader wrote in: a Simplified question gets Simplified quotes.
    script: str
    # An English question (nothing Chinese in it, or a Chinese name in English words: the
    # reply language's test) is ranked by the bridges and judged by the cross-lingual refusal
    # rule. A follow-up carries its context's script with it.
    cross: bool
    # How many articles of a shelf it is searched in: across several, the refusal rule asks
    # for more evidence (bot/core/choice.py). Set by the shelf once it has shortlisted.
    across: int = 1

    @classmethod
    def of(cls, raw: str, previous: Turn | None = None) -> Question:
        cleaned = clean_question(raw)
        joined = with_context(cleaned, previous)
        searched = joined or cleaned
        return cls(
            raw=raw,
            cleaned=cleaned,
            searched=searched,
            context=previous if joined else None,
            script=script_of(cleaned),
            # Each part on its own: an English follow-up to a Chinese question is searched
            # with that question's Chinese.
            cross=written_in_english(cleaned)
            and (previous is None or not joined or written_in_english(previous.question)),
        )

    @property
    def simplified(self) -> bool:
        """Quotes are converted to Simplified Chinese for this reader."""
        return self.script == "hans"
