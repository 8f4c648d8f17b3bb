"""Inline mode: ``@bot question`` in any chat offers the best passages to share."""

from __future__ import annotations

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from bot.render.html import quote_excerpt
from bot.telegram.language import speak
from bot.telegram.state import BotContext


async def on_inline(update: Update, context: BotContext) -> None:
    services = context.services
    query = update.inline_query
    if query is None:
        return
    say = speak(update, context, query.query)
    personal = services.options.allowed_chat_ids is not None  # never cache for strangers
    results = []
    if query.query.strip():
        if not services.limits.allow(query.from_user.id):  # a question like any other
            limit = services.options.questions_per_minute
            button = InlineQueryResultsButton(
                text=say.too_fast_inline.format(limit=limit),
                start_parameter="too_fast",
            )
            await query.answer([], cache_time=0, is_personal=True, button=button)
            return
        # The asker's choice in their private chat with the bot (its id is theirs), or all.
        chosen = services.chosen(context.application.chat_data.get(query.from_user.id))
        answer = await services.batcher.ask(query.query, None, chosen)
        for quote in answer.quotes[:5]:
            title = quote.heading or answer.source.title
            results.append(
                InlineQueryResultArticle(
                    id=quote.passage.id,
                    title=f"{title} · ¶{quote.position}",
                    description=quote.text[:120],
                    input_message_content=InputTextMessageContent(
                        quote_excerpt(quote, say),
                        parse_mode=ParseMode.HTML,
                    ),
                )
            )
    await query.answer(results, cache_time=60, is_personal=personal)
