"""Bulk ingest into the passage store: idempotent by content hash, resumable after a kill,
safe with two indexers at once; a bad line of an export is reported and stops nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.tools.bulk import ingest
from embeddings.passagestore.postgres import PostgresStore
from tests.helpers.paths import DATA, ROOT, SAFETY_TIMEOUT

FILES = ("sample_article.md", "mountain_railway.md", "tea_market.md")


def _export(path: Path) -> Path:
    """The test articles as a JSON-lines export, with a line that is not an article."""
    lines = []
    for name in FILES:
        title, _, text = (DATA / name).read_text(encoding="utf-8").partition("\n")
        record = {"name": Path(name).stem, "title": title.removeprefix("# "), "text": text}
        lines.append(json.dumps({**record, "date": "2026-12-04"}, ensure_ascii=False))
    lines.insert(1, '{"title": "no name, no text"}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _names(url: str) -> list[str]:
    store = PostgresStore(url)
    try:
        return [a.name for a in store.articles()]
    finally:
        store.close()


def test_an_export_is_ingested_once_and_served_from_the_shelf_folder(
    tmp_path: Path, data_dir: Path, postgres_url: str
) -> None:
    settings = Settings(data_dir=data_dir, database_url=postgres_url)
    export = _export(tmp_path / "archive.jsonl")
    first = ingest(settings, export, progress=False)
    assert sorted(first.indexed) == sorted(Path(f).stem for f in FILES)
    assert first.failed == [("line 2", "not an article: KeyError('name')")]
    assert first.passages == 13 and first.passages_per_s > 0 < first.encoder_passages_per_s
    assert sorted(_names(postgres_url)) == sorted(first.indexed)
    written = settings.uploads_dir / "tea_market.md"
    assert written.read_text(encoding="utf-8").startswith("# The Old Tea Market of Linshui")
    assert 'date = "2026-12-04"' in written.with_suffix(".toml").read_text(encoding="utf-8")
    again = ingest(settings, export, progress=False)
    assert again.indexed == [] and sorted(again.skipped) == sorted(first.indexed)
    assert "0 indexed" in again.summary() and "3 already in the store" in again.summary()


def _ingest_process(folder: Path, data_dir: Path, url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(ARTICLE_BOT_DATA_DIR=str(data_dir), DATABASE_URL=url)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Six small articles: the test articles and a renamed copy of each."""
    out = tmp_path / "articles"
    out.mkdir()
    for name in FILES:
        shutil.copyfile(DATA / name, out / name)
        shutil.copyfile(DATA / name, out / f"copy_{name}")
    return out


@pytest.mark.slow
def test_a_killed_ingest_resumes_without_duplicates(
    folder: Path, data_dir: Path, postgres_url: str
) -> None:
    killed = _ingest_process(folder, data_dir, postgres_url)
    deadline = time.monotonic() + SAFETY_TIMEOUT
    while not _names(postgres_url) and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    done_before = _names(postgres_url)
    assert 1 <= len(done_before) < 6
    rerun = _ingest_process(folder, data_dir, postgres_url)
    out, err = rerun.communicate(timeout=SAFETY_TIMEOUT)
    assert rerun.returncode == 0, err
    assert f"{len(done_before)} already in the store" in out
    names = _names(postgres_url)
    assert sorted(names) == sorted(p.stem for p in folder.iterdir())  # each once: name is key


@pytest.mark.slow
def test_two_indexers_at_once_leave_a_consistent_shelf(
    folder: Path, data_dir: Path, postgres_url: str
) -> None:
    both = [_ingest_process(folder, data_dir, postgres_url) for _ in range(2)]
    for process in both:
        _, err = process.communicate(timeout=SAFETY_TIMEOUT)
        assert process.returncode == 0, err
    store = PostgresStore(postgres_url)
    try:
        articles = store.articles()
        assert sorted(a.name for a in articles) == sorted(p.stem for p in folder.iterdir())
        for stored in articles:
            article = store.get(stored.name)
            assert article is not None and len(article.passages) == stored.passages
            assert len(article.sentence_vectors) == sum(article.sentence_counts())
    finally:
        store.close()
