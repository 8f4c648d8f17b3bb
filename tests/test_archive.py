"""A shelf that is its passage store (``SHELF=store``): every article the store holds, listed
from it, answered from it, with nothing read or held per article at the start.

The three test articles are indexed into a store by a shelf of files; a second bot, with
``SHELF=store`` and no file named, must then list, answer, walk to a passage and take an
upload exactly as the shelf of files does — on local files and on a real PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import console
from bot.build import build_shelf
from bot.config import ConfigError, Settings, from_env
from bot.console import ConsoleAdapter
from bot.core.answer import Answer
from bot.core.archive import Archive
from bot.core.shelf import Shelf
from corpus.ingest import BUNDLED_ARTICLE, load_article
from embeddings.passages import article_of, passages_of
from tests.helpers.paths import DATA, warm_data_dir

FILES = ("sample_article.md", "mountain_railway.md", "tea_market.md")
QUESTIONS = [
    "What did the first lamp burn?",
    "Who was the last keeper of the lighthouse?",
    "How long does the train take to the summit?",
    "What time does the tea market open?",
    "茶市几点开门？",
    "How much does a ticket cost?",
]


@pytest.fixture(params=["local", "postgres"])
def files(
    request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path, test_articles: Path
) -> Iterator[Settings]:
    """A shelf of the three files, which indexes them into the store (titles and dates too)."""
    data = warm_data_dir(tmp_path, model_cache, test_articles)
    settings = Settings(data_dir=data, articles=tuple(DATA / f for f in FILES))
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        settings = dataclasses.replace(settings, database_url=url)
    shelf = build_shelf(settings)
    assert shelf.store is not None
    shelf.store.close()
    yield settings


def _archive(settings: Settings, **changes: object) -> Shelf:
    return build_shelf(dataclasses.replace(settings, shelf="store", articles=(), **changes))


def _seen(answer: Answer) -> tuple[object, ...]:
    """What a reader is shown, down to the scores."""
    quotes = (*answer.quotes, *([answer.closest] if answer.closest else []))
    return (
        answer.kind,
        answer.article,
        answer.source.title,
        [(q.article, q.article_title, q.passage, q.score, q.similarity) for q in quotes],
    )


@pytest.mark.parametrize("name", ["sample_article.md", "tea_market.md"])
def test_an_article_comes_back_from_its_stored_passages(name: str) -> None:
    article = load_article(DATA / name)
    passages = passages_of(article)
    back = article_of(passages, article.title, article.content_hash, article.date)
    assert passages_of(back) == passages
    assert (back.title, back.date, back.content_hash) == (
        article.title,
        article.date,
        article.content_hash,
    )
    assert [s.heading for s in back.sections] == [s.heading for s in article.sections]


def test_the_bundled_article_comes_back_with_its_sections_numbered() -> None:
    article = load_article(BUNDLED_ARTICLE)
    back = article_of(passages_of(article), article.title, article.content_hash)
    assert passages_of(back) == passages_of(article)
    assert len(back.sections) == max(p.section or 0 for p in article.paragraphs())


def test_the_store_shelf_answers_as_the_shelf_of_files(files: Settings) -> None:
    by_files = build_shelf(files)
    archive = _archive(files)
    assert archive.archive and not by_files.archive
    assert len(archive) == 3
    assert archive.loaded() == (0, 0)  # nothing built at the start
    assert [(e.name, e.title, e.date, e.paragraphs) for e in archive.entries()] == sorted(
        (e.name, e.title, e.date, e.paragraphs) for e in by_files.entries()
    )
    for question in QUESTIONS:
        assert _seen(archive.ask(question)) == _seen(by_files.ask(question)), question
    # A reply that quotes nothing speaks of the first article, first by name here.
    assert archive.ask("hello").source.title == "The Rack Railway of Mount Elden"
    assert archive.loaded() == (3, 3)  # each core built once, from the store


def test_the_store_shelf_pages_numbers_and_finds_without_building_cores(
    files: Settings,
) -> None:
    archive = _archive(files, shelf_cores=1)
    assert [e.name for e in archive.entries(1, 1)] == ["sample_article"]
    assert [e.number for e in archive.entries(1, 5)] == [2, 3]
    assert archive.by_number(3) == "tea_market" and archive.by_number(4) is None
    assert archive.by_number(0) is None
    assert archive.loaded()[0] == 0
    answer = archive.ask("What time does the tea market open?")
    shown = answer.quotes[0]
    assert shown.article == "tea_market"
    found = archive.find(shown.passage.id)
    assert found is not None and found[0] == "tea_market" and found[2] == shown.passage
    assert archive.find("p00000000") is None
    archive.ask("How long does the train take to the summit?", article="mountain_railway")
    assert archive.loaded()[0] == 1  # one core kept, whatever was asked


def test_records_are_bounded_and_read_again_after_a_reload(files: Settings) -> None:
    archive = _archive(files)
    catalog = archive.catalog
    assert isinstance(catalog, Archive)
    small = Archive(catalog.store, records=1)
    assert small["tea_market"].article.title == archive.catalog["tea_market"].article.title
    assert small.get("mountain_railway") is not None and small.get("nothing") is None
    assert len(small._records) == 1
    with pytest.raises(KeyError):
        small["nothing"]
    first = archive.catalog["tea_market"]
    assert archive.reload().added == ()
    assert archive.catalog["tea_market"] is not first  # read from the store again


def test_an_upload_goes_into_the_store_and_onto_the_listing(
    files: Settings, tmp_path: Path
) -> None:
    archive = _archive(files)
    upload = tmp_path / "uploads" / "harbour_notes.md"
    upload.parent.mkdir()
    upload.write_text(
        "# Harbour notes\n\nThe ferry to the island leaves at nine and takes an hour.\n",
        encoding="utf-8",
    )
    assert archive.add(upload) == "harbour_notes"
    assert len(archive) == 4 and "harbour_notes" in archive
    assert archive.by_number(1) == "harbour_notes"  # the listing is by name
    answer = archive.ask("When does the ferry leave?")
    assert answer.article == "harbour_notes"
    second = _archive(files)  # another bot on the same store sees it at once
    assert "harbour_notes" in second.names()


def test_an_empty_store_serves_the_default_article(
    tmp_path: Path, model_cache: Path, test_articles: Path
) -> None:
    data = warm_data_dir(tmp_path, model_cache, test_articles)
    for index in (data / "indexes").iterdir():
        if not index.name.startswith("."):
            index.rename(data / "indexes" / f".{index.name}.gone")
    archive = build_shelf(Settings(data_dir=data, article=DATA / "tea_market.md", shelf="store"))
    assert archive.names() == ["tea_market"]
    assert archive.ask("What time does the tea market open?").article == "tea_market"


def test_shelf_must_name_files_or_the_store() -> None:
    assert from_env({"SHELF": " Store "}).shelf == "store"
    assert from_env({}).shelf == "files"
    with pytest.raises(ConfigError, match="SHELF must be one of files, store"):
        from_env({"SHELF": "database"})


def test_the_console_lists_a_long_shelf_a_page_at_a_time(
    files: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "ARTICLES_PER_PAGE", 2)
    out = io.StringIO()
    adapter = ConsoleAdapter(_archive(files), io.StringIO("/articles\n/articles 2\n"), out)
    adapter.run()
    text = out.getvalue()
    first, second = text.split("Page 1 of 2 (3 articles).")
    assert "1. The Rack Railway of Mount Elden" in first and "tea" not in first.lower()
    assert "/articles 2 shows the next page." in second
    assert "3. " in second and "Page 2 of 2 (3 articles)." in second
