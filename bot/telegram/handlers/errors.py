"""The error handler: log once with the update id, tell the user, keep the bot running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Conflict, Forbidden, TelegramError, TimedOut

from bot.messages import DEFAULT
from bot.telegram.delivery import safe_to_retry
from bot.telegram.language import speak
from bot.telegram.state import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    say = speak(update, context) if isinstance(update, Update) else DEFAULT
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, Forbidden):  # blocked by the user, removed from a group
        log.warning("update %s: cannot write to the chat: %s", update_id, error)
        return
    if isinstance(error, TimedOut) and not safe_to_retry(error):
        # An edit or a button answer that may well have arrived: no apology either.
        log.warning("update %s: Telegram did not answer in time: %s", update_id, error)
        return
    if update is None and isinstance(error, TelegramError) and not isinstance(error, Conflict):
        # run_polling hands getUpdates failures here (5xx, broken JSON); it polls again.
        # A Conflict (another instance polling with this token) stays an error.
        log.warning("polling for updates failed (%s); polling again", error)
        return
    log.error("update %s failed", update_id, exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id, say.apology
            )
        except TelegramError:
            log.warning("could not tell chat about the failure of update %s", update_id)
