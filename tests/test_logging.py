"""The bot token never reaches a log line: not in messages, arguments or tracebacks."""

from __future__ import annotations

import io
import logging

from bot.logsetup import REDACTED, RedactSecrets

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN]))
    logger = logging.getLogger("test.redaction")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_token_in_message_arguments_and_traceback_is_redacted() -> None:
    logger, stream = _capture()
    logger.info("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.warning(f"token is {TOKEN}")
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed")
    except RuntimeError:
        logger.exception("send failed")
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count(REDACTED) == 3  # the message, the argument, the exception text
    assert "send failed" in output and "RuntimeError" in output


def test_no_secret_no_change() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain %s", ("text",), None)
    assert RedactSecrets([]).filter(record)
    assert record.getMessage() == "plain text"


def test_unparsable_bot_api_replies_are_warnings_not_errors() -> None:
    from bot.logsetup import DemoteUnparsableReplies

    record = logging.LogRecord(
        "telegram.request.BaseRequest", logging.ERROR, __file__, 1,
        'Can not load invalid JSON data: "<html>"', (), (ValueError, ValueError("x"), None),
    )  # fmt: skip
    assert DemoteUnparsableReplies().filter(record)
    assert record.levelno == logging.WARNING and record.exc_info is None
