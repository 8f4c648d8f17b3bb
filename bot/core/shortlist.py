"""Which articles of a shelf are worth a full search for a question: one search of the store.

Searching every article of a large shelf costs a question seconds; the passage store holds
the whole shelf and answers one search for all of it, and only the articles it names (and
the article of the best BM25 passage) are then searched in full by their own retrievers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Protocol

from embeddings.encoder import Encoder
from embeddings.errors import IndexStoreError
from embeddings.passagestore.interface import Match, PassageStore
from embeddings.retrieval import CANDIDATES

log = logging.getLogger(__name__)

# BM25 passages asked of the store for the shortlist's lexical pick (the first on the shelf).
LEXICAL_CANDIDATES = 10


class Shelved(Protocol):
    """The shelf's articles as the shortlist needs them (:class:`bot.core.shelf.Catalog`)."""

    def larger_than(self, count: int) -> bool: ...

    def __iter__(self) -> Iterator[str]: ...

    def on_shelf(self, names: Iterable[str]) -> set[str]: ...


def shortlists(
    store: PassageStore | None, encoder: Encoder, shelf: Shelved, texts: list[str], count: int
) -> list[list[str]]:
    """Per question, the articles worth a full search, from one search of the whole shelf.

    The store's closest paragraphs and sentences give each article the retriever's own
    dense score of its best passage (paragraph and best sentence averaged; a passage the
    search did not reach counts as the lowest it found), the closest articles are kept,
    and the article of the best BM25 passage joins them: an exact name or number is what
    dense vectors blur. The texts encoded here are the ones each article will search for,
    so the articles' own searches find them in the encoder's query cache. ``shelf`` holds
    the articles, ``count`` is how many the dense search keeps.
    """
    if store is None or not shelf.larger_than(count):
        return [list(shelf) for _ in texts]
    vectors = encoder.encode_queries(texts)
    try:
        # Unfiltered, then kept to the shelf: a store may hold articles no longer on it (an
        # index left by a removed file), and naming thousands of articles in a database
        # query cost 0.6 s where the plain search took 0.1 (bot/tools/store_bench.py).
        paragraphs = store.dense(vectors, CANDIDATES)
        sentences = store.dense(vectors, CANDIDATES, level="sentence")
        worded = [store.lexical(text, LEXICAL_CANDIDATES) for text in texts]
    except IndexStoreError as exc:
        # Every article's own index is in memory: slower, but the reader gets an answer.
        log.warning("the passage store cannot be searched (%s): searching every article", exc)
        return [list(shelf) for _ in texts]
    out = []
    for found, said, lexical in zip(paragraphs, sentences, worded, strict=True):
        on_shelf = shelf.on_shelf({m.article for m in (*found, *said, *lexical)})
        chosen = _closest_articles(
            [m for m in found if m.article in on_shelf],
            [m for m in said if m.article in on_shelf],
            count,
        )
        pick = next((m.article for m in lexical if m.article in on_shelf), None)
        if pick is not None and pick not in chosen:
            chosen.append(pick)
        out.append(chosen or list(islice(shelf, count)))
    return out


def _closest_articles(paragraphs: list[Match], sentences: list[Match], count: int) -> list[str]:
    """The ``count`` articles whose best passage scores highest, as the retriever scores it."""
    if not paragraphs and not sentences:
        return []
    floor_p = min((m.score for m in paragraphs), default=0.0)
    floor_s = min((m.score for m in sentences), default=0.0)
    best_sentence: dict[tuple[str, int], float] = {}
    for m in sentences:
        key = (m.article, m.position)
        best_sentence[key] = max(best_sentence.get(key, m.score), m.score)
    paragraph = {(m.article, m.position): m.score for m in paragraphs}
    best: dict[str, float] = {}
    for key in paragraph.keys() | best_sentence.keys():
        score = (paragraph.get(key, floor_p) + best_sentence.get(key, floor_s)) / 2
        best[key[0]] = max(best.get(key[0], score), score)
    return sorted(best, key=lambda name: (-best[name], name))[:count]
