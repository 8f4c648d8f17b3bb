"""Plain-text rendering of answers, for the console and ``ask`` without ``--json``."""

from __future__ import annotations

from bot.core.answer import MAX_QUESTION_CHARS, About, Answer, AnswerKind, Quote
from bot.messages import DEFAULT, Messages
from bot.render.common import about_rows, refusal_sentence, strength
from corpus.model import Article, Section

MARK_OPEN, MARK_CLOSE = "【", "】"


def mark(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """Bracket the answering sentence(s) so they stand out in a terminal."""
    out, last = [], 0
    for start, end in sorted(spans):
        out += [text[last:start], MARK_OPEN, text[start:end], MARK_CLOSE]
        last = end
    out.append(text[last:])
    return "".join(out)


def where(quote: Quote, say: Messages = DEFAULT) -> str:
    """Section and paragraph, after the article's title when the shelf holds several."""
    paragraph = say.paragraph.format(position=quote.position)
    if quote.heading is None:
        place = f"{say.introduction} · {paragraph}"
    else:
        title = f"{quote.heading} / {quote.subheading}" if quote.subheading else quote.heading
        place = f"{title} · {paragraph}"
    if quote.article_title:
        return f"{say.article_attribution.format(title=quote.article_title)} · {place}"
    return place


def render_quote(quote: Quote, say: Messages = DEFAULT) -> str:
    return f"「{mark(quote.text, quote.highlights)}」\n— {where(quote, say)}"


def render_sections(article: Article, say: Messages = DEFAULT) -> str:
    lines = [
        f"{s.number}. {s.heading}" + (f" — {s.subheading}" if s.subheading else "")
        for s in article.sections
    ]
    return f"{say.sections}\n" + "\n".join(lines) if lines else say.no_sections


def render_section(section: Section) -> str:
    title = f"{section.number}. {section.heading}"
    if section.subheading:
        title += f" — {section.subheading}"
    body = "\n\n".join(f"[{p.position}] {p.text}" for p in section.paragraphs)
    return f"{title}\n\n{body}"


def render_answer(answer: Answer, say: Messages = DEFAULT) -> str:
    article = answer.source
    if answer.kind is AnswerKind.ANSWER:
        lines = [render_quote(answer.quotes[0], say)]
        if answer.context:
            lines.append(f"({say.read_with_previous.format(question=answer.context)})")
        if answer.converted:
            lines.append(f"({say.converted})")
        return "\n".join(lines)
    if answer.kind is AnswerKind.OVERVIEW:
        lines = [say.overview, render_quote(answer.quotes[0], say), render_sections(article, say)]
        if answer.converted:
            lines.append(f"({say.converted})")
        return "\n\n".join(lines)
    if answer.kind is AnswerKind.GREETING:
        return say.greeting.format(title=f"“{article.title}”")
    if answer.kind is AnswerKind.EMPTY:
        examples = article.suggested_questions
        return say.empty_example.format(example=examples[0]) if examples else say.empty
    if answer.kind is AnswerKind.TOO_LONG:
        return say.too_long.format(limit=MAX_QUESTION_CHARS)
    text = refusal_sentence(answer, say)
    if answer.closest is not None:
        closest = answer.closest
        text += " " + say.closest_in.format(
            where=where(closest, say), strength=strength(closest, say)
        )
    return f"{text}\n{render_sections(article, say)}"


def render_about(about: About, say: Messages = DEFAULT) -> str:
    return "\n".join(f"{label}: {value}" for label, value in about_rows(about, say))
