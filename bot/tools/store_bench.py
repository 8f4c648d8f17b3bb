"""The passage stores' own cost at scale, on synthetic passages (no encoder in the loop).

``python -m bot.tools.store_bench --passages 20000 [--database-url URL] [--data-dir DIR]``
fills a fresh store with articles of ten synthetic passages (seeded random unit vectors, two
sentences each, eight words of a 5,000-word vocabulary), then times what the shelf's
shortlist asks of it per question: the 100 closest paragraphs, the 100 closest sentences and
the best BM25 passage over the whole shelf, then the same limited to ``--filter`` articles by
name (10, spread over the shelf). PostgreSQL is filled through its bulk load
(:meth:`PostgresStore.put_many`: binary COPY, the HNSW indexes built after the rows, in
``--build-memory``). Prints write throughput, index build time, p50/p95 per question and this
process's peak RSS. Articles the store already holds are not written again; with
``--queries-only`` nothing is listed or written, so the peak RSS is that of a process that
only asks questions of a store that size. Quality is not measured here (random vectors mean
nothing): that is ``python -m bot bench --shelf-only`` on real articles.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

from bot.tools.measure import peak_rss_mb, percentiles_ms
from embeddings.bridges import BridgeTables
from embeddings.passages import Passage
from embeddings.passagestore.interface import IndexedArticle, PassageStore
from embeddings.passagestore.local import LocalStore
from embeddings.passagestore.postgres import BUILD_MEMORY, PostgresStore
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
        _name(number),
        f"{number:064x}",
        "synthetic",
        tuple(passages),
        _unit(rng, PER_ARTICLE),
        _unit(rng, 2 * PER_ARTICLE),
        BridgeTables((), {}, tuple(() for _ in passages)),
        np.empty((0, DIMENSION), np.float32),
        {},
    )


PARTS = ("paragraphs", "sentences", "bm25")


def _timed(
    store: PassageStore, questions: int, articles: list[str] | None
) -> dict[str, list[float]]:
    """Seconds per question for what the shortlist asks (``articles``: the shelf's filter),
    in total and per part (the 100 closest paragraphs, sentences, the best BM25 passage)."""
    rng = np.random.default_rng(10**9)
    times: dict[str, list[float]] = {part: [] for part in ("total", *PARTS)}
    for _ in range(questions):
        vector = _unit(rng, 1)
        words = " ".join(f"w{i}" for i in rng.integers(0, VOCABULARY, 5))
        marks = [time.perf_counter()]
        store.dense(vector, CANDIDATES, articles)
        marks.append(time.perf_counter())
        store.dense(vector, CANDIDATES, articles, level="sentence")
        marks.append(time.perf_counter())
        store.lexical(words, 1, articles)
        marks.append(time.perf_counter())
        times["total"].append(marks[-1] - marks[0])
        for part, (began, ended) in zip(PARTS, pairwise(marks), strict=True):
            times[part].append(ended - began)
    return times


def _name(number: int) -> str:
    return f"a{number:07d}"


def _write(store: PassageStore, articles: int, build_memory: str) -> tuple[int, float | None]:
    """Write the articles the store does not hold yet: (articles written, seconds spent
    building indexes). PostgreSQL takes them through its bulk load (binary COPY, the HNSW
    indexes built after the rows), the local store one by one."""
    held = {a.name for a in store.articles()}
    missing = (synthetic_article(n) for n in range(articles) if _name(n) not in held)
    if isinstance(store, PostgresStore):
        load = store.put_many(missing, build_memory=build_memory)
        return load.passages // PER_ARTICLE, load.index_seconds
    written = 0
    for article in missing:
        store.put(article)
        written += 1
        if written % 1000 == 0:
            print(f"  {written * PER_ARTICLE} passages written", flush=True)
    return written, None


def run(
    store: PassageStore,
    passages: int,
    questions: int,
    *,
    filtered: int,
    write: bool = True,
    build_memory: str = BUILD_MEMORY,
) -> dict[str, float | None]:
    """Write the articles the store does not hold yet (a rerun only queries), then time.

    ``filtered``: how many articles (spread over the shelf) the filtered questions name.
    ``write=False`` neither lists nor writes: the process holds nothing of the shelf, so its
    RSS is what querying a store of that size costs."""
    articles = passages // PER_ARTICLE
    start = time.perf_counter()
    written, index_s = _write(store, articles, build_memory) if write else (0, None)
    seconds = time.perf_counter() - start
    times = _timed(store, questions, None)
    step = max(1, articles // max(1, filtered))
    names = [_name(n) for n in range(0, articles, step)][:filtered]
    limited = percentiles_ms(_timed(store, questions, names)["total"], ndigits=1)
    # The first question is reported on its own: it builds the local store's merged index.
    shelf_wide = {
        part: percentiles_ms(seconds[1:] or seconds, ndigits=1) for part, seconds in times.items()
    }
    return {
        "passages": articles * PER_ARTICLE,
        "written_passages": written * PER_ARTICLE,
        "write_s": round(seconds, 1),
        "passages_per_s": round(written * PER_ARTICLE / seconds, 1) if written else 0.0,
        "index_build_s": None if index_s is None else round(index_s, 1),  # within write_s
        "first_question_ms": round(times["total"][0] * 1000, 1),
        "p50_ms": shelf_wide["total"]["p50_ms"],
        "p95_ms": shelf_wide["total"]["p95_ms"],
        **{f"{part}_p50_ms": shelf_wide[part]["p50_ms"] for part in PARTS},
        "filtered_articles": len(names),
        "filtered_p50_ms": limited["p50_ms"],
        "filtered_p95_ms": limited["p95_ms"],
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument(
        "--filter", type=int, default=10, help="articles the filtered questions name"
    )
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="write and list nothing: time questions over the store as it is",
    )
    parser.add_argument(
        "--build-memory",
        default=BUILD_MEMORY,
        help="PostgreSQL's maintenance_work_mem for building the HNSW indexes",
    )
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
            print(
                run(
                    store,
                    args.passages,
                    args.questions,
                    filtered=args.filter,
                    write=not args.queries_only,
                    build_memory=args.build_memory,
                )
            )
        finally:
            store.close()


if __name__ == "__main__":
    main()
