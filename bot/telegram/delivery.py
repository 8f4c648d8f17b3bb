"""Delivery to the Bot API: flood limits, and retries only where a retry cannot duplicate."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)


def safe_to_retry(exc: NetworkError) -> bool:
    """Whether a failed call certainly did not reach Telegram's backend (so cannot duplicate).

    Retried: an HTTP error status without ``retry_after`` (500, 502 …: Telegram answered
    that it failed), a refused connection, a connect or pool timeout (nothing was sent), and
    a connection closed before any response (a stale keep-alive connection: the request was
    not read). Not retried: a read or write timeout (it may have been delivered; a retry
    would duplicate the message) and 400 Bad Request (retrying cannot help).
    """
    if isinstance(exc, BadRequest):
        return False
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(cause, httpx.ConnectError | httpx.RemoteProtocolError):
        return True
    return cause is None or isinstance(cause, TelegramError)  # an error status from Telegram


class RetryingRateLimiter(AIORateLimiter):
    """PTB's flood limiter (which retries 429s after ``retry_after``), plus bounded retries
    with exponential backoff of the failures :func:`safe_to_retry` accepts."""

    def __init__(
        self, retries: int, backoff: float, max_retries: int = 3, **limits: float
    ) -> None:
        super().__init__(max_retries=max_retries, **limits)
        self.retries = retries
        self.backoff = backoff

    async def process_request(  # noqa: PLR0917 (PTB's signature)
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except NetworkError as exc:
                if attempt >= self.retries or not safe_to_retry(exc):
                    raise
                delay = self.backoff * 2**attempt
                attempt += 1
                log.warning(
                    "%s failed (%s); retry %d of %d in %.2f s",
                    endpoint,
                    exc,
                    attempt,
                    self.retries,
                    delay,
                )
                await asyncio.sleep(delay)
