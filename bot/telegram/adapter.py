"""The Telegram adapter: builds the python-telegram-bot Application and registers handlers.

Nothing here decides what to answer: handlers (``bot.telegram.handlers``) translate
updates into questions for the core and answers into messages, buttons and inline
results. Per chat the adapter keeps the last turn (a follow-up is read with the question
before it), and per answer a short key, so buttons carry a few bytes, not the question.

Delivery: every Bot API call but ``getUpdates`` goes through
:class:`~bot.telegram.delivery.RetryingRateLimiter`, which keeps Telegram's flood limits,
waits out 429s, and retries, with backoff, only failures that cannot have delivered the
message; ``getUpdates`` is retried by PTB's own polling loop (README, Telegram, "Delivery").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import BotCommand, Update
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    PersistenceInput,
    filters,
)
from telegram.request import HTTPXRequest, RequestData

from bot.core.stores import UpdateLedger
from bot.messages import CATALOGS, DEFAULT, ZH_HANS, Messages
from bot.telegram import state
from bot.telegram.delivery import RetryingRateLimiter
from bot.telegram.handlers import buttons, commands, errors, inline, questions, shelf
from bot.telegram.handlers.access import guarded
from bot.telegram.journal import JournalError, UpdateJournal
from bot.telegram.liveness import PROBE_SECONDS, Liveness
from bot.telegram.persistence import SqlitePersistence, StatePersistence
from bot.telegram.questionlog import forget_old_questions
from bot.telegram.state import Services

log = logging.getLogger(__name__)

# Longest wait between polls while Telegram cannot be reached (PTB's own cap is 30 s).
POLL_BACKOFF_MAX = 16.0

COMMAND_HANDLERS = {
    "start": commands.on_start,
    "help": commands.on_help,
    "sections": commands.on_sections,
    "section": commands.on_section,
    "new": commands.on_new,
    "about": commands.on_about,
    "ask": commands.on_ask,
    "language": commands.on_language,
    "articles": shelf.on_articles,
}


def menu(say: Messages) -> list[BotCommand]:
    """The command menu Telegram shows, in the order of :data:`COMMAND_HANDLERS`."""
    return [BotCommand(name, say.commands[name]) for name in COMMAND_HANDLERS]


class JournaledApplication(Application):
    """The Application, with each update handled at most once per journal entry.

    An update is skipped if the journal says it was handled (or is being handled): a
    replay at start and Telegram delivering it again cannot both answer. It is marked
    handled once every handler group has run (a handler's exception counts: the error
    handler has answered); a stop that cancels it leaves it for the replay.

    One of several replicas (``shared``): the chat state is written through before the
    update is marked handled, so the chat's next update, on any replica, reads it.
    """

    journal: UpdateLedger | None = None
    shared: bool = False

    async def process_update(self, update: object) -> None:
        journal = self.journal
        if journal is None or not isinstance(update, Update):
            await super().process_update(update)
            return
        if not journal.claim(update.update_id):
            log.info("update %d is handled already: skipped", update.update_id)
            return
        handled = False
        try:
            await super().process_update(update)
            if self.shared and self.persistence is not None:
                await self.update_persistence()
            handled = True
        finally:  # at once, on the loop: every await here would widen the duplicate window
            journal.release(update.update_id, handled)


class _PollingRequest(HTTPXRequest):
    """The ``getUpdates`` connection: journals what Telegram sends, notes each answer for
    the health check, and waits out an unreachable Bot API itself.

    Journaling here, before PTB sees the batch, is what makes polling at-least-once: PTB
    confirms a batch with its next ``getUpdates`` as soon as the batch is queued, so an
    update must be on disk before this request returns (``bot.telegram.journal``).

    When Telegram cannot be reached, PTB's polling loop sleeps between attempts (up to
    30 s) where a stop cannot interrupt it, so ``docker stop`` during an outage ended in
    SIGKILL. Waiting here instead — inside the request, which a stop cancels at once — and
    then reporting a timeout (which PTB retries without sleeping) keeps the same backoff,
    makes SIGTERM prompt, and logs the outage once instead of a traceback per attempt.
    """

    def __init__(self, liveness: Liveness | None, journal: UpdateLedger | None) -> None:
        super().__init__(connection_pool_size=1)
        self._liveness = liveness
        self._journal = journal
        self._failures = 0
        self.polling: Callable[[], bool] = lambda: True  # False once a stop has begun

    async def do_request(  # noqa: PLR0917 (PTB's signature)
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        try:
            timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
            code, payload = await super().do_request(url, method, request_data, *timeouts)
        except TimedOut:
            raise
        except NetworkError as exc:
            if not self.polling():  # the last call of a stop: fail now, never wait
                raise
            self._failures += 1
            delay = min(POLL_BACKOFF_MAX, 2.0 ** (self._failures - 1))
            if self._failures == 1:
                log.warning("cannot reach Telegram to poll (%s); retrying with backoff", exc)
            await asyncio.sleep(delay)
            raise TimedOut(f"Telegram unreachable ({exc})") from exc
        if self._failures:
            log.warning("Telegram answers again after %d failed polls", self._failures)
            self._failures = 0
        if code == 200 and self._liveness is not None:
            self._liveness.heard_from_telegram()
        if code == 200 and self._journal is not None:
            await asyncio.to_thread(_journal_batch, self._journal, payload)
        return code, payload


def _journal_batch(journal: UpdateLedger, payload: bytes) -> None:
    """Record a ``getUpdates`` answer; a journal that fails costs durability, not answers."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return  # PTB reports the malformed answer itself
    updates = answer.get("result") if isinstance(answer, dict) else None
    if not isinstance(updates, list):
        return
    try:
        journal.record(updates)
    except JournalError as exc:
        log.warning("%s; these updates are handled but not journaled", exc)


def open_journal(path: Path) -> UpdateJournal | None:
    try:
        return UpdateJournal(path)
    except JournalError as exc:
        log.warning("%s; running without it (a crash may lose fetched updates)", exc)
        return None


def build_application(services: Services, token: str, base_url: str | None = None) -> Application:
    options = services.options
    # AIORateLimiter's own "no limit" values turn the throttle off (to measure without it).
    unlimited = {} if options.flood_limits else {"overall_max_rate": 0, "group_max_rate": 0}
    limiter = RetryingRateLimiter(options.send_retries, options.retry_backoff, **unlimited)
    builder = (
        Application.builder()
        .token(token)
        .context_types(state.CONTEXT_TYPES)
        .concurrent_updates(True)
        .rate_limiter(limiter)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .application_class(JournaledApplication)
    )
    if base_url:
        builder = builder.base_url(base_url)
        if base_url.rstrip("/").endswith("/bot"):  # a Bot API server's files sit beside it
            builder = builder.base_file_url(base_url.rstrip("/")[: -len("bot")] + "file/bot")
    if options.read_timeout is not None:
        builder = builder.read_timeout(options.read_timeout)
    shared = services.shared
    # Replicas take webhooks (Telegram has one getUpdates reader per bot): their ledger is the
    # shared one. Polling keeps the local journal, which replays what a crash left unhandled.
    journal: UpdateLedger | None = shared if shared is not None and options.webhook else None
    if journal is None and options.journal is not None:
        journal = open_journal(options.journal)
    polling = _PollingRequest(services.liveness, journal)
    builder = builder.get_updates_request(polling)
    # Per chat: the last turn, the language, the answers its buttons refer to. bot_data
    # holds the live services, not state: it is never persisted.
    only_chats = PersistenceInput(bot_data=False, user_data=False, callback_data=False)
    if shared is not None:
        builder = builder.persistence(
            StatePersistence(shared, shared.where, store_data=only_chats)
        )
    elif options.state_file is not None:
        builder = builder.persistence(SqlitePersistence(options.state_file, store_data=only_chats))
    app = builder.build()
    assert isinstance(app, JournaledApplication)
    app.journal = journal
    app.shared = shared is not None
    polling.polling = lambda: app.updater is not None and app.updater.running
    state.install(app, services)
    register(app)
    return app


def register(app: Application) -> None:
    """Handlers for new messages only: edited messages and channel posts get silence."""
    new_message = filters.UpdateType.MESSAGE
    for name, handler in COMMAND_HANDLERS.items():
        app.add_handler(CommandHandler(name, guarded(handler), filters=new_message))
    app.add_handler(
        MessageHandler(
            new_message & filters.TEXT & ~filters.COMMAND, guarded(questions.on_text)
        )
    )
    app.add_handler(CommandHandler("reload", guarded(shelf.on_reload), filters=new_message))
    private = new_message & filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(private & filters.Document.ALL, guarded(shelf.on_document)))
    app.add_handler(
        MessageHandler(private & filters.ATTACHMENT, guarded(questions.on_non_text))
    )
    for kind, pressed in buttons.HANDLERS:
        app.add_handler(CallbackQueryHandler(guarded(pressed), pattern=kind.PATTERN))
    app.add_handler(CallbackQueryHandler(guarded(buttons.on_unknown)))
    app.add_handler(InlineQueryHandler(guarded(inline.on_inline)))
    app.add_error_handler(errors.on_error)


_PROBE = "webhook probe"
_AFTER_START = "indexing after the start"


async def _post_init(app: Application) -> None:
    services: Services = app.bot_data[state.SERVICES]
    try:  # the default menu, and one for clients set to Chinese (Telegram takes "zh" alone)
        await app.bot.set_my_commands(menu(DEFAULT))
        await app.bot.set_my_commands(menu(ZH_HANS), language_code="zh")
    except TelegramError as exc:  # the menu is a convenience: answer questions anyway
        log.warning("could not set the command menu: %s", exc)
    if services.liveness is not None and services.options.webhook:
        app.bot_data[_PROBE] = asyncio.create_task(_probe_webhook(app, services.liveness))
    await forget_old_questions(services)
    if services.options.index_after_start:
        say = CATALOGS[services.options.language] if services.options.language else DEFAULT
        job = shelf.index_after_start(app.bot, services, say)
        app.bot_data[_AFTER_START] = asyncio.create_task(job)
    await _replay(app)


async def _replay(app: Application) -> None:
    """Queue the updates a previous run received but never handled (a crash, a kill)."""
    journal = app.journal if isinstance(app, JournaledApplication) else None
    waiting = journal.unhandled() if journal is not None else []
    if waiting:
        log.warning("answering %d update(s) received before the last stop", len(waiting))
    for data in waiting:
        try:
            update = Update.de_json(data, app.bot)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("journaled update %s cannot be read: %s", data.get("update_id"), exc)
            if journal is not None and journal.claim(data["update_id"]):
                journal.release(data["update_id"], True)  # not again at every start
            continue
        await app.update_queue.put(update)


async def _probe_webhook(app: Application, liveness: Liveness) -> None:
    """In webhook mode no getUpdates says Telegram is reachable: ask it, now and then."""
    while True:
        try:
            info = await app.bot.get_webhook_info()
        except TelegramError as exc:
            log.warning("Telegram did not answer the webhook probe: %s", exc)
        else:
            if info.url:
                liveness.heard_from_telegram()
        await asyncio.sleep(PROBE_SECONDS)


async def _post_shutdown(app: Application) -> None:
    services: Services = app.bot_data[state.SERVICES]
    for name in (_PROBE, _AFTER_START):
        task: asyncio.Task[None] | None = app.bot_data.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await services.batcher.close()
    if isinstance(app, JournaledApplication) and app.journal is not None:
        app.journal.close()
