"""The soak's crash fault: the real bot process SIGKILLed mid-burst and restarted.

An in-process Application cannot be killed, so this part runs ``python -m bot telegram``
itself, on a scratch data directory that shares the model and the article's index,
against the soak's fake Bot API child process. Each round, ``chats`` new readers ask at
once; after ``kill_after`` of their replies have arrived (the rest in flight) the bot is
SIGKILLed and started again. After the last round every question must be answered, none
twice but those *in flight* at a kill: the soak tallies the server's log of this run as it
does its own (``bot.tools.soak.crash_fault``).

In flight means Telegram had carried out the reply but the journal had not marked the
update handled when the process died (read from the journal file right after each kill).
The Bot API cannot be asked whether a message arrived, so such a reply is sent again after
the restart; the bot answers a burst's questions together (one encoder batch, concurrent
sends), so that can be several replies per kill on a loaded machine. A duplicate of any
other reply would be a bug in the journal.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.tools.processes import stop

if TYPE_CHECKING:
    from bot.config import Settings

JSONDict = dict[str, Any]
Progress = Callable[[str], None]
CHAT_BASE = 3_000_000_000  # apart from the soak's own chats
QUESTION_BASE = 10**9  # apart from the soak's own question numbers


class FakeServer(Protocol):
    """The soak's handle on its fake Bot API child process (``bot.tools.soak.FakeServer``)."""

    base_url: str
    token: str

    def call(self, timeout: float | None = None, **command: Any) -> JSONDict: ...


@dataclass
class CrashRun:
    """What was asked (question number -> text), how long each recovery took, and which
    questions' replies were in flight at a kill (delivered, their update not yet marked)."""

    texts: dict[int, str] = field(default_factory=dict)
    recoveries: list[float] = field(default_factory=list)
    in_flight: set[int] = field(default_factory=set)


@contextlib.contextmanager
def scratch_data_dir(settings: Settings) -> Iterator[Path]:
    """A data directory of its own (so its lock is free) sharing the model, and a copy of
    the article's index and of the dictionary tables beside it (so the bot starts in
    seconds, as a restart on its own data directory does, not minutes)."""
    from embeddings.store import DICTIONARY_DIR

    with tempfile.TemporaryDirectory(prefix="bot-crash-") as tmp:
        data = Path(tmp) / "data"
        (data / "models").mkdir(parents=True)
        models = settings.data_dir / "models"
        for entry in models.iterdir() if models.is_dir() else []:
            os.symlink(entry.resolve(), data / "models" / entry.name)
        tables = settings.index_dir.parent / DICTIONARY_DIR
        for copied in (settings.index_dir, tables):
            if copied.is_dir():
                shutil.copytree(copied, data / copied.relative_to(settings.data_dir))
        yield data


def start_bot(
    settings: Settings, data: Path, base_url: str, token: str, *args: str, **extra: str
) -> subprocess.Popen[bytes]:
    """``python -m bot telegram ARGS`` on ``data`` against the Bot API at ``base_url``,
    ``extra`` in its environment; its log goes to ``bot.log`` beside ``data``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    env.pop("ARTICLES_DIR", None)
    env.update(
        ARTICLE_BOT_DATA_DIR=str(data),
        ARTICLE_PATH=str(settings.article),
        EMBEDDING_MODEL=settings.model,
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE_URL=base_url,
        **extra,
    )
    # Its log goes beside the data directory, for the error if it dies on its own.
    with _log_of(data).open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "telegram", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def _log_of(data: Path) -> Path:
    return data.parent / "bot.log"


def _delivered(server: FakeServer) -> dict[int, int]:
    """Messages that reached each question's chat (status 200), by question."""
    counts: dict[int, int] = {}
    for question, method, status, _text, _fault in server.call(op="report", timeout=120)["log"]:
        if method == "sendMessage" and status == 200 and question is not None:
            counts[question] = counts.get(question, 0) + 1
    return counts


def _handled_chats(data: Path) -> set[int]:
    """The chats whose update the dead bot's journal marks handled."""
    from bot.telegram.journal import FILE_NAME

    db = sqlite3.connect(data / FILE_NAME)
    try:
        rows = db.execute("SELECT body FROM updates WHERE handled IS NOT NULL").fetchall()
    finally:
        db.close()
    chats = set()
    for (body,) in rows:
        chat = json.loads(body).get("message", {}).get("chat", {}).get("id")
        if isinstance(chat, int):
            chats.add(chat)
    return chats


def _wait(
    condition: Callable[[], bool], timeout: float, bot: subprocess.Popen[bytes], data: Path
) -> bool:
    """Whether ``condition`` came true within ``timeout``; a bot that exited on its own
    (no kill of ours) cannot make it true, so that ends the run at once with its log."""
    deadline = time.monotonic() + timeout
    while not condition():
        if bot.poll() is not None:
            tail = _log_of(data).read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"the bot exited by itself (code {bot.returncode}):\n{tail}")
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def run_crash(
    settings: Settings,
    server: FakeServer,
    questions: list[str],
    *,
    rounds: int = 1,
    chats: int = 50,
    kill_after: int = 5,
    seed: int = 0,
    timeout: float = 600.0,
    progress: Progress = print,
) -> CrashRun:
    """``rounds`` bursts of ``chats`` questions, each cut by a SIGKILL; what was asked."""
    rng = random.Random(seed)
    run = CrashRun()
    texts, recoveries = run.texts, run.recoveries
    with scratch_data_dir(settings) as data:
        bot = start_bot(settings, data, server.base_url, server.token)
        try:
            for round_ in range(rounds):
                asked: dict[int, int] = {}  # question number -> its chat
                for i in range(chats):
                    number = QUESTION_BASE + round_ * chats + i
                    texts[number] = rng.choice(questions)
                    chat = CHAT_BASE + round_ * chats + i
                    server.call(op="push", chat=chat, question=number, text=texts[number])
                    asked[number] = chat

                def replies(numbers: dict[int, int] = asked) -> int:
                    sent = _delivered(server)
                    return sum(1 for n in numbers if sent.get(n))

                if not _wait(lambda: replies() >= kill_after, timeout, bot, data):
                    break
                os.kill(bot.pid, signal.SIGKILL)
                bot.wait(60)
                sent, handled = _delivered(server), _handled_chats(data)
                run.in_flight |= {
                    n for n, chat in asked.items() if sent.get(n) and chat not in handled
                }
                progress(
                    f"crash {round_ + 1}/{rounds}: SIGKILL after {replies()} of {chats} replies"
                )
                restarted = time.monotonic()
                bot = start_bot(settings, data, server.base_url, server.token)
                if _wait(lambda: replies() >= chats, timeout, bot, data):
                    recoveries.append(time.monotonic() - restarted)
            _wait(lambda: len(_delivered(server)) >= len(texts), timeout, bot, data)
            server.call(op="idle", seconds=30.0, timeout=60.0)
        finally:
            stop(bot, 30)
    return run
