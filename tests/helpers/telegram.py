"""The Telegram test harness: the real Application over HTTP against FakeBotApi.

Each test runs the bot the way ``python -m bot telegram`` does (same builder, same
post_init/post_shutdown sequence as ``run_polling``) on an event loop in a background
thread, so the tests themselves are plain synchronous code: push an update, wait until
the Application has finished with it, look at what reached the fake server. The fake
parses our HTML by Telegram's rules and enforces its length limits, so a 200 from it
means Telegram would have accepted the message.

Shared by ``test_telegram*.py``; each of them declares the ``api``/``tg`` fixtures and
the autouse ``no_proxy`` fixture with :func:`without_proxies`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.core.batcher import Batcher
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackStore
from bot.core.shelf import Shelf
from bot.telegram.adapter import build_application
from bot.telegram.runner import Webhook
from bot.telegram.runner import running as running_application
from bot.telegram.state import Services, TelegramOptions
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import Exchange, FakeBotApi, parse_html
from tests.helpers.paths import SAFETY_TIMEOUT

JSONDict = dict[str, Any]

QUESTION = "天津数字化综合发展水平在全国排第几？"
TRADITIONAL = "天津數字化綜合發展水平在全國排第幾？"
MENTION = f"@{f.BOT_USERNAME}"
DONE_GROUP = 1_000  # after every handler of the adapter (they are all in group 0)
WEBHOOK_SECRET = "test-webhook-secret-0123456789"


# ---- the bot under test ------------------------------------------------------------------------


@dataclass
class RunningBot:
    """The Application running in a background thread, and ways to talk to it."""

    api: FakeBotApi
    services: Services
    app: Application
    webhook_url: str | None = None
    _done: set[int] = field(default_factory=set)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    async def _mark_done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        with self._cond:
            self._done.add(update.update_id)
            self._cond.notify_all()

    def wait_done(self, update_ids: list[int], timeout: float = SAFETY_TIMEOUT) -> None:
        """Block until the Application has run every handler (and error handler) for them."""
        with self._cond:
            finished = self._cond.wait_for(lambda: self._done.issuperset(update_ids), timeout)
        assert finished, f"updates not processed in {timeout}s: {set(update_ids) - self._done}"

    def processed(self, update_id: int) -> bool:
        with self._cond:
            return update_id in self._done

    def process(self, update: JSONDict, timeout: float = SAFETY_TIMEOUT) -> list[Exchange]:
        """Push one update (by polling or webhook) and return the calls made while handling it."""
        since = len(self.api.exchanges)
        if self.webhook_url is None:
            update_id = self.api.push_update(update)["update_id"]
        else:
            status = self.api.post_webhook(self.webhook_url, update, WEBHOOK_SECRET)
            assert status == 200
            update_id = update["update_id"]
        self.wait_done([update_id], timeout)
        return self.api.exchanges[since:]

    def ask(self, text: str, **message: Any) -> list[Exchange]:
        return self.process(f.message_update(text, **message))


class BotThread(threading.Thread):
    """The Application's life as ``run_polling``/``run_webhook`` lead it, on a loop of its own.

    The shutdown must leave no task behind: the heartbeat and the batcher worker are the
    adapter's to cancel (``asyncio.run`` would otherwise cancel them silently).
    """

    def __init__(self, app: Application, webhook_url: str | None) -> None:
        super().__init__(name="bot-under-test")
        self.app = app
        self.webhook_url = webhook_url
        self.started = threading.Event()
        self.failure: BaseException | None = None
        self._control: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._lifecycle())
        except BaseException as exc:
            self.failure = exc
        finally:
            self.started.set()

    async def _lifecycle(self) -> None:
        stop = asyncio.Event()
        self._control = (asyncio.get_running_loop(), stop)
        assert self.app.post_init and self.app.post_shutdown
        async with running_application(self.app, self._webhook()):
            self.started.set()
            await stop.wait()
        leftover = asyncio.all_tasks() - {asyncio.current_task()}
        assert not leftover, f"tasks still pending after shutdown: {leftover}"

    def _webhook(self) -> Webhook | None:
        if self.webhook_url is None:
            return None
        port = urllib.parse.urlsplit(self.webhook_url).port
        assert port is not None
        return Webhook(self.webhook_url, "127.0.0.1", port, "telegram", WEBHOOK_SECRET)

    def halt(self) -> None:
        if self._control is not None:
            loop, stop = self._control
            with contextlib.suppress(RuntimeError):  # the loop already ended (start-up failed)
                loop.call_soon_threadsafe(stop.set)
        self.join(SAFETY_TIMEOUT)
        assert not self.is_alive(), "the Application did not shut down"


@contextlib.contextmanager
def running(
    api: FakeBotApi,
    core: ArticleBot | Shelf,
    options: TelegramOptions | None = None,
    *,
    webhook_port: int | None = None,
    feedback: FeedbackStore | None = None,
    language: str | None = "en",
    state_file: Path | None = None,
) -> Iterator[RunningBot]:
    """The adapter's Application, built as ``python -m bot telegram`` builds it, running."""
    # English unless a test asks for the readers' own languages: most tests assert English.
    options = replace(options or TelegramOptions(), language=language, state_file=state_file)
    shelf = core if isinstance(core, Shelf) else Shelf.of(core)
    services = Services(shelf, Batcher(shelf), options, feedback)
    app = build_application(services, api.token, api.base_url)
    url = f"http://127.0.0.1:{webhook_port}/telegram" if webhook_port else None
    bot = RunningBot(api, services, app, url)
    app.add_handler(TypeHandler(Update, bot._mark_done), group=DONE_GROUP)
    with on_its_thread(app, url):
        yield bot


@contextlib.contextmanager
def on_its_thread(
    app: Application, webhook_url: str | None = None, start_timeout: float = SAFETY_TIMEOUT
) -> Iterator[BotThread]:
    """``app`` running on a :class:`BotThread` for the block, halted after it; a failure to
    start, run or shut down is raised here. Every test that drives an Application in the
    background starts and stops it this one way."""
    thread = BotThread(app, webhook_url)
    thread.start()
    try:
        assert thread.started.wait(start_timeout), "the Application did not start"
        if thread.failure is not None:
            raise thread.failure
        yield thread
    finally:
        thread.halt()
    if thread.failure is not None:
        raise thread.failure


# ---- reading what the bot sent -----------------------------------------------------------------


def sent(exchanges: list[Exchange], method: str = "sendMessage") -> list[JSONDict]:
    """Params of the calls to ``method`` that Telegram accepted, oldest first."""
    return [e.params for e in exchanges if e.method == method and e.status == 200]


def statuses(exchanges: list[Exchange], method: str = "sendMessage") -> list[int]:
    return [e.status for e in exchanges if e.method == method]


def visible(params: JSONDict) -> str:
    """The text as the user sees it, parsed from the HTML by Telegram's rules."""
    return parse_html(params["text"])[0] if params.get("parse_mode") == "HTML" else params["text"]


def only_reply(exchanges: list[Exchange]) -> JSONDict:
    """The one message the bot sent; every send must have been accepted as it was."""
    assert statuses(exchanges) == [200], [(e.method, e.status, e.response) for e in exchanges]
    [reply] = sent(exchanges)
    assert reply["parse_mode"] == "HTML"
    return reply


def buttons(params: JSONDict) -> list[JSONDict]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def blockquotes(html: str) -> list[str]:
    return re.findall(r"<blockquote>(.*?)</blockquote>", html, re.DOTALL)


def bold(html: str) -> list[str]:
    return re.findall(r"<b>(.*?)</b>", html, re.DOTALL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def last_bot_message(api: FakeBotApi, chat_id: int) -> JSONDict:
    return api.bot_messages(chat_id)[-1]


def press(tg: RunningBot, data: str, message: JSONDict | None = None) -> list[Exchange]:
    return tg.process(f.callback_query_update(data, message=message))


def for_chat(chat_id: int) -> Any:
    return lambda params: params.get("chat_id") == chat_id


def without_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy may route the bot's 127.0.0.1 traffic off the machine."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def button(params: JSONDict, label: str) -> JSONDict:
    """The one button whose text is ``label``."""
    [found] = [b for b in buttons(params) if b["text"] == label]
    return found


def toast(exchanges: list[Exchange]) -> str | None:
    """The text of the one answerCallbackQuery made (None: answered without text)."""
    [answered] = sent(exchanges, "answerCallbackQuery")
    return answered.get("text")


def only_message(exchanges: list[Exchange]) -> JSONDict:
    """The one message the bot sent, as Telegram stored it: press its buttons with :func:`press`.

    Its ``text`` is what the user sees (markup parsed into entities), so :func:`visible` and
    :func:`buttons` work on it as on the request.
    """
    only_reply(exchanges)
    [result] = [e.response["result"] for e in exchanges if e.method == "sendMessage"]
    return dict(result)
