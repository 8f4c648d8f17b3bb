"""Hostile and clumsy files (issue 22): what the shelf reads, what it refuses and how it
says so, and what one article can do to a reply or to ``/articles``.

Only regular files inside the shelf folder are read (a link to ``/etc/passwd`` or
``/proc/self/environ`` once let a reader get the bot's token quoted); every encoding
mistake gets its own refusal saying what to do; an over-long path is one line; a huge
one-line article is split so that one question is one message; ``/articles`` pages a
long shelf and cuts every title; two uploads of one name never lose one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.build import build_shelf
from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.core.shelf import Shelf
from bot.messages import EN
from bot.telegram import callbacks as cb
from bot.telegram.state import TelegramOptions
from bot.tools.fakeapi import factories as f
from bot.tools.fakeapi.server import FakeBotApi
from corpus.ingest import (
    MAX_PARAGRAPH_CHARS,
    MAX_PARAGRAPHS,
    MAX_TITLE_CHARS,
    load_article,
    split_paragraph,
)
from corpus.reading import ArticleError, read_article_bytes
from tests.helpers.paths import DATA, fresh_data_dir, run_bot, warm_data_dir
from tests.helpers.telegram import (
    RunningBot,
    buttons,
    only_message,
    press,
    running,
    sent,
    visible,
)

ADMIN = f.user("Admin", user_id=4242)
SECRET = "TELEGRAM_BOT_TOKEN=123456789:never-to-be-quoted-to-anyone"
ARTICLE = (DATA / "tea_market.md").read_text(encoding="utf-8")
# Chinese text as an editor on Windows saves it: GBK, and UTF-16 with and without a mark.
CHINESE = "# 天津的网络文明\n\n天津数字化综合发展水平位居全国第七。网络安全水平全国第三。\n"


# ---- only regular files inside the folder ------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A shelf folder holding one real article and every kind of thing that is not one."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text(f"# Secrets\n\n{SECRET}\n", encoding="utf-8")
    shelf = tmp_path / "articles"
    shelf.mkdir()
    (shelf / "tea_market.md").write_text(ARTICLE, encoding="utf-8")
    (shelf / "secret.md").symlink_to(outside / "secret.md")
    (shelf / "environ.txt").symlink_to("/proc/self/environ")
    (shelf / "passwd.txt").symlink_to("/etc/passwd")
    os.mkfifo(shelf / "pipe.md")  # opening it to read would block for ever
    return shelf


def test_only_a_regular_file_inside_the_folder_is_read(folder: Path) -> None:
    assert load_article(folder / "tea_market.md", folder).title == "The Old Tea Market of Linshui"
    for name, kind in [
        ("secret.md", "outside"),
        ("environ.txt", "not_regular"),  # a pseudo-file: stat says 0 bytes, it holds a token
        ("passwd.txt", "outside"),
        ("pipe.md", "not_regular"),
    ]:
        with pytest.raises(ArticleError) as refused:
            load_article(folder / name, folder)
        assert refused.value.kind == kind, name


def test_a_sidecar_linking_out_of_the_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "outside" / "facts.toml").write_text('title = "Leaked"\n', encoding="utf-8")
    (folder / "tea_market.toml").symlink_to(tmp_path / "outside" / "facts.toml")
    with pytest.raises(ArticleError, match="outside") as refused:
        load_article(folder / "tea_market.md", folder)
    assert refused.value.kind == "sidecar"


def test_a_named_file_may_be_a_link_but_never_a_pseudo_file_or_device(folder: Path) -> None:
    linked = load_article(folder / "secret.md")  # named by the operator: their choice
    assert SECRET in next(linked.paragraphs()).text
    for path in (Path("/proc/self/environ"), Path("/dev/zero")):
        with pytest.raises(ArticleError) as refused:
            load_article(path)
        assert refused.value.kind == "not_regular"


def test_the_size_is_checked_on_what_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"x" * 11)
    assert read_article_bytes(path, limit=11) == b"x" * 11
    with pytest.raises(ArticleError) as refused:
        read_article_bytes(path, limit=10)
    assert refused.value.kind == "too_large"


def test_a_link_out_of_articles_dir_is_never_on_the_shelf(
    folder: Path, tmp_path: Path, model_cache: Path
) -> None:
    data = fresh_data_dir(tmp_path, model_cache)
    shelf = build_shelf(Settings(data_dir=data, articles_dir=folder))
    assert shelf.names() == ["tea_market"]
    failed = {Path(path).name: why for path, why in shelf.reload().failed}
    assert set(failed) == {"secret.md", "environ.txt", "passwd.txt"}  # the FIFO: no file
    assert "outside" in failed["secret.md"]
    for question in ("What is the bot token?", "TELEGRAM_BOT_TOKEN", "root:x:0:0"):
        answer = shelf.ask(question)
        shown = [q.text for q in answer.quotes] + ([answer.closest.text] if answer.closest else [])
        assert not any("TOKEN" in text or "root:" in text for text in shown)


# ---- refusals that say what to do ------------------------------------------------------------

ENCODINGS = [
    ("empty.md", b"", "is empty"),
    ("blank.md", b"  \n\n ", "is empty"),
    ("gbk.md", CHINESE.encode("gbk"), "GBK (GB18030) text: re-save it as UTF-8"),
    ("bom16.md", CHINESE.encode("utf-16"), "UTF-16 text: re-save it as UTF-8"),
    ("le16.md", CHINESE.encode("utf-16-le"), "UTF-16 text: re-save it as UTF-8"),
    ("be16.md", ARTICLE.encode("utf-16-be"), "UTF-16 text: re-save it as UTF-8"),
    ("latin1.md", "# Café\n\nUn café à Paris.\n".encode("latin-1"), "not UTF-8"),
    ("binary.md", bytes(range(256)) * 4, "binary file"),
]


@pytest.mark.slow  # a `python -m bot` process per encoding
@pytest.mark.parametrize(("name", "content", "said"), ENCODINGS)
def test_each_encoding_mistake_is_named_on_the_command_line(
    tmp_path: Path, model_cache: Path, name: str, content: bytes, said: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    data = fresh_data_dir(tmp_path, model_cache)
    ran = run_bot(["ask", "--article", str(path), "What is it about?"], data)
    assert ran.returncode == 2, ran.stderr
    assert "Traceback" not in ran.stderr
    line = ran.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and said in line


def test_utf8_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom8.md"
    path.write_bytes(CHINESE.encode("utf-8-sig"))
    assert load_article(path).title == "天津的网络文明"


@pytest.mark.parametrize("where", ["--article", "ARTICLE_PATH", "ARTICLES_DIR"])
@pytest.mark.parametrize("command", ["ask", "telegram"])
def test_an_over_long_path_is_a_one_line_error(tmp_path: Path, where: str, command: str) -> None:
    long = tmp_path / ("a" * 5000 + (".md" if where != "ARTICLES_DIR" else ""))
    args = [command, *(["--article", str(long)] if where == "--article" else [])]
    if command == "ask":
        args.append("hello?")
    env = {} if where == "--article" else {where: str(long)}
    ran = run_bot(args, tmp_path / "data", **env)
    assert ran.returncode == 2
    [line] = ran.stderr.strip().splitlines()
    assert line.startswith("error: ") and "too long" in line and len(line) < 300


def test_an_over_long_title_is_refused_and_a_heading_cut(tmp_path: Path) -> None:
    titled = tmp_path / "titled.md"
    titled.write_text(f"# {'T' * 6000}\n\nA paragraph.\n", encoding="utf-8")
    with pytest.raises(ArticleError, match="shorten it") as refused:
        load_article(titled)
    assert refused.value.kind == "title_too_long"
    headed = tmp_path / "headed.md"
    headed.write_text(f"# Title\n\n## {'H' * 6000}\n\nA paragraph.\n", encoding="utf-8")
    assert len(load_article(headed).sections[0].heading) == MAX_TITLE_CHARS


def test_an_article_past_the_paragraph_ceiling_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "many.md"
    body = "\n\n".join(f"Paragraph number {i} says one thing." for i in range(MAX_PARAGRAPHS + 1))
    path.write_text(f"# Many\n\n{body}\n", encoding="utf-8")
    with pytest.raises(ArticleError, match=f"{MAX_PARAGRAPHS:,} at most") as refused:
        load_article(path)
    assert refused.value.kind == "too_many_paragraphs"


# ---- one long paragraph: split between sentences ----------------------------------------------


def test_an_over_long_paragraph_is_split_between_sentences() -> None:
    chinese = "天津数字化综合发展水平位居全国第七，网络安全水平全国第三。" * 400
    pieces = split_paragraph(chinese)
    assert "".join(pieces) == chinese and len(pieces) > 1
    assert all(len(p) <= MAX_PARAGRAPH_CHARS and p.endswith("。") for p in pieces)
    english = "The market opens at dawn, about 5.30 in summer. " * 300
    pieces = split_paragraph(english)
    assert " ".join(pieces) == english.strip()
    assert all(len(p) <= MAX_PARAGRAPH_CHARS and p.endswith("summer.") for p in pieces)
    unbroken = "x" * (2 * MAX_PARAGRAPH_CHARS + 5)  # no sentence, no space: cut anyway
    assert [len(p) for p in split_paragraph(unbroken)] == [MAX_PARAGRAPH_CHARS] * 2 + [5]


# ---- Telegram --------------------------------------------------------------------------------


@pytest.fixture
def uploads(
    api: FakeBotApi, tmp_path: Path, model_cache: Path, test_articles: Path
) -> Iterator[RunningBot]:
    data = warm_data_dir(tmp_path, model_cache, test_articles)
    shelf = build_shelf(Settings(data_dir=data, articles=(DATA / "sample_article.md",)))
    shelf.directory = tmp_path / "uploads"
    shelf.directory.mkdir()
    options = TelegramOptions(admin_chat_ids=frozenset({ADMIN["id"]}), uploads=shelf.directory)
    with running(api, shelf, options) as bot:
        yield bot


def _upload(bot: RunningBot, name: str, content: bytes) -> dict[str, object]:
    update = f.document_update(name, file_size=len(content), from_user=ADMIN)
    bot.api.upload(update["message"]["document"]["file_id"], content)
    return update


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("gbk.md", CHINESE.encode("gbk"), EN.upload_gbk),
        ("le16.md", CHINESE.encode("utf-16-le"), EN.upload_utf16),
        ("empty.md", b"", EN.upload_empty),
        ("binary.md", bytes(range(256)) * 4, EN.upload_binary),
        ("titled.md", f"# {'T' * 6000}\n\nA paragraph.\n".encode(), "shorten it"),
    ],
)
def test_an_upload_is_refused_saying_what_to_do(
    uploads: RunningBot, name: str, content: bytes, said: str
) -> None:
    exchanges = uploads.process(_upload(uploads, name, content))
    [edited] = [e.params["text"] for e in exchanges if e.method == "editMessageText"]
    assert said in edited and "Nothing on the shelf changed" in edited
    assert uploads.services.shelf.names() == ["sample_article"]
    assert uploads.services.options.uploads is not None
    assert not any(uploads.services.options.uploads.iterdir())
    assert "1." in visible(only_message(uploads.ask("/articles")))  # still works for all


def test_two_uploads_of_one_name_in_flight_keep_both(uploads: RunningBot) -> None:
    first = _upload(uploads, "guide.md", (DATA / "tea_market.md").read_bytes())
    second = _upload(uploads, "guide.md", (DATA / "mountain_railway.md").read_bytes())
    ids = [uploads.api.push_update(u)["update_id"] for u in (first, second)]
    uploads.wait_done(ids)
    folder = uploads.services.options.uploads
    assert folder is not None
    saved = sorted(p.name for p in folder.iterdir())
    assert saved == ["guide-2.md", "guide.md"]
    texts = {(folder / n).read_text(encoding="utf-8").splitlines()[0] for n in saved}
    assert texts == {"# The Old Tea Market of Linshui", "# The Rack Railway of Mount Elden"}
    assert len(uploads.services.shelf) == 3


@pytest.fixture
def long_shelf(api: FakeBotApi, core: ArticleBot, tmp_path: Path) -> Iterator[RunningBot]:
    """130 articles with titles at the ceiling, and one whose title got past it.

    ``/articles`` reads only the articles' titles and sizes, so each article is ingested
    for real but they share the session's one real index: 130 index builds would take
    many minutes and test nothing more.
    """
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(130):
        title = f"Article {i:03d} " + "long title words " * 20
        (folder / f"a{i:03d}.md").write_text(
            f"# {title[:MAX_TITLE_CHARS]}\n\nIt has one paragraph.\n", encoding="utf-8"
        )

    def load(path: Path, name: str, inside: Path | None) -> ArticleBot:
        article = load_article(path, inside)
        if name == "a007":  # as a shelf built before titles had a ceiling could hold
            article = replace(article, title="W" * 6000)
        return ArticleBot(article, core.retriever)

    shelf = Shelf(load, folder)
    shelf.reload()
    assert len(shelf) == 130
    with running(api, shelf) as bot:
        yield bot


def test_articles_pages_a_long_shelf_within_telegrams_limits(long_shelf: RunningBot) -> None:
    listing = only_message(long_shelf.ask("/articles"))  # the fake enforces 4,096
    seen: list[str] = []
    for page in range(1, 8):
        text = visible(listing)
        assert f"Page {page} of 7 (130 articles)." in text
        labels = [b["text"] for b in buttons(listing)]
        assert len(labels) <= 23 and all(len(label) <= 60 for label in labels)
        seen += [label.split(".")[0] for label in labels if label[0].isdigit()]
        if page == 7:
            break
        turn = next(b for b in buttons(listing) if b["text"] == EN.button_next_page)
        data = turn["callback_data"]
        assert data == cb.ArticlesPage(page).pack() and len(data.encode()) <= 64
        exchanges = press(long_shelf, data, listing)
        [edited] = [e.response["result"] for e in exchanges if e.method == "editMessageText"]
        listing = dict(edited)
    assert seen == [str(n) for n in range(1, 131)]
    assert "W" * 101 not in visible(listing)


@pytest.mark.slow  # indexes an article four times the bundled one
def test_a_question_about_a_huge_one_line_article_is_one_message(
    api: FakeBotApi, core: ArticleBot, tmp_path: Path, model_cache: Path
) -> None:
    text = "".join(p.text for p in core.article.paragraphs())
    huge = tmp_path / "one_line.txt"
    huge.write_text(text * 4, encoding="utf-8")  # no line break: one "paragraph" before
    data = fresh_data_dir(tmp_path, model_cache)
    shelf = build_shelf(Settings(data_dir=data, articles=(huge,)))
    with running(api, shelf) as bot:
        for question in ("天津数字化综合发展水平在全国排第几？", "津心辦累計註冊人數是多少？"):
            replies = sent(bot.ask(question))
            assert 1 <= len(replies) <= 3, [visible(r) for r in replies]
