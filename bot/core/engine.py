"""The transport-free core: a question in, an :class:`Answer` out.

Adapters (console, Telegram, ``ask --json``) only translate to and from this; every
decision about what to quote, in which script, and when to decline lives here so
that all of them behave the same.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import asdict, dataclass, replace

import numpy as np

from bot.core.answer import MAX_QUESTION_CHARS, About, Answer, AnswerKind, Quote
from bot.core.answerability import Answerability, Evidence
from bot.core.choice import ChoiceRules
from bot.core.followup import Turn
from bot.core.highlight import best_sentence
from bot.core.overview import is_overview
from bot.core.question import Question
from bot.core.smalltalk import is_smalltalk
from corpus.model import Article, Section
from embeddings.normalize import mostly_chinese, to_simplified
from embeddings.passages import Passage
from embeddings.retrieval import Hit, Retriever

# What the refusal rule reads, in this order (see :func:`refusal_features`).
FEATURES = (
    "dense", "coverage", "names", "missing", "unmatched", "phrase", "focus", "no_type",
    "lexicon", "pinyin", "swapped",
)  # fmt: skip
# The direction each may push: a higher score or coverage never makes a refusal likelier,
# more missing terms never less likely; ``bot eval`` drops a feature whose fitted weight
# points the other way rather than let a quirk of the pool teach the rule backwards.
SIGNS = (-1, -1, 1, 1, 1, 1, 1, 1, -1, -1, 1)
# Each a refusal on its own (RefusalRule.refuses): the best passage lacks the answer's type;
# the question swaps a name of the article's phrase for another.
GATES = (FEATURES.index("no_type"), FEATURES.index("swapped"))


def refusal_features(
    dense: float,
    coverage: float,
    evidence: Evidence | None,
    cross: bool,
    reference: float,
    *,
    bridged: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """One question's evidence as numbers.

    ``dense`` is read relative to ``reference``, what generic off-topic questions score
    against this article (measured at index time), so the rule carries to other articles.
    For an English question ``coverage`` is the share of its terms the article has in some
    form (bigrams mean nothing across scripts), and ``bridged`` the best passage's lexicon and
    pinyin BM25: how much of the question the dictionary and the names carry to that passage.
    """
    names = min(evidence.names, 2) if evidence else 0
    missing = min(len(evidence.missing), 3) if evidence else 0
    # A missing phrase (常住人口, 下载地址, "square kilometres") is a thing the question is about;
    # a missing two-character word is as often the asker's own wording of what is there.
    phrase = float(
        evidence is not None
        and any((len(t) >= 3 and not t.isascii()) or " " in t for t in evidence.missing)
    )
    focus = float(evidence is not None and evidence.focus)
    unmatched = evidence.unmatched if evidence else 0.0
    no_type = float(evidence is not None and not evidence.type_found)
    swapped = float(evidence is not None and evidence.swapped)
    if cross:
        coverage = evidence.found if evidence else 0.0
    return np.array(
        [
            dense - reference, coverage, names, missing, unmatched, phrase, focus, no_type,
            *bridged, swapped,
        ]
    )  # fmt: skip


@dataclass(frozen=True)
class RefusalRule:
    """When the best passage is not an answer: a small logistic rule over :data:`FEATURES`.

    e5's cosines sit in a narrow band where answerable and off-topic questions
    overlap; a content term the article never mentions, or a passage without the kind
    of answer asked for (a number, a date, an address), says more. Refuse when
    ``bias + weights · features`` reaches ``threshold``.
    """

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def score(self, features: np.ndarray) -> float:
        return self.bias + float(np.dot(self.weights, features))

    def refuses(self, features: np.ndarray, stricter: float = 0.0) -> bool:
        """``stricter`` lowers the threshold: a question searched in several articles of a
        shelf has several chances to pass by luck (bot/core/choice.py).

        Two kinds of evidence refuse whatever the scores (:data:`GATES`), because they mark
        the near-misses whose words the article shares best, where scores mislead most:

        - a best passage without the type of answer asked for (no price for "how much does
          it cost", no age for "how old"): it cannot be the answer. Over the pool's searched
          questions, 4 of 1,617 answerable ones and 57 of 961 unanswerable ones;
        - a name of the question missing where the article's own phrase has another
          (2023年中国网络文明大会 asked of an article on 2022年中国网络文明大会): the question
          is about something else. 0 of 1,617 answerable questions, 6 of 961 unanswerable.
        """
        return self.margin(features) >= -stricter

    def margin(self, features: np.ndarray) -> float:
        """The score less the threshold (at 0 or above it refuses); infinite when a gate
        refuses."""
        if any(features[i] for i in GATES):
            return math.inf
        return self.score(features) - self.threshold


@dataclass(frozen=True)
class RefusalRules:
    """One rule for Chinese questions, one for questions with no Chinese in them.

    The two read the same evidence on different scales (a cross-lingual cosine runs
    lower; bigram coverage means nothing across scripts), so each is fitted on its own.
    Both are fitted by ``python -m bot eval`` on the pool of articles (bot/tools/pool.py)
    with cross-validation by article, and the values it prints are pasted here: nothing
    in them is a fact about one article.
    """

    chinese: RefusalRule = RefusalRule(
        (-68.01, -8.12, 1.94, 0.59, 1.16, 0.55, 0.0, 0.0, 0.0, 0.0, 0.0), 3.61, 0.7
    )
    cross: RefusalRule = RefusalRule(
        (-51.55, 0.0, 0.9, 0.32, 3.02, 0.74, 0.0, 0.0, -0.43, -0.57, 0.0), -0.6, 0.88
    )

    def for_cross(self, cross: bool) -> RefusalRule:
        return self.cross if cross else self.chinese

    def to_json(self) -> dict[str, object]:
        return {"chinese": asdict(self.chinese), "cross": asdict(self.cross)}


def _has_words(question: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in question)


def unsearched(question: Question) -> AnswerKind | None:
    """What a question is when no article needs to be searched for it, whichever article
    it is asked of: too long, wordless or a greeting (a shelf answers it without a search)."""
    if len(question.raw) > MAX_QUESTION_CHARS:
        return AnswerKind.TOO_LONG
    if not _has_words(question.cleaned):
        return AnswerKind.EMPTY
    if is_smalltalk(question.cleaned):
        return AnswerKind.GREETING
    return None


class ArticleBot:
    def __init__(
        self,
        article: Article,
        retriever: Retriever,
        refusal: RefusalRules | None = None,
        facts: dict[str, str] | None = None,
        choice: ChoiceRules | None = None,
    ) -> None:
        self.article = article
        self.retriever = retriever
        self.refusal = refusal or RefusalRules()
        self.choice = choice or ChoiceRules()
        self.facts = facts or {}  # index version, last eval figures: shown by /about
        r = retriever
        # The missing-term and answer-type evidence is built for Chinese text (dictionary
        # words, Chinese answer shapes) and fitted on it; an article written mostly in
        # another script is refused on its scores alone, not by evidence that does not apply.
        self.answerability = (
            Answerability(r.bridges, r.dictionary, r.word_vectors, r.encoder)
            if r.bridges is not None
            and r.dictionary is not None
            and r.word_vectors is not None
            and mostly_chinese(r.bridges.article_text)
            else None
        )

    def features(self, question: Question, best: Hit) -> tuple[np.ndarray, Evidence | None]:
        """What the refusal rule reads for ``question`` (as searched) and its best passage."""
        cross, searched = question.cross, question.searched
        key = "offtopic_dense_cross" if cross else "offtopic_dense"
        reference = self.retriever.calibration.get(key, 0.0)
        coverage = self.retriever.lexical.coverage(searched)
        rule, stricter = self.refusal.for_cross(cross), self.stricter(question)

        def numbers(evidence: Evidence | None) -> np.ndarray:
            return refusal_features(
                best.dense, coverage, evidence, cross, reference, bridged=best.bridged
            )

        evidence = (
            self.answerability.evidence(
                searched,
                best.passage.lexical_text(),
                matters=lambda e: rule.refuses(numbers(e), stricter),
            )
            if self.answerability
            else None
        )
        return numbers(evidence), evidence

    def stricter(self, question: Question) -> float:
        """How much stricter the refusal rule is for ``question``: searched in several
        articles of a shelf it must clear a higher bar than in one (bot/core/choice.py)."""
        return self.choice.for_cross(question.cross).stricter if question.across > 1 else 0.0

    def about(self) -> About:
        """What /about shows, for every adapter to word in the reader's language."""
        article = self.article
        return About(
            title=article.title,
            source=article.source,
            date=article.date,
            paragraphs=sum(1 for _ in article.paragraphs()),
            sections=len(article.sections),
            content_hash=article.content_hash[:16],
            model=self.retriever.encoder.model_id,
            facts=tuple(sorted(self.facts.items())),
        )

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
            paragraphs=len(self.retriever.passages),
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
        turns = previous or [None] * len(questions)
        return self.answer_many(
            [Question.of(raw, turn) for raw, turn in zip(questions, turns, strict=True)], k
        )

    def answer_many(
        self, questions: list[Question], k: int = 3, expand: bool | None = None
    ) -> list[Answer]:
        """:meth:`ask_many` for questions already analysed (the shelf analyses them once).

        ``expand``: whether an unsure English ranking is decided by the question's expansion
        with this article's words (:meth:`embeddings.retrieval.Retriever.signals_many`). By
        default only for a question searched in this article alone: in each article a
        24-article shelf searched, an English question was unsure in 8 on average, 8 more
        embeddings; the shelf expands it in the article it chose (:meth:`Shelf.ask_many`).
        """
        answers: list[Answer | None] = [self.screen(q) for q in questions]
        pending = [i for i, early in enumerate(answers) if early is None]
        if pending:
            texts = [questions[i].searched for i in pending]
            allowed = [questions[i].across <= 1 if expand is None else expand for i in pending]
            results = self.retriever.search_many(texts, k=max(k, 5), expand=allowed)
            for i, hits in zip(pending, results, strict=True):
                answers[i] = self._decide(questions[i], hits, k)
        return [a for a in answers if a is not None]

    def screen(self, question: Question) -> Answer | None:
        """Questions that need no search: too long, wordless, a greeting, or the overview."""
        kind = unsearched(question)
        if kind is not None:
            return Answer(question.raw, kind, source=self.article)
        if is_overview(question.cleaned):
            return self.overview(question.raw, simplified=question.simplified)
        return None

    def overview(self, raw: str, simplified: bool) -> Answer:
        """The lead paragraph quoted; renderers list the sections after it."""
        lead = self.show(self.retriever.passages[0], simplified)
        return Answer(raw, AnswerKind.OVERVIEW, (lead,), converted=simplified, source=self.article)

    def _decide(self, question: Question, hits: list[Hit], k: int) -> Answer:
        simplified = question.simplified
        best = hits[0]
        context = question.context.question if question.context else None
        # A question about the opening, the close or a named section asks for a place the
        # article has: the place is quoted, and the refusal rule (which would read a question
        # that names no topic as off-topic) is not asked.
        features, evidence = (None, None) if best.placed else self.features(question, best)
        # How well this article answers, for a shelf to compare with other articles' answers:
        # an article holding the place asked for beats any that only has a close passage.
        fit = (
            self.choice.for_cross(question.cross).fit(features, best.dense)
            if features is not None
            else math.inf
        )
        rule = self.refusal.for_cross(question.cross)
        if features is not None and rule.refuses(features, self.stricter(question)):
            return Answer(
                question.raw,
                AnswerKind.NOT_COVERED,
                converted=simplified,
                closest=self._quote(question.cleaned, best, simplified),
                missing=evidence.missing if evidence else (),
                absent=evidence.wanted if evidence and not evidence.type_found else None,
                context=context,
                fit=fit,
                source=self.article,
            )
        quotes = tuple(self._quote(question.cleaned, hit, simplified) for hit in hits[:k])
        return Answer(
            question.raw,
            AnswerKind.ANSWER,
            quotes,
            converted=simplified,
            context=context,
            fit=fit,
            source=self.article,
        )

    def _quote(self, question: str, hit: Hit, simplified: bool) -> Quote:
        quote = self.show(hit.passage, simplified)
        return replace(
            quote,
            score=hit.score,
            similarity=hit.dense,
            highlights=best_sentence(question, quote.text, hit.sentence_scores),
        )
