"""Which catalog a reply is written from, per chat.

A reply to a question follows the question's script (Simplified → zh-Hans, Traditional →
zh-Hant, anything else → en). Commands and buttons follow the chat's last question, then
the client's ``language_code``, then English. ``/language`` fixes one for the chat, and
an operator may fix one for every chat (``TelegramOptions.language``).
"""

from __future__ import annotations

from telegram import Update

from bot.messages import CATALOGS, DEFAULT, Messages, language_from_code, language_of
from bot.telegram.state import BotContext

LAST = "language"  # chat_data: the language of the chat's last question
FIXED = "language_fixed"  # chat_data: the language chosen with /language


def speak(update: Update, context: BotContext, question: str | None = None) -> Messages:
    """The catalog for this reply; a question also becomes the chat's last language."""
    forced = context.services.options.language
    if forced is not None:
        return CATALOGS[forced]
    chat_data = context.chat_data if update.effective_chat is not None else None
    if chat_data is not None and chat_data.get(FIXED) in CATALOGS:
        return CATALOGS[chat_data[FIXED]]
    if question is not None:
        language = language_of(question)
        if chat_data is not None:
            chat_data[LAST] = language
        return CATALOGS[language]
    if chat_data is not None and chat_data.get(LAST) in CATALOGS:
        return CATALOGS[chat_data[LAST]]
    user = update.effective_user
    client = language_from_code(user.language_code if user is not None else None)
    return CATALOGS[client] if client is not None else DEFAULT


def fix(context: BotContext, language: str | None) -> None:
    """``/language``: one language for this chat, or None to follow the questions again."""
    if context.chat_data is None:
        return
    if language is None:
        context.chat_data.pop(FIXED, None)
    else:
        context.chat_data[FIXED] = language
