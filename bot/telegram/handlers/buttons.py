"""Button presses: one action per kind, registered with that kind's pattern.

``@on(Kind)`` turns an action into a PTB callback: it parses the button's fields from
``context.matches`` with the kind's own ``parse`` and hands the action one :class:`Press`
(the update, the context, the query, the fields and the reply language). A press whose
answer the chat no longer remembers is told it has expired.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import CallbackQuery, Update

from bot.core.answer import Answer
from bot.core.feedback import FeedbackError
from bot.messages import Messages
from bot.render.html import closest_blocks, converted_note, esc, quote_blocks
from bot.telegram import callbacks as cb
from bot.telegram import keyboards, language
from bot.telegram.handlers.access import Handler
from bot.telegram.handlers.questions import answer
from bot.telegram.language import speak
from bot.telegram.remembered import recall
from bot.telegram.sending import ack, edit, reply
from bot.telegram.state import CHOSEN, QUOTED, BotContext, Services

log = logging.getLogger(__name__)

Data = TypeVar("Data", bound=cb.CallbackData)


@dataclass(frozen=True)
class Press(Generic[Data]):
    update: Update
    context: BotContext
    query: CallbackQuery
    data: Data
    say: Messages

    @property
    def services(self) -> Services:
        return self.context.services

    def remembered(self, key: str) -> Answer | None:
        return recall(self.context.chat_data, key, self.services.shelf)

    async def expired(self) -> None:
        await ack(self.query, self.say.expired)


HANDLERS: list[tuple[type[cb.CallbackData], Handler]] = []


def on(kind: type[Data]) -> Callable[[Callable[[Press[Data]], Awaitable[None]]], Handler]:
    """Register an action for presses of ``kind`` (``adapter.register`` reads HANDLERS)."""

    def register(action: Callable[[Press[Data]], Awaitable[None]]) -> Handler:
        async def callback(update: Update, context: BotContext) -> None:
            query = update.callback_query
            assert query is not None  # CallbackQueryHandler only calls us with one
            say = speak(update, context)
            match = context.matches[0] if context.matches else None
            if not isinstance(match, re.Match):
                # A press without any data reaches every pattern handler (PTB's rule for
                # data-less queries) with no match: expired, answered here, once.
                await ack(query, say.expired)
                return
            await action(Press(update, context, query, kind.parse(match), say))

        callback.__name__ = action.__name__
        HANDLERS.append((kind, callback))
        return callback

    return register


@on(cb.More)
async def on_more(press: Press[cb.More]) -> None:
    data, say = press.data, press.say
    remembered = press.remembered(data.key)
    if remembered is None or data.rank < 1:
        await press.expired()
        return
    if data.rank >= len(remembered.quotes):
        await ack(press.query, say.no_more)
        return
    await ack(press.query)
    quote = remembered.quotes[data.rank]
    lead = say.next_best.format(rank=data.rank + 1, count=len(remembered.quotes))
    blocks = [f"<i>{esc(lead)}</i>", *quote_blocks(quote, say)]
    markup = keyboards.for_quote(
        press.services,
        say,
        quote,
        remembered.converted,
        key=data.key,
        rank=data.rank,
        answer=remembered,
    )
    await reply(press.update, blocks, markup)


@on(cb.ShowAnyway)
async def on_show_anyway(press: Press[cb.ShowAnyway]) -> None:
    remembered = press.remembered(press.data.key)
    if remembered is None or remembered.closest is None:
        await press.expired()
        return
    await ack(press.query)
    quote, services = remembered.closest, press.services
    markup = keyboards.for_quote(services, press.say, quote, remembered.converted)
    await reply(press.update, closest_blocks(quote, press.say), markup)


@on(cb.Vote)
async def on_vote(press: Press[cb.Vote]) -> None:
    data, say, services = press.data, press.say, press.services
    remembered = press.remembered(data.key)
    if remembered is None or data.rank >= len(remembered.quotes):
        await press.expired()
        return
    store = services.feedback
    if store is None:
        await ack(press.query, say.feedback_off)
        return
    chat = press.update.effective_chat
    chat_id = chat.id if chat is not None else press.query.from_user.id
    passage_id = remembered.quotes[data.rank].passage.id

    def record() -> None:  # off the event loop: SQLite may wait for a lock
        with services.feedback_lock:
            up = data.vote == "u"
            store.vote(chat_id, remembered.question, passage_id, up, remembered.source.title)

    try:
        await asyncio.to_thread(record)
    except FeedbackError as exc:
        log.warning("%s; answers go on without feedback", exc)
        await ack(press.query, say.feedback_failed)
        return
    await ack(press.query, say.thanks)


@on(cb.Walk)
async def on_walk(press: Press[cb.Walk]) -> None:
    data, say, services = press.data, press.say, press.services
    found = services.shelf.find(data.passage_id)
    if found is None:
        await press.expired()
        return
    name, bot, passage = found
    step = 1 if data.direction == "n" else -1
    neighbour = bot.neighbour(passage, step)
    if neighbour is None:
        await ack(press.query, say.last_paragraph if step > 0 else say.first_paragraph)
        return
    await ack(press.query)
    simplified = data.script == "s"
    quote = services.shelf.show(name, neighbour, simplified)
    blocks = quote_blocks(quote, say)
    if simplified:
        blocks.append(converted_note(say))
    await reply(press.update, blocks, keyboards.for_quote(services, say, quote, simplified))


@on(cb.WholeSection)
async def on_whole_section(press: Press[cb.WholeSection]) -> None:
    await _show_section(press, press.data.number, page=0, in_place=False)


@on(cb.SectionPage)
async def on_section_page(press: Press[cb.SectionPage]) -> None:
    await _show_section(press, press.data.number, page=press.data.page, in_place=True)


@on(cb.SectionOf)
async def on_section_of(press: Press[cb.SectionOf]) -> None:
    found = press.services.shelf.find(press.data.passage_id)
    section = found[2].section if found is not None else None
    if found is None or section is None:
        await press.expired()
        return
    if press.context.chat_data is not None:  # its page buttons speak of this article now
        press.context.chat_data[QUOTED] = found[0]
    await _show_section(press, section, page=0, in_place=False)


async def _show_section(press: Press[Any], number: int, page: int, in_place: bool) -> None:
    """A section's page: a new message, or the pressed message edited to the next page."""
    bot = press.services.current(press.context.chat_data)
    if bot.section(number) is None:
        await press.expired()
        return
    text, markup = keyboards.section_page(bot, press.say, number, page)
    await ack(press.query)
    if in_place:
        await edit(press.query.message, text, markup)
    else:
        await reply(press.update, [text], markup)


@on(cb.Suggested)
async def on_suggested(press: Press[cb.Suggested]) -> None:
    questions = press.services.current(press.context.chat_data).article.suggested_questions
    if press.data.index >= len(questions):
        await press.expired()
        return
    await ack(press.query)
    await answer(press.update, press.context, questions[press.data.index], echo=True)


@on(cb.Language)
async def on_language(press: Press[cb.Language]) -> None:
    chosen = None if press.data.language == "auto" else press.data.language
    language.fix(press.context, chosen)
    say = speak(press.update, press.context)  # the new choice
    await ack(press.query)
    await reply(press.update, [esc(say.language_follow if chosen is None else say.language_set)])


@on(cb.UseArticle)
async def on_use_article(press: Press[cb.UseArticle]) -> None:
    """``/articles``' buttons: answer from one article, or (0) from all of them again."""
    shelf, chat_data = press.services.shelf, press.context.chat_data
    name = shelf.by_number(press.data.number) if press.data.number else None
    if chat_data is None or (press.data.number and name is None):
        await press.expired()
        return
    await ack(press.query)
    if name is None:
        chat_data.pop(CHOSEN, None)
        text = press.say.use_all.format(count=len(shelf))
    else:
        chat_data[CHOSEN] = name
        text = press.say.use_chosen.format(title=press.services.article_of(name).article.title)
    await reply(press.update, [esc(text)])


@on(cb.ArticlesPage)
async def on_articles_page(press: Press[cb.ArticlesPage]) -> None:
    chosen = press.services.chosen(press.context.chat_data)
    text, markup = keyboards.articles_page(press.services, press.say, chosen, press.data.page)
    await ack(press.query)
    await edit(press.query.message, text, markup)


async def on_unknown(update: Update, context: BotContext) -> None:
    """Data no kind matches: from an older bot, or forged. Expired, in words."""
    query = update.callback_query
    assert query is not None
    log.info("ignored unknown callback data %r", (query.data or "")[: cb.MAX_BYTES])
    await ack(query, speak(update, context).expired)
