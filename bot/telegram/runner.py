"""The serving process's life: what ``run_polling``/``run_webhook`` do, with our listener.

The order is PTB's own (initialize, post_init, start receiving, start; on SIGTERM or
SIGINT: stop receiving, stop, post_stop, shutdown, post_shutdown). Webhook mode receives
through :class:`bot.telegram.webhook.WebhookListener` instead of PTB's, which read
unauthenticated bodies in full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.telegram.adapter import JournaledApplication
from bot.telegram.state import SERVICES, Services
from bot.telegram.webhook import Receiver, WebhookListener

log = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts (``url``), where we listen, and the secret it must carry."""

    url: str
    listen: str
    port: int
    path: str
    secret: str


async def start_receiving(app: App, webhook: Webhook | None) -> WebhookListener | None:
    """Poll, or listen and tell Telegram where to post; the listener to stop later."""
    if webhook is None:
        assert app.updater is not None

        def polling_error(exc: Exception) -> None:  # what run_polling gives the Updater
            app.create_task(app.process_error(error=exc, update=None))

        await app.updater.start_polling(error_callback=polling_error)
        return None
    journal = app.journal if isinstance(app, JournaledApplication) else None
    # One of several replicas: Telegram hears 200 only once the update is handled, so an
    # update a killed replica had not finished is delivered again, to another replica.
    answer_first = isinstance(app, JournaledApplication) and app.shared
    receiver = Receiver(app, webhook.secret, journal, answer_first=answer_first)
    listener = WebhookListener(receiver, webhook.path)
    listener.listen(webhook.listen, webhook.port)
    await app.bot.set_webhook(webhook.url, secret_token=webhook.secret)
    return listener


async def stop_receiving(app: App, listener: WebhookListener | None) -> None:
    """No new updates, and no waiting for an indexing: PTB's stop waits for every handler,
    so the handlers awaiting a shelf job are cancelled here (``bot.telegram.indexing``)."""
    if listener is not None:
        await listener.stop()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    services: Services | None = app.bot_data.get(SERVICES)
    if services is not None and services.shelf_jobs.cancel():
        log.warning("stopped in the middle of indexing: it is done again after the restart")


@contextlib.asynccontextmanager
async def running(app: App, webhook: Webhook | None = None) -> AsyncIterator[App]:
    """The Application's life, the ``async with`` body in place of the wait for a signal:
    initialize, post_init, start receiving (polling, or ``webhook``), start; then stop
    receiving, stop, post_stop, shutdown, post_shutdown, whatever the body raised. The bench,
    the soak and the tests drive an Application through this very sequence."""
    await app.initialize()
    listener: WebhookListener | None = None
    try:
        if app.post_init is not None:
            await app.post_init(app)
        listener = await start_receiving(app, webhook)
        await app.start()
        yield app
    finally:
        await stop_receiving(app, listener)
        if app.running:
            await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


async def serve(app: App, webhook: Webhook | None) -> None:
    """Serve until SIGTERM or SIGINT, then stop as PTB's ``run_*`` would."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with running(app, webhook):
        await stop.wait()
