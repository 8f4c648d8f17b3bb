"""Health that means "can serve": the bot has recently heard from Telegram, and answers work.

A heartbeat that only says "the process runs" stays green while every ``getUpdates``
fails. So the record is written when Telegram has answered: a successful ``getUpdates``
(polling) or ``getWebhookInfo`` (webhook mode, probed every :data:`PROBE_SECONDS`), and it
carries whether the last answer failed. ``python -m bot health`` reads it without importing
python-telegram-bot: it runs every minute in the container.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Long polling returns at least every 10 s when idle; the webhook probe runs this often.
PROBE_SECONDS = 30
# Without a word from Telegram for this long, the bot cannot serve.
STALE_SECONDS = 90
# Rewrite the record at most this often while nothing changes.
_WRITE_EVERY = 10.0


@dataclass
class Liveness:
    """The serving process's side: note what Telegram and the answers say."""

    path: Path
    _last_write: float = 0.0
    _answer_failed: bool = False

    def heard_from_telegram(self) -> None:
        if time.time() - self._last_write >= _WRITE_EVERY:
            self._write()

    def answered(self, ok: bool) -> None:
        if self._answer_failed == ok:  # it changed: say so now, not in ten seconds
            self._answer_failed = not ok
            self._write()

    def _write(self) -> None:
        now = time.time()
        record = {"telegram_ok_at": now, "last_answer_failed": self._answer_failed}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle)
            os.replace(tmp, self.path)
            self._last_write = now
        except OSError as exc:
            log.warning("cannot write the health record %s: %s", self.path, exc)


def check(path: Path, now: float | None = None) -> tuple[bool, str]:
    """(healthy, why) from the record the serving process keeps."""
    now = time.time() if now is None else now
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        heard = float(record["telegram_ok_at"])
        failed = bool(record["last_answer_failed"])
    except FileNotFoundError:
        return False, "unhealthy: Telegram has not answered yet"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return False, f"unhealthy: unreadable health record {path} ({exc})"
    age = now - heard
    if age > STALE_SECONDS:
        return False, f"unhealthy: last answer from Telegram {age:.0f} s ago"
    if failed:
        return False, "unhealthy: the last answer to a reader failed"
    return True, f"healthy: last answer from Telegram {age:.0f} s ago"
