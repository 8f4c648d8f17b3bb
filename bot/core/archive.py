"""A shelf that is its passage store: every article the store holds, and nothing held for it.

A newsroom's archive is hundreds of thousands of articles in one database that several bots
read and indexers write (``python -m bot ingest``). A bot serving it cannot read a file per
article at its start nor keep a record per article in memory: the archive asks the store for
what it needs when it needs it — a page of the listing for ``/articles``, the number of
articles, the articles holding a passage a button names — and keeps only the records of the
articles in use (a bounded cache; their cores live in :mod:`bot.core.cores`). An article's
record is rebuilt from its stored passages (:func:`embeddings.passages.article_of`), so a bot
needs neither the article's file nor its index on local disk. ``SHELF=store`` selects it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from bot.core.shelf import ShelfEntry, Shelved
from embeddings.passages import article_of
from embeddings.passagestore.interface import PassageStore

# Records kept: an article in use needs its record for its title, paragraphs and core key.
RECORDS = 256
# Names read per query when the whole listing is walked (tools; never a reader's question).
PAGE = 1_000


class Archive:
    """The :class:`bot.core.shelf.Catalog` of a shelf that is ``store``: ordered by name."""

    def __init__(self, store: PassageStore, records: int = RECORDS) -> None:
        self.store = store
        self._records: OrderedDict[str, Shelved] = OrderedDict()
        self._capacity = records
        self._lock = threading.Lock()

    def get(self, name: str) -> Shelved | None:
        """The article's record, read from the store if it is not among the recent ones."""
        with self._lock:
            item = self._records.get(name)
            if item is not None:
                self._records.move_to_end(name)
                return item
        found = self.store.outline(name)  # outside the lock: other readers go on meanwhile
        if found is None:
            return None
        summary, passages = found
        article = article_of(passages, summary.title or name, summary.content_hash, summary.date)
        item = Shelved(article, None, ())
        with self._lock:
            item = self._records.setdefault(name, item)  # a racing reader's, if it won
            self._records.move_to_end(name)
            while len(self._records) > self._capacity:
                self._records.popitem(last=False)
        return item

    def __getitem__(self, name: str) -> Shelved:
        item = self.get(name)
        if item is None:
            raise KeyError(name)
        return item

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __len__(self) -> int:
        return self.store.count()

    def larger_than(self, count: int) -> bool:
        return bool(self.store.listing(count, 1))  # an index scan of count + 1 names

    def __iter__(self) -> Iterator[str]:
        start = 0
        while page := self.store.listing(start, PAGE):
            yield from (a.name for a in page)
            start += len(page)

    def page(self, start: int, count: int | None) -> list[ShelfEntry]:
        start = max(start, 0)
        return [
            ShelfEntry(n, a.name, a.title or a.name, a.date, a.passages)
            for n, a in enumerate(self.store.listing(start, count), start=start + 1)
        ]

    def holders(self, passage_id: str) -> list[str]:
        return self.store.holders(passage_id)

    def on_shelf(self, names: Iterable[str]) -> set[str]:
        """Every article a search of the store found is on this shelf."""
        return set(names)

    def held(self) -> int:
        return 0  # records hold no cores: every core is in the shelf's bounded cache

    def forget(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._records.clear()
            else:
                self._records.pop(name, None)
