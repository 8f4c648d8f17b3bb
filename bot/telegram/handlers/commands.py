"""The commands: /start /help /sections /section /new /about /ask."""

from __future__ import annotations

from telegram import Update

from bot.messages import Messages
from bot.render.html import about_html, esc, sections_blocks
from bot.telegram import keyboards, remembered
from bot.telegram.handlers.questions import answer
from bot.telegram.language import speak
from bot.telegram.sending import reply
from bot.telegram.state import BotContext, Services


def _invitation(services: Services, say: Messages) -> str:
    examples = services.core.article.suggested_questions
    if examples:
        return esc(say.invitation_example).format(example=f"<code>{esc(examples[0])}</code>")
    return esc(say.invitation)


async def on_start(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    title = f"<b>{esc(services.core.article.title)}</b>"
    blocks = [
        esc(say.start).format(title=title),
        _invitation(services, say),
        esc(say.start_more),
    ]
    await reply(update, blocks, keyboards.suggestions(services))


async def on_help(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    blocks = [
        esc(say.help_asking),
        esc(say.help_commands),
        esc(say.help_buttons),
        esc(say.help_inline),
        _invitation(services, say),
    ]
    await reply(update, blocks, keyboards.suggestions(services))


async def on_sections(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    await reply(update, sections_blocks(services.core.article, say))


async def on_section(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        usage = say.section_usage.format(count=len(services.core.sections))
        await reply(update, [esc(usage)])
        return
    text, markup = keyboards.section_page(services, say, int(args[0]), 0)
    await reply(update, [text], markup)


async def on_new(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    if update.effective_chat is not None:
        remembered.forget_turn(context.chat_data)
    await reply(update, [esc(say.new_conversation)])


async def on_about(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    await reply(update, [about_html(services.core.about(), say)])


async def on_ask(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    services = context.services
    question = " ".join(context.args or [])
    if not question.strip():
        examples = services.core.article.suggested_questions
        usage = say.ask_usage_example.format(example=examples[0]) if examples else say.ask_usage
        await reply(update, [esc(usage)])
        return
    await answer(update, context, question)


async def on_language(update: Update, context: BotContext) -> None:
    say = speak(update, context)
    await reply(update, [esc(say.language_usage)], keyboards.languages(say))
