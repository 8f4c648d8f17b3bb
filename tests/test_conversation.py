"""Follow-ups, navigation, refusals that explain themselves, and feedback — in the console."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from bot.console import ConsoleAdapter
from bot.core.engine import ArticleBot
from bot.core.feedback import FeedbackError, FeedbackStore
from tests.helpers.paths import run_bot


def _console(core: ArticleBot, feedback: FeedbackStore | None = None) -> ConsoleAdapter:
    return ConsoleAdapter(core, io.StringIO(), io.StringIO(), feedback, language="en")


def test_follow_up_is_answered_from_context_and_new_resets_it(core: ArticleBot) -> None:
    console = _console(core)
    console.reply("津心办有多少注册用户？")
    followed = console.reply("那它的访问量呢？")
    assert "访问量超12亿次" in followed and "previous question" in followed
    console.reply("/new")
    alone = core.ask("那它的访问量呢？")
    assert alone.context is None
    assert "previous question" not in console.reply("那它的访问量呢？")


def test_unrelated_new_question_ignores_context(core: ArticleBot) -> None:
    console = _console(core)
    console.reply("津心办有多少注册用户？")
    reply = console.reply("天津数字化综合发展水平在全国排第几？")
    assert "第七" in reply and "previous question" not in reply


def test_prev_and_next_walk_the_article_and_stop_at_its_ends(core: ArticleBot) -> None:
    console = _console(core)
    passages = core.retriever.passages
    console.reply("风起渤海之滨，潮涌海河两岸，是在写什么？")
    assert console._shown is not None and console._shown.position == 1
    assert console.reply("/prev") == "That is the first paragraph."
    assert "paragraph 2" in console.reply("/next")
    for _ in range(len(passages)):
        last = console.reply("/next")
    assert last == "That is the last paragraph."
    assert console._shown.position == len(passages)
    assert "4. 數字天津" in console.reply("/section")


def test_refusal_names_the_closest_passage_and_shows_it_on_demand(core: ArticleBot) -> None:
    console = _console(core)
    reply = console.reply("明天天气怎么样？")
    assert reply.startswith("The article does not mention “明天天气”. The closest passage is in")
    assert "weak match" in reply and "/more shows it anyway" in reply
    shown = console.reply("/more")
    assert shown.startswith("Closest passage (") and "paragraph" in shown


def test_votes_land_in_sqlite_hashed_and_replace_earlier_votes(
    core: ArticleBot, tmp_path: Path
) -> None:
    store = FeedbackStore.open(tmp_path)
    console = _console(core, store)
    console.reply("津心办有多少注册用户？")
    assert console.reply("/good") == "Thanks for the feedback."
    assert console.reply("/bad") == "Thanks for the feedback."
    votes = sqlite3.connect(tmp_path / "feedback.sqlite3")
    rows = list(votes.execute("SELECT chat_hash, question, passage_id, vote, 0 FROM votes"))
    assert len(rows) == 1
    chat_hash, question, passage_id, vote, _ = rows[0]
    assert question == "津心办有多少注册用户？" and vote == -1
    assert chat_hash != "console" and len(chat_hash) == 32
    assert passage_id == core.ask("津心办有多少注册用户？").quotes[0].passage.id
    assert store.by_passage()[0].down == 1


def test_feedback_command_reports_votes(core: ArticleBot, data_dir: Path) -> None:
    store = FeedbackStore.open(data_dir)
    store.vote(42, "天津的GDP是多少？", "p12345678", up=False)
    store.vote(43, "天津的GDP是多少？", "p12345678", up=False)
    store.close()
    result = run_bot(["feedback"], data_dir)
    assert result.returncode == 0, result.stderr
    assert "p12345678" in result.stdout and "2 × '天津的GDP是多少？'" in result.stdout


def test_corrupted_database_is_reported_and_answering_continues(
    core: ArticleBot, tmp_path: Path
) -> None:
    (tmp_path / "feedback.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(FeedbackError, match=r"feedback\.sqlite3"):
        FeedbackStore.open(tmp_path)
    console = _console(core, feedback=None)
    assert "1880" in console.reply("津心办有多少注册用户？")
    assert "not available" in console.reply("/good")


def test_locked_database_is_reported_not_fatal(core: ArticleBot, tmp_path: Path) -> None:
    store = FeedbackStore.open(tmp_path)
    locker = sqlite3.connect(tmp_path / "feedback.sqlite3")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        store._db.execute("PRAGMA busy_timeout = 50")
        console = _console(core, store)
        console.reply("津心办有多少注册用户？")
        assert "could not be saved" in console.reply("/good")
    finally:
        locker.rollback()
        locker.close()


@pytest.mark.slow  # a whole `python -m bot console` process
def test_console_session_in_a_subprocess(served_data_dir: Path) -> None:
    data_dir = served_data_dir
    session = "津心办有多少注册用户？\n那它的访问量呢？\n/next\n/good\n/new\n/quit\n"
    result = run_bot(["console", "--lang", "en"], data_dir, stdin=session)
    assert result.returncode == 0, result.stderr
    assert "Read together with your previous question: 津心办有多少注册用户？" in result.stdout
    assert "Thanks for the feedback." in result.stdout
    assert (data_dir / "feedback.sqlite3").exists()


def test_about_shows_provenance_model_and_index(core: ArticleBot) -> None:
    about = _console(core).reply("/about")
    for label in ("Title:", "Source:", "Date: 2022-08-28", "Content hash:", "Model:", "Index:"):
        assert label in about
