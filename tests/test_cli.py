"""The console and ``ask --json`` end to end, in a subprocess, as a user runs them."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import _started
from bot.messages import EN
from tests.helpers.paths import DATA, ROOT, SAFETY_TIMEOUT, fresh_data_dir, run_bot

pytestmark = pytest.mark.slow  # every test starts `python -m bot`


def test_console_answers_and_lists_sections(served_data_dir: Path) -> None:
    session = "天津数字化综合发展水平在全国排第几？\n/sections\n/section 9\n/section abc\n/quit\n"
    result = run_bot(["console", "--lang", "en"], served_data_dir, stdin=session)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "第七" in out and "数字天津 / 体悟网络文明建设的“获”与“得”" in out
    assert "1. 凝心聚力" in out and "4. 數字天津" in out
    assert "There is no section 9" in out and "Usage: /section N" in out
    assert out.rstrip().endswith("Bye.")
    assert "Traceback" not in result.stderr


def test_console_speaks_the_language_of_the_question(served_data_dir: Path) -> None:
    session = "天津数字化综合发展水平在全国排第几？\n/section 9\n津心辦是什麼？\n/next\n/quit\n"
    result = run_bot(["console"], served_data_dir, stdin=session)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "引文已由原文转换为简体中文。" in out  # the Simplified question's note
    assert "没有第 9 部分" in out  # a command after it: the last question's language
    assert "第 " in out and " 段" in out and "再見。" in out  # Traditional from then on


def test_the_console_prompts_before_the_model_has_loaded(data_dir: Path) -> None:
    result = run_bot(["console", "--lang", "en"], data_dir, stdin="津心辦是什麼？\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("> ")  # the prompt, before the model was ready
    assert EN.still_loading in result.stdout and "津心" in result.stdout


def test_console_quits_at_end_of_input(served_data_dir: Path) -> None:
    result = run_bot(["console"], served_data_dir, stdin="/help\n")
    assert result.returncode == 0 and "/sections" in result.stdout


def test_ask_json_reads_questions_one_a_line(served_data_dir: Path) -> None:
    questions = [
        "天津数字化综合发展水平在全国排第几？",
        "",
        "明天天气怎么样？",
        "你好",
        "What is 津心辦?",
    ]
    result = run_bot(["ask", "--json"], served_data_dir, stdin="\n".join(questions) + "\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(questions)
    objects = [json.loads(line) for line in lines]
    assert [o["question"] for o in objects] == questions
    first = objects[0]
    assert first["answered"] is True
    best = first["passages"][0]
    assert set(best) >= {"text", "section", "subheading", "paragraph", "score", "highlights"}
    assert "第七" in best["text"] and best["section"] == "数字天津"
    start, end = best["highlights"][0]
    assert "第七" in best["text"][start:end]
    assert objects[1]["answered"] is False and objects[1]["passages"] == []
    assert objects[2]["answered"] is False
    assert objects[3]["kind"] == "greeting"
    assert objects[4]["answered"] is True and "津心辦" in objects[4]["passages"][0]["text"]


def test_ask_one_question_as_text(served_data_dir: Path) -> None:
    result = run_bot(["ask", "津心辦累計註冊人數是多少？"], served_data_dir)
    assert result.returncode == 0, result.stderr
    assert "1880萬" in result.stdout and "數字天津" in result.stdout


def test_index_and_ask_a_markdown_article(data_dir: Path) -> None:
    article = str(DATA / "sample_article.md")
    built = run_bot(["index", article], data_dir)
    assert built.returncode == 0, built.stderr
    assert "indexed 5 paragraphs" in built.stdout
    assert "cleaned:" not in built.stdout  # nothing damaged in this one
    question = "When did the keeper retire?"
    result = run_bot(["ask", "--json", "--article", article, question], data_dir)
    assert result.returncode == 0, result.stderr
    best = json.loads(result.stdout)["passages"][0]
    assert "Margaret Lowe" in best["text"] and best["section"] == "History"


def test_missing_article_is_a_one_line_error(data_dir: Path) -> None:
    result = run_bot(["ask", "hi"], data_dir, ARTICLE_PATH="/nonexistent/article.txt")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: article file not found: /nonexistent/article.txt"


def test_two_processes_starting_at_once_share_one_good_index(
    tmp_path: Path, model_cache: Path
) -> None:
    data_dir = fresh_data_dir(tmp_path, model_cache, dictionary=False)  # a start from nothing
    environment = {**os.environ, "ARTICLE_BOT_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "bot", "ask", "--json", "津心辦累計註冊人數是多少？"]
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=SAFETY_TIMEOUT)[0] for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    assert all("1880萬" in json.loads(out)["passages"][0]["text"] for out in outputs)
    again = run_bot(["ask", "--json", "--log-level", "INFO", "津心辦是什麼？"], data_dir)
    assert "built the index" not in again.stderr  # the index both wrote is reused as valid


def test_a_start_without_the_collector_resumes_it_with_what_the_start_built_frozen() -> None:
    """`main` pauses the cyclic garbage collector while a process of its own builds its shelf;
    `_started` resumes it and freezes what the start made, so it is never scanned again."""
    before = gc.get_freeze_count()
    _started()  # a collector that was never paused (a test calling main): nothing to do
    assert gc.isenabled() and gc.get_freeze_count() == before
    gc.disable()
    try:
        _started()
        assert gc.isenabled() and gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
        gc.enable()
