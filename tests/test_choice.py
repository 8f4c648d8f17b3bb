"""The shelf's article choice: the fit each article reports, the rule and its fitting tool.

The rule's quality is measured held out by ``python -m bot.tools.choice_fit`` on 376
articles (README); these tests hold its mechanics: the answer carries the fit the rule
gives its evidence, the shelf quotes the best fit among answers, a place asked for beats
any close passage, and the fitting learns and is held out by source article.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bot.build import build_shelf
from bot.config import Settings
from bot.core.choice import CHOICE_FEATURES, ChoiceRule, ChoiceRules
from bot.core.engine import ArticleBot
from bot.core.question import Question
from bot.core.shelf import Shelf
from bot.tools.choice_fit import Asked, Candidate, chosen, cross_validated, fit_choice
from tests.helpers.paths import DATA, fresh_data_dir

FILES = ("sample_article.md", "mountain_railway.md", "tea_market.md")


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Shelf:
    data = fresh_data_dir(tmp_path_factory.mktemp("choice"), model_cache)
    return build_shelf(Settings(data_dir=data, articles=tuple(DATA / f for f in FILES)))


def test_an_answer_carries_the_fit_its_evidence_earns(core: ArticleBot) -> None:
    for text in ("网络文明大会在哪里举办？", "Who attended the conference?"):
        question = Question.of(text, None)
        best = core.retriever.search_many([question.searched], k=5)[0][0]
        features, _ = core.features(question, best)
        expected = ChoiceRules().for_cross(question.cross).fit(features, best.dense)
        assert core.ask(text).fit == pytest.approx(expected)


def test_a_place_asked_for_fits_better_than_any_passage(core: ArticleBot) -> None:
    assert core.ask("文章开头写了什么？").fit == math.inf


def test_the_shelf_quotes_the_best_fit_among_the_articles_that_answer(shelf: Shelf) -> None:
    for text in ("When does the tea market open?", "What did the first lamp burn?"):
        answers = [shelf.ask(text, article=name) for name in shelf.names()]
        answered = [a for a in answers if a.answered]
        best = max(answered, key=lambda a: a.fit)
        assert shelf.ask(text).article == best.article


def _asked(text: str, source: str, right: int, answered: tuple[bool, ...]) -> Asked:
    """Three candidates; the right one has the higher second feature, the others a higher
    last one (a dense score that misleads)."""
    candidates = []
    for i, ok in enumerate(answered):
        features = np.zeros(len(CHOICE_FEATURES))
        features[1] = 1.0 if i == right else 0.2
        features[-1] = 0.9 if i != right else 0.8
        candidates.append(Candidate(f"{source}_{i}", features, ok))
    return Asked(text, f"{source}_{right}", False, tuple(candidates))


def test_the_fitting_learns_what_tells_the_right_article_apart() -> None:
    asked = [_asked(f"q{n}", f"cmrc_{n:03d}", n % 3, (True, True, True)) for n in range(30)]
    rule = fit_choice(asked)
    assert rule.weights[1] > 0  # coverage tells them apart
    assert rule.weights[-1] == 0  # a higher dense score is never held against an article
    assert all(chosen(a, rule) == a.article for a in asked)
    assert sum(chosen(a, None) == a.article for a in asked) == 0  # dense alone misleads here
    held_out = cross_validated(asked)
    assert all(held_out[a.text] == a.article for a in asked)


def test_an_answer_is_chosen_before_a_refusal_whatever_it_fits() -> None:
    a = _asked("q", "cmrc_000", 0, (False, True, True))
    assert chosen(a, ChoiceRule(tuple(1.0 for _ in CHOICE_FEATURES))) != a.article


def test_xquad_contexts_of_one_wikipedia_article_are_held_out_together() -> None:
    def source(name: str) -> str:
        return Asked("q", name, False, ()).source

    assert source("xquad_03_2") == source("xquad_03_5") == "xquad_03"
    assert source("cmrc_007") == "cmrc_007"
