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
from bot.messages import EN
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import Exchange, FakeBotApi, Fault, JSONDict
from bot.tools.shelf_bench import synthetic_article
from tests.helpers.paths import SAFETY_TIMEOUT, copy_index, start_telegram
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
def held(monkeypatch: pytest.MonkeyPatch, mode: str) -> Iterator[tuple[FakeBotApi, HoldReplies]]:
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


def _until(condition: Callable[[], bool], what: str, timeout: float = SAFETY_TIMEOUT) -> None:
    """Wait for ``condition``; the timeout is a net against a hang, never a speed target."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.1)


def _replies(api: FakeBotApi) -> Counter[int]:
    return Counter(int(params["chat_id"]) for params in api.sent_messages())


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
    _, stderr = process.communicate(timeout=SAFETY_TIMEOUT)
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
        api.wait_for("getUpdates" if mode == "polling" else "setWebhook", timeout=SAFETY_TIMEOUT)
        readers = [f.user(f"Reader {n}", user_id=5_000_000 + n) for n in range(READERS)]
        for reader in readers:
            api.push_update(
                f.message_update(QUESTION, chat=f.private_chat(reader), from_user=reader)
            )
        _until(lambda: not api.pending_updates, "Telegram handed all 50 over")
        _until(lambda: policy.held > 0, "replies past the first few in flight")
        answered = len(_replies(api))
        assert answered == BEFORE_KILL
        _until(lambda: _handled(data) >= answered, "the delivered replies recorded")
        first.kill()  # SIGKILL: no shutdown, no last getUpdates, nothing flushed
        first.wait(SAFETY_TIMEOUT)
    finally:
        first_log = _stop(first)

    policy.release.set()
    second = _start(data, api, mode, port)
    try:
        _until(lambda: len(_replies(api)) >= READERS, "every reader answered")
        _until(lambda: _handled(data) >= READERS, "every update marked handled")
    finally:
        second_log = _stop(second)
    replies = _replies(api)
    assert set(replies) == {reader["id"] for reader in readers}, second_log
    assert set(replies.values()) == {1}, (replies, first_log[-2000:], second_log[-2000:])
    assert "Traceback" not in second_log


# ---- an upload's indexing never holds the bot hostage -----------------------------------------

ADMIN = f.user("Admin", user_id=4242)


def _long_article(towns: int) -> bytes:
    """One Markdown article of ``towns`` invented towns: hundreds of paragraphs to index."""
    lines = ["# A Gazetteer of the Delta Towns", ""]
    for number in range(towns):
        body = synthetic_article(number)[0].splitlines()[2:]  # without its own title
        lines += [f"## Town {number}", "", *(line.replace("## ", "### ") for line in body)]
    return "\n".join(lines).encode()


def _shelved(api: FakeBotApi) -> list[int]:
    """Positions in the call log of the edits that put the upload on the shelf."""
    done = EN.upload_done.split("“")[0]
    return [
        i
        for i, e in enumerate(api.exchanges)
        if e.method == "editMessageText" and str(e.params.get("text", "")).startswith(done)
    ]


@pytest.mark.slow
def test_sigterm_during_an_uploads_indexing_stops_at_once_and_the_restart_serves_first(
    api: FakeBotApi, data_dir: Path, settings: Settings, core: ArticleBot
) -> None:
    data = copy_index(data_dir, settings.index_dir, settings.data_dir)
    uploads = data / "articles"
    admins = {"ADMIN_CHAT_IDS": str(ADMIN["id"])}
    first = start_telegram(data, api.base_url, api.token, **admins)
    try:
        api.wait_for("getUpdates", timeout=SAFETY_TIMEOUT)
        content = _long_article(80)
        upload = f.document_update("gazetteer.md", file_size=len(content), from_user=ADMIN)
        api.upload(upload["message"]["document"]["file_id"], content)
        api.push_update(upload)
        _until(lambda: any(uploads.glob(".*.unfinished")), "the upload's indexing begun")
        stopping = time.monotonic()
        first.terminate()
        first_log = _stop(first)
        stopped_in = time.monotonic() - stopping
    finally:
        if first.poll() is None:
            first.kill()
    assert stopped_in < 10, first_log  # Docker's grace before SIGKILL
    assert not _shelved(api), "the indexing was to be cut short"

    reader = f.user("Reader", user_id=5_100_000)
    api.push_update(f.message_update(QUESTION, chat=f.private_chat(reader), from_user=reader))
    restarting = time.monotonic()
    second = start_telegram(data, api.base_url, api.token, **admins)
    try:
        _until(lambda: bool(api.sent_messages(reader["id"])), "the waiting reader answered")
        answered_in = time.monotonic() - restarting
        _until(lambda: bool(_shelved(api)), "the upload indexed after the restart")
    finally:
        second_log = _stop(second)
    answer = [i for i, e in enumerate(api.exchanges) if e.params.get("chat_id") == reader["id"]]
    assert answer[-1] < _shelved(api)[0], "the reader waited for the indexing"
    progress = [m for m in api.sent_messages(ADMIN["id"]) if "gazetteer.md" in m["text"]]
    assert len(progress) == 2, progress  # the admin sees the upload taken up again
    assert sorted(p.name for p in uploads.iterdir()) == ["gazetteer.md"], second_log
    assert "Traceback" not in first_log + second_log
    print(
        f"SIGTERM during indexing: exited in {stopped_in:.1f} s; reader answered "
        f"{answered_in:.1f} s after the restart"
    )


@pytest.mark.slow
def test_a_folder_article_not_indexed_yet_is_indexed_after_the_start_while_serving(
    api: FakeBotApi, data_dir: Path, settings: Settings, core: ArticleBot
) -> None:
    data = copy_index(data_dir, settings.index_dir, settings.data_dir)
    (data / "articles").mkdir()
    (data / "articles" / "gazetteer.md").write_bytes(_long_article(80))  # no index yet
    reader = f.user("Reader", user_id=5_200_000)
    api.push_update(f.message_update(QUESTION, chat=f.private_chat(reader), from_user=reader))
    bot = start_telegram(data, api.base_url, api.token, ADMIN_CHAT_IDS=str(ADMIN["id"]))
    reloaded = EN.reloaded.split("{")[0]
    try:
        _until(lambda: bool(api.sent_messages(reader["id"])), "the waiting reader answered")
        told = lambda: [m["text"] for m in api.sent_messages(ADMIN["id"])]  # noqa: E731
        _until(lambda: any(t.startswith(reloaded) for t in told()), "indexed after start")
    finally:
        log = _stop(bot)
    first, last = told()
    assert first == EN.indexing_at_start.format(names="gazetteer.md")
    assert last.startswith(EN.reloaded.format(added=1, updated=0, removed=0, failed=0, count=2))
    order = [e.params.get("chat_id") for e in api.exchanges if e.method == "sendMessage"]
    assert order.index(reader["id"]) < len(order) - 1 - order[::-1].index(ADMIN["id"])
    assert "Traceback" not in log
