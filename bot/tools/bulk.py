"""Bulk ingest: a folder of articles, or a JSON-lines export of a newsroom's archive, into the
shelf's passage store (``python -m bot ingest SOURCE``).

- **Idempotent by content hash:** an article the store already holds from the same text and
  model is skipped, so running it twice writes nothing the second time.
- **Resumable:** each article is written whole or not at all (one transaction in
  PostgreSQL, the manifest last in a local index directory), so after a kill the next run
  skips what was finished and redoes the one that was not; nothing is ever duplicated (an
  article's name is its key).
- **Several at once:** indexers writing different articles do not wait for each other; two
  writing the same one leave one whole copy (the store's per-article lock).
- Reports passages/s beside what the encoder alone manages on the same machine: indexing
  also embeds each passage's sentences and the article's dictionary words, and writes them.

A JSON line is ``{"name": ..., "title": ..., "text": ...}`` (optional ``"date"`` and
``"source"``): ``text`` is Markdown-like, paragraphs separated by blank lines, ``## `` for a
section. It is read exactly as a ``.md`` file of that title and text would be.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from bot.build import ensure_indexed, open_store
from bot.config import Settings
from corpus.ingest import ArticleError, load_article
from embeddings.encoder import Encoder, load_encoder
from embeddings.errors import IndexStoreError
from embeddings.files import atomic_write

SUFFIXES = (".txt", ".md")
# An export's article name becomes a file name in the shelf's folder: letters, digits, - _ .
_NAME = re.compile(r"[\w][\w.-]{0,99}")
# Passages the encoder's own rate is measured on (first articles' paragraphs, twice).
SAMPLE = 32


@dataclass
class IngestReport:
    indexed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already in the store, unchanged
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, why)
    passages: int = 0  # of the articles indexed now
    seconds: float = 0.0
    encoder_passages_per_s: float = 0.0

    @property
    def passages_per_s(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"{len(self.indexed)} indexed ({self.passages} passages, "
            f"{self.passages_per_s:.1f} passages/s; the encoder alone: "
            f"{self.encoder_passages_per_s:.1f} passages/s), {len(self.skipped)} already "
            f"in the store, {len(self.failed)} failed"
        )


def _articles(source: Path, folder: Path) -> Iterator[tuple[str, Path | ArticleError]]:
    """(name, file) for every article of ``source``: a folder's files, or an export's lines
    written into the shelf's ``folder`` as the ``.md`` file (and sidecar) each stands for, so
    the bot serves them like any other article of the folder. A line that is no article
    comes as (``line N``, why)."""
    if source.is_dir():
        for path in sorted(source.iterdir()):
            if path.suffix.lower() in SUFFIXES and path.is_file():
                yield path.stem, path
        return
    folder.mkdir(parents=True, exist_ok=True)
    with source.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                name, title, text = str(record["name"]), str(record["title"]), str(record["text"])
            except (ValueError, KeyError, TypeError) as exc:
                yield f"line {number}", ArticleError(f"not an article: {exc!r}")
                continue
            if not _NAME.fullmatch(name):
                yield f"line {number}", ArticleError(f"{name!r} cannot name a file")
                continue
            path = folder / f"{name}.md"
            atomic_write(path, f"# {title}\n\n{text}\n".encode())
            meta = {k: record[k] for k in ("date", "source") if isinstance(record.get(k), str)}
            toml = "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in meta.items())
            if toml:
                atomic_write(path.with_suffix(".toml"), toml.encode())
            else:
                path.with_suffix(".toml").unlink(missing_ok=True)
            yield name, path


def _encoder_rate(encoder: Encoder, texts: list[str]) -> float:
    """Passages/s of the encoder alone on ``texts`` (a first call warms it up)."""
    if not texts:
        return 0.0
    encoder.encode_passages(texts[:2])
    start = time.perf_counter()
    encoder.encode_passages(texts)
    return len(texts) / (time.perf_counter() - start)


def ingest(settings: Settings, source: Path, progress: bool = True) -> IngestReport:
    """Every article of ``source`` into the store of ``settings``; what was done, skipped or
    refused is in the report (one bad article stops nothing)."""
    if not source.exists():
        raise ArticleError(f"nothing to ingest at {source}")
    encoder = load_encoder(settings.model, settings.data_dir)
    store = open_store(settings)
    report = IngestReport()
    sample: list[str] = []
    seen: set[str] = set()
    articles = _articles(source, settings.uploads_dir)
    bar = tqdm(articles, desc="ingest", unit="article", file=sys.stderr, disable=not progress)
    started = time.perf_counter()
    try:
        for name, path in bar:
            if isinstance(path, ArticleError):
                report.failed.append((name, str(path)))
                continue
            if name in seen:
                report.failed.append((name, "a second article of that name"))
                continue
            seen.add(name)
            try:
                indexed, fresh = ensure_indexed(load_article(path), name, encoder, store, settings)
            except (ArticleError, IndexStoreError, OSError) as exc:
                report.failed.append((name, str(exc)))
                continue
            (report.indexed if fresh else report.skipped).append(name)
            report.passages += len(indexed.passages) if fresh else 0
            sample += [p.text for p in indexed.passages][: max(0, SAMPLE - len(sample))]
            report.seconds = time.perf_counter() - started
            bar.set_postfix(passages_per_s=f"{report.passages_per_s:.1f}", refresh=False)
        report.encoder_passages_per_s = _encoder_rate(encoder, sample)
    finally:
        bar.close()
        store.close()
    return report
