"""The Telegram adapter: python-telegram-bot handlers that parse, call the core, reply.

Nothing here decides what to answer; it translates updates into questions and
answers into Telegram messages, buttons and inline results.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.answer import Answer
from bot.batcher import Batcher
from bot.core import ArticleBot
from bot.limits import RateLimit
from bot.render_html import (
    answer_blocks,
    esc,
    pack,
    plain,
    quote_blocks,
    quote_excerpt,
    section_blocks,
    sections_html,
)

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "What this bot is"),
    BotCommand("help", "How to ask"),
    BotCommand("sections", "The article's sections"),
    BotCommand("section", "Read a section: /section 2"),
    BotCommand("about", "The article and the model"),
    BotCommand("ask", "Ask in a group: /ask your question"),
]
EXAMPLE = "天津数字化综合发展水平在全国排第几？"
_MORE = re.compile(r"^m:([0-9a-z]{1,12}):([0-9])$")
_PAGE = re.compile(r"^s:([0-9]{1,3}):([0-9]{1,3})$")
HEARTBEAT_SECONDS = 30
_EXPIRED = "This button has expired. Please ask your question again."


@dataclass(frozen=True)
class TelegramOptions:
    questions_per_minute: int = 20
    remembered_answers: int = 2000
    heartbeat: Path | None = None  # touched while running; `python -m bot health` reads it


class AnswerMemory:
    """Recent answers by a short key, so a "more" button carries 10 bytes, not a question.

    Keys start with a random prefix per process: after a restart, the buttons under old
    messages must expire, not fetch passages of whatever the new process stored as "1".
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._keys = itertools.count(1)
        self._prefix = _base36(secrets.randbelow(36**4)).rjust(4, "0")

    def remember(self, answer: Answer) -> str:
        key = self._prefix + _base36(next(self._keys))
        self._items[key] = answer
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Answer | None:
        return self._items.get(key)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


class TelegramAdapter:
    def __init__(
        self, core: ArticleBot, batcher: Batcher, options: TelegramOptions | None = None
    ) -> None:
        self.core = core
        self.batcher = batcher
        self.options = options or TelegramOptions()
        self.limits = RateLimit(self.options.questions_per_minute)
        self.memory = AnswerMemory(self.options.remembered_answers)
        self.total = sum(1 for _ in core.article.paragraphs())
        self._heartbeat: asyncio.Task[None] | None = None

    def build(self, token: str, base_url: str | None = None) -> Application:
        builder = (
            Application.builder()
            .token(token)
            .concurrent_updates(True)
            .rate_limiter(AIORateLimiter(max_retries=3))
            .post_init(self._post_init)
            .post_shutdown(self._post_shutdown)
        )
        if base_url:
            builder = builder.base_url(base_url)
        app = builder.build()
        self.register(app)
        return app

    def register(self, app: Application) -> None:
        private = filters.ChatType.PRIVATE
        app.add_handler(CommandHandler("start", self.on_start))
        app.add_handler(CommandHandler("help", self.on_help))
        app.add_handler(CommandHandler("sections", self.on_sections))
        app.add_handler(CommandHandler("section", self.on_section))
        app.add_handler(CommandHandler("about", self.on_about))
        app.add_handler(CommandHandler("ask", self.on_ask))
        app.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, self.on_text
            )
        )
        app.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & private & ~filters.TEXT, self.on_non_text)
        )
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(InlineQueryHandler(self.on_inline))
        app.add_error_handler(self.on_error)

    async def _post_init(self, app: Application) -> None:
        try:
            await app.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:  # the menu is a convenience: answer questions anyway
            log.warning("could not set the command menu: %s", exc)
        if self.options.heartbeat is not None:
            self._heartbeat = asyncio.create_task(self._beat(self.options.heartbeat))

    async def _post_shutdown(self, app: Application) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await self.batcher.close()

    async def _beat(self, path: Path) -> None:
        while True:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            except OSError as exc:
                log.warning("cannot touch the heartbeat file %s: %s", path, exc)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    # --- commands -------------------------------------------------------------------

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        title = esc(self.core.article.title)
        await self._reply(
            update,
            [
                f"I answer questions about <b>{title}</b> by quoting the paragraph that "
                "answers, with its section, so you can check it.",
                f"Ask in Chinese or English, for example:\n<code>{esc(EXAMPLE)}</code>",
                "/sections lists what the article covers; /help shows all commands.",
            ],
        )

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(
            update,
            [
                "Send a question as a message (in groups: <code>/ask question</code>, "
                "mention me, or reply to me).",
                "/sections — the sections\n/section N — read section N\n"
                "/about — the article and the model\n"
                "Under an answer, <b>More</b> shows the next best passage.",
                "In any chat, type my @username and a question to share a quote.",
            ],
        )

    async def on_sections(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, [sections_html(self.core.article)])

    async def on_section(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        count = len(self.core.sections)
        args = context.args or []
        if len(args) != 1 or not args[0].isdigit():
            await self._reply(update, [f"Usage: /section N, where N is 1 to {count}."])
            return
        text, markup = self._section_page(int(args[0]), 0)
        await self._reply(update, [text], markup)

    async def on_about(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        article = self.core.article
        lines = [
            f"<b>{esc(article.title)}</b>",
            f"Source: {esc(article.source or 'unknown')}",
            f"Paragraphs: {self.total} in {len(article.sections)} sections",
            f"Model: {esc(self.core.retriever.encoder.model_id)} with BM25 beside it",
        ]
        await self._reply(update, ["\n".join(lines)])

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        question = " ".join(context.args or [])
        if not question.strip():
            await self._reply(update, [f"Usage: /ask your question, e.g. /ask {esc(EXAMPLE)}"])
            return
        await self._answer(update, question)

    # --- messages -------------------------------------------------------------------

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None:
            return
        if message.chat.type == ChatType.PRIVATE:
            await self._answer(update, message.text)
            return
        question = self._addressed_to_me(message, context)
        if question is not None:  # in groups, silence unless spoken to
            await self._answer(update, question)

    async def on_non_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, ["I can only read text questions. Please type your question."])

    def _addressed_to_me(self, message: Message, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        text = message.text or ""
        username = context.bot.username
        mention = f"@{username}" if username else None
        if mention and mention.lower() in text.lower():
            return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()
        replied = message.reply_to_message
        if replied and replied.from_user and replied.from_user.id == context.bot.id:
            return text
        return None

    async def _answer(self, update: Update, question: str) -> None:
        user = update.effective_user
        if user is not None and not self.limits.allow(user.id):
            await self._reply(
                update,
                [
                    f"You are asking faster than I can read: at most "
                    f"{self.options.questions_per_minute} questions a minute. Please wait a moment."
                ],
            )
            return
        chat = update.effective_chat
        if chat is not None:
            try:
                await chat.send_chat_action("typing")
            except TelegramError as exc:  # cosmetic: never worth failing the answer for
                log.debug("typing indicator failed: %s", exc)
        answer = await self.batcher.ask(question)
        markup = None
        if answer.answered and len(answer.quotes) > 1:
            key = self.memory.remember(answer)
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton("More ➡", callback_data=f"m:{key}:1")]]
            )
        await self._reply(update, answer_blocks(answer, self.core.article, self.total), markup)

    # --- buttons and inline mode ----------------------------------------------------

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        if match := _MORE.match(data):
            await self._more(update, match.group(1), int(match.group(2)))
        elif match := _PAGE.match(data):
            section, page = int(match.group(1)), int(match.group(2))
            if self.core.section(section) is None:
                await query.answer(_EXPIRED)
                return
            text, markup = self._section_page(section, page)
            await query.answer()
            await self._edit(query.message, text, markup)
        else:
            log.info("ignored unknown callback data %r", data[:64])
            await query.answer(_EXPIRED)

    async def _more(self, update: Update, key: str, rank: int) -> None:
        query = update.callback_query
        assert query is not None
        answer = self.memory.get(key)
        if answer is None or rank >= len(answer.quotes):
            await query.answer(_EXPIRED if answer is None else "No more passages.")
            return
        await query.answer()
        blocks = [f"<i>Next best passage ({rank + 1} of {len(answer.quotes)}):</i>"]
        blocks += quote_blocks(answer.quotes[rank], self.total)
        markup = None
        if rank + 1 < len(answer.quotes):
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton("More ➡", callback_data=f"m:{key}:{rank + 1}")]]
            )
        await self._reply(update, blocks, markup)

    def _section_page(self, number: int, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
        section = self.core.section(number)
        if section is None:
            return f"There is no section {number}: choose 1 to {len(self.core.sections)}.", None
        pages = pack(section_blocks(section))
        page = min(max(page, 0), len(pages) - 1)
        buttons = []
        if page > 0:
            buttons.append(
                InlineKeyboardButton("⬅ Previous", callback_data=f"s:{number}:{page - 1}")
            )
        if page + 1 < len(pages):
            buttons.append(InlineKeyboardButton("Next ➡", callback_data=f"s:{number}:{page + 1}"))
        return pages[page], InlineKeyboardMarkup([buttons]) if buttons else None

    async def on_inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        if query is None:
            return
        results = []
        if query.query.strip():
            answer = await self.batcher.ask(query.query)
            for quote in answer.quotes[:5]:
                title = quote.heading or self.core.article.title
                results.append(
                    InlineQueryResultArticle(
                        id=quote.passage.id,
                        title=f"{title} · ¶{quote.position}",
                        description=quote.text[:120],
                        input_message_content=InputTextMessageContent(
                            quote_excerpt(quote, self.total), parse_mode=ParseMode.HTML
                        ),
                    )
                )
        await query.answer(results, cache_time=60, is_personal=False)

    # --- sending ----------------------------------------------------------------------

    async def _reply(
        self, update: Update, blocks: list[str], markup: InlineKeyboardMarkup | None = None
    ) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        messages = pack(blocks)
        for i, text in enumerate(messages):
            last = i == len(messages) - 1
            await self._send(update.get_bot(), chat.id, text, markup if last else None)

    async def _send(
        self, bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
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

    async def _edit(self, message: object, text: str, markup: InlineKeyboardMarkup | None) -> None:
        if not isinstance(message, Message):
            return
        try:
            await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log once with the update id; tell the user; keep the application running."""
        update_id = update.update_id if isinstance(update, Update) else None
        if isinstance(context.error, Forbidden):  # blocked by the user, removed from a group
            log.warning("update %s: cannot write to the chat: %s", update_id, context.error)
            return
        log.error("update %s failed", update_id, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(
                    update.effective_chat.id,
                    "Sorry, something went wrong while answering. Please try again.",
                )
            except TelegramError:
                log.warning("could not tell chat about the failure of update %s", update_id)
