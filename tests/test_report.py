"""``python -m bot report``: per article, what readers asked, what was answered, the terms
the article does not mention, and the votes — from the question log, as text and HTML."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
from pathlib import Path

import pytest

from bot.core.feedback import FeedbackStore
from bot.core.stores import QuestionRecord
from bot.tools.report import build_report, format_html, format_text
from tests.helpers.debian import installed
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


# Loads the report in a frame and writes what the browser laid out into the page, which
# Chromium's --dump-dom prints once everything (the frame included) has loaded.
PROBE = """<!DOCTYPE html><html><body>
<iframe id="report" src="report.html" width="1000" height="2000"></iframe>
<pre id="result"></pre>
<script>
window.onload = () => {
  const page = document.getElementById("report").contentDocument;
  const charts = [...page.querySelectorAll("svg.chart")].map(svg => ({
    width: svg.getBoundingClientRect().width,
    bars: [...svg.querySelectorAll("rect")].filter(r => r.getBoundingClientRect().height > 0)
      .length,
  }));
  const rows = page.querySelectorAll("#summary tr").length;
  document.getElementById("result").textContent =
    JSON.stringify({title: page.title, charts: charts, rows: rows});
};
</script></body></html>
"""
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # root, as in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",  # the probe reads the report's frame
]


@pytest.mark.slow
def test_the_html_page_is_laid_out_in_a_real_browser(tmp_path: Path) -> None:
    """Debian's Chromium, headless: the summary table and a chart per article with its bars."""
    report = build_report(LOG, {"Tianjin": (3, 1)}, NOW - dt.timedelta(days=7), NOW + SECOND)
    (tmp_path / "report.html").write_text(format_html(report), encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(PROBE, encoding="utf-8")
    done = subprocess.run(
        [
            installed("chromium", "chromium"),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found and found[1], (done.stdout[-2000:], done.stderr[-2000:])
    laid_out = json.loads(html.unescape(found[1]))
    assert laid_out["title"].startswith("Questions from")
    assert laid_out["rows"] == 1 + len(report.articles)
    bars = [  # a bar per day with questions, and one inside it per day with answers
        sum(1 for d in a.days if d.asked) + sum(1 for d in a.days if d.answered)
        for a in report.articles
    ]
    assert laid_out["charts"] == [{"width": 720, "bars": n} for n in bars]
