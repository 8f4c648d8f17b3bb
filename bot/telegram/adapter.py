"""The Telegram adapter: python-telegram-bot handlers that parse, call the core, reply.

Nothing here decides what to answer; it translates updates into questions and
answers into Telegram messages, buttons and inline results. Per chat it keeps the
last turn (so a follow-up is read with the question before it), and per answer a
short key, so buttons carry a few bytes instead of the question.

Delivery: every Bot API call goes through :class:`RetryingRateLimiter`, which keeps
Telegram's flood limits, waits out 429s, and retries, with backoff, only failures
that cannot have delivered the message (5xx answers, refused or dropped connections
before a response). A read timeout is never retried: Telegram may have delivered the
message already, and a retry would show it twice (README, Telegram, "Delivery").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.core.answer import Answer, AnswerKind, Quote
from bot.core.batcher import Batcher
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackError, FeedbackStore
from bot.core.followup import Turn
from bot.render.html import (
    CONVERTED_NOTE,
    about_html,
    answer_blocks,
    closest_blocks,
    esc,
    pack,
    plain,
    quote_blocks,
    quote_excerpt,
    section_blocks,
    sections_blocks,
    shorten,
)
from bot.telegram.delivery import RetryingRateLimiter, safe_to_retry
from bot.telegram.limits import RateLimit
from bot.telegram.recent import AnswerMemory, Recent

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "What this bot is"),
    BotCommand("help", "How to ask"),
    BotCommand("sections", "The article's sections"),
    BotCommand("section", "Read a section: /section 2"),
    BotCommand("new", "New conversation: forget the previous question"),
    BotCommand("about", "The article and the model"),
    BotCommand("ask", "Ask in a group: /ask your question"),
]
HEARTBEAT_SECONDS = 30
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data

# Callback data, all ASCII and validated on the way back in. Nothing the user typed is in it:
# answers are referred to by a short per-process key, passages by their stable id.
_KEY = r"([0-9a-z]{1,12})"
_PID = r"([0-9A-Za-z_-]{1,40})"
_MORE = re.compile(rf"^m:{_KEY}:([0-9])$")  # next-best passage of an answer
_CLOSEST = re.compile(rf"^c:{_KEY}$")  # a refusal's closest passage, shown anyway
_VOTE = re.compile(rf"^v:{_KEY}:([0-9]):([ud])$")  # 👍/👎 on an answer's passage
_WALK = re.compile(rf"^([pn]):{_PID}:([so])$")  # previous/next paragraph; s = Simplified
_WHOLE = re.compile(r"^w:([0-9]{1,3})$")  # a whole section, as a new message
_PAGE = re.compile(r"^s:([0-9]{1,3}):([0-9]{1,3})$")  # a page of a section, edited in place
_ASK = re.compile(r"^q:([0-9]{1,2})$")  # a suggested question, by its place in the sidecar

EXPIRED = "This button has expired. Please ask your question again."
NOT_ALLOWED = "Sorry, this bot answers only in the chats it was set up for."
FEEDBACK_DOWN = "Feedback is unavailable right now; answers go on."
THANKS = "Thanks for the feedback!"
NEW_CONVERSATION = "New conversation: your next question is read on its own."

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class TelegramOptions:
    questions_per_minute: int = 20
    remembered_answers: int = 2000  # answers whose buttons still work (More, votes, …)
    remembered_chats: int = 10_000  # chats whose last turn is kept for follow-ups
    heartbeat: Path | None = None  # touched while running; `python -m bot health` reads it
    allowed_chat_ids: frozenset[int] | None = None  # None: every chat
    send_retries: int = 3  # retries of a call that failed without delivering
    retry_backoff: float = 1.0  # seconds before the first retry; doubled each time
    read_timeout: float | None = None  # seconds to wait for Telegram's answer; None: PTB's


def _button(text: str, data: str) -> InlineKeyboardButton:
    if len(data.encode()) > MAX_CALLBACK_BYTES:  # only a bug can get here: fail loudly
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return InlineKeyboardButton(text, callback_data=data)


def _attachment(message: Message) -> str:
    """What a non-text message holds, in words, for the reply that asks for text."""
    kinds = (
        ("sticker", "stickers"),
        ("photo", "photos"),
        ("voice", "voice messages"),
        ("video_note", "video messages"),
        ("video", "videos"),
        ("audio", "audio files"),
        ("animation", "GIFs"),
        ("document", "files"),
        ("venue", "places"),
        ("location", "locations"),
        ("contact", "contacts"),
        ("poll", "polls"),
    )
    return next((words for attr, words in kinds if getattr(message, attr, None)), "this")


class TelegramAdapter:
    def __init__(
        self,
        core: ArticleBot,
        batcher: Batcher,
        options: TelegramOptions | None = None,
        feedback: FeedbackStore | None = None,
    ) -> None:
        self.core = core
        self.batcher = batcher
        self.options = options or TelegramOptions()
        self.feedback = feedback
        self.limits = RateLimit(self.options.questions_per_minute)
        self.memory = AnswerMemory(self.options.remembered_answers)
        self.turns: Recent[int, Turn] = Recent(self.options.remembered_chats)
        self._turned_away: Recent[int, bool] = Recent(self.options.remembered_chats)
        self.total = sum(1 for _ in core.article.paragraphs())
        self._heartbeat: asyncio.Task[None] | None = None
        self._feedback_lock = threading.Lock()  # one SQLite connection: one writer at a time
        self._buttons: list[tuple[re.Pattern[str], Callable[..., Awaitable[None]]]] = [
            (_MORE, self._more),
            (_CLOSEST, self._closest),
            (_VOTE, self._vote),
            (_WALK, self._walk),
            (_WHOLE, self._whole_section),
            (_PAGE, self._page),
            (_ASK, self._suggested),
        ]

    def build(self, token: str, base_url: str | None = None) -> Application:
        limiter = RetryingRateLimiter(self.options.send_retries, self.options.retry_backoff)
        builder = (
            Application.builder()
            .token(token)
            .concurrent_updates(True)
            .rate_limiter(limiter)
            .post_init(self._post_init)
            .post_shutdown(self._post_shutdown)
        )
        if base_url:
            builder = builder.base_url(base_url)
        if self.options.read_timeout is not None:
            builder = builder.read_timeout(self.options.read_timeout)
        app = builder.build()
        self.register(app)
        return app

    def register(self, app: Application) -> None:
        """Handlers for new messages only: edited messages and channel posts get silence."""
        guard = self._guarded
        new_message = filters.UpdateType.MESSAGE
        private = filters.ChatType.PRIVATE
        for name, handler in (
            ("start", self.on_start),
            ("help", self.on_help),
            ("sections", self.on_sections),
            ("section", self.on_section),
            ("new", self.on_new),
            ("about", self.on_about),
            ("ask", self.on_ask),
        ):
            app.add_handler(CommandHandler(name, guard(handler), filters=new_message))
        app.add_handler(
            MessageHandler(new_message & filters.TEXT & ~filters.COMMAND, guard(self.on_text))
        )
        app.add_handler(
            MessageHandler(new_message & private & filters.ATTACHMENT, guard(self.on_non_text))
        )
        app.add_handler(CallbackQueryHandler(guard(self.on_button)))
        app.add_handler(InlineQueryHandler(guard(self.on_inline)))
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

    # --- the allow-list -------------------------------------------------------------------

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if await self._admit(update):
                await handler(update, context)

        return guarded

    async def _admit(self, update: Update) -> bool:
        """With ALLOWED_CHAT_IDS set, other chats get one polite refusal (private chats) or
        silence (groups, channels); a button gets the refusal as its toast, an inline query
        no results. Inline queries have no chat: the asker's own id must be on the list."""
        allowed = self.options.allowed_chat_ids
        if allowed is None:
            return True
        chat, user = update.effective_chat, update.effective_user
        asker = chat.id if chat is not None else user.id if user is not None else None
        if asker in allowed:
            return True
        log.info("update %s from a chat not on the allow-list: ignored", update.update_id)
        if update.callback_query is not None:
            await self._ack(update.callback_query, NOT_ALLOWED)
        elif update.inline_query is not None:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
        elif (
            chat is not None
            and chat.type == ChatType.PRIVATE
            and self._turned_away.get(chat.id) is None
        ):
            self._turned_away.put(chat.id, True)
            await self._reply(update, [NOT_ALLOWED])
        return False

    # --- commands -------------------------------------------------------------------

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        title = esc(self.core.article.title)
        await self._reply(
            update,
            [
                f"I answer questions about <b>{title}</b> by quoting the paragraph that "
                "answers, with its section, so you can check it.",
                self._invitation(),
                "/sections lists what the article covers; /help shows all commands.",
            ],
            self._suggestions(),
        )

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(
            update,
            [
                "Send a question as a message (in groups: <code>/ask question</code>, "
                "mention me, or reply to me). A short follow-up such as "
                "<i>那它的访问量呢？</i> is read with your previous question.",
                "/sections — the sections\n/section N — read section N\n"
                "/new — new conversation (forget the previous question)\n"
                "/about — the article and the model",
                "Under an answer: <b>⬅ Paragraph</b> and <b>Paragraph ➡</b> walk through the "
                "article, <b>Section</b> shows the whole section, <b>More</b> the next best "
                "passage, and 👍/👎 rate the answer. When the article does not cover a "
                "question, <b>Show it anyway</b> quotes the closest passage.",
                "In any chat, type my @username and a question to share a quote.",
                self._invitation(),
            ],
            self._suggestions(),
        )

    def _invitation(self) -> str:
        if self.core.article.suggested_questions:
            example = self.core.article.suggested_questions[0]
            return (
                f"Ask in Chinese or English, for example:\n<code>{esc(example)}</code>\n"
                "or tap a question below."
            )
        return "Ask in Chinese or English, or tap a section below to read it."

    def _suggestions(self) -> InlineKeyboardMarkup | None:
        """The sidecar's suggested questions as buttons; without them, the sections."""
        questions = self.core.article.suggested_questions[:10]
        if questions:
            rows = [[_button(shorten(q, 60), f"q:{i}")] for i, q in enumerate(questions)]
        else:
            rows = [
                [_button(shorten(f"{s.number}. {s.heading}", 60), f"w:{s.number}")]
                for s in self.core.sections[:10]
            ]
        return InlineKeyboardMarkup(rows) if rows else None

    async def on_sections(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, sections_blocks(self.core.article))

    async def on_section(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        count = len(self.core.sections)
        args = context.args or []
        if len(args) != 1 or not args[0].isdigit():
            await self._reply(update, [f"Usage: /section N, where N is 1 to {count}."])
            return
        text, markup = self._section_page(int(args[0]), 0)
        await self._reply(update, [text], markup)

    async def on_new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            self.turns.pop(update.effective_chat.id)
        await self._reply(update, [NEW_CONVERSATION])

    async def on_about(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, [about_html(self.core.about())])

    async def on_ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        question = " ".join(context.args or [])
        if not question.strip():
            usage = "Usage: /ask your question"
            if self.core.article.suggested_questions:
                usage += f", e.g. /ask {esc(self.core.article.suggested_questions[0])}"
            await self._reply(update, [usage])
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
        message = update.message
        kind = _attachment(message) if message is not None else "this"
        await self._reply(
            update,
            [
                f"I can only read text questions, not {kind}. "
                "Please type your question about the article."
            ],
        )

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

    async def _answer(self, update: Update, question: str, echo: bool = False) -> None:
        """Answer ``question`` in the update's chat, read with the chat's previous turn."""
        user = update.effective_user
        if user is not None and not self.limits.allow(user.id):
            await self._reply(update, [self._too_fast()])
            return
        chat = update.effective_chat
        if chat is not None:
            try:
                await chat.send_chat_action("typing")
            except TelegramError as exc:  # cosmetic: never worth failing the answer for
                log.debug("typing indicator failed: %s", exc)
        turn = self.turns.get(chat.id) if chat is not None else None
        answer = await self._ask(question, turn)
        if chat is not None and (answer.quotes or answer.closest):
            self.turns.put(chat.id, answer.turn())
        blocks = answer_blocks(answer, self.core.article, self.total)
        if echo:  # asked by a button: show which question this answers
            blocks.insert(0, f"❓ <b>{esc(question)}</b>")
        await self._reply(update, blocks, self._answer_markup(answer))

    async def _ask(self, question: str, turn: Turn | None) -> Answer:
        return await self.batcher.ask(question, turn)

    def _too_fast(self) -> str:
        return (
            f"You are asking faster than I can read: at most "
            f"{self.options.questions_per_minute} questions a minute. Please wait a moment."
        )

    def _answer_markup(self, answer: Answer) -> InlineKeyboardMarkup | None:
        if answer.answered:
            key = self.memory.remember(answer)
            return self._quote_markup(answer.quotes[0], answer.converted, key, 0, answer)
        if answer.kind is AnswerKind.NOT_COVERED and answer.closest is not None:
            key = self.memory.remember(answer)
            return InlineKeyboardMarkup([[_button("Show it anyway", f"c:{key}")]])
        return None

    def _quote_markup(
        self,
        quote: Quote,
        simplified: bool,
        key: str | None = None,
        rank: int = 0,
        answer: Answer | None = None,
    ) -> InlineKeyboardMarkup | None:
        """⬅ / Section / ➡ under any quoted paragraph; More and 👍/👎 under an answer's."""
        rows = []
        passage, script = quote.passage, "s" if simplified else "o"
        if re.fullmatch(_PID, passage.id):
            nav = [_button("⬅ Paragraph", f"p:{passage.id}:{script}")]
            if passage.section is not None:
                nav.append(_button("Section", f"w:{passage.section}"))
            nav.append(_button("Paragraph ➡", f"n:{passage.id}:{script}"))
            rows.append(nav)
        if key is not None and answer is not None:
            extra = []
            if rank + 1 < len(answer.quotes):
                extra.append(_button("More ➡", f"m:{key}:{rank + 1}"))
            if self.feedback is not None:
                extra.append(_button("👍", f"v:{key}:{rank}:u"))
                extra.append(_button("👎", f"v:{key}:{rank}:d"))
            if extra:
                rows.append(extra)
        return InlineKeyboardMarkup(rows) if rows else None

    # --- buttons ------------------------------------------------------------------------

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        for pattern, action in self._buttons:
            if match := pattern.match(data):
                await action(update, query, *match.groups())
                return
        log.info("ignored unknown callback data %r", data[:MAX_CALLBACK_BYTES])
        await self._ack(query, EXPIRED)

    async def _more(self, update: Update, query: CallbackQuery, key: str, rank: str) -> None:
        answer, number = self.memory.get(key), int(rank)
        if answer is None or number < 1:
            await self._ack(query, EXPIRED)
            return
        if number >= len(answer.quotes):
            await self._ack(query, "No more passages.")
            return
        await self._ack(query)
        quote = answer.quotes[number]
        blocks = [f"<i>Next best passage ({number + 1} of {len(answer.quotes)}):</i>"]
        blocks += quote_blocks(quote, self.total)
        markup = self._quote_markup(quote, answer.converted, key, number, answer)
        await self._reply(update, blocks, markup)

    async def _closest(self, update: Update, query: CallbackQuery, key: str) -> None:
        answer = self.memory.get(key)
        if answer is None or answer.closest is None:
            await self._ack(query, EXPIRED)
            return
        await self._ack(query)
        quote = answer.closest
        markup = self._quote_markup(quote, answer.converted)
        await self._reply(update, closest_blocks(quote, self.total), markup)

    async def _vote(
        self, update: Update, query: CallbackQuery, key: str, rank: str, vote: str
    ) -> None:
        answer, number = self.memory.get(key), int(rank)
        if answer is None or number >= len(answer.quotes):
            await self._ack(query, EXPIRED)
            return
        store = self.feedback
        if store is None:
            await self._ack(query, FEEDBACK_DOWN)
            return
        chat = update.effective_chat
        chat_id = chat.id if chat is not None else query.from_user.id
        passage_id = answer.quotes[number].passage.id

        def record() -> None:  # off the event loop: SQLite may wait for a lock
            with self._feedback_lock:
                store.vote(chat_id, answer.question, passage_id, vote == "u")

        try:
            await asyncio.to_thread(record)
        except FeedbackError as exc:
            log.warning("%s; answers go on without feedback", exc)
            await self._ack(query, FEEDBACK_DOWN)
            return
        await self._ack(query, THANKS)

    async def _walk(
        self, update: Update, query: CallbackQuery, direction: str, passage_id: str, script: str
    ) -> None:
        passage = self.core.passage_by_id(passage_id)
        if passage is None:
            await self._ack(query, EXPIRED)
            return
        step = 1 if direction == "n" else -1
        neighbour = self.core.neighbour(passage, step)
        if neighbour is None:
            await self._ack(query, f"That is the {'last' if step > 0 else 'first'} paragraph.")
            return
        await self._ack(query)
        simplified = script == "s"
        quote = self.core.show(neighbour, simplified)
        blocks = quote_blocks(quote, self.total) + ([CONVERTED_NOTE] if simplified else [])
        await self._reply(update, blocks, self._quote_markup(quote, simplified))

    async def _whole_section(self, update: Update, query: CallbackQuery, number: str) -> None:
        if self.core.section(int(number)) is None:
            await self._ack(query, EXPIRED)
            return
        await self._ack(query)
        text, markup = self._section_page(int(number), 0)
        await self._reply(update, [text], markup)

    async def _page(self, update: Update, query: CallbackQuery, number: str, page: str) -> None:
        if self.core.section(int(number)) is None:
            await self._ack(query, EXPIRED)
            return
        text, markup = self._section_page(int(number), int(page))
        await self._ack(query)
        await self._edit(query.message, text, markup)

    async def _suggested(self, update: Update, query: CallbackQuery, index: str) -> None:
        questions = self.core.article.suggested_questions
        if int(index) >= len(questions):
            await self._ack(query, EXPIRED)
            return
        await self._ack(query)
        await self._answer(update, questions[int(index)], echo=True)

    def _section_page(self, number: int, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
        section = self.core.section(number)
        if section is None:
            return f"There is no section {number}: choose 1 to {len(self.core.sections)}.", None
        pages = pack(section_blocks(section))
        page = min(max(page, 0), len(pages) - 1)
        buttons = []
        if page > 0:
            buttons.append(_button("⬅ Previous", f"s:{number}:{page - 1}"))
        if page + 1 < len(pages):
            buttons.append(_button("Next ➡", f"s:{number}:{page + 1}"))
        return pages[page], InlineKeyboardMarkup([buttons]) if buttons else None

    async def _ack(self, query: CallbackQuery, text: str | None = None) -> None:
        """Answer a button press (stops its spinner); a press too old to answer is no error."""
        try:
            await query.answer(text)
        except BadRequest as exc:
            log.info("could not answer a button press: %s", exc)

    # --- inline mode --------------------------------------------------------------------

    async def on_inline(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.inline_query
        if query is None:
            return
        personal = self.options.allowed_chat_ids is not None  # never cache for strangers
        results = []
        if query.query.strip():
            if not self.limits.allow(query.from_user.id):  # a question like any other
                per_minute = self.options.questions_per_minute
                button = InlineQueryResultsButton(
                    text=f"Too many questions: at most {per_minute} a minute",
                    start_parameter="too_fast",
                )
                await query.answer([], cache_time=0, is_personal=True, button=button)
                return
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
        await query.answer(results, cache_time=60, is_personal=personal)

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
                    update.effective_chat.id,
                    "Sorry, something went wrong while answering. Please try again.",
                )
            except TelegramError:
                log.warning("could not tell chat about the failure of update %s", update_id)
