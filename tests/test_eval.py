"""The evaluation figures are floors: a change that makes answers worse fails here.

The floors sit a little under the figures measured when they were set (README,
"How good is it?"), so that noise from a library update does not fail CI but a real
regression does. The gold-set report and the pool report are each computed once.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from bot.core.engine import ArticleBot
from bot.tools.evaluate import choose_fusion, evaluate, load_gold, score
from bot.tools.make_pool import xquad_article
from bot.tools.pool import evaluate_pool, pool_articles
from tests.helpers.paths import ROOT, run_bot


@pytest.fixture(scope="module")
def report(core: ArticleBot) -> dict[str, Any]:
    return evaluate(core, load_gold())


@pytest.fixture(scope="module")
def pool(core: ArticleBot, model_cache: Path) -> dict[str, Any]:
    """Every pool article indexed once into the test cache, then held out by article."""
    return evaluate_pool(core, model_cache / "eval-pool")


def test_held_out_ranking_floors(report: dict[str, Any]) -> None:
    figures = report["heldout_minmax"]
    assert figures["overall"]["hit@1"] >= 0.84  # measured 0.871
    assert figures["overall"]["hit@3"] >= 0.90
    assert figures["overall"]["mrr"] >= 0.86
    assert figures["by_lang"]["zh-Hans"]["hit@1"] >= 0.87
    assert figures["by_lang"]["zh-Hant"]["hit@1"] >= 0.89
    assert figures["by_lang"]["en"]["hit@1"] >= 0.75  # 0.565 before the lexicon and pinyin
    assert figures["by_kind"]["overview"]["hit@1"] == 1.0


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


def test_deployed_fusion_is_the_one_tuned_on_the_gold_set(
    core: ArticleBot, report: dict[str, Any]
) -> None:
    assert report["tuned"]["fusion"] == asdict(core.retriever.fusion)


def test_every_gold_answer_is_in_some_passage(core: ArticleBot) -> None:
    scored = score(core, load_gold())  # raises if a gold quote matches no passage
    assert sum(s.item.answerable for s in scored) >= 110
    assert choose_fusion(scored, "minmax") == core.retriever.fusion


def test_the_pool_holds_both_sources_in_both_scripts_and_three_languages() -> None:
    articles = pool_articles()
    assert {a.source for a in articles} == {"bundled", "cmrc", "xquad"}
    assert sum(a.source == "xquad" for a in articles) == 24
    assert sum(a.source == "cmrc" for a in articles) >= 20
    languages = {
        json.loads(line)["lang"]
        for a in articles
        for line in a.questions.read_text(encoding="utf-8").splitlines()
    }
    assert languages == {"en", "zh-Hans", "zh-Hant"}
    near = Counter(
        (a.source, json.loads(line)["lang"][:2])
        for a in articles
        for line in a.questions.read_text(encoding="utf-8").splitlines()
        if json.loads(line)["kind"] == "near_miss"
    )
    assert near[("xquad", "en")] >= 90 and near[("xquad", "zh")] >= 90, near


def test_a_held_back_context_gives_near_misses_unless_the_article_answers_them() -> None:
    def context(text: str, questions: list[tuple[str, str]]) -> dict[str, Any]:
        qas = [{"id": q, "question": q, "answers": [{"text": a}]} for q, a in questions]
        return {"context": text, "qas": qas}

    zh = [{"paragraphs": [
        context("华沙是波兰首都。", [("首都是哪里？", "华沙")]),
        context("华沙证券交易所建于1817年。", [("何时建立？", "1817年"), ("在哪个国家？", "波兰")]),
    ]}]  # fmt: skip
    en = [{"paragraphs": [{"qas": [
        {"id": "何时建立？", "question": "When was it founded?"},
    ]}]}]  # fmt: skip
    text, rows = xquad_article(0, zh, en)
    assert "华沙是波兰首都" in text and "1817" not in text
    near = [(r["question"], r["lang"]) for r in rows if r["kind"] == "near_miss"]
    # 波兰 is in the article: that question is answerable after all, so it is left out.
    assert near == [("何时建立？", "zh-Hans"), ("When was it founded?", "en")]
    assert all(r["answers"] == [] for r in rows if r["kind"] == "near_miss")


@pytest.mark.slow
def test_unseen_articles_as_delivered(pool: dict[str, Any]) -> None:
    """Held out by article: each figure comes from rules fitted on the other articles."""
    figures = pool["heldout_by_article"]
    xquad_en, xquad_zh, cmrc = figures["xquad en"], figures["xquad zh"], figures["cmrc zh"]
    assert xquad_en["delivered_hit@1"] >= 0.87  # 0.571 as delivered before issue 17
    assert xquad_en["answerable_refused"] <= 0.03
    assert xquad_en["unanswerable_refused"] >= 0.85  # off-topic; measured 0.900
    assert xquad_en["near_miss_refused"] >= 0.45  # measured 0.531
    assert xquad_zh["delivered_hit@1"] >= 0.93
    assert xquad_zh["answerable_refused"] <= 0.03
    assert xquad_zh["unanswerable_refused"] >= 0.95
    assert xquad_zh["near_miss_refused"] >= 0.70  # measured 0.755
    assert cmrc["answerable_refused"] <= 0.03
    assert cmrc["unanswerable_refused"] >= 0.93
    # The bot beats a plain dense pipeline on the same unseen articles, refusals included.
    for group in (xquad_en, xquad_zh, cmrc):
        assert group["delivered_hit@1"] > group["plain_dense_hit@1"]


@pytest.mark.slow
def test_the_bundled_article_held_out_by_article(pool: dict[str, Any]) -> None:
    bundled = pool["heldout_by_article"]["bundled all"]
    assert bundled["hit@1"] >= 0.87  # measured 0.891
    assert bundled["answerable_refused"] <= 0.03  # measured 0.020: see README
    # measured 0.767 (0.617 before the gates, the new answer types and two-way segmentation)
    assert bundled["unanswerable_refused"] >= 0.72


@pytest.mark.slow
def test_deployed_rules_are_the_ones_fitted_on_the_pool(
    core: ArticleBot, pool: dict[str, Any]
) -> None:
    assert pool["fitted"] == core.refusal.to_json()


@pytest.mark.slow
def test_eval_command_prints_and_writes_json(tmp_path: Path, served_data_dir: Path) -> None:
    """The command's plumbing on a small gold file; the figures are checked above."""
    data_dir = served_data_dir
    gold = tmp_path / "gold.jsonl"
    lines = (ROOT / "bot" / "tools" / "data" / "gold.jsonl").read_text(encoding="utf-8")
    gold.write_text("\n".join(lines.splitlines()[:60]) + "\n", encoding="utf-8")
    out = tmp_path / "report.json"
    result = run_bot(["eval", "--no-pool", "--gold", str(gold), "--json", str(out)], data_dir)
    assert result.returncode == 0, result.stderr
    assert "Held-out (5-fold CV by question" in result.stdout
    assert json.loads(out.read_text())["questions"] == 60
    assert (data_dir / "eval.json").exists()
