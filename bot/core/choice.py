"""Which article of a shelf answers an open question: a score comparable across articles.

Every shortlisted article answers the question on its own, and each answer's raw cosine
is not comparable with another article's: a long article about the same city has a
close paragraph for every question about the city, and an English question's cosines
run lower against some texts than others. What does compare is the evidence the refusal
rule already reads — how far the best passage stands above what off-topic questions score
against *this* article, how much of the question the article has in some form, the names
and terms it lacks — weighed for telling the right article from its neighbours rather
than for telling an answer from a refusal.

The weights are a conditional logit (one softmax over a question's shortlisted articles)
fitted by ``python -m bot.tools.choice_fit`` on the shelf of every CMRC 2018 trial and
XQuAD dev context, cross-validated by source article, each weight kept to its direction
(evidence against an answer never makes a better fit), and pasted here: like the refusal
rules, nothing in them is a fact about one article.

The article that fits best is quoted — or, when it declines, the shelf declines: a
question the shelf does not cover still finds, among eight articles, one whose own rule
lets it pass by luck. For the same reason a Chinese question searched in several articles
must clear a stricter refusal threshold (``stricter``, chosen by the same tool as the
strictest that declines at most 2% of the answerable questions of every source); for English
questions, whose evidence across scripts is thinner, no shift stays within that budget.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# What the choice reads: the refusal rule's features (bot/core/engine.py FEATURES), then the
# best passage's dense score itself (the features read it relative to the article).
CHOICE_FEATURES = (
    "dense_over_reference", "coverage", "names", "missing", "unmatched", "phrase", "focus",
    "no_type", "lexicon", "pinyin", "swapped", "dense",
)  # fmt: skip


@dataclass(frozen=True)
class ChoiceRule:
    """A linear score over :data:`CHOICE_FEATURES`; the article scoring highest is quoted.

    ``stricter`` is how much lower the refusal rule's threshold is for a question searched
    in several articles: each shortlisted article is a chance for a question the shelf
    does not cover to pass its own article's rule by luck.
    """

    weights: tuple[float, ...]
    stricter: float = 0.0

    def fit(self, features: np.ndarray, dense: float) -> float:
        return float(np.dot(self.weights, [*features, dense]))


@dataclass(frozen=True)
class ChoiceRules:
    """One rule for Chinese questions, one for questions with no Chinese in them (the
    evidence means different things across scripts, as for :class:`RefusalRules`)."""

    chinese: ChoiceRule = ChoiceRule(
        (38.8, 15.0, -0.526, -0.52, 0.0, 0.0, 0.0, -1.51, 0.0, 0.0, 0.0, 94.1), stricter=0.75
    )
    cross: ChoiceRule = ChoiceRule(
        (74.7, 5.39, -0.814, -0.271, 0.0, -0.85, 0.0, 0.0, 0.246, 4.29, 0.0, 92.7), stricter=0.0
    )

    def for_cross(self, cross: bool) -> ChoiceRule:
        return self.cross if cross else self.chinese

    def to_json(self) -> dict[str, object]:
        return {"chinese": asdict(self.chinese), "cross": asdict(self.cross)}
