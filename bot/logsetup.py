"""Logging for the process, set up once by the composition root (never at import time)."""

from __future__ import annotations

import logging
import sys

REDACTED = "[REDACTED]"


class RedactSecrets(logging.Filter):
    """Replace secrets wherever they would appear: message, arguments or traceback.

    HTTP libraries log request URLs, and the Bot API puts the token in every URL.
    """

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.stack_info:
            message += "\n" + record.stack_info
            record.stack_info = None
        record.msg, record.args = self._scrub(message), None
        return True


class DemoteUnparsableReplies(logging.Filter):
    """python-telegram-bot logs an ERROR with a traceback for every 502 page or broken
    getUpdates body before raising the error the adapter retries; a retried fault is a
    warning, and the retry's outcome is logged where it is decided."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and "Can not load invalid JSON" in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def configure_logging(level: str, secrets: list[str] | None = None) -> None:
    """One stderr handler for the process; nothing below ``level`` gets through it.

    The level is set on the handler as well as the root logger: a library that sets its own
    logger's level when it is imported (bm25s sets DEBUG, after this has run, since heavy
    imports are deferred) would otherwise print its debug lines at any configured level.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; the token is in them. Keep it at WARNING.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("telegram.request.BaseRequest").addFilter(DemoteUnparsableReplies())
    # bm25s sets its own logger to DEBUG; follow the process's level instead (if it is
    # imported later it resets this, and the handler's level still holds).
    logging.getLogger("bm25s").setLevel(root.level)
