"""The gold-set figures are floors: a change that makes answers worse fails here.

The floors sit a little under the figures measured when they were set (README,
"How good is it?"), so that noise from a library update does not fail CI but a real
regression does.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from bot.core.engine import ArticleBot
from bot.tools.evaluate import choose_fusion, choose_rule, evaluate, load_gold, score


@pytest.fixture(scope="module")
def report(core: ArticleBot) -> dict[str, Any]:
    return evaluate(core, load_gold())


def test_held_out_ranking_floors(report: dict[str, Any]) -> None:
    figures = report["heldout_minmax"]
    assert figures["overall"]["hit@1"] >= 0.81
    assert figures["overall"]["hit@3"] >= 0.90
    assert figures["overall"]["mrr"] >= 0.86
    assert figures["by_lang"]["zh-Hans"]["hit@1"] >= 0.87
    assert figures["by_lang"]["zh-Hant"]["hit@1"] >= 0.89
    assert figures["by_lang"]["en"]["hit@1"] >= 0.75  # 0.565 before the lexicon and pinyin
    assert figures["by_kind"]["overview"]["hit@1"] == 1.0


def test_refusal_floors(report: dict[str, Any]) -> None:
    refusal = report["heldout_minmax"]["refusal"]
    assert refusal["answerable_refused"] <= 0.025
    assert refusal["recall"] >= 0.60  # 0.27 before missing terms and answer types; see README
    assert refusal["precision"] >= 0.85
    deployed = report["deployed"]["figures"]["refusal"]
    assert deployed["answerable_refused"] <= 0.02


def test_unseen_articles_with_no_tuning(report: dict[str, Any]) -> None:
    """CMRC 2018 trial articles the parameters never saw (bot/tools/data/unseen)."""
    assert set(report["unseen"]) == {"cmrc_a", "cmrc_b", "cmrc_c"}
    for figures in report["unseen"].values():
        assert figures["overall"]["hit@1"] >= 0.85
        assert figures["overall"]["hit@3"] >= 0.93
        assert figures["refusal"]["recall"] >= 0.6
        assert figures["refusal"]["answerable_refused"] <= 0.12  # measured 0.04–0.11: see README


def test_score_fusion_beats_rank_fusion_and_ngrams_beat_jieba_words_here(
    report: dict[str, Any],
) -> None:
    minmax, rrf = report["heldout_minmax"]["overall"], report["heldout_rrf"]["overall"]
    assert minmax["hit@1"] >= rrf["hit@1"]
    jieba = report["heldout_minmax_jieba"]["overall"]  # jieba is a dev dependency
    assert minmax["mrr"] >= jieba["mrr"]


def test_follow_ups_gain_from_context_and_nothing_else_loses(report: dict[str, Any]) -> None:
    f = report["followups"]
    assert f["pairs"] >= 20
    assert f["hit@1_with_context"] >= f["hit@1_without_context"] + 0.15
    assert f["standalone_hit@1_mid_conversation"] >= f["standalone_hit@1_fresh"] - 0.01


def test_deployed_parameters_are_the_ones_tuned_on_the_gold_set(
    core: ArticleBot, report: dict[str, Any]
) -> None:
    assert report["tuned"]["fusion"] == asdict(core.retriever.fusion)
    assert report["tuned"]["refusal"] == asdict(core.refusal)


def test_every_gold_answer_is_in_some_passage(core: ArticleBot) -> None:
    scored = score(core, load_gold())  # raises if a gold quote matches no passage
    assert sum(s.item.answerable for s in scored) >= 110
    fusion = choose_fusion(scored, "minmax")
    assert choose_rule(scored, fusion) == core.refusal


def test_eval_command_prints_and_writes_json(tmp_path: Path, data_dir: Path) -> None:
    from tests.test_cli import _run

    out = tmp_path / "report.json"
    result = _run(["eval", "--json", str(out)], data_dir)
    assert result.returncode == 0, result.stderr
    assert "Held-out (5-fold CV), min-max score fusion" in result.stdout
    assert json.loads(out.read_text())["questions"] >= 130
    assert (data_dir / "eval.json").exists()
