"""SqlitePersistence: real SQLite files, and a real PTB Application over the loopback Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, TypeHandler, filters

from bot.telegram.persistence import SqlitePersistence
from bot.telegram.statefile import SCHEMA_VERSION
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.telegram import on_its_thread

LOGGERS = {"bot.telegram.persistence", "bot.telegram.statefile"}  # the rows, the file
LOGGER = "bot.telegram"  # their parent: caplog's level reaches both


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def warnings_from_us(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name in LOGGERS and r.levelno >= 30]


def one_warning(caplog: pytest.LogCaptureFixture) -> str:
    [line] = warnings_from_us(caplog)
    assert "\n" not in line
    return line


async def load(path: Path, **kwargs: Any) -> tuple[Any, ...]:
    p = SqlitePersistence(path, **kwargs)
    found = (
        await p.get_chat_data(),
        await p.get_user_data(),
        await p.get_bot_data(),
        await p.get_callback_data(),
        await p.get_conversations("talk"),
    )
    await p.flush()
    return found


CHAT = {
    "last_turn": {"question": "天津数字化综合发展水平在全国排第几？", "passages": ["p-1", "p-2"]},
    "article": "tianjin",
    "language": "zh-Hans",
    "score": 0.5,
    "flag": True,
    "nothing": None,
}


# ---- (1) round trip ----------------------------------------------------------------------------


def test_round_trip_through_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"

    async def write() -> None:
        p = SqlitePersistence(path)
        assert await p.get_chat_data() == {}
        await p.update_chat_data(-100123, CHAT)
        await p.update_chat_data(42, {"n": 1})
        await p.update_user_data(1_000_000, {"language": "en"})
        await p.update_bot_data({"shelf": ["a", "b"], "count": 3})
        await p.update_callback_data(([("uuid-1", 1700000000.5, {"btn": "m:abc:1"})], {"q": "u"}))
        await p.update_conversation("talk", (42, 1_000_000), 2)
        await p.update_conversation("talk", (43, 7), "asking")
        await p.update_conversation("talk", (43, 7), None)  # ended: gone
        await p.drop_chat_data(42)
        await p.flush()

    run(write())
    chats, users, bot_data, callback, conversations = run(load(path))
    assert chats == {-100123: CHAT}
    assert users == {1_000_000: {"language": "en"}}
    assert bot_data == {"shelf": ["a", "b"], "count": 3}
    assert callback == ([("uuid-1", 1700000000.5, {"btn": "m:abc:1"})], {"q": "u"})
    assert conversations == {(42, 1_000_000): 2}
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM data WHERE kind = 'chat'").fetchone()[0] == 1


CRASHING_WRITER = """
import asyncio, os, sys
from bot.telegram.persistence import SqlitePersistence

async def main():
    p = SqlitePersistence(sys.argv[1])
    await p.get_chat_data()
    await p.update_chat_data(7, {"n": 5})  # committed
    db = p.file.db
    db.execute("BEGIN IMMEDIATE")  # the next write, killed half-way
    db.execute("UPDATE data SET value = '{\\"n\\":6}' WHERE id = '7'")
    db.execute("INSERT INTO data VALUES ('chat', '8', '{}', 0)")
    os._exit(9)  # no COMMIT, no flush, no close: as if killed

asyncio.run(main())
"""


def test_a_process_killed_mid_write_keeps_the_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    done = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(path)], check=False)
    assert done.returncode == 9
    assert run(load(path))[0] == {7: {"n": 5}}


def test_idle_chats_are_pruned_at_startup(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"

    async def write() -> None:
        p = SqlitePersistence(path)
        await p.get_chat_data()
        for chat_id in (1, 2):
            await p.update_chat_data(chat_id, {"n": chat_id})
        await p.update_user_data(3, {"n": 3})
        await p.update_bot_data({"kept": True})
        await p.flush()

    run(write())
    old = time.time() - 100 * 86_400
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE data SET updated_at = ? WHERE id IN ('1', '3', '')", (old,))
    assert run(load(path, max_idle_days=None))[0] == {1: {"n": 1}, 2: {"n": 2}}
    chats, users, bot_data, *_ = run(load(path))  # default: 90 days
    assert (chats, users, bot_data) == ({2: {"n": 2}}, {}, {"kept": True})


def test_a_used_but_unchanged_chat_is_kept_from_pruning(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    _seed(path, 5)
    old = time.time() - 89 * 86_400
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE data SET updated_at = ?", (old,))

    async def use_unchanged() -> None:
        p = SqlitePersistence(path)
        [(chat_id, data)] = (await p.get_chat_data()).items()
        await p.update_chat_data(chat_id, data)  # what PTB does for a chat it saw
        await p.flush()

    run(use_unchanged())
    with contextlib.closing(sqlite3.connect(path)) as db:
        [(updated_at,)] = db.execute("SELECT updated_at FROM data").fetchall()
    assert updated_at > time.time() - 60


# ---- (5) values JSON cannot keep ---------------------------------------------------------------


def test_non_json_values_are_skipped_with_one_warning_per_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite3"

    class Thing:
        pass

    async def write() -> None:
        p = SqlitePersistence(path)
        await p.get_chat_data()
        for chat_id in (1, 2):
            data = {
                "ok": chat_id,
                "object": Thing(),
                "tuple": (1, 2),  # would come back as a list
                "int keys": {1: "a"},  # would come back with "1"
                "nan": float("nan"),
                5: "not a str key",
            }
            await p.update_chat_data(chat_id, data)
        await p.update_user_data(9, {"when": object()})
        await p.update_conversation("talk", (1, 2), Thing())
        await p.flush()

    with caplog.at_level(logging.WARNING, LOGGER):
        run(write())
    lines = warnings_from_us(caplog)
    assert len(lines) == 7, lines  # once per key, not once per chat
    problem = "which JSON cannot store unchanged; not saved (warned once per key)"
    assert f"persistence: chat_data key 'object' holds Thing, {problem}" in lines
    assert f"persistence: chat_data key 'tuple' holds tuple, {problem}" in lines
    assert f"persistence: chat_data key 'int keys' holds dict, {problem}" in lines
    assert f"persistence: chat_data key 'nan' holds float, {problem}" in lines
    assert f"persistence: user_data key 'when' holds object, {problem}" in lines
    assert f"persistence: conversation 'talk' state holds Thing, {problem}" in lines
    assert (
        "persistence: chat_data key 5 is not a str, as JSON keys must be; not saved "
        "(warned once per key)"
    ) in lines
    chats, users, _, _, conversations = run(load(path))
    assert chats == {1: {"ok": 1}, 2: {"ok": 2}}
    assert users == {9: {}}
    assert conversations == {}


# ---- (3) corrupt and (4) locked files, and failures while running -----------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database, it is a text file\n" * 200)
    path.with_name(path.name + "-wal").write_bytes(b"stale wal")


def _damaged_pages(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA user_version = 1")
        db.execute(
            "CREATE TABLE data (kind TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, "
            "updated_at REAL NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID"
        )
        db.executemany(
            "INSERT INTO data VALUES ('chat', ?, ?, 0)", [(str(i), "x" * 500) for i in range(200)]
        )
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[3 * page : 6 * page] = b"\xff" * (3 * page)  # inside the table's B-tree
    path.write_bytes(bytes(raw))


def _foreign_schema(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE other (x)")


@pytest.mark.parametrize("damage", [_garbage, _damaged_pages, _foreign_schema])
def test_a_corrupt_file_is_moved_aside_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Any
) -> None:
    path = tmp_path / "state.sqlite3"
    damage(path)
    original = path.read_bytes()
    with caplog.at_level(logging.INFO, LOGGER):
        chats, users, bot_data, _, _ = run(load(path))
    assert (chats, users, bot_data) == ({}, {}, {})
    line = one_warning(caplog)
    aside = tmp_path.glob("state.sqlite3.broken-*")
    [moved] = [p for p in aside if not p.name.endswith(("-wal", "-shm"))]
    assert line == (
        f"persistence: {path} is {line.split(' is ', 1)[1].split('; ')[0]}; "
        f"moved it aside to {moved} and started with empty state"
    )
    assert "corrupt" in line
    assert moved.read_bytes() == original
    if damage is _garbage:
        assert (tmp_path / (moved.name + "-wal")).read_bytes() == b"stale wal"
    # the replacement is a working, empty file of ours
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@contextlib.contextmanager
def held_exclusively(path: Path, *, wal: bool) -> Iterator[None]:
    """Another process's connection holding ``BEGIN EXCLUSIVE`` on the file."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        if not wal:
            other.execute("PRAGMA journal_mode = DELETE")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("CREATE TABLE IF NOT EXISTS holder (x)")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def _seed(path: Path, n: int) -> None:
    async def write() -> None:
        p = SqlitePersistence(path)
        await p.get_chat_data()
        await p.update_chat_data(f.DEFAULT_USER["id"], {"n": n})
        await p.flush()

    run(write())


@pytest.mark.parametrize("wal", [True, False], ids=["wal", "rollback-journal"])
def test_a_locked_file_is_left_alone_and_state_kept_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, wal: bool
) -> None:
    path = tmp_path / "state.sqlite3"
    _seed(path, 5)

    async def use_while_locked() -> Any:
        p = SqlitePersistence(path, lock_timeout=0.2)
        chats = await p.get_chat_data()
        await p.update_chat_data(1, {"n": 1})  # kept in memory, not written
        await p.flush()
        return chats, p.memory_only

    with caplog.at_level(logging.INFO, LOGGER), held_exclusively(path, wal=wal):
        started = time.perf_counter()
        chats, memory_only = run(use_while_locked())
        elapsed = time.perf_counter() - started
    assert chats == {} and memory_only
    assert elapsed < 5
    line = one_warning(caplog)
    assert line.startswith(f"persistence: {path} is locked by another process (")
    assert line.endswith(
        "; left it in place and started with empty state kept in memory only, "
        "nothing will be saved this run"
    )
    assert [p.name for p in tmp_path.iterdir() if "broken" in p.name] == []
    assert run(load(path))[0] == {f.DEFAULT_USER["id"]: {"n": 5}}  # untouched


def test_rows_another_program_wrote_badly_are_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite3"
    _seed(path, 5)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO data VALUES (?, ?, ?, ?)",
            [("chat", "2", "{not json", time.time()), ("user", "x", "{}", time.time())],
        )
    with caplog.at_level(logging.INFO, LOGGER):
        assert run(load(path))[:2] == ({f.DEFAULT_USER["id"]: {"n": 5}}, {})
    assert "has 2 rows this version cannot read" in one_warning(caplog)


def test_a_newer_schema_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.sqlite3"
    _seed(path, 5)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with caplog.at_level(logging.INFO, LOGGER):
        assert run(load(path))[0] == {}
    assert "from a newer version of the bot" in one_warning(caplog)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.sqlite3"]


def test_a_failing_write_is_reported_once_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite3"
    release = threading.Event()

    async def scenario() -> None:
        p = SqlitePersistence(path, lock_timeout=0.1, retry_interval=0)
        await p.get_chat_data()
        await p.update_chat_data(1, {"n": 1})
        with held_exclusively(path, wal=True):
            await p.update_chat_data(2, {"n": 2})  # fails: locked underneath us
            await p.update_chat_data(3, {"n": 3})  # fails again: no second warning
        release.set()
        await p.update_chat_data(1, {"n": 10})  # succeeds and saves the pending ones too
        await p.flush()

    with caplog.at_level(logging.INFO, LOGGER):
        run(scenario())
    line = one_warning(caplog)
    assert line.startswith(f"persistence: writing {path} failed (database is locked)")
    assert any("writable again" in r.getMessage() for r in caplog.records)
    assert run(load(path))[0] == {1: {"n": 10}, 2: {"n": 2}, 3: {"n": 3}}


# ---- (2) a real Application, restarted ---------------------------------------------------------


async def count(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None and context.chat_data is not None
    n = context.chat_data["n"] = context.chat_data.get("n", 0) + 1
    await context.bot.send_message(update.effective_chat.id, f"n={n}")


class Counter:
    """A tiny Application with one handler counting messages per chat in ``chat_data``."""

    def __init__(self, api: FakeBotApi, path: Path) -> None:
        async def nothing(app: Application) -> None:
            return None

        self.api = api
        self.app = (
            Application.builder()
            .token(api.token)
            .base_url(api.base_url)
            .persistence(SqlitePersistence(path))
            .post_init(nothing)
            .post_shutdown(nothing)
            .build()
        )
        self.app.add_handler(MessageHandler(filters.TEXT, count))
        self.app.add_handler(TypeHandler(Update, self._done), group=1)
        self._finished: set[int] = set()
        self._cond = threading.Condition()

    async def _done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        with self._cond:
            self._finished.add(update.update_id)
            self._cond.notify_all()

    def send(self, text: str = "hello") -> str:
        update_id = self.api.push_update(f.message_update(text))["update_id"]
        with self._cond:
            assert self._cond.wait_for(lambda: update_id in self._finished, 30)
        return str(self.api.bot_messages(f.DEFAULT_USER["id"])[-1]["text"])


@contextlib.contextmanager
def counting(api: FakeBotApi, path: Path) -> Iterator[Counter]:
    counter = Counter(api, path)
    with on_its_thread(counter.app, start_timeout=30):
        yield counter


def test_chat_data_survives_an_application_restart(api: FakeBotApi, tmp_path: Path) -> None:
    path = tmp_path / "data" / "state.sqlite3"  # the directory is created
    with counting(api, path) as bot:
        assert [bot.send(), bot.send(), bot.send()] == ["n=1", "n=2", "n=3"]
    with counting(api, path) as bot:
        assert bot.send() == "n=4"
    assert run(load(path))[0] == {f.DEFAULT_USER["id"]: {"n": 4}}


def test_the_application_starts_on_a_corrupt_file(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite3"
    _garbage(path)
    with caplog.at_level(logging.INFO, LOGGER), counting(api, path) as bot:
        assert bot.send() == "n=1"
    assert "is corrupt (file is not a database); moved it aside to" in one_warning(caplog)
    with counting(api, path) as bot:  # and the fresh file works
        assert bot.send() == "n=2"


def test_the_application_starts_on_a_locked_file(
    api: FakeBotApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite3"
    _seed(path, 5)
    with (
        caplog.at_level(logging.INFO, LOGGER),
        held_exclusively(path, wal=False),
        counting(api, path) as bot,
    ):
        assert [bot.send(), bot.send()] == ["n=1", "n=2"]  # empty state, kept in memory
    assert "is locked by another process" in one_warning(caplog)
    with counting(api, path) as bot:  # the lock is gone: the file as it was
        assert bot.send() == "n=6"
