"""A crash loses no reader's question and answers none twice, polling or by webhook.

The real ``python -m bot telegram`` process against the loopback Bot API: 50 readers ask
at once, Telegram has handed all 50 over (confirmed by the next poll, or 200 to each
webhook POST), the bot is SIGKILLed after a few replies (the rest still in flight), and
the restarted bot answers every one of the 50 exactly once (``bot.telegram.journal``).
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import Exchange, FakeBotApi, Fault, JSONDict
from tests.helpers.paths import copy_index, start_telegram
from tests.helpers.telegram import QUESTION, WEBHOOK_SECRET, free_port, without_proxies

READERS = 50
BEFORE_KILL = 5
JOURNAL = "telegram-updates.sqlite3"


class HoldReplies:
    """A Bot API whose network stalls after ``allowed`` replies: later ``sendMessage``
    calls hang, undelivered, until released, then are dropped unanswered (the process
    that sent them is gone by then)."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.held = 0
        self.release = threading.Event()
        self._passed = 0
        self._lock = threading.Lock()

    def choose(self, method: str, params: JSONDict, queued: Fault | None) -> Fault | None:
        if method != "sendMessage":
            return queued
        with self._lock:
            if self._passed < self.allowed or self.release.is_set():
                self._passed += 1
                return queued
            self.held += 1
        self.release.wait(600)
        return Fault("sendMessage", drop=True)

    def observe(self, exchange: Exchange, fault: Fault | None) -> None:
        """Nothing to count: the fake records every exchange itself."""


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def held(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> Iterator[tuple[FakeBotApi, HoldReplies]]:
    without_proxies(monkeypatch)
    policy = HoldReplies(BEFORE_KILL)
    with FakeBotApi(policy=policy, deliver_webhooks=mode == "webhook") as fake:
        yield fake, policy
        policy.release.set()


def _start(data: Path, api: FakeBotApi, mode: str, port: int) -> subprocess.Popen[str]:
    if mode == "polling":
        return start_telegram(data, api.base_url, api.token)
    url = f"http://127.0.0.1:{port}/telegram"
    return start_telegram(
        data,
        api.base_url,
        api.token,
        *("--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port)),
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )


def _handled(data: Path) -> int:
    """Updates the bot has durably marked handled (read-only, beside the running bot)."""
    path = data / JOURNAL
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM updates WHERE handled IS NOT NULL").fetchone()
    return int(count)


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.1)


def _replies(api: FakeBotApi) -> Counter[int]:
    return Counter(int(params["chat_id"]) for params in api.sent_messages())


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
    _, stderr = process.communicate(timeout=60)
    return stderr


@pytest.mark.slow
def test_sigkill_mid_burst_then_restart_answers_all_50_exactly_once(
    held: tuple[FakeBotApi, HoldReplies],
    mode: str,
    data_dir: Path,
    settings: Settings,
    core: ArticleBot,
) -> None:
    api, policy = held
    data = copy_index(data_dir, settings.index_dir, settings.data_dir)
    port = free_port()
    first = _start(data, api, mode, port)
    try:
        api.wait_for("getUpdates" if mode == "polling" else "setWebhook", timeout=300)
        readers = [f.user(f"Reader {n}", user_id=5_000_000 + n) for n in range(READERS)]
        for reader in readers:
            api.push_update(
                f.message_update(QUESTION, chat=f.private_chat(reader), from_user=reader)
            )
        _until(lambda: not api.pending_updates, 300, "Telegram handed all 50 over")
        _until(lambda: policy.held > 0, 300, "replies past the first few in flight")
        answered = len(_replies(api))
        assert answered == BEFORE_KILL
        _until(lambda: _handled(data) >= answered, 120, "the delivered replies recorded")
        first.kill()  # SIGKILL: no shutdown, no last getUpdates, nothing flushed
        first.wait(60)
    finally:
        first_log = _stop(first)

    policy.release.set()
    second = _start(data, api, mode, port)
    try:
        _until(lambda: len(_replies(api)) >= READERS, 300, "every reader answered")
        _until(lambda: _handled(data) >= READERS, 120, "every update marked handled")
    finally:
        second_log = _stop(second)
    replies = _replies(api)
    assert set(replies) == {reader["id"] for reader in readers}, second_log
    assert set(replies.values()) == {1}, (replies, first_log[-2000:], second_log[-2000:])
    assert "Traceback" not in second_log
