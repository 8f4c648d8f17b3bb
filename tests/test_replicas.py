"""Two replicas of one bot behind HAProxy on PostgreSQL: a replica SIGKILLed mid-answer loses
nothing, answers nothing twice, and its chats go on where they were on the other replica.

Real parts only: PostgreSQL (``postgres_url``), HAProxy with ``deploy/haproxy.cfg``, two
``python -m bot telegram`` processes in webhook mode, and the fake Bot API delivering updates
as Telegram does (POSTed to the one webhook URL, retried until a 200).

20 chats ask a question; HAProxy's log says which replica each chat is on. Each chat then
asks a follow-up; the replies replica 1 tries to send are held in the network, and
replica 1 is SIGKILLed while they hang there (they never arrive). Telegram got no 200 for
those updates, delivers them again, and HAProxy sends them to replica 2, which reads the
chats' state from PostgreSQL. Replica 1 is restarted, and every chat presses 👍 under its *first*
answer (a button from before the kill, pressed on whichever replica the chat is on now).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.messages import ZH_HANS
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import Exchange, FakeBotApi, Fault, JSONDict
from tests.helpers.haproxy import replicas_by_chat, replicas_up, running_haproxy
from tests.helpers.paths import copy_index, fresh_data_dir, start_telegram
from tests.helpers.telegram import WEBHOOK_SECRET, button, free_port, without_proxies

CHATS = 20
USERS = "津心办有多少注册用户？"
FOLLOW_UP = "那它的访问量呢？"
READ_WITH = ZH_HANS.read_with_previous.format(question=USERS)


class HoldChats:
    """A Bot API whose network holds every reply to ``chats`` until ``release``: the calls
    hang, undelivered, then are dropped unanswered (the replica that sent them is dead by
    then). Every other call, and every call after the release, passes.

    All of them, not only the first: Telegram delivers the chats' updates in parallel, so
    replica 1 answers several at once, and a reply that got through just before the kill,
    its update not yet marked handled, would be sent again by replica 2 — the at-least-once
    window (README, Reliability) the soaks measure, not what this test is about."""

    def __init__(self) -> None:
        self.chats: set[int] = set()
        self.held = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def choose(self, method: str, params: JSONDict, queued: Fault | None) -> Fault | None:
        if method != "sendMessage":
            return queued
        with self._lock:
            if self.release.is_set() or int(params.get("chat_id", 0)) not in self.chats:
                return queued
            self.held += 1
        self.release.wait(600)
        return Fault("sendMessage", drop=True)

    def observe(self, exchange: Exchange, fault: Fault | None) -> None:
        """Nothing to count: the fake records every exchange itself."""


class Replicas:
    """``python -m bot telegram`` replicas in webhook mode behind HAProxy on ``front``, on
    one PostgreSQL database, each in a data directory of its own."""

    def __init__(
        self, api: FakeBotApi, database: str, front: int, base: Path, settings: Settings
    ) -> None:
        self.api, self.database, self.front, self.base = api, database, front, base
        self.settings = settings
        self.ports = [free_port(), free_port()]
        self.running: dict[str, subprocess.Popen[str]] = {}
        self.logs: list[str] = []

    def start(self, name: str) -> None:
        number = int(name.removeprefix("bot"))
        data = fresh_data_dir(self.base / f"{name}-{len(self.logs)}", self.settings.data_dir)
        copy_index(data, self.settings.index_dir, self.settings.data_dir)
        self.running[name] = start_telegram(
            data,
            self.api.base_url,
            self.api.token,
            *("--webhook-url", f"http://127.0.0.1:{self.front}/telegram"),
            *("--listen", "127.0.0.1", "--port", str(self.ports[number - 1])),
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            DATABASE_URL=self.database,
        )

    def kill(self, name: str) -> None:
        """SIGKILL: nothing flushed, no goodbye."""
        process = self.running.pop(name)
        process.kill()
        self.logs.append(_stop(process))

    def stop_all(self) -> None:
        self.logs += [_stop(process) for process in self.running.values()]
        self.running.clear()
        for number, text in enumerate(self.logs):
            (self.base / f"replica-log-{number}.txt").write_text(text)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeBotApi, HoldChats]]:
    without_proxies(monkeypatch)
    policy = HoldChats()
    with FakeBotApi(policy=policy, deliver_webhooks=True) as fake:
        yield fake, policy
        policy.release.set()


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.1)


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr


def _replies(api: FakeBotApi) -> Counter[int]:
    return Counter(int(params["chat_id"]) for params in api.sent_messages())


def _ask_everyone(api: FakeBotApi, chats: list[JSONDict], text: str) -> None:
    for chat in chats:
        api.push_update(f.message_update(text, chat=f.private_chat(chat), from_user=chat))


@pytest.mark.slow
def test_a_replica_killed_mid_answer_loses_nothing_and_its_chats_go_on_on_the_other(
    held: tuple[FakeBotApi, HoldChats],
    postgres_url: str,
    tmp_path: Path,
    settings: Settings,
    core: ArticleBot,
) -> None:
    api, policy = held
    front, log = free_port(), tmp_path / "haproxy.log"
    replicas = Replicas(api, postgres_url, front, tmp_path, settings)
    chats = [f.user(f"Reader {n}", user_id=6_000_000 + n) for n in range(CHATS)]
    with running_haproxy(front, replicas.ports, log):
        try:
            replicas.start("bot1")
            replicas.start("bot2")
            _until(lambda: replicas_up(log) == {"bot1", "bot2"}, 600, "both replicas serving")

            # 1. A question per chat: HAProxy spreads the chats over both replicas.
            _ask_everyone(api, chats, USERS)
            _until(lambda: len(_replies(api)) >= CHATS, 600, "every chat answered")
            _until(lambda: len(replicas_by_chat(log)) >= CHATS, 60, "HAProxy logged them")
            first = {chat["id"]: api.bot_messages(chat["id"])[-1] for chat in chats}
            placed = replicas_by_chat(log)
            assert all(len(placed[chat["id"]]) == 1 for chat in chats), placed
            on_bot1 = {chat["id"] for chat in chats if placed[chat["id"]] == {"bot1"}}
            assert 0 < len(on_bot1) < CHATS, "both replicas serve some of the chats"

            # 2. A follow-up per chat; replica 1 is killed while its first reply hangs.
            policy.chats = on_bot1
            _ask_everyone(api, chats, FOLLOW_UP)
            _until(lambda: policy.held > 0, 600, "a reply of replica 1 in flight")
            replicas.kill("bot1")
            policy.release.set()
            _until(lambda: _replies(api).total() >= 2 * CHATS, 600, "every follow-up answered")

            # 3. Replica 1 back; every chat presses 👍 under its first answer.
            replicas.start("bot1")
            _until(lambda: "bot1" in replicas_up(log), 600, "replica 1 serving again")
            for chat in chats:
                vote = button(first[chat["id"]], "👍")["callback_data"]
                api.push_update(
                    f.callback_query_update(vote, message=first[chat["id"]], from_user=chat)
                )
            _until(lambda: len(api.calls_to("answerCallbackQuery")) >= CHATS, 600, "votes")
            _until(lambda: not api.pending_updates, 60, "Telegram handed every update over")
        finally:
            replicas.stop_all()
    _check(api, chats, on_bot1, log, database=postgres_url, logs=replicas.logs)


def _check(
    api: FakeBotApi,
    chats: list[JSONDict],
    on_bot1: set[int],
    log: Path,
    *,
    database: str,
    logs: list[str],
) -> None:
    """Every update answered exactly once, follow-ups read with the question before them
    (also where the chat moved), every old button worked and every vote was counted."""
    replies = _replies(api)
    assert replies == Counter({chat["id"]: 2 for chat in chats}), (replies, logs)
    for chat in chats:
        follow_up = api.bot_messages(chat["id"])[-1]["text"]
        assert READ_WITH in follow_up, (chat["id"], follow_up)
    moved = replicas_by_chat(log)
    assert any(moved[chat] == {"bot1", "bot2"} for chat in on_bot1), "a chat moved"
    toasts = [call.get("text") for call in api.calls_to("answerCallbackQuery")]
    assert toasts == [ZH_HANS.thanks] * len(chats), toasts
    with psycopg.connect(database) as db:
        votes = db.execute("SELECT count(*), sum(vote) FROM bot_votes").fetchone()
        asked = db.execute(
            "SELECT kind, count(*) FROM bot_questions GROUP BY kind ORDER BY kind"
        ).fetchall()
    assert votes == (len(chats), len(chats))
    assert asked == [("follow-up", len(chats)), ("question", len(chats))]
    assert all("Traceback" not in text for text in logs), logs


@pytest.mark.slow
def test_a_replica_whose_database_cannot_be_reached_exits_69_with_one_line(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """Before the model loads: an orchestrator restarts it (exit 69, as for Telegram)."""
    process = start_telegram(
        tmp_path / "data", api.base_url, api.token, DATABASE_URL="postgresql://bot@127.0.0.1:1/bot"
    )
    process.wait(120)
    stderr = _stop(process)
    assert process.returncode == 69, stderr
    assert "127.0.0.1:1/bot cannot be used" in stderr and "Traceback" not in stderr

