"""The transport-free core: a question in, an :class:`Answer` out.

Adapters (console, Telegram, ``ask --json``) only translate to and from this; every
decision about what to quote, in which script, and when to decline lives here so
that all of them behave the same.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from bot.answer import Answer, AnswerKind, Quote
from bot.sentences import lexical_overlap, sentence_spans
from corpus.model import Article, Section
from embeddings.normalize import normalize, script_of, to_simplified
from embeddings.retrieval import Hit, Retriever

MAX_QUESTION_CHARS = 500
_GREETINGS = frozenset(
    {
        *("hi", "hello", "hey", "yo", "hola", "thanks", "thank", "you", "thx", "cheers", "bye"),
        *("你好", "您好", "嗨", "哈喽", "哈囉", "在吗", "在嗎", "在不在", "早上好", "晚上好"),
        *("谢谢", "謝謝", "多谢", "多謝", "感谢", "感謝", "再见", "再見", "拜拜"),
    }
)
_GREETING_PHRASES = frozenset({"thank you", "good morning", "good evening", "good night"})
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class RefusalRule:
    """When the best passage is not an answer.

    A raw cosine threshold alone refuses badly with e5 (answerable and off-topic
    questions overlap in 0.71–0.95); the lexical coverage of the question's bigrams
    separates what the cosine cannot. The numbers are calibrated on the gold set
    by ``python -m bot eval``.
    """

    min_dense: float = 0.80
    confident_dense: float = 0.86
    min_coverage: float = 0.35

    def refuses(self, best: Hit, coverage: float) -> bool:
        if best.dense < self.min_dense:
            return True
        return best.dense < self.confident_dense and coverage < self.min_coverage


def clean_question(text: str) -> str:
    """Drop control characters (NUL included) and collapse whitespace; keep everything else."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())


def _is_greeting(question: str) -> bool:
    words = _NON_WORD.sub(" ", normalize(question)).strip()
    if not words:
        return False
    return (
        words in _GREETINGS
        or words in _GREETING_PHRASES
        or (all(w in _GREETINGS for w in words.split()) and len(words.split()) <= 3)
    )


def _has_words(question: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in question)


class ArticleBot:
    def __init__(
        self, article: Article, retriever: Retriever, refusal: RefusalRule | None = None
    ) -> None:
        self.article = article
        self.retriever = retriever
        self.refusal = refusal or RefusalRule()
        self._sentence_vectors: dict[str, np.ndarray] = {}

    @property
    def sections(self) -> tuple[Section, ...]:
        return self.article.sections

    def section(self, number: int) -> Section | None:
        if 1 <= number <= len(self.article.sections):
            return self.article.sections[number - 1]
        return None

    def ask(self, question: str, k: int = 3) -> Answer:
        return self.ask_many([question], k)[0]

    def ask_many(self, questions: list[str], k: int = 3) -> list[Answer]:
        """Answer several questions with one encoder call (micro-batching for throughput)."""
        answers: list[Answer | None] = []
        pending: list[tuple[int, str, str]] = []
        for i, raw in enumerate(questions):
            cleaned = clean_question(raw)
            early = self._screen(raw, cleaned)
            answers.append(early)
            if early is None:
                pending.append((i, raw, cleaned))
        if pending:
            texts = [c for _, _, c in pending]
            vectors = self.retriever.encoder.encode_queries(texts)
            results = self.retriever.rank_many(texts, vectors, k=max(k, 5))
            for row, (i, raw, cleaned) in enumerate(pending):
                answers[i] = self._decide(raw, cleaned, vectors[row], results[row], k)
        return [a for a in answers if a is not None]

    def _screen(self, raw: str, cleaned: str) -> Answer | None:
        if len(raw) > MAX_QUESTION_CHARS:
            return Answer(raw, AnswerKind.TOO_LONG)
        if not _has_words(cleaned):
            return Answer(raw, AnswerKind.EMPTY)
        if _is_greeting(cleaned):
            return Answer(raw, AnswerKind.GREETING)
        return None

    def _decide(
        self, raw: str, question: str, vector: np.ndarray, hits: list[Hit], k: int
    ) -> Answer:
        simplified = script_of(question) == "hans"
        best = hits[0]
        coverage = self.retriever.lexical.coverage(question)
        if self.refusal.refuses(best, coverage):
            return Answer(
                raw,
                AnswerKind.NOT_COVERED,
                converted=simplified,
                closest=self._quote(question, vector, best, simplified),
            )
        quotes = tuple(self._quote(question, vector, hit, simplified) for hit in hits[:k])
        return Answer(raw, AnswerKind.ANSWER, quotes, converted=simplified)

    def _quote(self, question: str, vector: np.ndarray, hit: Hit, simplified: bool) -> Quote:
        p = hit.passage
        convert = to_simplified if simplified else (lambda s: s)
        text = convert(p.text)
        return Quote(
            passage=p,
            text=text,
            heading=convert(p.heading) if p.heading else None,
            subheading=convert(p.subheading) if p.subheading else None,
            score=hit.score,
            highlights=self._highlight(question, vector, text, p.id),
        )

    def _highlight(
        self, question: str, vector: np.ndarray, text: str, passage_id: str
    ) -> tuple[tuple[int, int], ...]:
        spans = sentence_spans(text)
        if len(spans) <= 1:
            return tuple(spans)
        overlap = [lexical_overlap(question, text[a:b]) for a, b in spans]
        if max(overlap) > 0:
            return (spans[int(np.argmax(overlap))],)
        # No shared words (an English question): fall back to meaning, sentence by sentence.
        vectors = self._sentence_vectors.get(passage_id)
        if vectors is None:
            vectors = self.retriever.encoder.encode_passages([text[a:b] for a, b in spans])
            self._sentence_vectors[passage_id] = vectors
        return (spans[int(np.argmax(vectors @ vector))],)
