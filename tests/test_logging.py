"""Logging: the bot token never reaches a log line, and nothing below the configured level does."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logsetup import REDACTED, RedactSecrets
from tests.helpers.paths import run_bot

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


# ---- levels ---------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    library = logging.getLogger("test.library")
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    library.setLevel(logging.NOTSET)


@pytest.mark.usefixtures("restore_logging")
def test_nothing_below_the_configured_level_reaches_the_console(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.logsetup import configure_logging

    configure_logging("WARNING")
    library = logging.getLogger("test.library")
    library.setLevel(logging.DEBUG)  # what bm25s does to its own logger when imported
    library.debug("Building index from tokens")
    library.info("loaded")
    library.warning("disk almost full")
    err = capsys.readouterr().err
    assert "Building index" not in err and "loaded" not in err
    assert "WARNING test.library: disk almost full" in err


@pytest.mark.usefixtures("restore_logging")
def test_debug_level_shows_debug_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.logsetup import configure_logging

    configure_logging("DEBUG")
    logging.getLogger("test.library").debug("Building index from tokens")
    assert "DEBUG test.library: Building index from tokens" in capsys.readouterr().err


@pytest.mark.slow  # a whole `python -m bot index` process
def test_building_an_index_prints_no_debug_line_at_the_default_level(data_dir: Path) -> None:
    """The real process: bm25s is imported after logging is set up, then builds the index."""
    result = run_bot(["index"], data_dir, LOG_LEVEL="WARNING")
    assert result.returncode == 0, result.stderr
    assert "DEBUG" not in result.stderr and " INFO " not in result.stderr, result.stderr
