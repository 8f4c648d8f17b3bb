"""Webhook mode's listener: the secret is checked before a byte of the body is read, the
body is bounded, and an update is journaled before Telegram hears 200.

PTB's own listener (tornado) read every request body in full, up to 100 MB, before it
looked at the secret header: four 90 MB POSTs without the secret took the bot from 670
to 1,216 MB. Here the handler streams the body (``stream_request_body``): ``prepare``
runs on the headers alone, so a request without the right ``X-Telegram-Bot-Api-Secret-
Token`` is answered 403 and its connection closed unread, and a body over
:data:`MAX_BODY_BYTES` is refused with 413 (declared) or cut off (streamed). A 200 means
the update is in the journal (``bot.telegram.journal``): Telegram may forget it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.ext import Application

from bot.core.stores import UpdateLedger
from bot.telegram.journal import JournalError

log = logging.getLogger(__name__)

# A Bot API update is JSON of at most a few kB (a 4096-character message with entities and
# a quoted reply stays far below this); anything larger is not from Telegram.
MAX_BODY_BYTES = 1 << 20
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"  # answered without the secret: it tells only "serving" or not


@dataclass
class Receiver:
    """Where an accepted update goes: the journal first, then the Application's queue; or,
    ``answer_first`` (several replicas), handled here before the 200 (see
    ``bot.core.postgres``: no replica keeps an update only it could replay)."""

    app: Application[Any, Any, Any, Any, Any, Any]
    secret: str
    journal: UpdateLedger | None
    answer_first: bool = False
    _answering: dict[int, asyncio.Future[None]] = field(default_factory=dict)

    async def accept(self, data: dict[str, Any]) -> None:
        update = Update.de_json(data, self.app.bot)
        if self.answer_first:
            await self._answer(update)
            return
        if self.journal is not None:
            try:
                await asyncio.to_thread(self.journal.record, [data])
            except JournalError as exc:
                log.warning("%s; this update is handled but not journaled", exc)
        await self.app.update_queue.put(update)

    async def _answer(self, update: Update) -> None:
        """Handle the update, then return (then Telegram hears 200). Telegram delivering it
        again while it is being answered (its timeout ran out) waits for the same answer:
        a 200 before the end would let an update this replica then loses go unanswered.
        A connection Telegram closes does not stop the answer (``shield``)."""
        answering = self._answering.get(update.update_id)
        if answering is None:
            answering = asyncio.ensure_future(self.app.process_update(update))
            self._answering[update.update_id] = answering
            update_id = update.update_id
            answering.add_done_callback(lambda _: self._answering.pop(update_id, None))
        await asyncio.shield(answering)


class _HealthHandler(tornado.web.RequestHandler):
    """``GET /healthz`` for a load balancer: 200 while the Application serves, 503 while it
    starts or stops (so a replica being stopped is drained first)."""

    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def get(self) -> None:
        serving = self.receiver.app.running
        self.set_status(200 if serving else 503)
        self.finish("ok\n" if serving else "not serving\n")


@tornado.web.stream_request_body
class _UpdateHandler(tornado.web.RequestHandler):
    """One POST from Telegram: headers judged first, body read only for the right secret."""

    receiver: Receiver
    _body: bytearray

    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self._body = bytearray()

    def prepare(self) -> None:
        if self.request.method != "POST":
            raise tornado.web.HTTPError(405)
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.receiver.secret.encode()):
            self._refuse(403)
            return
        declared = self.request.headers.get("Content-Length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            self._refuse(413)
            return
        self.request.connection.set_max_body_size(MAX_BODY_BYTES)  # type: ignore[union-attr]

    def _refuse(self, status: int) -> None:
        """Answer now and drop the connection: the body stays unread."""
        self.set_status(status)
        self.set_header("Connection", "close")
        self.finish()
        self.request.connection.stream.close()  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        self._body += chunk

    async def post(self) -> None:
        try:
            data = json.loads(bytes(self._body))
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            await self.receiver.accept(data)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("webhook: a request with the right secret but no update (%s)", exc)
            self.set_status(400)
            return
        self.set_status(200)

    def log_exception(self, *args: Any) -> None:
        """Refusals are answers, not errors: tornado need not log a traceback for them."""
        typ, value = args[0], args[1]
        if isinstance(value, tornado.web.HTTPError):
            return
        super().log_exception(typ, value, args[2])


class WebhookError(Exception):
    """The listener cannot listen (the port is taken, the address is not ours)."""


class WebhookListener:
    """The HTTP server for one webhook path; :meth:`stop` closes it and its connections."""

    def __init__(self, receiver: Receiver, path: str) -> None:
        route = "/" + path.strip("/")
        web = tornado.web.Application(
            [
                (HEALTH_PATH, _HealthHandler, {"receiver": receiver}),
                (route, _UpdateHandler, {"receiver": receiver}),
            ]
        )
        self._server = tornado.httpserver.HTTPServer(
            web,
            max_body_size=MAX_BODY_BYTES,
            max_buffer_size=MAX_BODY_BYTES,
            idle_connection_timeout=60,
        )

    def listen(self, address: str, port: int) -> None:
        try:
            self._server.listen(port, address)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise WebhookError(f"cannot listen on {address}:{port} for the webhook: {why}") from exc

    async def stop(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()
