"""Plain-text rendering of answers, for the console and ``ask`` without ``--json``."""

from __future__ import annotations

from bot.core.answer import MAX_QUESTION_CHARS, Answer, AnswerKind, Quote
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


def where(quote: Quote) -> str:
    if quote.heading is None:
        return f"Introduction · paragraph {quote.position}"
    title = f"{quote.heading} / {quote.subheading}" if quote.subheading else quote.heading
    return f"{title} · paragraph {quote.position}"


def render_quote(quote: Quote) -> str:
    return f"「{mark(quote.text, quote.highlights)}」\n— {where(quote)}"


def render_sections(article: Article) -> str:
    lines = [
        f"{s.number}. {s.heading}" + (f" — {s.subheading}" if s.subheading else "")
        for s in article.sections
    ]
    return "Sections:\n" + "\n".join(lines) if lines else "This article has no sections."


def render_section(section: Section) -> str:
    title = f"{section.number}. {section.heading}"
    if section.subheading:
        title += f" — {section.subheading}"
    body = "\n\n".join(f"[{p.position}] {p.text}" for p in section.paragraphs)
    return f"{title}\n\n{body}"


def render_answer(answer: Answer, article: Article) -> str:
    if answer.kind is AnswerKind.ANSWER:
        lines = [render_quote(answer.quotes[0])]
        if answer.context:
            lines.append(f"(read together with your previous question: {answer.context})")
        if answer.converted:
            lines.append("(quoted in Simplified Chinese, converted from the original)")
        return "\n".join(lines)
    if answer.kind is AnswerKind.GREETING:
        return (
            f"Hello! I answer questions about “{article.title}” by quoting it. "
            "Type /sections to see what it covers."
        )
    if answer.kind is AnswerKind.EMPTY:
        return "Please type a question in words, for example: 津心办有多少注册用户？"
    if answer.kind is AnswerKind.TOO_LONG:
        return f"That question is too long: please keep it under {MAX_QUESTION_CHARS} characters."
    text = "The article does not cover this."
    if answer.closest is not None:
        text += (
            f" The closest passage is in {where(answer.closest)} "
            f"({answer.closest.strength()}); /more shows it anyway."
        )
    return f"{text}\n{render_sections(article)}"
