"""Button presses: one handler per kind, registered with that kind's pattern.

Each handler gets its button's fields from ``context.matches`` through the kind's own
``parse``; a press whose answer the bot no longer remembers is told it has expired.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TypeVar

from telegram import CallbackQuery, Update

from bot.core.feedback import FeedbackError
from bot.render.html import closest_blocks, converted_note, esc, quote_blocks
from bot.telegram import callbacks as cb
from bot.telegram import keyboards, language
from bot.telegram.handlers.questions import answer
from bot.telegram.language import speak
from bot.telegram.remembered import recall
from bot.telegram.sending import ack, edit, reply
from bot.telegram.state import BotContext

log = logging.getLogger(__name__)

Data = TypeVar("Data", bound=cb.CallbackData)


def _press(update: Update) -> CallbackQuery:
    query = update.callback_query
    assert query is not None  # CallbackQueryHandler only calls us with one
    return query


async def _pressed(
    update: Update, context: BotContext, kind: type[Data]
) -> tuple[CallbackQuery, Data] | None:
    """The press and its button's fields, parsed by the kind whose pattern matched.

    A press without any data reaches every pattern handler (PTB's rule for data-less
    queries) with no match: it is answered as expired, here, once.
    """
    say = speak(update, context)
    query = _press(update)
    match = context.matches[0] if context.matches else None
    if not isinstance(match, re.Match):
        await ack(query, say.expired)
        return None
    return query, kind.parse(match)


async def on_more(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    if (pressed := await _pressed(update, context, cb.More)) is None:
        return
    query, data = pressed
    remembered = recall(context.chat_data, data.key, services.core)
    if remembered is None or data.rank < 1:
        await ack(query, say.expired)
        return
    if data.rank >= len(remembered.quotes):
        await ack(query, say.no_more)
        return
    await ack(query)
    quote = remembered.quotes[data.rank]
    lead = say.next_best.format(rank=data.rank + 1, count=len(remembered.quotes))
    blocks = [f"<i>{esc(lead)}</i>", *quote_blocks(quote, services.total, say)]
    markup = keyboards.for_quote(
        services, say, quote, remembered.converted, key=data.key, rank=data.rank, answer=remembered
    )
    await reply(update, blocks, markup)


async def on_show_anyway(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    if (pressed := await _pressed(update, context, cb.ShowAnyway)) is None:
        return
    query, data = pressed
    remembered = recall(context.chat_data, data.key, services.core)
    if remembered is None or remembered.closest is None:
        await ack(query, say.expired)
        return
    await ack(query)
    quote = remembered.closest
    markup = keyboards.for_quote(services, say, quote, remembered.converted)
    await reply(update, closest_blocks(quote, services.total, say), markup)


async def on_vote(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    if (pressed := await _pressed(update, context, cb.Vote)) is None:
        return
    query, data = pressed
    remembered = recall(context.chat_data, data.key, services.core)
    if remembered is None or data.rank >= len(remembered.quotes):
        await ack(query, say.expired)
        return
    store = services.feedback
    if store is None:
        await ack(query, say.feedback_off)
        return
    chat = update.effective_chat
    chat_id = chat.id if chat is not None else query.from_user.id
    passage_id = remembered.quotes[data.rank].passage.id

    def record() -> None:  # off the event loop: SQLite may wait for a lock
        with services.feedback_lock:
            store.vote(chat_id, remembered.question, passage_id, data.vote == "u")

    try:
        await asyncio.to_thread(record)
    except FeedbackError as exc:
        log.warning("%s; answers go on without feedback", exc)
        await ack(query, say.feedback_failed)
        return
    await ack(query, say.thanks)


async def on_walk(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    if (pressed := await _pressed(update, context, cb.Walk)) is None:
        return
    query, data = pressed
    core = services.core
    passage = core.passage_by_id(data.passage_id)
    if passage is None:
        await ack(query, say.expired)
        return
    step = 1 if data.direction == "n" else -1
    neighbour = core.neighbour(passage, step)
    if neighbour is None:
        await ack(query, say.last_paragraph if step > 0 else say.first_paragraph)
        return
    await ack(query)
    simplified = data.script == "s"
    quote = core.show(neighbour, simplified)
    blocks = quote_blocks(quote, services.total, say)
    if simplified:
        blocks.append(converted_note(say))
    await reply(update, blocks, keyboards.for_quote(services, say, quote, simplified))


async def on_whole_section(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    if (pressed := await _pressed(update, context, cb.WholeSection)) is None:
        return
    query, data = pressed
    if services.core.section(data.number) is None:
        await ack(query, say.expired)
        return
    await ack(query)
    text, markup = keyboards.section_page(services, say, data.number, 0)
    await reply(update, [text], markup)


async def on_section_page(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    if (pressed := await _pressed(update, context, cb.SectionPage)) is None:
        return
    query, data = pressed
    if services.core.section(data.number) is None:
        await ack(query, say.expired)
        return
    text, markup = keyboards.section_page(services, say, data.number, data.page)
    await ack(query)
    await edit(query.message, text, markup)


async def on_suggested(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    if (pressed := await _pressed(update, context, cb.Suggested)) is None:
        return
    query, data = pressed
    questions = services.core.article.suggested_questions
    if data.index >= len(questions):
        await ack(query, say.expired)
        return
    await ack(query)
    await answer(update, context, questions[data.index], echo=True)


async def on_unknown(update: Update, context: BotContext) -> None:
    """Data no kind matches: from an older bot, or forged. Expired, in words."""
    say = speak(update, context)
    query = _press(update)
    log.info("ignored unknown callback data %r", (query.data or "")[: cb.MAX_BYTES])
    await ack(query, say.expired)


async def on_language(update: Update, context: BotContext) -> None:
    if (pressed := await _pressed(update, context, cb.Language)) is None:
        return
    query, data = pressed
    chosen = None if data.language == "auto" else data.language
    language.fix(context, chosen)
    say = speak(update, context)
    await ack(query)
    await reply(update, [esc(say.language_follow if chosen is None else say.language_set)])


HANDLERS = (
    (cb.More, on_more),
    (cb.ShowAnyway, on_show_anyway),
    (cb.Vote, on_vote),
    (cb.Walk, on_walk),
    (cb.WholeSection, on_whole_section),
    (cb.SectionPage, on_section_page),
    (cb.Suggested, on_suggested),
    (cb.Language, on_language),
)
