"""The allow-list (``ALLOWED_CHAT_IDS``): every handler is wrapped by :func:`guarded`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatType

from bot.telegram.language import speak
from bot.telegram.sending import ack, reply
from bot.telegram.state import BotContext

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def guarded(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(update: Update, context: BotContext) -> None:
        if await admit(update, context):
            await handler(update, context)

    return wrapper


async def admit(update: Update, context: BotContext) -> bool:
    """With ALLOWED_CHAT_IDS set, other chats get one polite refusal (private chats) or
    silence (groups, channels); a button gets the refusal as its toast, an inline query
    no results. Inline queries have no chat: the asker's own id must be on the list."""
    say = speak(update, context)
    services = context.services
    allowed = services.options.allowed_chat_ids
    if allowed is None:
        return True
    chat, user = update.effective_chat, update.effective_user
    asker = chat.id if chat is not None else user.id if user is not None else None
    if asker in allowed:
        return True
    log.info("update %s from a chat not on the allow-list: ignored", update.update_id)
    if update.callback_query is not None:
        await ack(update.callback_query, say.not_allowed)
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
    elif (
        chat is not None
        and chat.type == ChatType.PRIVATE
        and services.turned_away.get(chat.id) is None
    ):
        services.turned_away.put(chat.id, True)
        await reply(update, [say.not_allowed])
    return False
