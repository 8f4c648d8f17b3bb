"""The state stores' contract, on both: the data directory's SQLite files and PostgreSQL.

One process keeps chat state, handled updates, votes and the question log in SQLite; several
replicas keep them in PostgreSQL (a real server, ``tests/helpers/postgres.py``). Each test
here runs on both and asserts the same behaviour; the PostgreSQL-only tests at the end are
what replicas add: a second process sees the first one's writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from telegram.ext import PersistenceInput

from bot.core.batcher import Batcher
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackStore
from bot.core.postgres import PostgresStore
from bot.core.shelf import Shelf
from bot.core.stores import Feedback, QuestionRecord, RowStore, StoreError, UpdateLedger
from bot.telegram.adapter import build_application
from bot.telegram.journal import UpdateJournal
from bot.telegram.persistence import StatePersistence
from bot.telegram.state import Services, TelegramOptions
from bot.telegram.statefile import StateFile

BACKENDS = ["sqlite", "postgres"]
CHATS_ONLY = PersistenceInput(bot_data=False, user_data=False, callback_data=False)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """The test's own PostgreSQL database, only for the PostgreSQL runs."""
    return str(request.getfixturevalue("postgres_url")) if backend == "postgres" else None


@pytest.fixture
def rows(url: str | None, tmp_path: Path) -> Iterator[RowStore]:
    store: RowStore = (
        PostgresStore(url)
        if url
        else StateFile(tmp_path / "state.sqlite3", max_idle_days=90, lock_timeout=0.5)
    )
    assert store.open() is not None
    yield store
    store.checkpoint_and_close()


@pytest.fixture
def feedback(url: str | None, tmp_path: Path) -> Iterator[Feedback]:
    store: Feedback = (
        PostgresStore(url).feedback if url else FeedbackStore(tmp_path / "f.sqlite3", "salt")
    )
    yield store
    store.close()


@pytest.fixture
def ledger(url: str | None, tmp_path: Path) -> Iterator[UpdateLedger]:
    store: UpdateLedger = PostgresStore(url) if url else UpdateJournal(tmp_path / "j.sqlite3")
    yield store
    store.close()


def _question(at: dt.datetime, **fields: Any) -> QuestionRecord:
    values: dict[str, Any] = {
        "at": at,
        "article": "An article",
        "language": "zh-Hans",
        "kind": "question",
        "outcome": "refused",
        "answered": False,
        "missing": ("地铁站", "门票"),
        "latency_ms": 120.5,
        "chat": "0" * 32,
    }
    values.update(fields)
    return QuestionRecord(**values)


# ---- chat state rows ---------------------------------------------------------------------------


def test_a_row_is_written_read_replaced_and_deleted(rows: RowStore) -> None:
    key = ("chat", "42")
    assert rows.load(key) is None
    rows.store({key: '{"turn":"first"}', ("chat", "7"): "{}"})
    found = rows.load(key)
    assert found is not None and found[0] == '{"turn":"first"}'
    rows.store({key: '{"turn":"second"}'})
    found = rows.load(key)
    assert found is not None and found[0] == '{"turn":"second"}'
    rows.store({key: None})
    assert rows.load(key) is None
    assert rows.load(("chat", "7")) is not None


def test_only_the_postgres_store_is_shared(rows: RowStore, backend: str) -> None:
    """A shared store is read again before each update; the SQLite file is one process's."""
    assert rows.shared is (backend == "postgres")


# ---- handled updates ---------------------------------------------------------------------------


def test_an_update_is_handled_once(ledger: UpdateLedger) -> None:
    ledger.record([{"update_id": 5, "message": {}}])
    assert ledger.claim(5)
    assert not ledger.claim(5), "being handled: a second delivery is skipped"
    ledger.release(5, handled=True)
    assert not ledger.claim(5), "handled: Telegram's retry is skipped"


def test_an_update_stopped_midway_can_be_handled_again(ledger: UpdateLedger) -> None:
    ledger.record([{"update_id": 6, "message": {}}])
    assert ledger.claim(6)
    ledger.release(6, handled=False)
    assert ledger.claim(6)


# ---- votes and the question log ----------------------------------------------------------------


def test_a_second_vote_replaces_the_first(feedback: Feedback) -> None:
    feedback.vote(1, "q", "p1", up=True, article="A")
    feedback.vote(1, "q", "p1", up=False, article="A")
    feedback.vote(2, "q", "p1", up=False, article="A")
    feedback.vote(2, "q2", "p2", up=True, article="B")
    by_passage = {row.passage_id: (row.up, row.down) for row in feedback.by_passage()}
    assert by_passage == {"p1": (0, 2), "p2": (1, 0)}
    assert feedback.most_down_voted() == [("q", "p1", 2)]
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert feedback.votes_by_article(since) == {"A": (0, 2), "B": (1, 0)}
    assert feedback.votes_by_article(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)) == {}


def test_chats_are_kept_as_a_salted_hash(feedback: Feedback) -> None:
    digest = feedback.chat_hash(123456789)
    assert digest == feedback.chat_hash(123456789) != feedback.chat_hash(123456780)
    assert "123456789" not in digest and len(digest) == 32


def test_the_question_log_keeps_what_an_editor_needs(feedback: Feedback) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    asked = [
        _question(now - dt.timedelta(days=3)),
        _question(now, answered=True, outcome="answer", missing=(), kind="follow-up"),
    ]
    feedback.log_questions(asked)
    got = feedback.questions(now - dt.timedelta(days=10))
    assert [(q.at, q.answered, q.missing, q.kind) for q in got] == [
        (q.at, q.answered, q.missing, q.kind) for q in asked
    ]
    assert got[0].latency_ms == pytest.approx(120.5)
    assert (got[0].article, got[0].language, got[0].chat) == ("An article", "zh-Hans", "0" * 32)
    assert [q.at for q in feedback.questions(now - dt.timedelta(days=1))] == [now]


def test_the_retention_drops_old_questions(feedback: Feedback) -> None:
    now = dt.datetime.now(dt.UTC)
    feedback.log_questions([_question(now - dt.timedelta(days=200)), _question(now)])
    assert feedback.forget_before(now - dt.timedelta(days=180)) == 1
    assert len(feedback.questions(now - dt.timedelta(days=1000))) == 1


# ---- what replicas add (PostgreSQL only) --------------------------------------------------------


def test_a_replica_reads_the_chat_state_another_wrote(postgres_url: str) -> None:
    """Replica A answers a chat, the chat moves to replica B: B reads A's turn before the
    update (refresh_chat_data), then A reads B's when the chat comes back."""

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        a = StatePersistence(PostgresStore(postgres_url), "a", store_data=CHATS_ONLY)
        b = StatePersistence(PostgresStore(postgres_url), "b", store_data=CHATS_ONLY)
        assert await b.get_chat_data() == {}  # nothing loaded at start: read per chat
        on_a: dict[str, Any] = {}
        await a.refresh_chat_data(9, on_a)
        on_a["turn"] = {"question": "first"}
        await a.update_chat_data(9, on_a)
        on_b: dict[str, Any] = {"stale": True}
        await b.refresh_chat_data(9, on_b)
        seen_by_b = dict(on_b)
        on_b["turn"] = {"question": "second"}
        await b.update_chat_data(9, on_b)
        await a.refresh_chat_data(9, on_a)
        await a.flush()
        await b.flush()
        return seen_by_b, on_a

    seen_by_b, back_on_a = asyncio.run(scenario())
    assert seen_by_b == {"turn": {"question": "first"}}
    assert back_on_a == {"turn": {"question": "second"}}


def test_an_update_handled_by_one_replica_is_skipped_by_another(postgres_url: str) -> None:
    a, b = PostgresStore(postgres_url), PostgresStore(postgres_url)
    assert a.claim(11)
    assert b.claim(11), "not yet handled: the other replica may take it (A may be dead)"
    a.release(11, handled=True)
    assert not b.claim(11)
    a.close()
    b.close()


def test_replicas_share_one_salt_and_one_schema(postgres_url: str) -> None:
    """Two replicas starting at once migrate once (advisory lock) and hash chats alike."""
    stores: list[PostgresStore] = []
    threads = [
        threading.Thread(target=lambda: stores.append(PostgresStore(postgres_url)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stores) == 4
    assert len({store.feedback.chat_hash(77) for store in stores}) == 1
    with psycopg.connect(postgres_url) as db:
        meta = db.execute("SELECT name, value FROM bot_meta ORDER BY name").fetchall()
    assert [name for name, _ in meta] == ["salt", "schema"]
    for store in stores:
        store.close()


def test_a_database_that_cannot_be_reached_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot be used"):
        PostgresStore("postgresql://nobody@127.0.0.1:1/none")


def test_an_older_feedback_file_keeps_its_votes(tmp_path: Path) -> None:
    """A data directory from before the question log: its votes survive the migration."""
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE votes (chat_hash TEXT NOT NULL, question TEXT NOT NULL, passage_id "
            "TEXT NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), created_at REAL NOT "
            "NULL, PRIMARY KEY (chat_hash, question, passage_id))"
        )
        old.execute("CREATE INDEX votes_by_passage ON votes (passage_id)")
        old.execute("INSERT INTO votes VALUES ('h', 'q', 'p1', -1, 0)")
        old.execute("PRAGMA user_version = 2")
    old.close()
    store = FeedbackStore(path, "salt")
    assert [(row.passage_id, row.down) for row in store.by_passage()] == [("p1", 1)]
    store.log_questions([_question(dt.datetime.now(dt.UTC))])
    assert len(store.questions(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))) == 1
    store.close()


def test_polling_on_a_shared_store_keeps_its_local_journal(
    postgres_url: str, tmp_path: Path, core: ArticleBot
) -> None:
    """One poller per bot token: a polling bot on PostgreSQL is alone, and keeps replaying
    what a crash left unhandled; only webhook replicas share the ledger."""
    shelf = Shelf.of(core)
    built = {}
    for webhook in (False, True):
        options = TelegramOptions(webhook=webhook, journal=tmp_path / f"{webhook}.sqlite3")
        services = Services(shelf, Batcher(shelf), options, shared=PostgresStore(postgres_url))
        built[webhook] = build_application(services, "123456:" + "a" * 35)
    assert isinstance(built[False].journal, UpdateJournal)
    assert isinstance(built[True].journal, PostgresStore)
    for app in built.values():
        app.journal.close()
