"""The measuring helpers every tool shares: what they report, on inputs whose answer is known."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.tools.evaluate import load_gold
from bot.tools.measure import gold_questions, peak_rss_mb, percentiles_ms, rss_mb, share_model


def test_percentiles_are_in_milliseconds_and_ordered() -> None:
    figures = percentiles_ms([i / 1000 for i in range(1, 101)])  # 1 ms … 100 ms
    assert figures["n"] == 100
    assert figures["p50_ms"] == pytest.approx(50.5)
    assert figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["max_ms"] == pytest.approx(100)
    assert figures["mean_ms"] == pytest.approx(50.5)


def test_an_empty_sample_has_no_figures_rather_than_an_error() -> None:
    figures = percentiles_ms([])
    assert figures["n"] == 0
    assert {v for k, v in figures.items() if k != "n"} == {None}


def test_gold_questions_are_the_gold_sets_in_order_and_repeat_to_a_count() -> None:
    unique = [item.question for item in load_gold()]
    assert gold_questions() == unique
    many = gold_questions(len(unique) + 3)
    assert many[: len(unique)] == unique and many[len(unique) :] == unique[:3]


def test_rss_of_this_process_and_of_another() -> None:
    assert 0 < rss_mb() <= peak_rss_mb() + 1  # sampled now vs the peak so far
    with subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE) as child:
        assert rss_mb(child.pid) > 0
        child.communicate(b"\n")
    assert rss_mb(child.pid) == 0.0  # gone: nothing to read


def test_share_model_links_the_converted_models_and_says_when_there_are_none(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    (source / "models" / "a-model").mkdir(parents=True)
    (source / "models" / "a-model" / "weights").write_text("w", encoding="utf-8")
    (source / "models" / "a-model.lock").touch()  # a lock file is not a model
    assert share_model(source, tmp_path / "data")
    linked = tmp_path / "data" / "models" / "a-model"
    assert linked.is_symlink() and (linked / "weights").read_text(encoding="utf-8") == "w"
    assert os.listdir(tmp_path / "data" / "models") == ["a-model"]
    assert not share_model(tmp_path / "empty", tmp_path / "other")
    assert not (tmp_path / "other").exists()
