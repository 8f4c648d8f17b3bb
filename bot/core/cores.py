"""The shelf's loaded article cores: at most ``size`` in memory, the least recently used dropped.

An article's core (its retriever: FAISS index, BM25, bridges, word vectors) costs memory, and
a shelf that kept one per article grew by megabytes an article. The shelf knows every article
from light records instead and asks here for a core only when a question needs one; a core
not in memory is built again from the passage store, which holds every article anyway.

Readers on several threads share one cache: a lookup holds the cache's lock for a moment,
never while a core is built, so an answer from a loaded core never waits for a build; builds
run one at a time, so two readers missing the same article wait for one build, not two.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the settings read DEFAULT_CORES before anything heavy is imported
    from bot.core.engine import ArticleBot

# Cores kept by default (``SHELF_CORES``): a question's shortlist names up to six articles,
# so this holds the shortlists of ten or more recent questions. README, "A shelf of
# articles", has what it costs and saves on the 376-article shelf.
DEFAULT_CORES = 64

# (shelf name, version): a re-read article is a new version, never confused with the old one.
Key = tuple[str, int]


@dataclass
class Cores:
    """A bounded least-recently-used cache of cores, safe to share between threads."""

    size: int = DEFAULT_CORES
    builds: int = 0  # cores built on a miss so far: what a bench or test reads
    _cores: OrderedDict[Key, ArticleBot] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _building: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"a shelf keeps at least one core in memory: got {self.size}")

    def __len__(self) -> int:
        return len(self._cores)

    def get(self, key: Key, build: Callable[[], ArticleBot]) -> ArticleBot:
        """The core of ``key``, built by ``build`` (and kept) when it is not in memory."""
        found = self._hit(key)
        if found is not None:
            return found
        with self._building:
            found = self._hit(key)  # built by another reader while this one waited
            if found is not None:
                return found
            core = build()
            self.builds += 1
            self.put(key, core)
            return core

    def put(self, key: Key, core: ArticleBot) -> None:
        """Keep ``core`` as the most recently used, dropping the least recently used past
        ``size`` (a reader still holding a dropped core finishes with it)."""
        with self._lock:
            self._cores[key] = core
            self._cores.move_to_end(key)
            while len(self._cores) > self.size:
                self._cores.popitem(last=False)

    def discard(self, name: str, keep: int | None = None) -> None:
        """Drop every version of ``name`` but ``keep``: replaced, or taken off the shelf."""
        with self._lock:
            for key in [k for k in self._cores if k[0] == name and k[1] != keep]:
                del self._cores[key]

    def _hit(self, key: Key) -> ArticleBot | None:
        with self._lock:
            core = self._cores.get(key)
            if core is not None:
                self._cores.move_to_end(key)
            return core
