"""A fake Telegram Bot API server for end-to-end tests of the bot.

Mocking ``telegram.Bot`` methods tests our assumptions about PTB, not PTB itself: the
serialisation of parameters, the HTTP client, the polling loop, the error mapping and the
shutdown sequence all stay untested.  ``FakeBotApi`` is instead a real HTTP server on
127.0.0.1 that speaks the Bot API wire format, so the real python-telegram-bot runs unchanged
against it via ``Application.builder().base_url(api.base_url)``.

It records every call (like aiogram's ``MockedBot``), lets a test inject the failures that
production sees (flood control, 5xx, dropped connections, slow answers, broken JSON), and
enforces the Telegram rules that bots most often break: HTML ``parse_mode`` is parsed by a
port of TDLib's ``parse_html`` (same error texts and byte offsets), and text limits are
checked after entity parsing, exactly where Telegram checks them.

It implements the Bot API methods the bot calls (``methods``); any other method is
answered 404 "Not Found", as Telegram answers a method it does not know, so a new call in
the bot fails its tests until the fake learns it. Only loopback addresses are ever
contacted: the server binds 127.0.0.1 and the webhook helpers refuse any other host.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterable

from bot.tools.fakeapi.dispatch import Dispatcher
from bot.tools.fakeapi.html import EntityParseError, parse_html, utf16_len
from bot.tools.fakeapi.records import (
    ApiError,
    Call,
    Exchange,
    Fault,
    FaultPolicy,
    JSONDict,
    Matcher,
    bad_request,
)
from bot.tools.fakeapi.state import BotState
from bot.tools.fakeapi.traffic import Traffic
from bot.tools.fakeapi.wire import (
    LoopbackService,
    parse_request_params,
    post_json,
    require_loopback,
)

DEFAULT_TOKEN = "123456:TEST-token-for-the-fake-server-only-x"
"""A token of the real shape ``<bot id>:<secret>``; PTB only requires it to be non-empty."""


class FakeBotApi(LoopbackService):
    """A real Bot API HTTP server on 127.0.0.1 for python-telegram-bot to talk to.

    Use as a context manager (or ``start()``/``stop()``); point PTB at it with
    ``Application.builder().token(api.token).base_url(api.base_url)``. The pieces behind it:
    ``wire`` (HTTP), ``dispatch`` (routing and faults), ``methods`` and ``state`` (the Bot
    API), ``traffic`` (the call log), ``html`` (Telegram's HTML parser).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "test_article_bot",
        bot_first_name: str = "Article Bot",
        deliver_webhooks: bool = False,
        policy: FaultPolicy | None = None,
    ) -> None:
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.bot_user: JSONDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.deliver_webhooks = deliver_webhooks
        self.policy = policy
        self._cond = threading.Condition()
        self._stop_event = threading.Event()
        self._state = BotState(self.bot_user, self._cond)
        self._traffic = Traffic(self._cond, policy)
        self._dispatcher = Dispatcher(token, self._state, self._traffic, self._stop_event)
        self.server_errors = self._dispatcher.server_errors
        super().__init__(self._dispatcher, "fake-bot-api")

    def _background(self) -> list[Callable[[], None]]:
        return [self._state.updates.deliver_webhooks] if self.deliver_webhooks else []

    def _stopping(self) -> None:
        """Pending long polls return at once; delayed answers stop waiting."""
        with self._cond:
            self._state.updates.stopping = True
            self._cond.notify_all()
        self._stop_event.set()

    # ---- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The value for ``ApplicationBuilder.base_url``; PTB appends the token itself."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """The value for ``ApplicationBuilder.base_file_url``."""
        return f"{self.url}/file/bot"

    # ---- recorded traffic ------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request so far, including failed ones, oldest first (a snapshot)."""
        return self._traffic.calls

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request with the status and body the fake answered (a snapshot)."""
        return self._traffic.exchanges

    def calls_to(self, method: str) -> list[JSONDict]:
        """The params of every call to ``method`` (case-insensitive)."""
        return [c.params for c in self.calls if c.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | str | None = None) -> list[JSONDict]:
        """Params of the *successful* sendMessage calls, optionally for one chat.

        These are the raw request params (``text`` still holds the HTML); use
        :meth:`chat_history` for the messages as Telegram stored them.
        """
        return self._traffic.sent_messages(chat_id)

    def chat_history(self, chat_id: int | str) -> list[JSONDict]:
        """Current state of the chat's messages (pushed and sent, edits applied)."""
        with self._cond:
            return self._state.messages.history(chat_id)

    def bot_messages(self, chat_id: int | str) -> list[JSONDict]:
        """The bot's messages in a chat as Telegram shows them: tags parsed into entities."""
        bot_id = self.bot_user["id"]
        return [
            m
            for m in self.chat_history(chat_id)
            if m.get("from", {}).get("id") == bot_id or "sender_chat" in m
        ]

    def message(self, chat_id: int | str, message_id: int) -> JSONDict | None:
        """One stored message, or None if it was never there."""
        with self._cond:
            return self._state.messages.get(chat_id, message_id)

    def clear_calls(self) -> None:
        """Forget recorded calls and sent messages (not chats, messages or updates)."""
        self._traffic.clear()

    def wait_for(
        self, matcher: Matcher, count: int = 1, timeout: float = 300.0, *, since: int = 0
    ) -> list[Call]:
        """Block until ``count`` calls match (a method name or a predicate on Call).

        ``since`` skips the first calls (pass ``len(api.calls)`` taken earlier). Returns the
        first ``count`` matches; raises TimeoutError listing what was called instead. The
        timeout is a safety net against a hang, not a speed assertion.
        """
        return self._traffic.wait_for(matcher, count, timeout, since)

    async def wait_for_async(
        self, matcher: Matcher, count: int = 1, timeout: float = 300.0, *, since: int = 0
    ) -> list[Call]:
        """:meth:`wait_for` for async tests: polls so the event loop (and the bot) keep running."""
        return await self._traffic.wait_for_async(matcher, count, timeout, since)

    def wait_idle(self, timeout: float) -> bool:
        """Until no call but long polls is being served and every pushed update was fetched."""
        return self._dispatcher.wait_idle(time.monotonic() + timeout)

    # ---- fault injection -------------------------------------------------------------------

    def inject(
        self,
        method: str,
        error_code: int | None = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        parameters: JSONDict | None = None,
        times: int = 1,
        delay: float = 0.0,
        drop: bool = False,
        malformed: bool = False,
        when: Callable[[JSONDict], bool] | None = None,
    ) -> Fault:
        """Make the next ``times`` calls to ``method`` (``"*"``: any) fail; FIFO per call.

        - ``error_code`` with the usual description (429 adds ``retry_after``, default 1);
          ``error_code=None`` with ``delay`` answers normally, just late (client timeouts).
        - ``delay`` seconds before answering; ``drop=True`` closes the connection unanswered.
        - ``malformed=True`` answers with a broken body: truncated JSON with status 200 when
          ``error_code`` is None, or nginx's HTML error page with ``error_code`` (e.g. 502).
        - ``when(params)`` restricts the fault to matching calls, e.g. one chat.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(
            method=method,
            error_code=error_code,
            description=description,
            retry_after=retry_after,
            parameters=parameters,
            delay=delay,
            drop=drop,
            malformed=malformed,
            times=times,
            when=when,
        )
        return self._traffic.queue(fault)

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults not yet consumed."""
        return self._traffic.pending_faults

    # ---- updates, files and webhooks -------------------------------------------------------

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates (or webhook delivery); returns the queued copy.

        A missing or stale ``update_id`` is replaced by the next one, because Telegram's ids
        only grow and the bot confirms updates by offset. Messages in the update are stored so
        replies and edits of them behave like on Telegram.
        """
        with self._cond:
            return self._state.receive(update)

    def push_updates(self, updates: Iterable[JSONDict]) -> list[JSONDict]:
        """:meth:`push_update` for several updates, in order."""
        return [self.push_update(u) for u in updates]

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset (or delivered by webhook)."""
        with self._cond:
            return list(self._state.updates.queue)

    def upload(self, file_id: str, content: bytes) -> None:
        """The bytes behind ``file_id`` (a document a test sends), for getFile and download."""
        with self._cond:
            self._state.uploads[file_id] = content

    def post_webhook(
        self, url: str, update: JSONDict, secret_token: str | None = None, timeout: float = 10.0
    ) -> int:
        """POST an update to a bot in webhook mode, as Telegram would; returns the HTTP status.

        Only loopback URLs are accepted. A missing ``update_id`` is assigned.
        """
        require_loopback(url)
        if "update_id" not in update:
            with self._cond:
                update = {"update_id": self._state.updates.next_id(), **update}
        return post_json(url, update, secret_token, timeout)[0]

    async def post_webhook_async(
        self, url: str, update: JSONDict, secret_token: str | None = None, timeout: float = 10.0
    ) -> int:
        """:meth:`post_webhook` without blocking the event loop the bot runs on."""
        return await asyncio.to_thread(self.post_webhook, url, update, secret_token, timeout)

    @property
    def webhook(self) -> JSONDict | None:
        """The webhook settings from the last setWebhook, or None."""
        with self._cond:
            hook = self._state.updates.webhook
            return dict(hook) if hook else None


__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "Call",
    "EntityParseError",
    "Exchange",
    "FakeBotApi",
    "Fault",
    "JSONDict",
    "bad_request",
    "parse_html",
    "parse_request_params",
    "utf16_len",
]
