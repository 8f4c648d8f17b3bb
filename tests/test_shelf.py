"""A shelf of articles: the right one answers, a chosen one is kept to, bad files change nothing.

Three small articles (a lighthouse, a mountain railway, a tea market) with the real model
and real FAISS indexes; each has tickets or opening hours, so "which article?" is a real
question and not a keyword lookup.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from pathlib import Path

import pytest

from bot.build import build_shelf
from bot.config import Settings, from_env
from bot.console import ConsoleAdapter
from bot.core.answer import Answer, Quote
from bot.core.batcher import Batcher
from bot.core.shelf import MAX_ARTICLE_BYTES, Shelf, ShelfError
from bot.render.html import place_html
from bot.render.text import where
from corpus.ingest import BUNDLED_ARTICLE
from tests.helpers.paths import DATA, ROOT, fresh_data_dir, run_bot

FILES = ("sample_article.md", "mountain_railway.md", "tea_market.md")
NAMES = ["sample_article", "mountain_railway", "tea_market"]


@pytest.fixture(scope="module")
def shelf_data(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    """One data directory for the module: the three indexes are built once, then reused."""
    return fresh_data_dir(tmp_path_factory.mktemp("shelf"), model_cache)


@pytest.fixture(scope="module")
def settings3(shelf_data: Path) -> Settings:
    return Settings(data_dir=shelf_data, articles=tuple(DATA / f for f in FILES))


@pytest.fixture(scope="module")
def shelf(settings3: Settings) -> Shelf:
    return build_shelf(settings3)


def test_names_and_entries_follow_the_configured_order(shelf: Shelf) -> None:
    assert shelf.names() == NAMES
    entries = shelf.entries()
    assert [e.number for e in entries] == [1, 2, 3]
    assert [e.title for e in entries] == [
        "The Lighthouse Keepers of Harbour Bay",
        "The Rack Railway of Mount Elden",
        "The Old Tea Market of Linshui",
    ]
    assert [e.paragraphs for e in entries] == [5, 4, 4]
    assert shelf.by_number(2) == "mountain_railway" and shelf.by_number(4) is None
    assert shelf.get("tea_market") is not None and shelf.get("nope") is None


@pytest.mark.parametrize(
    ("question", "article", "words"),
    [
        ("What did the first lamp burn?", "sample_article", "whale oil"),
        ("Who was the last keeper of the lighthouse?", "sample_article", "Margaret Lowe"),
        ("How long does the train take to the summit?", "mountain_railway", "forty minutes"),
        ("What time does the tea market open?", "tea_market", "six in the morning"),
        ("茶市几点开门？", "tea_market", "六点"),
    ],
)
def test_across_all_the_article_that_answers_is_quoted_and_named(
    shelf: Shelf, question: str, article: str, words: str
) -> None:
    answer = shelf.ask(question)
    assert answer.answered, answer
    assert answer.article == article
    assert words in answer.quotes[0].text
    title = shelf.get(article).article.title  # type: ignore[union-attr]
    assert all(q.article == article and q.article_title == title for q in answer.quotes)
    assert f"“{title}”" in where(answer.quotes[0])
    assert answer.to_json()["passages"][0]["article"] == article  # type: ignore[index]


def _shown(answer: Answer) -> Quote:
    """What the reader sees first: the best quote, or for a refusal the closest passage."""
    shown = answer.quotes[0] if answer.quotes else answer.closest
    assert shown is not None, answer
    return shown


def test_a_chosen_article_answers_alone(shelf: Shelf) -> None:
    """Answered or declined, a chosen article quotes (or points to) nothing but itself."""
    question = "How much does a ticket cost?"
    railway = shelf.ask(question, article="mountain_railway")
    lighthouse = shelf.ask(question, article="sample_article")
    assert railway.article == "mountain_railway" and "38 francs" in _shown(railway).text
    assert lighthouse.article == "sample_article" and "6 euros" in _shown(lighthouse).text
    off = shelf.ask("Who was the last keeper of the lighthouse?", k=5, article="tea_market")
    assert {q.article for q in (*off.quotes, *([off.closest] if off.closest else []))} == {
        "tea_market"
    }
    with pytest.raises(ShelfError, match="no article named 'nope'"):
        shelf.ask(question, article="nope")


@pytest.mark.slow
def test_an_english_question_across_chinese_articles_gets_the_chosen_ones_answer(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> None:
    """Searched in several articles, an English question is not expanded in each of them
    (8 more embeddings a question on a 24-article shelf) but asked again of the article
    chosen, expanded there: the reply is what that article alone gives."""
    pool = ROOT / "bot" / "tools" / "data" / "pool"
    data = fresh_data_dir(tmp_path_factory.mktemp("chinese-shelf"), model_cache)
    articles = (BUNDLED_ARTICLE, pool / "xquad_00.md", pool / "xquad_01.md")
    chinese = build_shelf(Settings(data_dir=data, articles=articles))
    for question in (
        "What is Jinxinban?",
        "How many people have registered on Jin Xin Ban?",
        "Where was the Summer Theatre located?",
    ):
        across = chinese.ask(question)
        assert across.article is not None, across
        alone = chinese.ask(question, article=across.article)
        assert across.kind == alone.kind and _shown(across).text == _shown(alone).text
    # Ranked as asked in every article, the bundled one quoted 思想是行动的先导… for it.
    assert "津心" in _shown(chinese.ask("What is Jinxinban?")).text


def test_nothing_to_search_for_is_answered_once(shelf: Shelf) -> None:
    answer = shelf.ask("hello")
    assert answer.kind.value == "greeting" and answer.article is None


def test_every_answer_carries_the_article_it_is_rendered_with(shelf: Shelf) -> None:
    """Adapters never go back to the shelf: a quote knows its article's paragraph count, and
    a reply that quotes nothing speaks of the chosen article, else the one last quoted."""
    quoted = shelf.ask("What time does the tea market open?")
    assert quoted.article == "tea_market"
    assert quoted.source.title == "The Old Tea Market of Linshui"
    assert {q.paragraphs for q in quoted.quotes} == {4}
    assert shelf.ask("hello").source.title == shelf.first()[1].article.title
    after = shelf.ask("hello", previous=quoted.turn())
    assert after.source.title == "The Old Tea Market of Linshui"
    chosen = shelf.ask("hello", previous=quoted.turn(), article="mountain_railway")
    assert chosen.source.title == "The Rack Railway of Mount Elden"


def test_ask_many_mixes_chosen_and_open_questions(shelf: Shelf) -> None:
    questions = ["How much does a ticket cost?", "What time does the tea market open?", "你好"]
    answers = shelf.ask_many(questions, 3, None, ["mountain_railway", None, None])
    assert [a.article for a in answers] == ["mountain_railway", "tea_market", None]


def test_the_batcher_passes_a_chosen_article(shelf: Shelf) -> None:
    async def both() -> list[str | None]:
        batcher = Batcher(shelf)
        try:
            chosen = await batcher.ask("How much does a ticket cost?", article="sample_article")
            open_ = await batcher.ask("What time does the tea market open?")
        finally:
            await batcher.close()
        return [chosen.article, open_.article]

    assert asyncio.run(both()) == ["sample_article", "tea_market"]

    async def unknown() -> None:
        batcher = Batcher(shelf)
        try:
            await batcher.ask("When does the market open?", article="nope")
        finally:
            await batcher.close()

    with pytest.raises(ShelfError, match="no article named 'nope'"):
        asyncio.run(unknown())


def test_the_attribution_names_the_article_only_on_a_shelf_of_several(
    shelf: Shelf, settings3: Settings
) -> None:
    one = build_shelf(Settings(data_dir=settings3.data_dir, articles=(DATA / FILES[0],)))
    single = one.ask("What did the first lamp burn?")
    assert single.article == "sample_article" and single.quotes[0].article_title is None
    assert where(single.quotes[0]) == "History / From oil lamps to LEDs · paragraph 2"
    several = shelf.ask("What did the first lamp burn?").quotes[0]
    assert place_html(several).startswith("“The Lighthouse Keepers of Harbour Bay” · <b>")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("binary.md", b"\xff\xfe\x00\x01 not text", ("re-save it as UTF-8", "utf16")),
        ("empty.md", b"", ("is empty", "empty")),
        ("article.pdf", b"%PDF-1.4", ("must be a .txt or .md", "not_article")),
        ("huge.txt", b"a" * (MAX_ARTICLE_BYTES + 1), ("ceiling", "too_large")),
    ],
)
def test_a_broken_file_changes_nothing(
    settings3: Settings, tmp_path: Path, name: str, content: bytes, expected: tuple[str, str]
) -> None:
    why, kind = expected  # the message, and the kind an adapter words for the reader
    shelf = build_shelf(settings3)  # its own shelf (indexes reused): this one is changed
    before = shelf.ask("What time does the tea market open?")
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ShelfError, match=why) as raised:
        shelf.add(path)
    assert raised.value.kind == kind
    assert shelf.names() == NAMES
    assert shelf.ask("What time does the tea market open?") == before


def test_a_broken_sidecar_changes_nothing(settings3: Settings, tmp_path: Path) -> None:
    shelf = build_shelf(settings3)
    path = tmp_path / "guide.md"
    shutil.copyfile(DATA / "tea_market.md", path)
    path.with_suffix(".toml").write_text("date = [unclosed", encoding="utf-8")
    with pytest.raises(ShelfError, match="sidecar"):
        shelf.add(path)
    assert shelf.names() == NAMES


def test_articles_dir_reload_adds_updates_removes_and_skips_broken(
    settings3: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copyfile(DATA / "tea_market.md", folder / "tea_market.md")
    (folder / "notes.pdf").write_bytes(b"%PDF")  # not an article: never looked at
    shelf = build_shelf(Settings(data_dir=settings3.data_dir, articles_dir=folder))
    assert shelf.names() == ["tea_market"]
    assert shelf.reload().added == ()  # nothing changed: nothing re-read

    shutil.copyfile(DATA / "mountain_railway.md", folder / "railway.md")
    (folder / "broken.md").write_bytes(b"\xff\xfe")
    report = shelf.reload()
    assert report.added == ("railway",) and [f for f, _ in report.failed] == [
        str(folder / "broken.md")
    ]
    assert shelf.names() == ["tea_market", "railway"]
    assert shelf.ask("How much is a return ticket?").article == "railway"

    text = (folder / "railway.md").read_text(encoding="utf-8")
    (folder / "railway.md").write_text(text.replace("38 francs", "41 francs"), encoding="utf-8")
    (folder / "tea_market.md").unlink()
    report = shelf.reload()
    assert report.updated == ("railway",) and report.removed == ("tea_market",)
    assert "41 francs" in _shown(shelf.ask("How much is a return ticket?")).text
    assert (settings3.data_dir / "indexes" / "railway" / "manifest.json").is_file()

    (folder / "railway.md").unlink()
    report = shelf.reload()  # the last article gone: a mistake, not an empty shelf
    assert report.removed == () and "no article left" in report.failed[-1][1]
    assert shelf.names() == ["railway"]


def test_add_puts_a_new_article_on_the_shelf_and_keeps_names_unique(
    settings3: Settings, tmp_path: Path
) -> None:
    shelf = build_shelf(settings3)
    copy = tmp_path / "tea_market.md"
    shutil.copyfile(DATA / "tea_market.md", copy)
    assert shelf.add(copy) == "tea_market-2"  # another file with the same stem
    assert shelf.add(DATA / "tea_market.md") == "tea_market"  # the same file: re-read in place
    assert shelf.names() == [*NAMES, "tea_market-2"]


def test_nothing_configured_is_the_bundled_article_alone() -> None:
    settings = from_env({})
    assert settings.shelf_files == (BUNDLED_ARTICLE,)
    assert settings.articles_dir is None and settings.articles == ()


def test_an_empty_articles_dir_still_answers_from_the_default(
    settings3: Settings, tmp_path: Path
) -> None:
    settings = Settings(data_dir=settings3.data_dir, articles_dir=tmp_path, article=DATA / FILES[0])
    assert build_shelf(settings).names() == ["sample_article"]


def _console(shelf: Shelf) -> ConsoleAdapter:
    return ConsoleAdapter(shelf, io.StringIO(), io.StringIO(), language="en")


def test_console_lists_the_articles_and_uses_one(shelf: Shelf) -> None:
    console = _console(shelf)
    listing = console.reply("/articles")
    assert "1. The Lighthouse Keepers of Harbour Bay — 5 paragraphs" in listing
    assert "3. The Old Tea Market of Linshui — 4 paragraphs" in listing
    assert "Questions search every article" in listing
    assert console.reply("/use 2") == "Now answering from “The Rack Railway of Mount Elden”."
    reply = console.reply("How long does the train take to the summit?")
    assert "forty minutes" in reply and "“The Rack Railway of Mount Elden” · " in reply
    assert "Linshui" not in console.reply("What time does the tea market open?")
    assert "→ 2. The Rack Railway" in console.reply("/articles")
    assert "1. Engineering" in console.reply("/sections")  # the chosen article's sections
    assert console.reply("/use all") == "Now searching all 3 articles."
    reply = console.reply("What time does the tea market open?")
    assert "six in the morning" in reply and "“The Old Tea Market of Linshui”" in reply
    assert console.reply("/use 9").startswith("Usage: /use N, with N from 1 to 3")
    walked = console.reply("/next")  # the next paragraph of the article just quoted
    assert walked.startswith("「临水老茶市") and "“The Old Tea Market of Linshui”" in walked


def test_console_help_names_the_shelf_commands(shelf: Shelf) -> None:
    help_text = _console(shelf).reply("/help")
    assert "/articles" in help_text and "/use N" in help_text


@pytest.mark.slow  # `python -m bot ask` processes
def test_ask_json_with_article_paths_and_a_name(tmp_path: Path, model_cache: Path) -> None:
    data = fresh_data_dir(tmp_path, model_cache)
    args = ["ask", "--json"] + [arg for f in FILES for arg in ("--article", str(DATA / f))]
    stdin = "How long does the train take to the summit?\nWhat time does the tea market open?\n"
    result = run_bot(args, data, stdin=stdin)
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert {p["article"] for p in first["passages"]} == {"mountain_railway"}
    assert {p["article"] for p in second["passages"]} == {"tea_market"}
    keys = {"text", "section", "subheading", "paragraph", "score", "highlights", "article"}
    assert set(first["passages"][0]) == keys

    question = "Who was the last keeper of the lighthouse?"
    chosen = run_bot([*args, "--article", "sample_article", question], data)
    assert chosen.returncode == 0, chosen.stderr
    passages = json.loads(chosen.stdout)["passages"]
    assert "Margaret Lowe" in passages[0]["text"]
    assert {p["article"] for p in passages} == {"sample_article"}
    elsewhere = run_bot([*args, "--article", "tea_market", question], data)
    assert {p["article"] for p in json.loads(elsewhere.stdout)["passages"]} <= {"tea_market"}
    missing = run_bot([*args, "--article", "nope", "x"], data)
    assert missing.returncode == 2
    assert "no article named 'nope'" in missing.stderr and "tea_market" in missing.stderr


@pytest.mark.slow  # a whole `python -m bot ask` process
def test_articles_dir_from_the_environment(tmp_path: Path, model_cache: Path) -> None:
    data = fresh_data_dir(tmp_path, model_cache)
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in FILES[1:]:
        shutil.copyfile(DATA / name, folder / name)
    result = run_bot(
        ["ask", "--json", "--article", "mountain_railway", "How long is the ride to the top?"],
        data,
        ARTICLES_DIR=str(folder),
    )
    assert result.returncode == 0, result.stderr
    passages = json.loads(result.stdout)["passages"]
    assert passages and {p["article"] for p in passages} == {"mountain_railway"}
    for name in ("mountain_railway", "tea_market"):
        assert (data / "indexes" / name / "manifest.json").is_file()
