"""The passage stores' own cost at scale, on synthetic passages (no encoder in the loop).

``python -m bot.tools.store_bench --passages 20000 [--database-url URL] [--data-dir DIR]``
fills a fresh store with articles of ten synthetic passages (seeded random unit vectors, two
sentences each, eight words of a 5,000-word vocabulary), then times what the shelf's
shortlist asks of it per question: the 100 closest paragraphs, the 100 closest sentences and
the best BM25 passage over the whole shelf, then the same limited to every article by name
(the shelf's filter). Prints write throughput, p50/p95 per question and this process's peak
RSS. Articles the store already holds are not written again: run it twice to time queries
alone. Quality is not measured here (random vectors mean nothing):
that is ``python -m bot bench --shelf-only`` on real articles.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.tools.measure import peak_rss_mb, percentiles_ms
from embeddings.bridges import BridgeTables
from embeddings.passages import Passage
from embeddings.passagestore.interface import IndexedArticle, PassageStore
from embeddings.passagestore.local import LocalStore
from embeddings.passagestore.postgres import PostgresStore
from embeddings.retrieval import CANDIDATES

DIMENSION = 384
PER_ARTICLE = 10
VOCABULARY = 5000


def _unit(rng: np.random.Generator, rows: int) -> np.ndarray:
    vectors = rng.standard_normal((rows, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def synthetic_article(number: int) -> IndexedArticle:
    rng = np.random.default_rng(number)
    passages = []
    for position in range(1, PER_ARTICLE + 1):
        words = [f"w{i}" for i in rng.integers(0, VOCABULARY, 8)]
        text = " ".join(words[:4]) + ". " + " ".join(words[4:]) + "."
        half = text.index(". ") + 1
        passages.append(
            Passage(
                f"a{number}-p{position}", text, position, None, None, None,
                ((0, half), (half + 1, len(text))),
            )
        )  # fmt: skip
    return IndexedArticle(
        f"a{number:07d}",
        f"{number:064x}",
        "synthetic",
        tuple(passages),
        _unit(rng, PER_ARTICLE),
        _unit(rng, 2 * PER_ARTICLE),
        BridgeTables((), {}, tuple(() for _ in passages)),
        np.empty((0, DIMENSION), np.float32),
        {},
    )


def _timed(store: PassageStore, questions: int, articles: list[str] | None) -> list[float]:
    """Seconds per question for what the shortlist asks (``articles``: the shelf's filter)."""
    rng = np.random.default_rng(10**9)
    times = []
    for _ in range(questions):
        vector = _unit(rng, 1)
        words = " ".join(f"w{i}" for i in rng.integers(0, VOCABULARY, 5))
        began = time.perf_counter()
        store.dense(vector, CANDIDATES, articles)
        store.dense(vector, CANDIDATES, articles, level="sentence")
        store.lexical(words, 1, articles)
        times.append(time.perf_counter() - began)
    return times


def run(store: PassageStore, passages: int, questions: int) -> dict[str, float]:
    """Write the articles the store does not hold yet (a rerun only queries), then time."""
    articles = passages // PER_ARTICLE
    held = {a.name for a in store.articles()}
    start = time.perf_counter()
    written = 0
    for number in range(articles):
        article = synthetic_article(number)
        if article.name in held:
            continue
        store.put(article)
        written += 1
        if written % 1000 == 0:
            print(f"  {written * PER_ARTICLE} passages written", flush=True)
    seconds = time.perf_counter() - start
    times = _timed(store, questions, None)
    names = [synthetic_article(n).name for n in range(articles)]
    filtered = percentiles_ms(_timed(store, questions, names), ndigits=1)
    shelf_wide = percentiles_ms(times[1:] or times, ndigits=1)  # the first builds the index
    return {
        "passages": articles * PER_ARTICLE,
        "written_passages": written * PER_ARTICLE,
        "write_s": round(seconds, 1),
        "passages_per_s": round(written * PER_ARTICLE / seconds, 1) if written else 0.0,
        "first_question_ms": round(times[0] * 1000, 1),
        "p50_ms": shelf_wide["p50_ms"],
        "p95_ms": shelf_wide["p95_ms"],
        "filtered_p50_ms": filtered["p50_ms"],
        "filtered_p95_ms": filtered["p95_ms"],
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (with pgvector)")
    parser.add_argument("--data-dir", type=Path, help="for the local store (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        store: PassageStore = (
            PostgresStore(args.database_url)
            if args.database_url
            else LocalStore((args.data_dir or Path(scratch)) / "indexes")
        )
        try:
            print(run(store, args.passages, args.questions))
        finally:
            store.close()


if __name__ == "__main__":
    main()
