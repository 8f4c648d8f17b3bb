"""Shared fixtures: the real article, the real converted model, real indexes.

The converted model is kept in ``.test-cache/`` at the repository root (git-ignored)
so that only the first test run on a machine pays for the conversion.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.config import Settings
from bot.core.engine import ArticleBot
from corpus.ingest import BUNDLED_ARTICLE
from embeddings.encoder import DEFAULT_MODEL, Encoder, load_encoder
from tests.helpers.paths import DATA, MODEL_CACHE, copy_index, fresh_data_dir

if TYPE_CHECKING:
    from bot.tools.fakeapi.server import FakeBotApi
    from tests.helpers.telegram import RunningBot



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a slow test run first, each file's tests in their own order. `make test`
    gives each file to one of two workers in collection order (pytest-xdist, --dist loadfile):
    a long file handed out last would leave the other worker idle while it runs."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """A data directory holding the converted default model and CC-CEDICT's derived tables
    (which ``fresh_data_dir`` links and copies), built once per machine.

    Complete before any test sees it: with two xdist workers on a fresh clone, a test that
    links the model into its own data directory must never link a conversion under way.
    (Conversion and export take a file lock; the tables are written atomically.)"""
    from embeddings.dictionary import load_dictionary
    from embeddings.encoder.load import onnx_path
    from embeddings.store import DICTIONARY_DIR

    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    onnx_path(MODEL_CACHE)
    load_dictionary(MODEL_CACHE / "indexes" / DICTIONARY_DIR)
    return MODEL_CACHE


@pytest.fixture(scope="session")
def encoder(model_cache: Path) -> Encoder:
    return load_encoder(DEFAULT_MODEL, model_cache)


@pytest.fixture
def data_dir(tmp_path: Path, encoder: Encoder, model_cache: Path) -> Path:
    return fresh_data_dir(tmp_path, model_cache)


@pytest.fixture
def served_data_dir(data_dir: Path, settings: Settings, core: ArticleBot) -> Path:
    """:func:`data_dir` with the session's index of the bundled article copied in: for a
    ``python -m bot`` process whose test is about what it says, not about a first index build
    (building takes that process some eight CPU-seconds)."""
    return copy_index(data_dir, settings.index_dir, settings.data_dir)


@pytest.fixture(scope="session")
def settings(model_cache: Path, encoder: Encoder) -> Settings:
    return Settings(article=BUNDLED_ARTICLE, data_dir=model_cache)


@pytest.fixture(scope="session")
def core(settings: Settings) -> ArticleBot:
    from bot.build import build_core

    return build_core(settings)


@pytest.fixture(scope="session")
def test_articles(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, encoder: Encoder
) -> Path:
    """A data directory with every article of ``tests/data`` indexed once per session; tests
    start from a copy of it with ``tests.helpers.paths.warm_data_dir``."""
    from bot.build import build_shelf

    data = fresh_data_dir(tmp_path_factory.mktemp("test-articles"), model_cache)
    build_shelf(Settings(data_dir=data, articles=tuple(sorted(DATA.glob("*.md")))))
    return data


@pytest.fixture
def article_copy(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "article.txt"
    shutil.copyfile(BUNDLED_ARTICLE, path)
    yield path


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real PostgreSQL server (with pgvector) per test session, or per xdist worker; its URL.
    Never skipped: if it cannot start, every test using it fails with the server's reason."""
    from tests.helpers.postgres import running_postgres

    with running_postgres(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh database of its own on the session's server (``vector`` created), dropped after."""
    from tests.helpers.postgres import fresh_database

    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotApi]:
    """A loopback fake Bot API server; proxies unset so PTB talks to it directly."""
    from bot.tools.fakeapi.server import FakeBotApi
    from tests.helpers.telegram import without_proxies

    without_proxies(monkeypatch)
    with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def tg(api: FakeBotApi, core: ArticleBot) -> Iterator[RunningBot]:
    """The real Telegram Application over the session's core, polling ``api``."""
    from tests.helpers.telegram import running

    with running(api, core) as bot:
        yield bot
