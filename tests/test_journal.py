"""The update journal on its own: what is recorded comes back until handled, an update is
handled once, old handled rows go, a damaged file is moved aside, and one that cannot be
opened at all is one clear error (the bot then runs without it, saying so).
(The crash itself, over HTTP with the real process: ``tests/test_telegram_crash.py``.)"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from bot.telegram import journal as journal_module
from bot.telegram.journal import JournalError, UpdateJournal
from bot.tools.fakeapi import factories as f


def test_recorded_updates_come_back_until_handled(tmp_path: Path) -> None:
    path = tmp_path / "updates.sqlite3"
    first = f.message_update("one", update_id=10)
    second = f.message_update("two", update_id=11)
    journal = UpdateJournal(path)
    journal.record([second, first, {"no": "update_id"}])
    assert journal.claim(10)
    journal.release(10, handled=True)
    assert journal.claim(11)
    journal.release(11, handled=False)  # stopped before the end: to be replayed
    journal.close()

    reopened = UpdateJournal(path)  # as after a crash
    assert reopened.unhandled() == [second]
    assert not reopened.claim(10)  # handled before the restart: never again
    reopened.close()


def test_an_update_being_handled_is_not_claimed_twice(tmp_path: Path) -> None:
    journal = UpdateJournal(tmp_path / "updates.sqlite3")
    journal.record([f.message_update("one", update_id=5)])
    journal.record([f.message_update("one", update_id=5)])  # Telegram delivers it again
    assert journal.claim(5)
    assert not journal.claim(5)  # the replay and the redelivery cannot both answer
    journal.release(5, handled=True)
    assert not journal.claim(5)
    assert journal.unhandled() == []


def test_handled_rows_older_than_telegram_can_resend_are_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "updates.sqlite3"
    journal = UpdateJournal(path)
    journal.record([f.message_update("old", update_id=1), f.message_update("new", update_id=2)])
    for update_id in (1, 2):
        assert journal.claim(update_id)
        journal.release(update_id, handled=True)
    journal.close()
    later = time.time() + journal_module.KEEP_SECONDS - 60
    with sqlite3.connect(path) as db:
        db.execute("UPDATE updates SET handled = ? WHERE update_id = 2", (later,))
    monkeypatch.setattr(time, "time", lambda: later + 120)
    UpdateJournal(path).close()
    with sqlite3.connect(path) as db:
        ids = [row[0] for row in db.execute("SELECT update_id FROM updates")]
    assert ids == [2]


def test_a_damaged_journal_is_moved_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "updates.sqlite3"
    path.write_bytes(b"\x00not a database" * 512)
    journal = UpdateJournal(path)
    journal.record([f.message_update("one", update_id=3)])
    assert journal.claim(3)
    journal.close()
    [aside] = tmp_path.glob("updates.sqlite3.broken-*")
    assert aside.read_bytes().startswith(b"\x00not a database")


def test_a_journal_that_cannot_be_opened_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "updates.sqlite3"
    path.mkdir()  # a directory in the way
    with pytest.raises(JournalError, match="cannot open the update journal"):
        UpdateJournal(path)
