"""The shelf over HTTP: /articles to choose, answers that name their article, buttons that
find their article, and admins adding an article by sending a document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.build import build_shelf
from bot.config import Settings
from bot.core.shelf import MAX_ARTICLE_BYTES, Shelf
from bot.messages import EN
from bot.telegram.state import TelegramOptions
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.paths import DATA, warm_data_dir
from tests.helpers.telegram import (
    RunningBot,
    button,
    buttons,
    only_message,
    only_reply,
    press,
    running,
    sent,
    visible,
)

ADMIN = f.user("Admin", user_id=4242)
FILES = ("sample_article.md", "mountain_railway.md")


@pytest.fixture
def shelf(tmp_path: Path, model_cache: Path, test_articles: Path) -> Shelf:
    data = warm_data_dir(tmp_path, model_cache, test_articles)
    settings = Settings(data_dir=data, articles=tuple(DATA / name for name in FILES))
    built = build_shelf(settings)
    built.directory = tmp_path / "uploads"  # as `python -m bot telegram` sets it
    built.directory.mkdir()
    return built


@pytest.fixture
def tg_shelf(api: FakeBotApi, shelf: Shelf, tmp_path: Path) -> Iterator[RunningBot]:
    options = TelegramOptions(admin_chat_ids=frozenset({ADMIN["id"]}), uploads=shelf.directory)
    with running(api, shelf, options) as bot:
        yield bot


def test_answers_across_the_shelf_name_their_article(tg_shelf: RunningBot) -> None:
    answer = only_message(tg_shelf.ask("How often do the trains leave the valley station?"))
    text = visible(answer)
    assert "every half hour" in text and "The Rack Railway of Mount Elden" in text
    section = button(answer, EN.button_section)["callback_data"]
    assert section.startswith("t:")  # the section of *this* passage's article
    shown = visible(only_message(press(tg_shelf, section, answer)))
    assert shown.startswith("2. Travelling") and "every half hour" in shown
    walked = press(tg_shelf, button(answer, EN.button_next_paragraph)["callback_data"], answer)
    assert " of 4" in visible(only_message(walked))  # the railway's paragraphs, not the shelf's


def test_articles_lists_the_shelf_and_a_choice_is_kept_to(tg_shelf: RunningBot) -> None:
    listing = only_message(tg_shelf.ask("/articles"))
    text = visible(listing)
    assert "The Lighthouse Keepers of Harbour Bay" in text and "4 paragraphs" in text
    labels = [b["text"] for b in buttons(listing)]
    assert labels[-1] == f"✓ {EN.button_all_articles}"
    chosen = press(tg_shelf, buttons(listing)[1]["callback_data"], listing)
    assert visible(only_message(chosen)) == EN.use_chosen.format(
        title="The Rack Railway of Mount Elden"
    )
    answer = only_message(tg_shelf.ask("What did the first lamp burn?"))
    assert "whale oil" not in visible(answer)  # the lighthouse's answer: not on this article
    press(tg_shelf, buttons(listing)[-1]["callback_data"], listing)  # all articles again
    assert "✓ " + "1." not in visible(only_message(tg_shelf.ask("/articles")))


def test_an_admin_adds_an_article_by_sending_a_document(
    tg_shelf: RunningBot, shelf: Shelf
) -> None:
    content = (DATA / "tea_market.md").read_bytes()
    update = f.document_update(
        "tea market.md", mime_type="text/markdown", file_size=len(content), from_user=ADMIN
    )
    tg_shelf.api.upload(update["message"]["document"]["file_id"], content)
    exchanges = tg_shelf.process(update)
    [progress] = sent(exchanges)
    assert progress["text"] == EN.upload_indexing.format(name="tea market.md")
    [done] = [e.params for e in exchanges if e.method == "editMessageText"]
    assert done["text"].startswith("On the shelf: “The Old Tea Market of Linshui”, 4 paragraphs")
    assert len(shelf) == 3 and shelf.directory is not None
    assert (shelf.directory / "tea-market.md").is_file()
    answer = only_message(tg_shelf.ask("When does the market open?", from_user=ADMIN))
    assert "The Old Tea Market of Linshui" in visible(answer)  # quoted (or closest) from it


@pytest.mark.parametrize(
    ("file_name", "content", "expected"),
    [
        ("notes.pdf", b"%PDF-1.4", "must be a .txt / .md file"),
        ("huge.txt", b"x", "over"),
        ("empty.md", b"", "could not go on the shelf"),
    ],
)
def test_a_bad_document_is_refused_and_changes_nothing(
    tg_shelf: RunningBot, shelf: Shelf, file_name: str, content: bytes, expected: str
) -> None:
    size = MAX_ARTICLE_BYTES + 1 if file_name == "huge.txt" else len(content)
    update = f.document_update(file_name, file_size=size, from_user=ADMIN)
    tg_shelf.api.upload(update["message"]["document"]["file_id"], content)
    exchanges = tg_shelf.process(update)
    said = [e.params["text"] for e in exchanges if e.method in ("sendMessage", "editMessageText")]
    assert any(expected in text for text in said), said
    assert shelf.names() == ["sample_article", "mountain_railway"]
    assert shelf.directory is not None and not any(shelf.directory.iterdir())


def test_a_readers_document_gets_the_usual_reply_and_reload_is_for_admins(
    tg_shelf: RunningBot,
) -> None:
    reply = only_reply(tg_shelf.process(f.document_update("article.md")))
    assert "Please type your question" in visible(reply)
    assert visible(only_reply(tg_shelf.ask("/reload"))) == EN.admins_only
    reloaded = visible(only_reply(tg_shelf.ask("/reload", from_user=ADMIN)))
    assert reloaded.startswith("Reloaded: 0 added, 0 updated, 0 removed, 0 failed.")
