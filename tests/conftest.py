"""Shared fixtures: the real article, the real converted model, real indexes.

The converted model is kept in ``.test-cache/`` at the repository root (git-ignored)
so that only the first test run on a machine pays for the conversion.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.config import Settings
from bot.core import ArticleBot
from corpus.ingest import BUNDLED_ARTICLE
from embeddings.encoder import DEFAULT_MODEL, Encoder, load_encoder

if TYPE_CHECKING:
    from fake_bot_api import FakeBotApi
    from telegram_harness import RunningBot

# PTB 22 warns while building RetryAfter unless told to use timedelta; warnings are errors here.
os.environ.setdefault("PTB_TIMEDELTA", "true")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
MODEL_CACHE = Path(os.environ.get("ARTICLE_BOT_TEST_CACHE", ROOT / ".test-cache"))


def run_bot(
    args: list[str], data_dir: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` as a user runs it: a fresh process, no Telegram settings inherited."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    environment.update(ARTICLE_BOT_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """A data directory holding the converted default model, built once per machine."""
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    return MODEL_CACHE


@pytest.fixture(scope="session")
def encoder(model_cache: Path) -> Encoder:
    return load_encoder(DEFAULT_MODEL, model_cache)


def fresh_data_dir(base: Path, model_cache: Path) -> Path:
    """An empty data directory that shares the converted model but nothing else."""
    data = base / "data"
    (data / "models").mkdir(parents=True)
    for entry in (model_cache / "models").iterdir():
        if entry.is_dir():
            os.symlink(entry, data / "models" / entry.name)
    return data


@pytest.fixture
def data_dir(tmp_path: Path, encoder: Encoder, model_cache: Path) -> Path:
    return fresh_data_dir(tmp_path, model_cache)


@pytest.fixture(scope="session")
def settings(model_cache: Path, encoder: Encoder) -> Settings:
    return Settings(article=BUNDLED_ARTICLE, data_dir=model_cache)


@pytest.fixture(scope="session")
def core(settings: Settings) -> ArticleBot:
    from bot.build import build_core

    return build_core(settings)


@pytest.fixture
def article_copy(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "article.txt"
    shutil.copyfile(BUNDLED_ARTICLE, path)
    yield path


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotApi]:
    """A loopback fake Bot API server; proxies unset so PTB talks to it directly."""
    from fake_bot_api import FakeBotApi
    from telegram_harness import without_proxies

    without_proxies(monkeypatch)
    with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def tg(api: FakeBotApi, core: ArticleBot) -> Iterator[RunningBot]:
    """The real Telegram Application over the session's core, polling ``api``."""
    from telegram_harness import running

    with running(api, core) as bot:
        yield bot
