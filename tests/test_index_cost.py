"""The index-cost bench's inputs and arithmetic (its runs are in ``test_bench``'s quick bench).

The articles must be made from the evaluation data, with the paragraph counts the figures
name, and the ratio must be of medians taken in one run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.tools.index_cost import (
    IndexCost,
    cmrc_article,
    cpu_seconds,
    index_cost_rows,
    xquad_article,
)
from corpus.ingest import load_article


def _squad(path: Path, articles: list[list[str]]) -> Path:
    data = [
        {"title": f"t{i}", "paragraphs": [{"context": c} for c in a]}
        for i, a in enumerate(articles)
    ]
    path.write_text(json.dumps({"data": data}, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_long_article_has_the_paragraphs_asked_for(tmp_path: Path) -> None:
    context = "".join(f"第{n}句话讲的是一件很长很长的事情，" * 6 + "。" for n in range(4))
    source = _squad(tmp_path / "cmrc.json", [[context] * 3, [context] * 3])
    article = load_article(cmrc_article(source, 7, tmp_path / "long.md"))
    assert len(list(article.paragraphs())) == 7


def test_the_short_article_is_xquads_first(tmp_path: Path) -> None:
    contexts = [f"华沙是波兰的首都，第{n}段。" for n in range(5)]
    source = _squad(tmp_path / "xquad.json", [contexts, ["别的文章。"]])
    article = load_article(xquad_article(source, tmp_path / "short.md"))
    assert [p.text for p in article.paragraphs()] == contexts


def test_cpu_seconds_come_from_the_child() -> None:
    spin = "import time\nend = time.process_time() + 0.2\nwhile time.process_time() < end: pass"
    assert cpu_seconds([sys.executable, "-c", spin]) >= 0.2


def test_the_ratio_is_of_medians_and_marks_the_targets() -> None:
    figures = IndexCost(150, 5, [30.0, 10.0, 12.0], [9.0, 10.0, 8.0], [1.9, 2.5, 1.0], 1.0)
    result = figures.figures()
    assert result["long_over_plain"] == 12.0 / 9.0
    rows = {figure: ok for figure, _, _, ok in index_cost_rows(result)}
    assert list(rows.values()) == [None, False, True]
