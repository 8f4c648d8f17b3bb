"""The buttons under the bot's messages; each one's data packed by its class in callbacks."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.answer import Answer, AnswerKind, Quote
from bot.core.engine import ArticleBot
from bot.messages import LANGUAGE_NAMES, Messages
from bot.render.html import esc, pack, section_blocks, shorten
from bot.telegram import callbacks as cb
from bot.telegram.remembered import remember
from bot.telegram.state import Services


def button(text: str, data: cb.CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.pack())


def for_answer(
    services: Services, say: Messages, answer: Answer, chat_data: dict[str, Any] | None
) -> InlineKeyboardMarkup | None:
    """The buttons under an answer; those that refer back to it need the chat's data."""
    if chat_data is None:  # no chat to remember it in: walking the article still works
        if not answer.quotes:
            return None
        return for_quote(services, say, answer.quotes[0], answer.converted)
    if answer.answered:
        key = remember(chat_data, answer)
        return for_quote(services, say, answer.quotes[0], answer.converted, key=key, answer=answer)
    if answer.kind is AnswerKind.NOT_COVERED and answer.closest is not None:
        key = remember(chat_data, answer)
        return InlineKeyboardMarkup(
            [[button(say.button_show_anyway, cb.ShowAnyway(key))]]
        )
    return None


def for_quote(
    services: Services,
    say: Messages,
    quote: Quote,
    simplified: bool,
    *,
    key: str | None = None,
    rank: int = 0,
    answer: Answer | None = None,
) -> InlineKeyboardMarkup | None:
    """⬅ / Section / ➡ under any quoted paragraph; More and 👍/👎 under an answer's."""
    rows = []
    passage, script = quote.passage, "s" if simplified else "o"
    if cb.Walk.PATTERN.fullmatch(f"p:{passage.id}:{script}"):  # ids of other shapes: no walk
        nav = [button(say.button_previous_paragraph, cb.Walk("p", passage.id, script))]
        if passage.section is not None:
            # On a shelf of several, "section 2" needs its article: the passage names it.
            whole: cb.CallbackData = cb.WholeSection(passage.section)
            if len(services.shelf) > 1:
                whole = cb.SectionOf(passage.id)
            nav.append(button(say.button_section, whole))
        nav.append(button(say.button_next_paragraph, cb.Walk("n", passage.id, script)))
        rows.append(nav)
    if key is not None and answer is not None:
        extra = []
        if rank + 1 < len(answer.quotes):
            extra.append(button(say.button_more, cb.More(key, rank + 1)))
        if services.feedback is not None:
            extra.append(button("👍", cb.Vote(key, rank, "u")))
            extra.append(button("👎", cb.Vote(key, rank, "d")))
        if extra:
            rows.append(extra)
    return InlineKeyboardMarkup(rows) if rows else None


def suggestions(core: ArticleBot) -> InlineKeyboardMarkup | None:
    """The sidecar's suggested questions as buttons; without them, the sections."""
    questions = core.article.suggested_questions[:10]
    if questions:
        rows = [[button(shorten(q, 60), cb.Suggested(i))] for i, q in enumerate(questions)]
    else:
        rows = [
            [button(shorten(f"{s.number}. {s.heading}", 60), cb.WholeSection(s.number))]
            for s in core.sections[:10]
        ]
    return InlineKeyboardMarkup(rows) if rows else None


def section_page(
    core: ArticleBot, say: Messages, number: int, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One message-sized page of a section, with ⬅/➡ to the pages beside it."""
    section = core.section(number)
    if section is None:
        return say.no_such_section.format(number=number, count=len(core.sections)), None
    pages = pack(section_blocks(section))
    page = min(max(page, 0), len(pages) - 1)
    buttons = []
    if page > 0:
        buttons.append(button(say.button_previous_page, cb.SectionPage(number, page - 1)))
    if page + 1 < len(pages):
        buttons.append(button(say.button_next_page, cb.SectionPage(number, page + 1)))
    return pages[page], InlineKeyboardMarkup([buttons]) if buttons else None


def languages(say: Messages) -> InlineKeyboardMarkup:
    """``/language``: one button per catalog, and one to follow the questions again."""
    rows = [[button(name, cb.Language(code))] for code, name in LANGUAGE_NAMES.items()]
    rows.append([button(say.button_follow_language, cb.Language("auto"))])
    return InlineKeyboardMarkup(rows)


def articles_page(
    services: Services, say: Messages, chosen: str | None, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """``/articles``, one page: a line and a button per article (✓ on the chosen one), one
    for all, and ⬅/➡ to the pages beside it.

    A page holds :data:`ARTICLES_PER_PAGE` articles and every title is cut, so a page
    always fits in one message and a keyboard however long the shelf or its titles.
    """
    total = len(services.shelf)  # one page is read, however large the shelf (an archive)
    pages = max(1, -(-total // ARTICLES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = services.shelf.entries(page * ARTICLES_PER_PAGE, ARTICLES_PER_PAGE)
    lines = [esc(say.articles_heading)]
    rows = []
    for entry in shown:
        mark = "✓ " if entry.name == chosen else ""
        title = shorten(entry.title, _LINE_TITLE_CHARS)
        line = (
            say.article_line.format(
                number=entry.number, title=title, date=entry.date, paragraphs=entry.paragraphs
            )
            if entry.date
            else say.article_line_undated.format(
                number=entry.number, title=title, paragraphs=entry.paragraphs
            )
        )
        lines.append(esc(mark + line))
        label = shorten(f"{mark}{entry.number}. {entry.title}", _BUTTON_CHARS)
        rows.append([button(label, cb.UseArticle(entry.number))])
    if pages > 1:
        lines.append(esc(say.articles_page.format(page=page + 1, pages=pages, count=total)))
        turn = []
        if page > 0:
            turn.append(button(say.button_previous_page, cb.ArticlesPage(page - 1)))
        if page + 1 < pages:
            turn.append(button(say.button_next_page, cb.ArticlesPage(page + 1)))
        rows.append(turn)
    mark = "✓ " if chosen is None else ""
    rows.append([button(f"{mark}{say.button_all_articles}", cb.UseArticle(0))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


# Articles on one page of /articles: 20 lines of at most ~160 characters fit well within
# Telegram's 4,096 a message, and 20 buttons within its 100 a keyboard.
ARTICLES_PER_PAGE = 20
_LINE_TITLE_CHARS = 100
_BUTTON_CHARS = 60
