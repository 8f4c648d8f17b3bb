"""A shelf of articles: many :class:`ArticleBot` cores behind one question box.

Each article keeps its own index (its passages, BM25, calibration), so nothing about
one article leaks into another's ranking or refusal rule. All of them share one
loaded encoder: the model is loaded once, and its query cache means a question is
encoded once however many articles are searched for it.

Fused scores are min-max normalised per article, so they cannot say which article
answers best. Across the shelf an answer is chosen by what *is* comparable: an
answer beats a refusal, then the higher dense (cosine) similarity of the best
quote wins. Before the full search, articles are shortlisted by one search of the
whole shelf in its passage store (:mod:`embeddings.passagestore`: every article's
passages in one index, local files or PostgreSQL), so a large shelf costs little more
than a small one (``python -m bot bench`` measures it).

Memory does not grow with the shelf either: the shelf knows every article from a light
record (its text, title, paragraphs), and an article's core is built from the store only
when a question, a reader's choice or a shown passage needs it, then kept in a bounded
cache (:mod:`bot.core.cores`) while it is used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import count
from pathlib import Path
from typing import Protocol

from bot.core.answer import Answer, Quote
from bot.core.cores import DEFAULT_CORES, Cores
from bot.core.engine import ArticleBot, unsearched
from bot.core.followup import Turn
from bot.core.question import Question
from bot.core.shortlist import shortlists
from corpus.ingest import (
    MAX_ARTICLE_BYTES,  # noqa: F401  (the adapters check it before a download)
    ArticleError,
)
from corpus.model import Article
from corpus.reading import short_path
from embeddings.encoder import Encoder
from embeddings.errors import EmbeddingError, IndexStoreError
from embeddings.passages import Passage
from embeddings.passagestore.interface import PassageStore

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
# How many articles, by their best passage's dense score, get the full search. On the
# 376-article shelf of every CMRC and XQuAD context (README, "A shelf of articles") eight
# hold the right one for 98.0% of questions (five: 96.4%; most misses are English questions).
SHORTLIST = 8

# Ingests and indexes one file under a shelf name, reading it only if it really lies in
# the folder given (None: anywhere); raises on a file it cannot use.
Loader = Callable[[Path, str, Path | None], ArticleBot]
# Builds an article's core again from its stored index (never indexing it: another process
# may have stored a newer version); raises when the store has no current index of it.
Opener = Callable[[Article, str], ArticleBot]
_versions = count(1)


class ShelfError(Exception):
    """A file cannot go on the shelf, or a name is not on it; the message says which.

    ``kind`` lets an adapter word the refusal in the reader's language: ``unknown_name``,
    ``not_article`` (not .txt/.md), ``no_files`` (a ready-made shelf), ``unreadable``
    (cannot be read or indexed), or the :class:`ArticleError` kind that refused the file
    (``too_large``, ``outside``, ``utf16``, ``gbk``, ``title_too_long``, …).
    """

    def __init__(self, message: str, kind: str = "unreadable") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ShelfEntry:
    """One line of ``/articles``."""

    number: int  # 1-based, stable while the shelf runs: ``/use N``
    name: str
    title: str
    date: str | None
    paragraphs: int


@dataclass(frozen=True)
class Reloaded:
    """What :meth:`Shelf.reload` changed, for the admin who asked."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (file, why): each left as it was


@dataclass(frozen=True)
class Shelved:
    """What the shelf keeps of an article without its core."""

    article: Article
    path: Path | None  # None: handed over ready-made (:meth:`Shelf.of`), never re-read
    stamp: tuple[int, ...]  # size and mtime of the file and its sidecar: unchanged → skip
    # Held for good when it cannot be built again (ready-made, or a shelf without an opener).
    core: ArticleBot | None = None
    version: int = field(default_factory=lambda: next(_versions))  # the cache's key

    @cached_property
    def ids(self) -> frozenset[str]:
        """Its passages' ids (a passage is a paragraph): :meth:`Shelf.find` without a core."""
        return frozenset(p.id for p in self.article.paragraphs())

    @cached_property
    def paragraphs(self) -> int:
        return sum(1 for _ in self.article.paragraphs())


class Catalog(Protocol):
    """The articles a shelf holds, by name: a dict of records for a shelf of files
    (:class:`Records`), or the passage store's own listing for a shelf that is the store
    (:class:`bot.core.archive.Archive`), where no record is held unless it is in use."""

    def __getitem__(self, name: str) -> Shelved: ...

    def get(self, name: str) -> Shelved | None: ...

    def __contains__(self, name: object) -> bool: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[str]: ...

    def larger_than(self, count: int) -> bool:
        """More than ``count`` articles? (Asked at every question: no count of an archive.)"""
        ...

    def page(self, start: int, count: int | None) -> list[ShelfEntry]:
        """Entries ``start`` (0-based) to ``start + count`` in the shelf's order."""
        ...

    def holders(self, passage_id: str) -> list[str]:
        """The articles holding a passage of this id."""
        ...

    def on_shelf(self, names: Iterable[str]) -> set[str]:
        """Those of ``names`` that are on the shelf (a search found them in the store)."""
        ...

    def held(self) -> int:
        """Cores held by records for good (ready-made ones), not by the bounded cache."""
        ...

    def forget(self, name: str | None = None) -> None:
        """Read ``name``'s record (None: every one) again when next asked for."""
        ...


class Records(dict[str, Shelved]):
    """A shelf of files: a record per article, in the shelf's order. Replaced whole on every
    change (never changed in place), so a reader's reference is a snapshot."""

    def page(self, start: int, count: int | None) -> list[ShelfEntry]:
        start = max(start, 0)
        names = list(self)[start : None if count is None else start + count]
        return [
            ShelfEntry(n, name, self[name].article.title, self[name].article.date,
                       self[name].paragraphs)
            for n, name in enumerate(names, start=start + 1)
        ]  # fmt: skip

    def holders(self, passage_id: str) -> list[str]:
        return [name for name, item in self.items() if passage_id in item.ids]

    def larger_than(self, count: int) -> bool:
        return len(self) > count

    def on_shelf(self, names: Iterable[str]) -> set[str]:
        return {name for name in names if name in self}

    def held(self) -> int:
        return sum(item.core is not None for item in self.values())

    def forget(self, name: str | None = None) -> None:
        """Nothing to forget: a shelf of files reads them again in :meth:`Shelf.reload`."""

    def reread(
        self,
        sources: list[Path],
        shelved: Callable[[Path, str, tuple[int, ...]], Shelved],
        where: str,
    ) -> tuple[Records, Reloaded]:
        """The records after reading ``sources`` again (:meth:`Shelf.reload`), and what
        changed: an unchanged file keeps its record, a changed one is indexed again by
        ``shelved``, a vanished one leaves, and one that fails keeps its previous version.
        Records that would leave no article at all are kept as they were (``where`` names
        the folder in the report)."""
        kept = {n: item for n, item in self.items() if item.path is None}
        added: list[str] = []
        updated: list[str] = []
        failed: list[tuple[str, str]] = []
        for path in sources:
            name = _name_for(self, path, taken=kept)
            old = self.get(name)
            stamp = _stamp(path)
            if old is not None and old.stamp == stamp:
                kept[name] = old
                continue
            try:
                kept[name] = shelved(path, name, stamp)
            except ShelfError as exc:
                log.error("%s", exc)
                failed.append((str(path), str(exc)))
                if old is not None:
                    kept[name] = old
                continue
            (updated if old is not None else added).append(name)
        if not kept and self:
            # Every question needs an article: an emptied directory is a mistake to report,
            # not a shelf to serve.
            why = "no article left: the shelf is kept as it was"
            return self, Reloaded(failed=(*failed, (where, why)))
        # Stable numbering: articles already shelved keep their order, new ones follow.
        order = [n for n in self if n in kept] + [n for n in kept if n not in self]
        removed = tuple(n for n in self if n not in kept)
        return Records({n: kept[n] for n in order}), Reloaded(
            tuple(added), tuple(updated), removed, tuple(failed)
        )


def _stamp(path: Path) -> tuple[int, ...]:
    out: list[int] = []
    for file in (path, path.with_suffix(".toml")):
        try:
            stat = file.stat()
        except OSError:
            out += [-1, -1]
        else:
            out += [stat.st_size, stat.st_mtime_ns]
    return tuple(out)


@dataclass
class Shelf:
    """Named articles in a stable order; answers name the article they quote.

    ``directory`` (``ARTICLES_DIR``) is scanned for ``.txt``/``.md`` files at every
    :meth:`reload`; ``pinned`` files (``--article``, and anything :meth:`add`-ed) are
    always on the shelf. Readers see a snapshot: adding or reloading builds the new
    article aside and swaps it in, so questions keep being answered meanwhile. With
    ``open``, at most ``cores`` articles' cores stay in memory (the rest are built again
    from the store when needed); without, every core is kept.
    """

    load: Loader | None = None  # None: a shelf of ready-made articles only
    directory: Path | None = None
    pinned: list[Path] = field(default_factory=list)
    shortlist: int = SHORTLIST
    # Where the shelf's passages are searched as one; None: ready-made cores, searched each.
    store: PassageStore | None = None
    # Builds an evicted core again from the store; None: every core is kept in memory.
    open: Opener | None = None
    cores: int = DEFAULT_CORES  # cores kept in memory at most (with ``open``)
    encoder: Encoder | None = None  # the one every core shares (None: a core's own)
    # The articles: records of files (the default), or the store's listing (an archive).
    catalog: Catalog = field(default_factory=Records)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cache: Cores = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._cache = Cores(self.cores)

    @classmethod
    def of(cls, bot: ArticleBot, name: str = "article") -> Shelf:
        """A shelf of one ready-made article: adapters and tests handed a single core."""
        shelf = cls()
        shelf.catalog = Records({name: Shelved(bot.article, None, (), bot)})
        return shelf

    # Reading the shelf.

    @property
    def archive(self) -> bool:
        """Is the shelf the passage store's whole listing (no files are read)?"""
        return not isinstance(self.catalog, Records)

    def names(self) -> list[str]:
        return list(self.catalog)

    def __len__(self) -> int:
        return len(self.catalog)

    def __contains__(self, name: object) -> bool:
        return name in self.catalog

    def article(self, name: str) -> Article | None:
        """The article of ``name`` without its core: titles, dates, listings."""
        item = self.catalog.get(name)
        return item.article if item else None

    def get(self, name: str) -> ArticleBot | None:
        """The article's core, built from the store if it is not in memory."""
        item = self.catalog.get(name)
        return self._core(name, item) if item else None

    def loaded(self) -> tuple[int, int]:
        """(cores in memory now, ready-made ones included; cores built again since the start)."""
        return len(self._cache) + self.catalog.held(), self._cache.builds

    def by_number(self, number: int) -> str | None:
        """The name at 1-based position ``number`` of :meth:`entries`, as ``/use N`` reads it."""
        found = self.catalog.page(number - 1, 1) if number >= 1 else []
        return found[0].name if found else None

    def first(self) -> tuple[str, ArticleBot]:
        name = self.catalog.page(0, 1)[0].name
        return name, self._core(name, self.catalog[name])

    def entries(self, start: int = 0, count: int | None = None) -> list[ShelfEntry]:
        """``/articles``: entries ``start`` to ``start + count`` (None: to the end)."""
        return self.catalog.page(start, count)

    # Asking.

    def ask(
        self,
        question: str,
        k: int = 3,
        previous: Turn | None = None,
        article: str | None = None,
    ) -> Answer:
        """The answer from ``article`` (a name), or from the best article when None."""
        return self.ask_many([question], k, [previous], [article])[0]

    def ask_many(
        self,
        questions: list[str],
        k: int = 3,
        previous: list[Turn | None] | None = None,
        articles: list[str | None] | None = None,
    ) -> list[Answer]:
        """:meth:`ArticleBot.ask_many` over the shelf: ``articles`` names one per question.

        A question with a name is answered by that article alone; one without is
        searched across the shelf. Questions bound for the same article share one call.
        """
        items = self.catalog  # one snapshot for the whole batch: replaced, never changed
        previous = previous or [None] * len(questions)
        articles = articles or [None] * len(questions)
        analysed = [Question.of(q, turn) for q, turn in zip(questions, previous, strict=True)]
        plan: dict[str, list[int]] = {}
        for i, chosen in enumerate(articles):
            if chosen is not None and chosen not in items:
                raise ShelfError(f"no article named {chosen!r} on the shelf", "unknown_name")
            if chosen is not None:
                plan.setdefault(chosen, []).append(i)
        # A greeting, an empty or an overlong question asks nothing of any article: the
        # shelf answers it without a search and without building a core.
        early = {
            i: Answer(analysed[i].raw, kind, source=_spoken_of(items, None, previous[i]))
            for i, chosen in enumerate(articles)
            if chosen is None and (kind := unsearched(analysed[i])) is not None
        }
        open_questions = [
            i for i, chosen in enumerate(articles) if chosen is None and i not in early
        ]
        texts = [analysed[i].searched for i in open_questions]
        found = (  # one search of the whole store names the articles worth a full search
            shortlists(self.store, self._encoder(items), items, texts, self.shortlist)
            if texts
            else []
        )
        for i, names in zip(open_questions, found, strict=True):
            analysed[i] = replace(analysed[i], across=len(names))
            for name in names:
                plan.setdefault(name, []).append(i)
        candidates = _gathered(plan, items, analysed, articles, k=k, core_of=self._core)
        best = [early.get(i) or max(found, key=_preference) for i, found in enumerate(candidates)]
        best = _asked_of_chosen(best, analysed, items, k=k, core_of=self._core)
        return [
            answer
            if answer.quotes or answer.closest
            else replace(answer, source=_spoken_of(items, articles[i], previous[i]))
            for i, answer in enumerate(best)
        ]

    def find(self, passage_id: str) -> tuple[str, ArticleBot, Passage] | None:
        """The passage with this id, on whichever article holds it."""
        items = self.catalog
        for name in items.holders(passage_id):
            item = items.get(name)
            if item is None:
                continue
            core = self._core(name, item)
            passage = core.passage_by_id(passage_id)
            if passage is not None:
                return name, core, passage
        return None

    def show(self, name: str, passage: Passage, simplified: bool) -> Quote:
        """:meth:`ArticleBot.show`, naming the article: for walking to another paragraph."""
        bot = self.get(name)
        if bot is None:
            raise ShelfError(f"no article named {name!r} on the shelf", "unknown_name")
        title = bot.article.title if self.catalog.larger_than(1) else None
        return replace(bot.show(passage, simplified), article=name, article_title=title)

    # Changing the shelf.

    def add(self, path: Path) -> str:
        """Ingest and index ``path`` and put it on the shelf under the returned name.

        A file already on the shelf is re-read (its name kept). A file that cannot be
        used raises :class:`ShelfError` and the shelf is left exactly as it was.
        """
        with self._lock:
            records = self.catalog
            if not isinstance(records, Records):
                return self._stored(path)
            name = _name_for(records, path)
            item = self._shelved(path, name)
            self.catalog = Records({**records, name: item})
            self._cache.discard(name, keep=item.version)  # the version replaced, if any
            if not any(_same(path, p) for p in self.pinned):
                self.pinned.append(path)
        log.info("on the shelf: %s (%s)", name, item.article.title)
        return name

    def reload(self) -> Reloaded:
        """Re-read the pinned files and the directory: new files join, changed ones are
        re-indexed, vanished ones leave. A file that fails is reported and keeps its place
        (its previous version, if it had one). A reload that would leave no article at all
        changes nothing.
        """
        with self._lock:
            records = self.catalog
            if not isinstance(records, Records):
                # The store is the shelf: what other processes wrote is read again as asked.
                records.forget()
                return Reloaded()
            where = str(self.directory or "the shelf")
            sources = _sources(self.pinned, self.directory)
            fresh, changes = records.reread(sources, self._shelved, where)
            self.catalog = fresh
            for name, item in fresh.items():
                self._cache.discard(name, keep=item.version)
            for name in changes.removed:
                self._cache.discard(name)
        return changes

    def _stored(self, path: Path) -> str:
        """:meth:`add` on a shelf that is the store: indexed into it, read back as listed."""
        name = path.stem
        core = _loaded(self.load, path, name, _folder_of(self.directory, path))
        self.catalog.forget(name)
        item = self.catalog.get(name)
        if item is None:  # removed again by another process meanwhile
            raise ShelfError(f"{name} is not in the store", "unreadable")
        self._cache.put((name, item.version), core)
        log.info("in the store: %s (%s)", name, core.article.title)
        return name

    def _shelved(self, path: Path, name: str, stamp: tuple[int, ...] | None = None) -> Shelved:
        """The file ingested and indexed, as a record; its core is cached (or, without an
        opener, held by the record). The version it replaces leaves the cache once swapped."""
        core = _loaded(self.load, path, name, _folder_of(self.directory, path))
        if self.open is None:
            return Shelved(core.article, path, stamp or _stamp(path), core)
        item = Shelved(core.article, path, stamp or _stamp(path))
        self._cache.put((name, item.version), core)
        return item

    def _core(self, name: str, item: Shelved) -> ArticleBot:
        """The record's core: held, in the cache, or built again from the store."""
        if item.core is not None:
            return item.core
        newer = self.catalog.get(name)
        if newer is not None and newer.version > item.version:
            item = newer  # replaced since the reader's snapshot: the store holds the new one
        return self._cache.get(
            (name, item.version), lambda: _reopened(self.open, name, item.article)
        )

    def _encoder(self, items: Catalog) -> Encoder:
        """The encoder every article of the shelf shares."""
        if self.encoder is not None:
            return self.encoder
        name = items.page(0, 1)[0].name
        return self._core(name, items[name]).retriever.encoder


def _gathered(
    plan: dict[str, list[int]],
    items: Catalog,
    analysed: list[Question],
    chosen: list[str | None],
    *,
    k: int,
    core_of: Callable[[str, Shelved], ArticleBot],
) -> list[list[Answer]]:
    """Per question, the answers of the articles ``plan`` sends it to, one core in hand at
    a time (the cache stays bounded). An article whose core cannot be built is left out of
    an open question's search (the others still answer); a chosen one raises."""
    candidates: list[list[Answer]] = [[] for _ in analysed]
    several = items.larger_than(1)
    failed: ShelfError | None = None
    for name, rows in plan.items():
        try:
            core = core_of(name, items[name])
        except ShelfError as exc:
            if any(chosen[i] == name for i in rows):
                raise
            log.warning("%s: left out of the search", exc)
            failed = exc
            continue
        answers = core.answer_many([analysed[i] for i in rows], k)
        title = items[name].article.title if several else None
        for i, answer in zip(rows, answers, strict=True):
            candidates[i].append(_stamped(answer, name, title))
    planned = {i for rows in plan.values() for i in rows}
    if failed is not None and any(not candidates[i] for i in planned):
        raise failed
    return candidates


def _asked_of_chosen(
    best: list[Answer],
    analysed: list[Question],
    items: Catalog,
    *,
    k: int,
    core_of: Callable[[str, Shelved], ArticleBot],
) -> list[Answer]:
    """An English question searched in several articles, asked again of the article chosen
    with its unsure ranking decided by its expansion with that article's words
    (:meth:`ArticleBot.answer_many`): the reply is what that article alone would give, for
    one more search instead of one in every article searched."""
    again: dict[str, list[int]] = {}
    for i, answer in enumerate(best):
        shown = answer.quotes[0] if answer.quotes else answer.closest
        if analysed[i].across > 1 and analysed[i].cross and shown and shown.article:
            again.setdefault(shown.article, []).append(i)
    out = list(best)
    for name, rows in again.items():
        try:
            core = core_of(name, items[name])
        except ShelfError:  # gone since it answered: its first answer stands
            continue
        title = items[name].article.title if items.larger_than(1) else None
        answers = core.answer_many([analysed[i] for i in rows], k, expand=True)
        for i, answer in zip(rows, answers, strict=True):
            out[i] = _stamped(answer, name, title)
    return out


def _spoken_of(items: Catalog, chosen: str | None, previous: Turn | None) -> Article:
    """The article a reply that quotes nothing speaks of: the chosen one, else the one
    the conversation last quoted, else the first on the shelf (from records: no core)."""
    if chosen is not None:
        return items[chosen].article
    passage_id = previous.passage_ids[0] if previous and previous.passage_ids else None
    holders = items.holders(passage_id) if passage_id else []
    name = holders[0] if holders else items.page(0, 1)[0].name
    return items[name].article


def _sources(pinned: list[Path], directory: Path | None) -> list[Path]:
    """The pinned files, then the directory's articles not among them."""
    found = list(pinned)
    if directory is not None:
        try:
            listed = sorted(directory.iterdir())
        except OSError as exc:
            raise ShelfError(f"cannot read the articles directory {directory}: {exc}") from exc
        articles = [p for p in listed if p.suffix.lower() in SUFFIXES and _is_file(p)]
        found += [p for p in articles if not any(_same(p, q) for q in found)]
    return found


def _folder_of(directory: Path | None, path: Path) -> Path | None:
    """The folder ``path`` must really lie in: the shelf's, for a file listed from it."""
    if directory is not None and path.parent == directory:
        return directory
    return None


def _name_for(
    items: dict[str, Shelved], path: Path, taken: dict[str, Shelved] | None = None
) -> str:
    """The file's stem; a second file with the same stem gets ``stem-2`` and so on."""
    for name, item in items.items():
        if item.path is not None and _same(item.path, path):
            return name
    taken_names = set(items) | set(taken or {})
    name, n = path.stem, 1
    while name in taken_names:
        n += 1
        name = f"{path.stem}-{n}"
    return name


def _loaded(load: Loader | None, path: Path, name: str, folder: Path | None) -> ArticleBot:
    """``load``'s core for the file, its refusals as :class:`ShelfError`."""
    if load is None:
        raise ShelfError("this shelf holds ready-made articles and reads no files", "no_files")
    if path.suffix.lower() not in SUFFIXES:
        raise ShelfError(f"{path.name}: an article must be a .txt or .md file", "not_article")
    shown = short_path(path.name, 80)
    try:
        return load(path, name, folder)
    except ArticleError as exc:
        raise ShelfError(f"{shown} cannot go on the shelf: {exc}", exc.kind) from exc
    except (EmbeddingError, IndexStoreError, OSError) as exc:
        raise ShelfError(f"{shown} cannot go on the shelf: {exc}") from exc


def _reopened(open_: Opener | None, name: str, article: Article) -> ArticleBot:
    """An evicted core built again from the store, its failure as :class:`ShelfError`."""
    if open_ is None:
        raise ShelfError(f"{name}: this shelf cannot build a core again", "unreadable")
    try:
        return open_(article, name)
    except (EmbeddingError, IndexStoreError, OSError) as exc:
        raise ShelfError(f"{name} cannot be searched: {exc}") from exc


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _is_file(path: Path) -> bool:
    """A file (or a link to one): what it links to is judged when it is read."""
    try:
        return path.is_file()
    except OSError:  # a name too long, a link loop: not a file the shelf can use
        return False


def _stamped(answer: Answer, name: str, title: str | None) -> Answer:
    def stamp(quote: Quote) -> Quote:
        return replace(quote, article=name, article_title=title)

    return replace(
        answer,
        quotes=tuple(stamp(q) for q in answer.quotes),
        closest=stamp(answer.closest) if answer.closest else None,
    )


def _preference(answer: Answer) -> tuple[float, float]:
    """Comparable across articles: the article that fits the question best
    (bot/core/choice.py), then the closer best quote. Its verdict is the shelf's: when the
    article that fits best declines, another article's answer would be a neighbour's."""
    shown = answer.quotes[0] if answer.quotes else answer.closest
    return answer.fit, shown.similarity if shown else 0.0
