"""A shelf keeps at most ``SHELF_CORES`` article cores in memory and answers as if it kept all.

The three test articles with the real model and real indexes, on a shelf allowed one core:
every question that searches the shelf builds evicted cores again from the passage store,
so answers, walking to a passage and listing the shelf must come out exactly as on a shelf
that keeps every core, while never more than one core is held.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.build import build_shelf
from bot.config import ConfigError, Settings, from_env
from bot.core.answer import Answer, AnswerKind
from bot.core.shelf import Shelf, ShelfError
from tests.helpers.paths import DATA, warm_data_dir

FILES = ("sample_article.md", "mountain_railway.md", "tea_market.md")
QUESTIONS = [
    "What did the first lamp burn?",
    "Who was the last keeper of the lighthouse?",
    "How long does the train take to the summit?",
    "What time does the tea market open?",
    "茶市几点开门？",
    "How much does a ticket cost?",
    "Who repaired the lamp?",
]


@pytest.fixture
def settings3(tmp_path: Path, model_cache: Path, test_articles: Path) -> Settings:
    data = warm_data_dir(tmp_path, model_cache, test_articles)
    return Settings(data_dir=data, articles=tuple(DATA / f for f in FILES))


def _lazy(settings: Settings, shortlist: int | None = None) -> Shelf:
    shelf = build_shelf(dataclasses.replace(settings, shelf_cores=1))
    if shortlist is not None:
        shelf.shortlist = shortlist
    return shelf


def _seen(answer: Answer) -> tuple[object, ...]:
    """What a reader is shown, down to the scores."""
    quotes = (*answer.quotes, *([answer.closest] if answer.closest else []))
    return (
        answer.kind,
        answer.article,
        answer.source.title,
        [(q.article, q.passage.id, q.score, q.similarity, q.highlights) for q in quotes],
    )


@pytest.mark.parametrize("shortlist", [None, 1])  # every article searched; the store's pick
def test_one_core_answers_as_every_core_does(settings3: Settings, shortlist: int | None) -> None:
    eager = build_shelf(dataclasses.replace(settings3, shelf_cores=len(FILES)))
    lazy = _lazy(settings3, shortlist)
    if shortlist is not None:
        eager.shortlist = shortlist
    assert lazy.loaded()[0] == 1  # the last article indexed at start; the others dropped
    for question in QUESTIONS:
        assert _seen(lazy.ask(question)) == _seen(eager.ask(question)), question
        assert lazy.loaded()[0] == 1
    assert lazy.loaded()[1] > 0  # cores were built again from the store
    assert eager.loaded() == (len(FILES), 0)  # (the eager shelf never built one again)


def test_listing_the_shelf_builds_no_core(settings3: Settings) -> None:
    shelf = _lazy(settings3)
    before = shelf.loaded()
    entries = shelf.entries()
    assert [e.paragraphs for e in entries] == [5, 4, 4]
    assert [e.title for e in entries][1] == "The Rack Railway of Mount Elden"
    assert "tea_market" in shelf and "nope" not in shelf
    railway = shelf.article("mountain_railway")
    assert railway is not None and railway.title == "The Rack Railway of Mount Elden"
    assert shelf.loaded() == before == (1, 0)
    # A reply that quotes nothing names the article last quoted, whose core may be gone.
    quoted = shelf.ask("How long does the train take to the summit?", article="mountain_railway")
    shelf.ask("What did the first lamp burn?", article="sample_article")
    before = shelf.loaded()
    greeting = shelf.ask("hello", previous=quoted.turn())
    assert greeting.source.title == "The Rack Railway of Mount Elden"
    assert shelf.loaded() == before  # a greeting across the shelf searched and built nothing
    assert shelf.ask("🙂").kind is AnswerKind.EMPTY and shelf.loaded() == before


def test_a_passage_of_an_evicted_article_is_found_and_shown(settings3: Settings) -> None:
    shelf = _lazy(settings3)
    answer = shelf.ask("What time does the tea market open?", article="tea_market")
    passage_id = answer.quotes[0].passage.id
    shelf.ask("What did the first lamp burn?", article="sample_article")  # tea_market evicted
    found = shelf.find(passage_id)
    assert found is not None
    name, core, passage = found
    assert (name, passage.id) == ("tea_market", passage_id)
    shown = shelf.show(name, passage, simplified=False)
    assert shown.article == "tea_market" and shown.passage == answer.quotes[0].passage
    assert core.passage_by_id(passage_id) == passage
    assert shelf.find("no such passage") is None
    assert shelf.loaded()[0] == 1


def test_readers_on_several_threads_share_one_core(settings3: Settings) -> None:
    """The Telegram adapter answers from threads: each gets its own answer, none is mixed
    up with another's article, and the cache stays within its bound."""
    shelf = _lazy(settings3)
    expected = [_seen(shelf.ask(q)) for q in QUESTIONS]
    start = threading.Barrier(4)

    def asks(offset: int) -> list[tuple[object, ...]]:
        start.wait()
        order = QUESTIONS[offset:] + QUESTIONS[:offset]
        seen = [_seen(shelf.ask(q)) for q in order]
        return seen[len(QUESTIONS) - offset :] + seen[: len(QUESTIONS) - offset]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(asks, range(4)))
    assert all(result == expected for result in results)
    assert shelf.loaded()[0] == 1


def test_reload_replaces_an_article_whose_core_was_evicted(
    settings3: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in FILES[1:]:
        shutil.copyfile(DATA / name, folder / name)
    shelf = _lazy(dataclasses.replace(settings3, articles=(), articles_dir=folder))
    question = "How much is a return ticket?"
    assert "38 francs" in shelf.ask(question, article="mountain_railway").quotes[0].text
    shelf.ask("What time does the tea market open?", article="tea_market")
    railway = folder / "mountain_railway.md"
    railway.write_text(
        railway.read_text(encoding="utf-8").replace("38 francs", "41 francs"), encoding="utf-8"
    )
    assert shelf.reload().updated == ("mountain_railway",)
    shelf.ask("What time does the tea market open?", article="tea_market")  # evicts it again
    assert "41 francs" in shelf.ask(question, article="mountain_railway").quotes[0].text
    assert "41 francs" in shelf.ask(question).quotes[0].text


def test_an_index_gone_from_the_store_leaves_the_others_answering(settings3: Settings) -> None:
    """Another process removed an article's index: an open question is answered from the
    rest, and a question for that article alone says the shelf cannot search it."""
    shelf = _lazy(settings3)
    assert shelf.store is not None
    shelf.ask("What did the first lamp burn?", article="sample_article")  # tea_market evicted
    assert shelf.store.remove("tea_market")
    answer = shelf.ask("How long does the train take to the summit?")
    assert answer.answered and answer.article == "mountain_railway"
    with pytest.raises(ShelfError, match="tea_market cannot be searched"):
        shelf.ask("What time does the tea market open?", article="tea_market")


def test_shelf_cores_is_a_positive_setting() -> None:
    assert from_env({}).shelf_cores == Settings().shelf_cores
    assert from_env({"SHELF_CORES": "8"}).shelf_cores == 8
    with pytest.raises(ConfigError, match="SHELF_CORES must be a positive whole number"):
        from_env({"SHELF_CORES": "0"})
