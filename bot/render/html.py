"""Telegram HTML for answers: every piece of article or user text escaped, tags balanced.

Long replies are built as a list of self-contained blocks, so splitting a reply into
Telegram-sized messages never cuts through a tag.
"""

from __future__ import annotations

import html
import re

from bot.core.answer import MAX_QUESTION_CHARS, About, Answer, AnswerKind, Quote
from bot.messages import DEFAULT, Messages
from bot.render.common import about_rows, refusal_sentence, strength
from corpus.model import Article, Section
from corpus.sentences import sentence_spans

MESSAGE_LIMIT = 4096
# Room left in a message for the heading lines that follow a quote.
CHUNK = 3500
_TAG = re.compile(r"<[^>]+>")


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def visible_length(fragment: str) -> int:
    """Length as Telegram counts it: after tags are removed and entities decoded."""
    return len(html.unescape(_TAG.sub("", fragment)))


def _emphasised(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        out += [esc(text[last:start]), "<b>", esc(text[start:end]), "</b>"]
        last = end
    out.append(esc(text[last:]))
    return "".join(out)


def place_html(quote: Quote, say: Messages = DEFAULT) -> str:
    """The section heading and subheading a quote sits under (or the introduction),
    after the article's title when the shelf holds several."""
    if quote.heading is None:
        place = f"<b>{esc(say.introduction)}</b>"
    elif quote.subheading:
        place = f"<b>{esc(quote.heading)}</b> · <b>{esc(quote.subheading)}</b>"
    else:
        place = f"<b>{esc(quote.heading)}</b>"
    if quote.article_title:
        return f"{esc(say.article_attribution.format(title=quote.article_title))} · {place}"
    return place


def where_html(quote: Quote, say: Messages = DEFAULT) -> str:
    position = say.paragraph_of.format(position=quote.position, total=quote.paragraphs)
    return f"{place_html(quote, say)}\n<i>{esc(position)}</i>"


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, an ellipsis marking a cut (for notes and button labels)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chunks(text: str, size: int = CHUNK) -> list[tuple[int, int]]:
    """Sentence-aligned spans of at most ``size`` characters; an over-long sentence is cut."""
    out: list[tuple[int, int]] = []
    for start, end in sentence_spans(text) or [(0, len(text))]:
        for a in range(start, end, size):
            b = min(a + size, end)
            if out and b - out[-1][0] <= size:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
    return out


def _blockquote(quote: Quote, start: int, end: int, elide: bool = False) -> str:
    spans = tuple(
        (max(a, start) - start, min(b, end) - start)
        for a, b in quote.highlights
        if a < end and b > start
    )
    body = _emphasised(quote.text[start:end], spans)
    if elide:
        body = ("…" if start > 0 else "") + body + ("…" if end < len(quote.text) else "")
    return f"<blockquote>{body}</blockquote>"


def quote_blocks(quote: Quote, say: Messages = DEFAULT) -> list[str]:
    """The quote as one blockquote, or several when one would not fit in a message."""
    blocks = [_blockquote(quote, start, end) for start, end in chunks(quote.text)]
    blocks.append(where_html(quote, say))
    return blocks


def quote_excerpt(quote: Quote, say: Messages = DEFAULT) -> str:
    """The quote as a single message (an inline result): if the paragraph is too long for
    one, the part holding the answering sentence, with the cuts marked by "…"."""
    parts = chunks(quote.text) or [(0, len(quote.text))]
    first = min((a for a, _ in quote.highlights), default=0)
    start, end = next(((a, b) for a, b in parts if first < b), parts[0])
    return f"{_blockquote(quote, start, end, elide=True)}\n\n{where_html(quote, say)}"


def converted_note(say: Messages = DEFAULT) -> str:
    return f"<i>{esc(say.converted)}</i>"


def answer_blocks(answer: Answer, say: Messages = DEFAULT) -> list[str]:
    article = answer.source
    if answer.kind is AnswerKind.ANSWER:
        blocks = quote_blocks(answer.quotes[0], say)
        if answer.context:
            context = say.read_with_previous.format(question=shorten(answer.context, 80))
            blocks.append(f"<i>{esc(context)}</i> ({esc(say.start_afresh)})")
        if answer.converted:
            blocks.append(converted_note(say))
        return blocks
    if answer.kind is AnswerKind.OVERVIEW:
        blocks = [f"<i>{esc(say.overview)}</i>", *quote_blocks(answer.quotes[0], say)]
        blocks += sections_preview(article, say)
        return [*blocks, converted_note(say)] if answer.converted else blocks
    if answer.kind is AnswerKind.GREETING:
        return [say.greeting.format(title=f"<b>{esc(article.title)}</b>")]
    if answer.kind is AnswerKind.EMPTY:
        examples = article.suggested_questions
        text = say.empty_example.format(example=examples[0]) if examples else say.empty
        return [esc(text)]
    if answer.kind is AnswerKind.TOO_LONG:
        return [esc(say.too_long.format(limit=MAX_QUESTION_CHARS))]
    return refusal_blocks(answer, say)


def refusal_blocks(answer: Answer, say: Messages = DEFAULT) -> list[str]:
    """ "Not covered", said honestly: what the article lacks, how close the nearest passage
    came, and where it is."""
    blocks = [esc(refusal_sentence(answer, say))]
    closest = answer.closest
    if closest is not None:
        blocks.append(
            say.closest_at.format(
                position=closest.position,
                total=closest.paragraphs,
                place=place_html(closest, say),
                strength=esc(strength(closest, say)),
            )
        )
    return [*blocks, esc(say.see_sections), *sections_preview(answer.source, say)]


def closest_blocks(quote: Quote, say: Messages = DEFAULT) -> list[str]:
    """The passage a refusal declined to quote, shown on request."""
    lead = f"<i>{esc(say.closest_shown.format(strength=strength(quote, say)))}</i>"
    return [lead, *quote_blocks(quote, say)]


def about_html(about: About, say: Messages = DEFAULT) -> str:
    """``/about``: every label and value escaped."""
    rows = about_rows(about, say)
    return "\n".join(f"<b>{esc(label)}:</b> {esc(value)}" for label, value in rows)


def sections_blocks(article: Article, say: Messages = DEFAULT) -> list[str]:
    """The title, then the section list in blocks that each fit in a message."""
    lines = []
    for s in article.sections:
        sub = f" — {esc(s.subheading)}" if s.subheading else ""
        lines.append(f"/section {s.number} · <b>{esc(s.heading)}</b>{sub}")
    if not lines:
        lines.append(esc(say.no_sections))
    blocks: list[str] = []
    for line in lines:
        if blocks and visible_length(f"{blocks[-1]}\n{line}") <= CHUNK:
            blocks[-1] = f"{blocks[-1]}\n{line}"
        else:
            blocks.append(line)
    return [f"<b>{esc(article.title)}</b>", *blocks]


def sections_preview(article: Article, say: Messages = DEFAULT) -> list[str]:
    """The section list as one block at most, beside an answer: an article of hundreds of
    sections must not turn one question into a dozen messages (``/sections`` has them all)."""
    listed = sections_blocks(article, say)[1:]
    if len(listed) <= 1:
        return listed
    left_out = len(article.sections) - listed[0].count("\n") - 1
    return [listed[0], esc(say.more_sections.format(count=left_out))]


def section_blocks(section: Section) -> list[str]:
    sub = f"\n{esc(section.subheading)}" if section.subheading else ""
    blocks = [f"<b>{section.number}. {esc(section.heading)}</b>{sub}"]
    for p in section.paragraphs:
        parts = [esc(p.text[a:b]) for a, b in chunks(p.text)]
        blocks.append(f"<i>¶{p.position}</i> {parts[0]}")
        blocks.extend(parts[1:])
    return blocks


def pack(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks into as few messages as fit; a block never straddles two messages."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if current and visible_length(candidate) > limit:
            messages.append(current)
            candidate = block
        current = candidate
    if current:
        messages.append(current)
    return messages


def plain(fragment: str) -> str:
    """The same message without markup: the fallback when Telegram rejects the HTML."""
    return html.unescape(_TAG.sub("", fragment))
