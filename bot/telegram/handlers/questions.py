"""Questions: any text in a private chat; in groups only what is addressed to the bot."""

from __future__ import annotations

import logging
import re
import time

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.render.html import answer_blocks, esc
from bot.telegram import keyboards, remembered
from bot.telegram.language import speak
from bot.telegram.questionlog import log_question
from bot.telegram.sending import reply
from bot.telegram.state import QUOTED, BotContext

log = logging.getLogger(__name__)


async def on_text(update: Update, context: BotContext) -> None:
    message = update.message
    if message is None or message.text is None:
        return
    if message.chat.type == ChatType.PRIVATE:
        await answer(update, context, message.text)
        return
    question = addressed_to_me(message, context)
    if question is not None:  # in groups, silence unless spoken to
        await answer(update, context, question)


async def on_non_text(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    message = update.message
    kind = next(
        (words for attr, words in say.attachments.items() if getattr(message, attr, None)),
        say.attachment_other,
    )
    await reply(update, [esc(say.non_text.format(kind=kind))])


def addressed_to_me(message: Message, context: BotContext) -> str | None:
    text = message.text or ""
    username = context.bot.username
    mention = f"@{username}" if username else None
    if mention and mention.lower() in text.lower():
        return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == context.bot.id:
        return text
    return None


async def answer(update: Update, context: BotContext, question: str, echo: bool = False) -> None:
    """Answer ``question`` in the update's chat, read with the chat's previous turn."""
    say = speak(update, context, question)
    services = context.services
    user = update.effective_user
    if user is not None and not services.limits.allow(user.id):
        limit = services.options.questions_per_minute
        await reply(update, [esc(say.too_fast.format(limit=limit))])
        return
    chat = update.effective_chat
    if chat is not None:
        try:
            await chat.send_chat_action("typing")
        except TelegramError as exc:  # cosmetic: never worth failing the answer for
            log.debug("typing indicator failed: %s", exc)
    chat_data = context.chat_data if chat is not None else None
    turn = remembered.last_turn(chat_data)
    started = time.perf_counter()
    try:
        result = await services.batcher.ask(question, turn, services.chosen(chat_data))
    except Exception:
        if services.liveness is not None:
            services.liveness.answered(ok=False)
        raise
    if services.liveness is not None:
        services.liveness.answered(ok=True)
    if chat_data is not None and (result.quotes or result.closest):
        remembered.keep_turn(chat_data, result.turn())
        chat_data[QUOTED] = result.article
    blocks = answer_blocks(result, say)
    if echo:  # asked by a button: show which question this answers
        blocks.insert(0, f"❓ <b>{esc(question)}</b>")
    await reply(update, blocks, keyboards.for_answer(services, say, result, chat_data))
    if chat is not None:
        how = "button" if echo else "follow-up" if result.context else "question"
        await log_question(services, chat.id, result, (time.perf_counter() - started) * 1e3, how)
