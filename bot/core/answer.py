"""What the core hands to every adapter: an answer, independent of how it is shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.followup import Turn
from corpus.model import Article
from embeddings.passages import Passage

# Longer input is declined before any search: the encoder reads 512 tokens at most.
MAX_QUESTION_CHARS = 500


class AnswerKind(StrEnum):
    ANSWER = "answer"
    NOT_COVERED = "not_covered"  # the article does not answer this
    GREETING = "greeting"  # hello / thanks: greet back, quote nothing
    EMPTY = "empty"  # nothing to search for: blank, only emoji or punctuation
    TOO_LONG = "too_long"  # over the stated question limit
    OVERVIEW = "overview"  # about the whole article: its lead paragraph, then its sections


@dataclass(frozen=True)
class About:
    """The article and how it is searched: ``/about`` in every adapter."""

    title: str
    source: str | None
    date: str | None
    paragraphs: int
    sections: int
    content_hash: str
    model: str
    facts: tuple[tuple[str, str], ...] = ()  # operator facts: index format, last eval figures


@dataclass(frozen=True)
class Quote:
    """A passage as shown to this asker: possibly converted to their script."""

    passage: Passage
    text: str
    heading: str | None
    subheading: str | None
    score: float
    highlights: tuple[tuple[int, int], ...]  # character spans of the answering sentence(s)
    similarity: float = 0.0  # the dense score the refusal rule read
    # Which shelf article this is from (its short name), stamped by bot.core.shelf.Shelf.
    article: str | None = None
    # The article's title for the attribution line: set only on a shelf of several articles,
    # where "which article?" needs an answer; with one article the heading says enough.
    article_title: str | None = None
    # How many paragraphs its article has: "Paragraph N of M" without asking the shelf.
    paragraphs: int = 0

    def strength(self) -> str:
        """How good the match is ("fair", "weak" or "very weak"): renderers word it."""
        if self.similarity >= 0.85:
            return "fair"
        return "weak" if self.similarity >= 0.78 else "very weak"

    @property
    def position(self) -> int:
        return self.passage.position


@dataclass(frozen=True)
class Answer:
    question: str
    kind: AnswerKind
    quotes: tuple[Quote, ...] = ()
    converted: bool = False  # quotes were converted to Simplified for this asker
    closest: Quote | None = None  # for a refusal: the best match that was not good enough
    context: str | None = None  # the earlier question this follow-up was read together with
    # For a refusal: the question's terms the article never mentions, as the asker wrote them.
    missing: tuple[str, ...] = ()
    # For a refusal: the type of answer asked for that the closest passage does not hold
    # (a key of bot.core.answerability's types: "money", "age"…), if that is why.
    absent: str | None = None
    # How well the article answers, comparable across a shelf's articles (bot/core/choice.py):
    # the shelf quotes the article whose answer fits best. Not part of what adapters show,
    # remember or compare: an answer recalled for a button is the same answer without it.
    fit: float = field(default=0.0, compare=False)
    # The article this answer speaks for, so adapters render it (its title, sections and
    # example questions) without going back to the shelf. A reply that quotes nothing
    # (a greeting, an empty question) speaks for the article the conversation is about.
    source: Article = field(kw_only=True)

    @property
    def article(self) -> str | None:
        """The shelf article this answer quotes (or came closest in), if it quotes any."""
        shown = self.quotes[0] if self.quotes else self.closest
        return shown.article if shown else None

    def turn(self) -> Turn:
        """What a conversation remembers of this answer for the next question."""
        shown = self.quotes or ((self.closest,) if self.closest else ())
        return Turn(self.question, tuple(q.passage.id for q in shown))

    @property
    def answered(self) -> bool:
        """Something of the article is quoted as the answer (a passage, or the overview's lead)."""
        return self.kind in (AnswerKind.ANSWER, AnswerKind.OVERVIEW)

    def to_json(self) -> dict[str, object]:
        """The ``ask --json`` contract: keep these keys stable, tools are built on them."""
        return {
            "question": self.question,
            "answered": self.answered,
            "kind": self.kind.value,
            "converted": self.converted,
            "context": self.context,
            "missing": list(self.missing),
            "absent": self.absent,
            "passages": [
                {
                    "text": q.text,
                    "section": q.heading,
                    "subheading": q.subheading,
                    "paragraph": q.position,
                    "score": round(q.score, 4),
                    "highlights": [list(span) for span in q.highlights],
                    "article": q.article,
                }
                for q in self.quotes
            ],
        }
