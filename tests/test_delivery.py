"""Which failed Bot API calls are retried: only those that cannot have delivered anything.

The errors are built the way PTB's HTTPXRequest raises them: a ``NetworkError`` or
``TimedOut`` whose ``__cause__`` is the httpx exception, or none when Telegram itself
answered with an error status.
"""

from __future__ import annotations

import httpx
import pytest
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from bot.telegram.delivery import safe_to_retry

REQUEST = httpx.Request("POST", "http://127.0.0.1/botTOKEN/sendMessage")


def _raised(error: NetworkError, cause: BaseException | None) -> NetworkError:
    """``error`` as PTB raises it: ``raise error from cause``."""
    try:
        raise error from cause
    except NetworkError as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (NetworkError("Bad Gateway"), None),  # Telegram answered 502
        (NetworkError("Internal Server Error"), None),
        (NetworkError("wrapped"), TelegramError("an error status, re-raised")),
        (NetworkError("refused"), httpx.ConnectError("refused", request=REQUEST)),
        (NetworkError("closed"), httpx.RemoteProtocolError("closed", request=REQUEST)),
        (TimedOut("connect"), httpx.ConnectTimeout("connect", request=REQUEST)),
        (TimedOut("pool"), httpx.PoolTimeout("pool")),
    ],
    ids=["502", "500", "status-wrapped", "refused", "closed-early", "connect-timeout", "pool"],
)
def test_failures_that_sent_nothing_are_retried(
    error: NetworkError, cause: BaseException | None
) -> None:
    assert safe_to_retry(_raised(error, cause))


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (TimedOut("read"), httpx.ReadTimeout("read", request=REQUEST)),
        (TimedOut("write"), httpx.WriteTimeout("write", request=REQUEST)),
        (TimedOut(), None),  # PTB's own timeout: nothing says the request was not read
        (BadRequest("Message is too long"), None),
        (NetworkError("read error"), httpx.ReadError("reset", request=REQUEST)),
        (NetworkError("odd"), OSError("something else")),
    ],
    ids=["read-timeout", "write-timeout", "bare-timeout", "400", "read-error", "unknown-cause"],
)
def test_failures_that_may_have_delivered_or_cannot_succeed_are_not(
    error: NetworkError, cause: BaseException | None
) -> None:
    assert not safe_to_retry(_raised(error, cause))
