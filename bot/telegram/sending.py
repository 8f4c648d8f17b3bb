"""Sending to Telegram: HTML first, the same text plain if Telegram rejects the markup.

A reply is a list of self-contained HTML blocks (``bot.render.html``), packed into as few
messages as fit; the keyboard goes under the last one.
"""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TimedOut

from bot.render.html import pack, plain
from bot.telegram.delivery import safe_to_retry

log = logging.getLogger(__name__)


async def reply(
    update: Update, blocks: list[str], markup: InlineKeyboardMarkup | None = None
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    messages = pack(blocks)
    for i, text in enumerate(messages):
        last = i == len(messages) - 1
        await send(update.get_bot(), chat.id, text, markup if last else None)


async def send(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        try:
            await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as exc:
            if "parse" not in str(exc).lower():
                raise
            log.warning("Telegram rejected our HTML (%s); sending plain text", exc)
            await bot.send_message(chat_id, plain(text), reply_markup=markup)
    except TimedOut as exc:
        if safe_to_retry(exc):  # never sent, even after the retries: a real failure
            raise
        log.warning(
            "Telegram did not answer a sendMessage in time (%s); it may have been "
            "delivered, so it is not resent (a duplicate is worse than a late answer)",
            exc,
        )


async def edit(message: object, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if not isinstance(message, Message):
        return
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def ack(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press (stops its spinner); a press too old to answer is no error."""
    try:
        await query.answer(text)
    except BadRequest as exc:
        log.info("could not answer a button press: %s", exc)
