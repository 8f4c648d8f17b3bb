"""The commands: /start /help /sections /section /new /about /ask /language.

They speak of the chat's current article (``Services.current``): the one it chose with
/articles, else the one its last answer quoted, else the first on the shelf.
"""

from __future__ import annotations

from telegram import Update

from bot.core.engine import ArticleBot
from bot.messages import Messages
from bot.render.html import about_html, esc, sections_blocks
from bot.telegram import keyboards, remembered
from bot.telegram.handlers.questions import answer
from bot.telegram.language import speak
from bot.telegram.sending import reply
from bot.telegram.state import BotContext


def _invitation(bot: ArticleBot, say: Messages) -> str:
    examples = bot.article.suggested_questions
    if examples:
        return esc(say.invitation_example).format(example=f"<code>{esc(examples[0])}</code>")
    return esc(say.invitation)


async def on_start(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    bot = context.services.current(context.chat_data)
    title = f"<b>{esc(bot.article.title)}</b>"
    blocks = [esc(say.start).format(title=title), _invitation(bot, say), esc(say.start_more)]
    await reply(update, blocks, keyboards.suggestions(bot))


async def on_help(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    bot = context.services.current(context.chat_data)
    blocks = [
        esc(say.help_asking),
        esc(say.help_commands),
        esc(say.help_buttons),
        esc(say.help_inline),
        _invitation(bot, say),
    ]
    await reply(update, blocks, keyboards.suggestions(bot))


async def on_sections(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    bot = context.services.current(context.chat_data)
    await reply(update, sections_blocks(bot.article, say))


async def on_section(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    bot = context.services.current(context.chat_data)
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await reply(update, [esc(say.section_usage.format(count=len(bot.sections)))])
        return
    text, markup = keyboards.section_page(bot, say, int(args[0]), 0)
    await reply(update, [text], markup)


async def on_new(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    if update.effective_chat is not None:
        remembered.forget_turn(context.chat_data)
    await reply(update, [esc(say.new_conversation)])


async def on_about(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    bot = context.services.current(context.chat_data)
    await reply(update, [about_html(bot.about(), say)])


async def on_ask(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    question = " ".join(context.args or [])
    if not question.strip():
        examples = context.services.current(context.chat_data).article.suggested_questions
        usage = say.ask_usage_example.format(example=examples[0]) if examples else say.ask_usage
        await reply(update, [esc(usage)])
        return
    await answer(update, context, question)


async def on_language(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    await reply(update, [esc(say.language_usage)], keyboards.languages(say))
