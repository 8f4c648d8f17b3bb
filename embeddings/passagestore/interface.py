"""What a passage store is: the one interface the shelf searches, whatever holds the passages.

A shelf of thousands of articles cannot be searched article by article, nor live in every
process's memory. So the passages, their vectors and each article's own data (calibration,
bridges, word vectors) sit behind :class:`PassageStore`, and a question is searched once over
the whole store. Two implementations keep the same contract (``embeddings.passagestore.testing``
holds the tests both pass): local files in the data directory by default
(:mod:`embeddings.passagestore.local`) and PostgreSQL with pgvector when ``DATABASE_URL`` is
set (:mod:`embeddings.passagestore.postgres`).

Only plain data crosses the interface: :class:`IndexedArticle` in and out, :class:`Match` from
a search. No FAISS index, connection or file handle leaks to the caller.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from embeddings.indexed import IndexedArticle, StoredArticle
from embeddings.passages import Passage

__all__ = ["IndexedArticle", "Level", "Match", "PassageStore", "StoredArticle"]

# What a dense search compares the question with: whole paragraphs, or their sentences.
Level = Literal["paragraph", "sentence"]


@dataclass(frozen=True)
class Match:
    """One passage found by a search. ``position`` is the passage's 1-based position in its
    article (for a sentence match, the position of the paragraph that holds the sentence)."""

    article: str
    position: int
    score: float  # dense: cosine; lexical: BM25 over the passages searched


class PassageStore(Protocol):
    """Articles in, passages out. Every method is safe to call from several threads, and
    several processes may write different articles into the same store at once."""

    def put(self, article: IndexedArticle) -> None:
        """Add ``article``, or replace the article of the same name whole."""
        ...

    def remove(self, name: str) -> bool:
        """Take the article off; False when there was none of that name."""
        ...

    def get(self, name: str) -> IndexedArticle | None:
        """Everything stored for the article, or None when there is none (or it is unreadable)."""
        ...

    def outline(self, name: str) -> tuple[StoredArticle, tuple[Passage, ...]] | None:
        """The article's summary and passages without its vectors: what a shelf listed from
        the store needs to name it and quote it (:mod:`bot.core.archive`)."""
        ...

    def articles(self) -> list[StoredArticle]:
        """Every stored article, by name."""
        ...

    def count(self) -> int:
        """How many articles the store holds."""
        ...

    def listing(self, offset: int, limit: int | None) -> list[StoredArticle]:
        """One page of :meth:`articles` (``limit`` None: to the end): a shelf listed from the
        store never holds the whole list."""
        ...

    def holders(self, passage_id: str) -> list[str]:
        """The articles holding a passage of this id, by name (ids are derived from the
        paragraph's text, so two articles quoting the same paragraph share one)."""
        ...

    def dense(
        self,
        vectors: np.ndarray,
        k: int,
        articles: Collection[str] | None = None,
        level: Level = "paragraph",
    ) -> list[list[Match]]:
        """Per query vector, the ``k`` closest paragraphs (or sentences) by cosine, best first,
        over every article or only over ``articles``."""
        ...

    def lexical(
        self, query: str, k: int, articles: Collection[str] | None = None
    ) -> list[Match]:
        """The ``k`` passages with the highest BM25 score for ``query``'s tokens, best first
        (none with a zero score), over every article or only ``articles``."""
        ...

    def close(self) -> None:
        """Release connections and files; the store is not used again."""
        ...
