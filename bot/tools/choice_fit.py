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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import Settings
from bot.core.choice import CHOICE_FEATURES, ChoiceRule
from bot.core.engine import SIGNS
from bot.core.question import Question
from bot.core.shelf import Shelf
from bot.core.shortlist import shortlists
from bot.tools.context_articles import write_context_articles
from bot.tools.measure import share_model

FOLDS = 5
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
    answered: bool


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
        listed = shortlists(shelf.store, encoder, names, [question.searched], shelf.shortlist)[0]
        candidates = []
        for name in listed:
            core = shelf.get(name)
            if core is None or core.screen(question) is not None:
                continue
            best = core.retriever.search_many([question.searched], k=5)[0][0]
            if best.placed:  # asked for a place: the choice does not weigh evidence there
                continue
            features, _ = core.features(question, best)
            answered = not core.refusal.for_cross(question.cross).refuses(features)
            candidates.append(Candidate(name, np.array([*features, best.dense]), answered))
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


def chosen(a: Asked, rule: ChoiceRule | None) -> str | None:
    """The article the shelf quotes: an answer before a refusal, then the best fit (or, with
    no rule, the closest dense score: the choice before this one)."""
    if not a.candidates:
        return None

    def key(c: Candidate) -> tuple[bool, float]:
        score = float(np.dot(rule.weights, c.features)) if rule else float(c.features[-1])
        return c.answered, score

    return max(a.candidates, key=key).article


def cross_validated(asked: list[Asked]) -> dict[str, str | None]:
    """Each question's chosen article under a rule fitted without its source article."""
    sources = sorted({a.source for a in asked})
    order = np.random.default_rng(0).permutation(len(sources))
    fold_of = {sources[i]: n % FOLDS for n, i in enumerate(order)}
    out: dict[str, str | None] = {}
    for fold in range(FOLDS):
        for cross in (False, True):
            train = [a for a in asked if a.cross == cross and fold_of[a.source] != fold]
            rule = fit_choice(train)
            for a in asked:
                if a.cross == cross and fold_of[a.source] == fold:
                    out[a.text] = chosen(a, rule)
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
    listed = shares(
        asked,
        {
            a.text: a.article if any(c.article == a.article for c in a.candidates) else None
            for a in asked
        },
    )
    return {
        "questions": len(asked),
        "right_article_shortlisted": listed,
        "closest_dense": shares(asked, {a.text: chosen(a, None) for a in asked}),
        "fitted_held_out": shares(asked, cross_validated(asked)),
        "fitted_in_code": shares(asked, {a.text: chosen(a, _in_code(a)) for a in asked}),
        "weights": {
            "chinese": fit_choice([a for a in asked if not a.cross]).weights,
            "cross": fit_choice([a for a in asked if a.cross]).weights,
        },
    }


def _in_code(a: Asked) -> ChoiceRule:
    from bot.core.choice import ChoiceRules

    return ChoiceRules().for_cross(a.cross)


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
    print("weights to paste into bot/core/choice.py (CHOICE_FEATURES order):")
    for script, weights in figures["weights"].items():
        print(f"  {script}: {tuple(weights)}")
    if args.json_path:
        args.json_path.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
