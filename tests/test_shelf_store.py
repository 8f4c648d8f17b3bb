"""The shelf searched once through its passage store, local files or PostgreSQL: the article
that answers is shortlisted as the per-article search shortlisted it, and the bundled article
answers the gold set alike from both stores."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.build import build_core, build_shelf
from bot.config import Settings
from bot.core.shelf import Shelf
from bot.core.shortlist import shortlists
from bot.tools.evaluate import load_gold
from embeddings.passagestore.local import LocalStore
from embeddings.passagestore.postgres import PostgresStore
from tests.helpers.paths import DATA, warm_data_dir

FILES = ("sample_article.md", "mountain_railway.md", "tea_market.md")
QUESTIONS = [
    ("What did the first lamp burn?", "sample_article", "whale oil"),
    ("Who was the last keeper of the lighthouse?", "sample_article", "Margaret Lowe"),
    ("How long does the train take to the summit?", "mountain_railway", "forty minutes"),
    ("What time does the tea market open?", "tea_market", "six in the morning"),
    ("茶市几点开门？", "tea_market", "六点"),
]


def _copy_into_postgres(indexes: Path, url: str) -> None:
    """The local indexes written into the database as they are: nothing is encoded again."""
    local, database = LocalStore(indexes), PostgresStore(url)
    try:
        for stored in local.articles():
            article = local.get(stored.name)
            assert article is not None
            database.put(article)
    finally:
        database.close()


@pytest.fixture(params=["local", "postgres"])
def settings3(
    request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path, test_articles: Path
) -> Iterator[Settings]:
    data = warm_data_dir(tmp_path, model_cache, test_articles)
    settings = Settings(data_dir=data, articles=tuple(DATA / f for f in FILES))
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        _copy_into_postgres(data / "indexes", url)
        settings = dataclasses.replace(settings, database_url=url)
    yield settings


@pytest.fixture
def shelf(settings3: Settings) -> Iterator[Shelf]:
    shelf = build_shelf(settings3)
    yield shelf
    assert shelf.store is not None
    shelf.store.close()


def test_the_store_shortlists_as_searching_every_article_did(shelf: Shelf) -> None:
    """With every passage within reach, the store's one search ranks the articles exactly as
    the per-article search did: by the retriever's dense score of each one's best passage."""
    texts = [q for q, _, _ in QUESTIONS] + ["Who repaired the lamp?", "门票多少钱？"]
    shelf.shortlist = 2
    items = {n: shelf.get(n) for n in shelf.names()}
    encoder = shelf.first()[1].retriever.encoder
    vectors = encoder.encode_queries(texts)
    best = np.stack(
        [items[n].retriever.dense_scores(vectors).max(axis=1) for n in shelf.names()], axis=1
    )
    found = shortlists(shelf.store, encoder, shelf.catalog, texts, shelf.shortlist)
    for text, row, got in zip(texts, best, found, strict=True):
        expected = [shelf.names()[j] for j in np.argsort(-row, kind="stable")[:2]]
        assert got[:2] == expected, text  # (the best BM25 article may follow them)


@pytest.mark.parametrize(("question", "article", "words"), QUESTIONS)
def test_a_shortlist_of_one_still_quotes_the_article_that_answers(
    shelf: Shelf, question: str, article: str, words: str
) -> None:
    shelf.shortlist = 1
    answer = shelf.ask(question)
    assert answer.answered and answer.article == article, answer
    assert words in answer.quotes[0].text


@pytest.mark.parametrize("settings3", ["postgres"], indirect=True)
def test_a_store_that_cannot_be_searched_leaves_every_article_searched(
    shelf: Shelf, caplog: pytest.LogCaptureFixture
) -> None:
    """The database gone mid-service (here: its pool closed): answers still come, slower."""
    assert isinstance(shelf.store, PostgresStore)
    shelf.store.close()
    shelf.shortlist = 1
    with caplog.at_level(logging.WARNING, logger="bot.core.shelf"):
        answer = shelf.ask("What time does the tea market open?")
    assert answer.answered and answer.article == "tea_market"
    assert "searching every article" in caplog.text


def test_the_bundled_article_answers_alike_from_both_stores(
    settings: Settings, postgres_url: str
) -> None:
    local = build_core(settings)
    _copy_into_postgres(settings.index_dir.parent, postgres_url)
    from_database = build_core(dataclasses.replace(settings, database_url=postgres_url))
    questions = [item.question for item in load_gold()]
    for a, b in zip(local.ask_many(questions), from_database.ask_many(questions), strict=True):
        assert a.kind == b.kind, a.question
        assert [(q.passage.id, q.score, q.similarity) for q in (*a.quotes, a.closest) if q] == [
            (q.passage.id, q.score, q.similarity) for q in (*b.quotes, b.closest) if q
        ], a.question


def test_a_database_store_takes_a_current_local_index_instead_of_encoding(
    settings: Settings, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Moving a shelf to PostgreSQL, or a replica starting on a warm data directory: the
    article's vectors are copied from its local index, not encoded again."""
    with caplog.at_level(logging.INFO, logger="bot.build"):
        build_core(dataclasses.replace(settings, database_url=postgres_url))
    assert "copied from" in caplog.text and "index reused" in caplog.text
    assert _names_in(postgres_url) == [settings.article.stem]


def _names_in(url: str) -> list[str]:
    store = PostgresStore(url)
    try:
        return [a.name for a in store.articles()]
    finally:
        store.close()
