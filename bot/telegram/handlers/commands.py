"""The commands: /start /help /sections /section /new /about /ask."""

from __future__ import annotations

from telegram import Update

from bot.render.html import about_html, esc, sections_blocks
from bot.telegram import keyboards
from bot.telegram.handlers.questions import answer
from bot.telegram.sending import reply
from bot.telegram.state import BotContext, Services


def _invitation(services: Services) -> str:
    examples = services.core.article.suggested_questions
    if examples:
        return services.say.invitation_example.format(example=f"<code>{esc(examples[0])}</code>")
    return esc(services.say.invitation)


async def on_start(update: Update, context: BotContext) -> None:
    services = context.services
    title = f"<b>{esc(services.core.article.title)}</b>"
    blocks = [
        services.say.start.format(title=title),
        _invitation(services),
        esc(services.say.start_more),
    ]
    await reply(update, blocks, keyboards.suggestions(services))


async def on_help(update: Update, context: BotContext) -> None:
    services = context.services
    say = services.say
    blocks = [
        esc(say.help_asking),
        esc(say.help_commands),
        esc(say.help_buttons),
        esc(say.help_inline),
        _invitation(services),
    ]
    await reply(update, blocks, keyboards.suggestions(services))


async def on_sections(update: Update, context: BotContext) -> None:
    services = context.services
    await reply(update, sections_blocks(services.core.article, services.say))


async def on_section(update: Update, context: BotContext) -> None:
    services = context.services
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        usage = services.say.section_usage.format(count=len(services.core.sections))
        await reply(update, [esc(usage)])
        return
    text, markup = keyboards.section_page(services, int(args[0]), 0)
    await reply(update, [text], markup)


async def on_new(update: Update, context: BotContext) -> None:
    services = context.services
    if update.effective_chat is not None:
        services.turns.pop(update.effective_chat.id)
    await reply(update, [esc(services.say.new_conversation)])


async def on_about(update: Update, context: BotContext) -> None:
    services = context.services
    await reply(update, [about_html(services.core.about(), services.say)])


async def on_ask(update: Update, context: BotContext) -> None:
    services = context.services
    question = " ".join(context.args or [])
    if not question.strip():
        examples = services.core.article.suggested_questions
        say = services.say
        usage = say.ask_usage_example.format(example=examples[0]) if examples else say.ask_usage
        await reply(update, [esc(usage)])
        return
    await answer(update, context, question)
