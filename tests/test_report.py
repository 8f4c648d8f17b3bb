"""``python -m bot report``: per article, what readers asked, what was answered, the terms
the article does not mention, and the votes — from the question log, as text and HTML."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bot.core.feedback import FeedbackStore
from bot.core.stores import QuestionRecord
from bot.tools.report import build_report, format_html, format_text
from tests.helpers.paths import run_bot

NOW = dt.datetime.now(dt.UTC)
SECOND = dt.timedelta(seconds=1)


def _asked(
    article: str, answered: bool, missing: tuple[str, ...] = (), days_ago: float = 0
) -> QuestionRecord:
    return QuestionRecord(
        at=NOW - dt.timedelta(days=days_ago),
        article=article,
        language="en",
        kind="question",
        outcome="answer" if answered else "refused",
        answered=answered,
        missing=missing,
        latency_ms=100.0,
        chat="c" * 32,
    )


LOG = [
    _asked("Tianjin", True, days_ago=1),
    _asked("Tianjin", False, ("Metro station",), days_ago=2),
    _asked("Tianjin", False, ("metro  station", "tickets"), days_ago=2),
    _asked("Tianjin", False, ("tickets",)),
    _asked("Ports", True),
    _asked("Ports", False, ("weather",), days_ago=40),  # before the period
]


def test_the_report_counts_questions_answers_missing_terms_and_votes() -> None:
    since = NOW - dt.timedelta(days=30)
    report = build_report(LOG, {"Tianjin": (3, 1)}, since, NOW + SECOND)
    tianjin, ports = report.articles
    assert (tianjin.article, tianjin.asked, tianjin.answered) == ("Tianjin", 4, 1)
    assert tianjin.missing == (("metro station", 2), ("tickets", 2))  # grouped, most asked
    assert (tianjin.up, tianjin.down) == (3, 1)
    assert (ports.asked, ports.answered, ports.missing, ports.up) == (1, 1, (), 0)
    assert sum(day.asked for day in tianjin.days) == 4
    assert len(tianjin.days) == 31

    text = format_text(report)
    assert "asked 4, answered 1 (25%); votes 👍 3 👎 1" in text
    assert "   2 × metro station" in text and "weather" not in text


def test_the_html_page_has_a_chart_per_article_and_escapes_what_readers_wrote() -> None:
    hostile = _asked("<script>alert(1)</script>", False, ("<b>term</b>",))
    report = build_report([*LOG, hostile], {}, NOW - dt.timedelta(days=7), NOW + SECOND)
    page = format_html(report)
    assert page.count('<svg id="chart-') == 3
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;term" in page
    assert re.search(r'<td class=n>25%</td>', page)


@pytest.mark.slow
def test_the_command_prints_the_report_and_writes_the_page(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = FeedbackStore.open(data)
    store.log_questions(LOG)
    store.vote(1, "q", "p1", up=False, article="Tianjin")
    store.close()
    page = tmp_path / "report.html"
    done = run_bot(["report", "--days", "7", "--html", str(page)], data)
    assert done.returncode == 0, done.stderr
    assert "Tianjin\n  asked 4, answered 1 (25%); votes 👍 0 👎 1" in done.stdout
    assert "<svg" in page.read_text(encoding="utf-8")

    refused = run_bot(["report", "--days", "0"], data)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--days must be a positive whole number" in refused.stderr
