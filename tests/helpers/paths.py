"""Where tests find the repository, its data and the model cache; the bot run as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from embeddings.store import DICTIONARY_DIR

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
MODEL_CACHE = Path(os.environ.get("ARTICLE_BOT_TEST_CACHE", ROOT / ".test-cache"))
# How long a subprocess may take before the test gives up on it: a safety net against a hang,
# never a speed assertion (a busy 2-core machine runs `python -m bot eval` for minutes).
# Speed targets live in `python -m bot bench`.
SAFETY_TIMEOUT = 900


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
        timeout=SAFETY_TIMEOUT,
        check=False,
    )


def fresh_data_dir(base: Path, model_cache: Path, *, dictionary: bool = True) -> Path:
    """A data directory with no index that shares the converted model and, unless
    ``dictionary`` is false, holds a copy of CC-CEDICT's derived tables: like the model they
    come from an installed package, not from any article, and parsing them again costs every
    process that starts on a new data directory seven CPU-seconds. A test about a first
    start from nothing passes ``dictionary=False``."""
    data = base / "data"
    (data / "models").mkdir(parents=True)
    for entry in (model_cache / "models").iterdir():
        if entry.is_dir():
            os.symlink(entry, data / "models" / entry.name)
    tables = model_cache / "indexes" / DICTIONARY_DIR
    if dictionary and tables.is_dir():
        shutil.copytree(tables, data / "indexes" / DICTIONARY_DIR)
    return data


def warm_data_dir(base: Path, model_cache: Path, indexed: Path) -> Path:
    """:func:`fresh_data_dir` with the indexes already built in ``indexed`` copied in (the
    ``test_articles`` fixture): a shelf of the test articles is loaded, not indexed again.
    Copied, not linked, so a test may change or damage its own."""
    data = fresh_data_dir(base, model_cache, dictionary=False)  # the copy brings the tables
    shutil.copytree(indexed / "indexes", data / "indexes")
    return data


def start_telegram(
    data_dir: Path, api_base_url: str, token: str, *args: str, **env: str
) -> subprocess.Popen[str]:
    """``python -m bot telegram ARGS`` in the background against a loopback Bot API."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    environment.update(
        ARTICLE_BOT_DATA_DIR=str(data_dir),
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE_URL=api_base_url,
        **env,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def copy_index(data_dir: Path, index: Path, cache: Path) -> Path:
    """The session's index copied into a fresh data dir: a subprocess need not rebuild it."""
    shutil.copytree(index, data_dir / index.relative_to(cache), dirs_exist_ok=True)
    return data_dir
