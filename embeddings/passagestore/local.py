"""The embedded store: one index directory per article under ``indexes/``, searched as one.

Each article keeps the directory :mod:`embeddings.store` writes (FAISS files, passages,
bridges, word vectors, a manifest that says what they were built from), so an article is
written, replaced or removed on its own and nothing else is touched. Searches do not go
article by article: the articles' directories are segments, merged in memory into one
shelf-wide FAISS index and one BM25 index over every passage, brought up to date when an
article changes: every write or removal, by any process, replaces one generation file, and
a search looks at that file alone (then at the manifests, only when it changed).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np
from filelock import FileLock

from embeddings.errors import IndexStoreError
from embeddings.files import atomic_write
from embeddings.normalize import tokens
from embeddings.passages import Passage
from embeddings.passagestore.interface import (
    IndexedArticle,
    Level,
    Match,
    StoredArticle,
)
from embeddings.store import (
    FORMAT_VERSION,
    MANIFEST_FILE,
    optional_text,
    read_index,
    write_index,
)

if TYPE_CHECKING:  # imported where the shelf is first searched: an index is only written
    import bm25s

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
# A filter to fewer rows than this is searched by one matrix product over just those rows.
EXACT_BELOW = 5_000
# Replaced after every write or removal, by any process: while it is unchanged, so is the
# shelf, and a search looks at this one file instead of every article's manifest.
GENERATION_FILE = ".generation"


def _stamp(directory: Path) -> tuple[int, int] | None:
    """The manifest's size and time: a directory whose manifest is unchanged is unchanged
    (it is written last, after every file it names)."""
    try:
        stat = (directory / MANIFEST_FILE).stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


@dataclass(frozen=True)
class _Segment:
    """What a search needs of one article: its vectors and its passages' words."""

    stamp: tuple[int, int]
    paragraphs: np.ndarray
    sentences: np.ndarray
    sentence_positions: np.ndarray  # per sentence, its passage's position
    positions: np.ndarray  # per passage, its position
    tokens: list[list[str]]
    ids: frozenset[str]  # its passages' ids: :meth:`LocalStore.holders`


def _read_segment(directory: Path, stamp: tuple[int, int]) -> _Segment | None:
    found = read_index(directory)
    return None if found is None else _segment(found[0], stamp)


def _segment(article: IndexedArticle, stamp: tuple[int, int]) -> _Segment:
    positions = np.array([p.position for p in article.passages], dtype=np.int64)
    return _Segment(
        stamp,
        np.ascontiguousarray(article.paragraph_vectors, dtype=np.float32),
        np.ascontiguousarray(article.sentence_vectors, dtype=np.float32),
        np.repeat(positions, article.sentence_counts()),
        positions,
        [tokens(p.lexical_text()) for p in article.passages],
        frozenset(p.id for p in article.passages),
    )


@dataclass
class _Rows:
    """Rows of one merged index: which article and passage position each row is."""

    index: faiss.Index
    vectors: np.ndarray
    articles: np.ndarray  # per row, the article's number in ``names``
    positions: np.ndarray
    ranges: dict[str, tuple[int, int]]  # per article, its rows [start, stop)

    def selection(self, articles: Collection[str] | None) -> np.ndarray | None:
        """The rows of ``articles`` (None: every row)."""
        if articles is None:
            return None
        spans = [self.ranges[a] for a in articles if a in self.ranges]
        if not spans:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in spans])

    def search(self, vectors: np.ndarray, k: int, rows: np.ndarray | None) -> list[list[int]]:
        """Row numbers of the ``k`` closest rows per query, best first, among ``rows``."""
        if rows is not None and len(rows) == self.index.ntotal:
            rows = None  # the whole shelf: no filter to apply
        total = self.index.ntotal if rows is None else len(rows)
        if total == 0 or k <= 0:
            return [[] for _ in vectors]
        if rows is None:
            _, ids = self.index.search(vectors, min(k, total))
        elif len(rows) < EXACT_BELOW:
            sims = vectors @ self.vectors[rows].T
            top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
            return [[int(rows[j]) for j in row] for row in top]
        else:
            mask = np.zeros(self.index.ntotal, dtype=bool)
            mask[rows] = True
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(self.index.ntotal, faiss.swig_ptr(bits))
            # (faiss's stubs do not know ``sel``)
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            _, ids = self.index.search(vectors, min(k, total), params=params)
        return [[int(i) for i in row if i >= 0] for row in ids]


@dataclass
class _Merged:
    names: list[str]
    paragraphs: _Rows
    sentences: _Rows
    lexical: bm25s.BM25 | None
    vocabulary: frozenset[str]


def _rows(names: list[str], parts: list[np.ndarray], positions: list[np.ndarray]) -> _Rows:
    vectors = np.concatenate(parts) if parts else np.empty((0, 1), dtype=np.float32)
    ranges, start = {}, 0
    for name, part in zip(names, parts, strict=True):
        ranges[name] = (start, start + len(part))
        start += len(part)
    articles = np.repeat(np.arange(len(names)), [len(p) for p in parts])
    # Flat, exact, and rebuilt from the segments' vectors in a moment whenever one article
    # changes (an HNSW graph of 300,000 vectors took 200 s to build here): past what one
    # machine searches flat in a few milliseconds, the shelf belongs in PostgreSQL.
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    # The rows as the index stores them, not a second copy (460 MB at 100,000 passages).
    stored = faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d)
    return _Rows(
        index,
        np.asarray(stored).reshape(index.ntotal, index.d),
        articles,
        np.concatenate(positions) if positions else np.empty(0, np.int64),
        ranges,
    )


def _merge(segments: dict[str, _Segment]) -> _Merged:
    names = sorted(segments)
    parts = [segments[n] for n in names]
    documents = [doc for s in parts for doc in s.tokens]
    lexical = None
    if any(documents):
        import bm25s  # (with scipy, 0.3 s that `bot index` does not spend)

        lexical = bm25s.BM25()
        lexical.index(documents, show_progress=False)
    return _Merged(
        names,
        _rows(names, [s.paragraphs for s in parts], [s.positions for s in parts]),
        _rows(names, [s.sentences for s in parts], [s.sentence_positions for s in parts]),
        lexical,
        frozenset(chain.from_iterable(documents)),
    )


class LocalStore:
    """Articles as index directories in ``directory`` (``indexes/`` of the data directory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._segments: dict[str, _Segment] = {}
        self._merged: _Merged | None = None
        # A segment :meth:`get` read since the last merge: the merged index must be rebuilt.
        self._unmerged = False
        self._generation: tuple[int, int] | None = None  # of the merged index
        # One question's search runs on one thread: FAISS's OpenMP threads, contending with
        # the encoder and the other jobs of a small machine, made a 20,000-passage flat search
        # 20 ms instead of 1.2 (measured with bot/tools/store_bench.py).
        faiss.omp_set_num_threads(1)

    def _path(self, name: str) -> Path:
        """An article's directory. A name is one plain path component: never hidden (the
        dictionary's tables and removed articles are), never a way out of the folder."""
        if not name or name.startswith(".") or os.sep in name or name != Path(name).name:
            raise IndexStoreError(f"{name!r} cannot name an article in the store")
        return self.directory / name

    def put(self, article: IndexedArticle) -> None:
        directory = self._path(article.name)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with FileLock(str(directory / LOCK_FILE)):
                write_index(directory, article)
        except OSError as exc:
            raise IndexStoreError(f"cannot write the index in {directory}: {exc}") from exc
        self._changed()

    def remove(self, name: str) -> bool:
        directory = self._path(name)
        if not directory.is_dir():
            return False
        # Moved aside under the article's lock, then deleted: no reader sees half a directory.
        aside = self.directory / f".{name}.removed-{os.getpid()}-{threading.get_ident()}"
        try:
            with FileLock(str(directory / LOCK_FILE)):
                directory.rename(aside)
            shutil.rmtree(aside)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise IndexStoreError(f"cannot remove the index in {directory}: {exc}") from exc
        self._changed()
        return True

    def _changed(self) -> None:
        try:
            atomic_write(self.directory / GENERATION_FILE, uuid.uuid4().hex.encode())
        except OSError as exc:
            raise IndexStoreError(f"cannot write in {self.directory}: {exc}") from exc

    def _generation_now(self) -> tuple[int, int] | None:
        try:
            stat = (self.directory / GENERATION_FILE).stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def get(self, name: str) -> IndexedArticle | None:
        """The article's index, read whole; its search segment is kept from the same read, so
        the shelf-wide index does not read every directory a second time (a shelf's start
        reads each article here, then its first question merges them all)."""
        directory = self._path(name)
        stamp = _stamp(directory)  # before the read: a write meanwhile leaves it behind
        found = read_index(directory)
        if found is None:
            return None
        if stamp is not None:
            with self._lock:
                known = self._segments.get(name)
                if known is None or known.stamp != stamp:
                    self._segments[name] = _segment(found[0], stamp)
                    self._unmerged = True
        return found[0]

    def _names(self) -> list[str]:
        try:
            listed = sorted(self.directory.iterdir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise IndexStoreError(f"cannot read the indexes in {self.directory}: {exc}") from exc
        return [p.name for p in listed if not p.name.startswith(".") and p.is_dir()]

    def articles(self) -> list[StoredArticle]:
        out = []
        for name in self._names():
            try:
                manifest = json.loads(
                    (self.directory / name / MANIFEST_FILE).read_text(encoding="utf-8")
                )
                if manifest.get("format") != FORMAT_VERSION:
                    continue
                out.append(
                    StoredArticle(
                        name,
                        str(manifest["article_sha256"]),
                        str(manifest["model"]),
                        int(manifest["count"]),
                        str(manifest.get("title", "")),
                        optional_text(manifest.get("date")),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue  # not (yet) an index: being written, or damaged
        return out

    def outline(self, name: str) -> tuple[StoredArticle, tuple[Passage, ...]] | None:
        found = self.get(name)  # the vectors are mapped or small: read as for a search
        return None if found is None else (found.summary(), found.passages)

    def count(self) -> int:
        return len(self.articles())

    def listing(self, offset: int, limit: int | None) -> list[StoredArticle]:
        # A folder of index directories is listed whole: it is one machine's shelf (the
        # archive that outgrows it belongs in PostgreSQL, which pages in SQL).
        offset = max(offset, 0)
        listed = self.articles()
        return listed[offset:] if limit is None else listed[offset : offset + limit]

    def holders(self, passage_id: str) -> list[str]:
        self._current()  # every segment read and current
        with self._lock:
            return sorted(n for n, s in self._segments.items() if passage_id in s.ids)

    def _current(self) -> _Merged:
        """The merged index, brought up to date with the directories as they are now."""
        with self._lock:
            generation = self._generation_now()
            if generation is None and self.directory.is_dir():
                # Indexes written before the file existed: mark them once (on a read-only
                # folder every search lists the folder instead, which is only slower).
                with contextlib.suppress(IndexStoreError):
                    self._changed()
                    generation = self._generation_now()
            if (
                self._merged is not None
                and generation
                and generation == self._generation
                and not self._unmerged
            ):
                return self._merged
            self._generation = generation
            stamps = {n: s for n in self._names() if (s := _stamp(self.directory / n))}
            changed = (
                self._merged is None or self._unmerged or set(stamps) != set(self._segments)
            )
            self._unmerged = False
            for name, stamp in stamps.items():
                segment = self._segments.get(name)
                if segment is not None and segment.stamp == stamp:
                    continue
                changed = True
                fresh = _read_segment(self.directory / name, stamp)
                if fresh is None:
                    self._segments.pop(name, None)
                else:
                    self._segments[name] = fresh
            for name in set(self._segments) - set(stamps):
                del self._segments[name]
            if changed or self._merged is None:
                self._merged = _merge(self._segments)
                log.debug("shelf index: %d articles merged", len(self._segments))
            return self._merged

    def dense(
        self,
        vectors: np.ndarray,
        k: int,
        articles: Collection[str] | None = None,
        level: Level = "paragraph",
    ) -> list[list[Match]]:
        merged = self._current()
        rows = merged.paragraphs if level == "paragraph" else merged.sentences
        queries = np.ascontiguousarray(vectors, dtype=np.float32)
        if rows.index.ntotal == 0 or queries.shape[1] != rows.vectors.shape[1]:
            return [[] for _ in queries]
        found = rows.search(queries, k, rows.selection(articles))
        out = []
        for query, ids in zip(queries, found, strict=True):
            sims = rows.vectors[ids] @ query if ids else np.empty(0, np.float32)
            out.append(
                [
                    Match(merged.names[rows.articles[i]], int(rows.positions[i]), float(sim))
                    for i, sim in zip(ids, sims, strict=True)
                ]
            )
        return out

    def lexical(
        self, query: str, k: int, articles: Collection[str] | None = None
    ) -> list[Match]:
        merged = self._current()
        known = [t for t in tokens(query) if t in merged.vocabulary]
        if merged.lexical is None or not known or k <= 0:
            return []
        scores = np.asarray(merged.lexical.get_scores(known), dtype=np.float64)
        rows = merged.paragraphs.selection(articles)
        if rows is not None:
            keep = np.zeros(len(scores), dtype=bool)
            keep[rows] = True
            scores = np.where(keep, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        rows_of = merged.paragraphs
        return [
            Match(merged.names[rows_of.articles[i]], int(rows_of.positions[i]), float(scores[i]))
            for i in top
            if scores[i] > 0
        ]

    def close(self) -> None:
        with self._lock:
            self._segments.clear()
            self._merged = None

