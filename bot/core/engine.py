"""The transport-free core: a question in, an :class:`Answer` out.

Adapters (console, Telegram, ``ask --json``) only translate to and from this; every
decision about what to quote, in which script, and when to decline lives here so
that all of them behave the same.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace

from bot.core.answer import MAX_QUESTION_CHARS, Answer, AnswerKind, Quote
from bot.core.followup import Turn, with_context
from bot.core.highlight import best_sentence
from bot.core.smalltalk import is_smalltalk
from corpus.model import Article, Section
from embeddings.normalize import script_of, to_simplified
from embeddings.passages import Passage
from embeddings.retrieval import Hit, Retriever


@dataclass(frozen=True)
class RefusalRule:
    """When the best passage is not an answer.

    e5's cosines sit in a narrow band where answerable and off-topic questions
    overlap, and a question in English scores lower against Chinese text than a
    Chinese one does, so each gets its own threshold; for Chinese questions the
    share of their bigrams found in the article adds evidence the cosine lacks.
    Chosen by cross-validation on the gold set (``python -m bot eval``): refuse as
    many unanswerable questions as possible while refusing at most 2% of answerable ones.
    """

    min_dense: float = 0.80
    min_dense_cross: float = 0.73
    coverage_weight: float = 0.05
    min_combined: float = 0.85

    def refuses(self, best: Hit, coverage: float, cross: bool) -> bool:
        return self.refuses_scores(best.dense, coverage, cross)

    def refuses_scores(self, dense: float, coverage: float, cross: bool) -> bool:
        if cross:
            return dense < self.min_dense_cross
        return dense < self.min_dense or dense + self.coverage_weight * coverage < self.min_combined


def clean_question(text: str) -> str:
    """Drop control characters (NUL included) and collapse whitespace; keep everything else."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


def _has_words(question: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in question)


class ArticleBot:
    def __init__(
        self,
        article: Article,
        retriever: Retriever,
        refusal: RefusalRule | None = None,
        facts: dict[str, str] | None = None,
    ) -> None:
        self.article = article
        self.retriever = retriever
        self.refusal = refusal or RefusalRule()
        self.facts = facts or {}  # index version, last eval figures: shown by /about

    def about(self) -> list[tuple[str, str]]:
        """What /about shows, in order, for every adapter."""
        article = self.article
        rows = [
            ("Title", article.title),
            ("Source", article.source or "unknown"),
            ("Date", article.date or "unknown"),
            (
                "Paragraphs",
                f"{sum(1 for _ in article.paragraphs())} in {len(article.sections)} sections",
            ),
            ("Content hash", article.content_hash[:16]),
            ("Model", f"{self.retriever.encoder.model_id} (dense) + BM25 (lexical)"),
        ]
        return rows + sorted(self.facts.items())

    @property
    def sections(self) -> tuple[Section, ...]:
        return self.article.sections

    def section(self, number: int) -> Section | None:
        if 1 <= number <= len(self.article.sections):
            return self.article.sections[number - 1]
        return None

    def neighbour(self, passage: Passage, step: int) -> Passage | None:
        """The paragraph ``step`` places away in reading order; None past either end."""
        index = passage.position - 1 + step
        passages = self.retriever.passages
        return passages[index] if 0 <= index < len(passages) else None

    def passage_by_id(self, passage_id: str) -> Passage | None:
        return next((p for p in self.retriever.passages if p.id == passage_id), None)

    def show(self, passage: Passage, simplified: bool) -> Quote:
        """A paragraph the reader walked to: quoted whole, nothing highlighted."""
        convert = to_simplified if simplified else (lambda s: s)
        return Quote(
            passage=passage,
            text=convert(passage.text),
            heading=convert(passage.heading) if passage.heading else None,
            subheading=convert(passage.subheading) if passage.subheading else None,
            score=0.0,
            highlights=(),
        )

    def ask(self, question: str, k: int = 3, previous: Turn | None = None) -> Answer:
        return self.ask_many([question], k, [previous])[0]

    def ask_many(
        self, questions: list[str], k: int = 3, previous: list[Turn | None] | None = None
    ) -> list[Answer]:
        """Answer several questions with one encoder call (micro-batching for throughput).

        ``previous`` holds, per question, the asker's last turn: a follow-up that points
        back to it is searched together with it.
        """
        answers: list[Answer | None] = []
        pending: list[tuple[int, str, str, str, Turn | None]] = []
        for i, raw in enumerate(questions):
            cleaned = clean_question(raw)
            early = self.screen(raw, cleaned)
            answers.append(early)
            if early is None:
                turn = previous[i] if previous else None
                search = with_context(cleaned, turn)
                pending.append((i, raw, cleaned, search or cleaned, turn if search else None))
        if pending:
            results = self.retriever.search_many([p[3] for p in pending], k=max(k, 5))
            for (i, raw, cleaned, text, used), hits in zip(pending, results, strict=True):
                answer = self._decide(raw, cleaned, text, hits, k)
                answers[i] = replace(answer, context=used.question) if used else answer
        return [a for a in answers if a is not None]

    def screen(self, raw: str, cleaned: str) -> Answer | None:
        """Questions that need no search: too long, wordless, or a greeting."""
        if len(raw) > MAX_QUESTION_CHARS:
            return Answer(raw, AnswerKind.TOO_LONG)
        if not _has_words(cleaned):
            return Answer(raw, AnswerKind.EMPTY)
        if is_smalltalk(cleaned):
            return Answer(raw, AnswerKind.GREETING)
        return None

    def _decide(self, raw: str, question: str, searched: str, hits: list[Hit], k: int) -> Answer:
        """``question`` is what the asker typed; ``searched`` may add the previous question."""
        script = script_of(question)
        simplified = script == "hans"
        best = hits[0]
        coverage = self.retriever.lexical.coverage(searched)
        if self.refusal.refuses(best, coverage, cross=script == "other"):
            return Answer(
                raw,
                AnswerKind.NOT_COVERED,
                converted=simplified,
                closest=self._quote(question, best, simplified),
            )
        quotes = tuple(self._quote(question, hit, simplified) for hit in hits[:k])
        return Answer(raw, AnswerKind.ANSWER, quotes, converted=simplified)

    def _quote(self, question: str, hit: Hit, simplified: bool) -> Quote:
        quote = self.show(hit.passage, simplified)
        return replace(
            quote,
            score=hit.score,
            similarity=hit.dense,
            highlights=best_sentence(question, quote.text, hit.sentence_scores),
        )
