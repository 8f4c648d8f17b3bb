"""``python -m bot report``: what readers asked each article, from the question log.

Per article over a period: questions asked, the share answered, the terms readers asked
about that the article does not mention (grouped, most asked first) and the votes — as
text for a terminal and as one self-contained HTML page with a chart (inline SVG, no
script, nothing fetched), so an editor sees what the article is missing.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.stores import QuestionRecord

TOP_TERMS = 15


@dataclass(frozen=True)
class Day:
    day: dt.date
    asked: int
    answered: int


@dataclass(frozen=True)
class ArticleReport:
    article: str
    asked: int
    answered: int
    missing: tuple[tuple[str, int], ...]  # (term, how many questions), most asked first
    up: int
    down: int
    days: tuple[Day, ...]  # every day of the period, oldest first

    @property
    def share_answered(self) -> float:
        return self.answered / self.asked if self.asked else 0.0


@dataclass(frozen=True)
class Report:
    since: dt.datetime
    until: dt.datetime
    articles: tuple[ArticleReport, ...]  # most asked first


def build_report(
    questions: Sequence[QuestionRecord],
    votes: dict[str, tuple[int, int]],
    since: dt.datetime,
    until: dt.datetime,
) -> Report:
    """The report of the questions asked in ``[since, until)``; ``votes`` per article."""
    by_article: dict[str, list[QuestionRecord]] = defaultdict(list)
    for question in questions:
        if since <= question.at < until:
            by_article[question.article].append(question)
    days = [
        since.date() + dt.timedelta(days=n) for n in range((until.date() - since.date()).days + 1)
    ]
    articles = []
    for article in sorted(set(by_article) | {a for a in votes if a}):
        asked = by_article.get(article, [])
        terms = Counter(
            term for q in asked if not q.answered for term in {_grouped(t) for t in q.missing}
        )
        per_day = Counter(q.at.date() for q in asked)
        answered_per_day = Counter(q.at.date() for q in asked if q.answered)
        up, down = votes.get(article, (0, 0))
        articles.append(
            ArticleReport(
                article=article,
                asked=len(asked),
                answered=sum(q.answered for q in asked),
                missing=tuple(
                    sorted(terms.items(), key=lambda item: (-item[1], item[0]))[:TOP_TERMS]
                ),
                up=up,
                down=down,
                days=tuple(Day(d, per_day[d], answered_per_day[d]) for d in days),
            )
        )
    articles.sort(key=lambda a: (-a.asked, a.article))
    return Report(since, until, tuple(articles))


def _grouped(term: str) -> str:
    """One spelling per term: case and surrounding space do not make a new topic."""
    return " ".join(term.split()).casefold()


def format_text(report: Report) -> str:
    lines = [f"Questions from {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d} (UTC)"]
    if not report.articles:
        lines.append("No questions logged in this period.")
    for article in report.articles:
        lines += [
            "",
            article.article,
            f"  asked {article.asked}, answered {article.answered} "
            f"({article.share_answered:.0%}); votes 👍 {article.up} 👎 {article.down}",
        ]
        if article.missing:
            lines.append("  asked about, not in the article:")
            lines += [f"    {count:>4} × {term}" for term, count in article.missing]
    return "\n".join(lines) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2.5rem; }
table { border-collapse: collapse; } td, th { padding: .2rem .6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; }
"""
_ASKED, _ANSWERED = "#c9d6e8", "#2f6db5"


def format_html(report: Report) -> str:
    """One page: a summary table, then per article its chart and its missing terms."""
    title = f"Questions from {report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)} (UTC)</h1>",
    ]
    if not report.articles:
        parts.append("<p>No questions logged in this period.</p>")
    else:
        parts.append(
            '<table id="summary"><tr><th>Article</th><th>Asked</th><th>Answered</th>'
            "<th>👍</th><th>👎</th></tr>"
        )
        for a in report.articles:
            parts.append(
                f"<tr><td>{html.escape(a.article)}</td><td class=n>{a.asked}</td>"
                f"<td class=n>{a.share_answered:.0%}</td><td class=n>{a.up}</td>"
                f"<td class=n>{a.down}</td></tr>"
            )
        parts.append("</table>")
    for number, a in enumerate(report.articles):
        parts += [
            f"<h2>{html.escape(a.article)}</h2>",
            f'<p class="legend"><span style="background:{_ASKED}"></span>asked'
            f'<span style="background:{_ANSWERED}"></span>answered</p>',
            _chart(a, f"chart-{number}"),
        ]
        if a.missing:
            parts.append("<p>Asked about, not in the article:</p><table class=missing>")
            parts += [
                f"<tr><td class=n>{count}</td><td>{html.escape(term)}</td></tr>"
                for term, count in a.missing
            ]
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _chart(article: ArticleReport, element_id: str) -> str:
    """Questions per day: a bar for those asked, inside it one for those answered."""
    width, height, top, bottom = 720, 180, 10, 24
    days = article.days or (Day(dt.date.today(), 0, 0),)
    most = max(1, *(d.asked for d in days))
    step = width / len(days)
    bar = max(1.0, step * 0.8)
    scale = (height - top - bottom) / most
    shapes = []
    for n, day in enumerate(days):
        x = n * step + (step - bar) / 2
        for count, colour in ((day.asked, _ASKED), (day.answered, _ANSWERED)):
            h = count * scale
            shapes.append(
                f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{day.day}: {count}</title></rect>'
            )
    first, last = days[0].day, days[-1].day
    return (
        f'<svg id="{element_id}" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="questions per day">'
        f'<text x="0" y="{height - 6}" font-size="12">{first}</text>'
        f'<text x="{width}" y="{height - 6}" font-size="12" text-anchor="end">{last}</text>'
        f'<text x="0" y="{top + 2}" font-size="12" dominant-baseline="hanging">{most}</text>'
        + "".join(shapes)
        + "</svg>"
    )
