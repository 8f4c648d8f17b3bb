"""Fit the shelf's article choice (bot/core/choice.py) and say how well it holds out.

On the shelf of every CMRC 2018 trial and XQuAD dev context (:mod:`bot.tools.context_articles`,
376 articles), every distinct answerable question is shortlisted as the shelf shortlists it,
and each shortlisted article's evidence is read as its core reads it for the refusal rule.
A conditional logit (one softmax over the question's articles, the right one the target) is
fitted per question script, and judged by 5-fold cross-validation *by source article*: the
five XQuAD contexts of one Wikipedia article are all held out together, so a fold never
learns the neighbour it is tested on. Printed: the right article quoted under the rule in
the code now, under the fitted rule held out, and the weights to paste into
``bot/core/choice.py``.

    python -m bot.tools.choice_fit [--data-dir DIR] [--contexts /work/shared/data]
                                   [--shelf-dir DIR] [--json PATH]

``--shelf-dir`` keeps the articles and their indexes for the next run (and for
``python -m bot bench --contexts … --shelf-dir …``, which reads the same folder).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import Settings
from bot.core.choice import CHOICE_FEATURES, ChoiceRule, ChoiceRules
from bot.core.engine import SIGNS
from bot.core.question import Question
from bot.core.shelf import Shelf
from bot.core.shortlist import shortlists
from bot.tools.context_articles import write_context_articles
from bot.tools.measure import share_model

FOLDS = 5
# The share of answerable questions of each source a shelf may decline that one article
# would have answered, when its refusal rule is made stricter for questions searched across
# several articles (the bundled article's target for what it declines: issue 17).
BUDGET = 0.02
STEPS = tuple(step / 4 for step in range(17))  # threshold shifts tried: 0, 0.25 … 4
L2 = 0.01  # on standardised features: enough to keep a feature one script never uses at 0
# The direction each weight may take: evidence that makes a refusal likelier never makes an
# article a better fit (the refusal rule's :data:`SIGNS` turned round), a higher dense score
# never a worse one. A weight the pool would point the other way stays at 0, as in ``bot eval``.
DIRECTIONS = (*(-sign for sign in SIGNS), 1)


@dataclass(frozen=True)
class Candidate:
    """One shortlisted article for one question: what the choice reads, and its verdict."""

    article: str
    features: np.ndarray  # CHOICE_FEATURES
    margin: float  # the refusal rule's score less its threshold: negative, it answers

    def answers(self, stricter: float = 0.0) -> bool:
        return self.margin < -stricter


@dataclass(frozen=True)
class Asked:
    text: str
    article: str  # the right one
    cross: bool
    candidates: tuple[Candidate, ...]

    @property
    def source(self) -> str:
        """The Wikipedia article the question's context came from: the unit held out."""
        return self.article.rsplit("_", 1)[0] if self.article.startswith("xquad") else self.article

    @property
    def label(self) -> str:
        if self.article.startswith("cmrc"):
            return "CMRC"
        return "XQuAD English" if self.cross else "XQuAD Chinese"


def context_shelf(settings: Settings, data: Path, workdir: Path) -> tuple[Shelf, list[Any]]:
    """The shelf of every context under ``data``, indexed in ``workdir`` (reused when built)."""
    from bot.build import build_shelf

    folder = workdir / "articles"
    gold = write_context_articles(data, folder)
    data_dir = workdir / "data"
    if not (data_dir / "models").is_dir():
        data_dir.mkdir(parents=True, exist_ok=True)
        share_model(settings.data_dir, data_dir)
    return build_shelf(replace(settings, data_dir=data_dir, articles_dir=folder, articles=())), gold


def collect(shelf: Shelf, gold: list[Any]) -> list[Asked]:
    """Each distinct question with its shortlisted articles' evidence."""
    names = shelf.names()
    encoder = shelf.get(names[0]).retriever.encoder  # type: ignore[union-attr]
    seen: dict[str, Any] = {}
    for g in gold:
        seen.setdefault(g.text, g)
    asked = []
    for g in seen.values():
        question = Question.of(g.text, None)
        listed = shortlists(
            shelf.store, encoder, shelf.catalog, [question.searched], shelf.shortlist
        )[0]
        candidates = []
        for name in listed:
            core = shelf.get(name)
            if core is None or core.screen(question) is not None:
                continue
            best = core.retriever.search_many([question.searched], k=5)[0][0]
            if best.placed:  # asked for a place: the choice does not weigh evidence there
                continue
            features, _ = core.features(question, best)
            rule = core.refusal.for_cross(question.cross)
            candidates.append(
                Candidate(name, np.array([*features, best.dense]), rule.margin(features))
            )
        asked.append(Asked(g.text, g.article, question.cross, tuple(candidates)))
    return asked


def _loss(w: np.ndarray, groups: list[tuple[np.ndarray, int]]) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of the right article under a softmax over each shortlist."""
    total, grad = L2 * float(w @ w), 2 * L2 * w
    for x, right in groups:
        s = x @ w
        p = np.exp(s - s.max())
        p /= p.sum()
        total -= float(np.log(p[right] + 1e-12))
        grad = grad - (x[right] - p @ x)
    return total, grad


def fit_choice(asked: list[Asked]) -> ChoiceRule:
    """The conditional logit over questions whose right article was shortlisted, each
    weight in its :data:`DIRECTIONS`."""
    from scipy.optimize import minimize

    rows = [
        (np.vstack([c.features for c in a.candidates]), right)
        for a in asked
        for right in [next((i for i, c in enumerate(a.candidates) if c.article == a.article), -1)]
        if right >= 0
    ]
    if not rows:
        return ChoiceRule((0.0,) * len(CHOICE_FEATURES))
    spread = np.vstack([x for x, _ in rows]).std(axis=0)
    spread[spread < 1e-9] = 1.0  # a feature that never varies keeps weight 0
    scaled = [(x / spread, right) for x, right in rows]
    bounds = [(0.0, None) if d > 0 else (None, 0.0) for d in DIRECTIONS]
    found = minimize(
        _loss, np.zeros(len(spread)), args=(scaled,), jac=True, method="L-BFGS-B", bounds=bounds
    )
    return ChoiceRule(tuple(float(f"{v:.3g}") for v in found.x / spread))


def choice(cands: list[Candidate], rule: ChoiceRule | None) -> Candidate | None:
    """The article the shelf quotes: the best fit, whatever its verdict (with no rule, the
    choice before this one: an answer before a refusal, then the closest dense score)."""
    if not cands:
        return None
    if rule is None:
        return max(cands, key=lambda c: (c.answers(), float(c.features[-1])))
    return max(cands, key=lambda c: float(np.dot(rule.weights, c.features)))


def chosen(a: Asked, rule: ChoiceRule | None) -> str | None:
    best = choice(list(a.candidates), rule)
    return best.article if best else None


def refused(a: Asked, rule: ChoiceRule | None, without_right: bool = False) -> bool:
    """The shelf declines: the chosen article does not answer under the rule's ``stricter``.
    With ``without_right``, as if the right article were not on the shelf: the question is
    then one the shelf does not cover, about a subject its neighbours share."""
    kept = [c for c in a.candidates if not (without_right and c.article == a.article)]
    best = choice(kept, rule)
    return best is None or not best.answers(rule.stricter if rule else 0.0)


def strictness(asked: list[Asked], rule: ChoiceRule) -> float:
    """The strictest threshold shift under which the shelf declines at most :data:`BUDGET`
    of the answerable questions of every source (0 when even none stays within it): pooled,
    the many CMRC questions would hide what XQuAD's lose."""
    groups = [[a for a in asked if a.label == label] for label in {a.label for a in asked}]

    def within(step: float) -> bool:
        shifted = replace(rule, stricter=step)
        return all(sum(refused(a, shifted) for a in g) <= BUDGET * len(g) for g in groups)

    return max((step for step in STEPS if within(step)), default=0.0)


def declined(
    asked: list[Asked], rules: dict[str, ChoiceRule | None]
) -> dict[str, dict[str, float]]:
    """Answerable questions declined, and the same questions declined without their article,
    per source, each under its rule (``rules``: question text → rule)."""
    out: dict[str, dict[str, float]] = {}
    for label in [*sorted({a.label for a in asked}), "all"]:
        group = [a for a in asked if label in ("all", a.label)]
        n = max(len(group), 1)
        out[label] = {
            "answerable": sum(refused(a, rules[a.text]) for a in group) / n,
            "without_its_article": sum(refused(a, rules[a.text], True) for a in group) / n,
        }
    return out


def fitted(asked: list[Asked]) -> ChoiceRule:
    """The choice's weights, then its threshold shift under them, both from ``asked``."""
    rule = fit_choice(asked)
    return replace(rule, stricter=strictness(asked, rule))


def cross_validated(asked: list[Asked]) -> dict[str, ChoiceRule]:
    """Each question's rule (by its text), fitted without its source article."""
    sources = sorted({a.source for a in asked})
    order = np.random.default_rng(0).permutation(len(sources))
    fold_of = {sources[i]: n % FOLDS for n, i in enumerate(order)}
    out: dict[str, ChoiceRule] = {}
    for fold in range(FOLDS):
        for cross in (False, True):
            rule = fitted([a for a in asked if a.cross == cross and fold_of[a.source] != fold])
            for a in asked:
                if a.cross == cross and fold_of[a.source] == fold:
                    out[a.text] = rule
    return out


def shares(asked: list[Asked], picks: dict[str, str | None]) -> dict[str, float]:
    """The right article quoted, overall and per source."""
    right, total = Counter[str](), Counter[str]()
    for a in asked:
        for label in ("all", a.label):
            total[label] += 1
            right[label] += picks[a.text] == a.article
    return {label: right[label] / total[label] for label in total}


def report(asked: list[Asked]) -> dict[str, Any]:
    held_out = cross_validated(asked)
    in_code = {a.text: ChoiceRules().for_cross(a.cross) for a in asked}
    listed = {
        a.text: a.article if any(c.article == a.article for c in a.candidates) else None
        for a in asked
    }
    chinese, cross = (fitted([a for a in asked if a.cross == c]) for c in (False, True))
    return {
        "questions": len(asked),
        "right_article_shortlisted": shares(asked, listed),
        "closest_dense": shares(asked, {a.text: chosen(a, None) for a in asked}),
        "fitted_in_code": shares(asked, {a.text: chosen(a, in_code[a.text]) for a in asked}),
        "fitted_held_out": shares(asked, {a.text: chosen(a, held_out[a.text]) for a in asked}),
        "declined_before": declined(asked, {a.text: None for a in asked}),
        "declined_in_code": declined(asked, dict(in_code)),
        "declined_held_out": declined(asked, dict(held_out)),
        "rules": {"chinese": asdict(chinese), "cross": asdict(cross)},
    }


def main(argv: list[str]) -> int:
    import argparse
    import tempfile

    from bot.config import from_env

    parser = argparse.ArgumentParser(prog="python -m bot.tools.choice_fit")
    parser.add_argument("--data-dir", type=Path, help="where the model is converted already")
    parser.add_argument("--contexts", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--shelf-dir", type=Path, help="keep the articles and indexes here")
    parser.add_argument("--json", type=Path, dest="json_path", help="also write the figures here")
    args = parser.parse_args(argv)
    settings = from_env(data_dir=args.data_dir)
    with tempfile.TemporaryDirectory(prefix="choice-fit-") as scratch:
        shelf, gold = context_shelf(settings, args.contexts, args.shelf_dir or Path(scratch))
        asked = collect(shelf, gold)
    figures = report(asked)
    print(f"{figures['questions']} distinct questions, right article quoted:")
    for label in (
        "right_article_shortlisted",
        "closest_dense",
        "fitted_in_code",
        "fitted_held_out",
    ):
        row = ", ".join(f"{k} {v:.1%}" for k, v in figures[label].items())
        print(f"  {label:<26} {row}")
    print("declined: answerable / the same without its article on the shelf")
    for label in ("declined_before", "declined_in_code", "declined_held_out"):
        row = ", ".join(
            f"{k} {v['answerable']:.1%} / {v['without_its_article']:.1%}"
            for k, v in figures[label].items()
        )
        print(f"  {label:<26} {row}")
    print("rules to paste into bot/core/choice.py (weights in CHOICE_FEATURES order):")
    for script, rule in figures["rules"].items():
        print(f"  {script}: {rule}")
    if args.json_path:
        args.json_path.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
