"""Sanity checks for the hand-written gold sets in ``tests/data``.

``gold.jsonl`` holds single questions about the bundled article, ``followups.jsonl`` holds
question pairs whose second question only makes sense after the first. Every answer is a short
quote that must occur in exactly one line of the article once the glued pinyin annotations
(``網(wǎng)絡(luò)`` -> ``網絡``) are removed. This module reads the raw article itself and uses no
bot code, so a bug in ingest cannot hide a bad gold quote.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from bot.tools.evaluate import FOLLOWUPS, GOLD

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "corpus" / "000_b5519ea694e741d6.txt"

# A parenthesised pinyin syllable glued to the preceding non-ASCII character.
PINYIN = re.compile(r"(?<=[^\x00-\x7f])\([a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)")
CJK = re.compile(r"[\u4e00-\u9fff]")

LANGS = {"zh-Hans", "zh-Hant", "en"}
ANSWERABLE_KINDS = {"fact", "number", "name", "paraphrase", "section", "overview"}
EMPTY_KINDS = {"unanswerable", "greeting"}
GOLD_KEYS = {"id", "question", "lang", "kind", "answers"}
FOLLOWUP_KEYS = {"id", "lang", "first", "first_answers", "followup", "answers"}

QUOTE_MIN, QUOTE_MAX = 8, 20


@cache
def article_lines() -> tuple[str, ...]:
    text = ARTICLE.read_text(encoding="utf-8")
    return tuple(PINYIN.sub("", line).strip() for line in text.splitlines())


@cache
def body_paragraphs() -> tuple[int, ...]:
    """Indexes of the article's body paragraphs: prose lines before the copyright footer.

    Section headings (``凝心聚力``, ``厚植網絡文明建設的“根”與“魂”``) carry no comma or full
    stop, the footer lines start with ``·``.
    """
    out = []
    for i, line in enumerate(article_lines()):
        if line.startswith("·"):
            break
        if "," in line or "。" in line or "，" in line:
            out.append(i)
    return tuple(out)


def load(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            assert raw.strip(), f"{path.name}:{n}: blank line"
            rows.append(json.loads(raw))
    return rows


@cache
def gold() -> list[dict]:
    return load(GOLD)


@cache
def followups() -> list[dict]:
    return load(FOLLOWUPS)


def quote_line(quote: str) -> int:
    """The index of the single article line containing ``quote``; fails otherwise."""
    hits = [i for i, line in enumerate(article_lines()) if quote in line]
    assert len(hits) == 1, f"quote {quote!r} found in lines {hits}, expected exactly one"
    return hits[0]


def check_quote(quote: object) -> int:
    assert isinstance(quote, str), f"quote {quote!r} is not a string"
    assert QUOTE_MIN <= len(quote) <= QUOTE_MAX, f"quote {quote!r} has {len(quote)} chars"
    assert "?" not in quote, f"quote {quote!r} touches a mojibake span"
    assert not re.search(r"\([a-zA-Z]", quote), f"quote {quote!r} contains pinyin"
    return quote_line(quote)


def check_question_lang(text: str, lang: str) -> None:
    if lang == "en":
        assert re.search(r"[A-Za-z]{2}", text), f"English question without English: {text!r}"
    else:
        assert CJK.search(text), f"Chinese question without Chinese: {text!r}"


# ---------------------------------------------------------------------------- the article


def test_article_has_expected_shape() -> None:
    lines = article_lines()
    assert not any(PINYIN.search(line) for line in lines)
    assert 25 <= len(body_paragraphs()) <= 32
    assert any("津心辦" in line for line in lines)


# ---------------------------------------------------------------------------- gold.jsonl


def test_gold_schema() -> None:
    rows = gold()
    for row in rows:
        assert set(row) == GOLD_KEYS, row
        assert re.fullmatch(r"q\d{3}", row["id"]), row["id"]
        assert isinstance(row["question"], str) and row["question"].strip(), row
        assert row["lang"] in LANGS, row
        assert row["kind"] in ANSWERABLE_KINDS | EMPTY_KINDS, row
        assert isinstance(row["answers"], list), row
        if row["kind"] in EMPTY_KINDS:
            assert row["answers"] == [], row
        else:
            assert row["answers"], row
            assert len(set(row["answers"])) == len(row["answers"]), row
        check_question_lang(row["question"], row["lang"])


def test_gold_ids_and_questions_unique() -> None:
    rows = gold()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    questions = [r["question"].strip().lower() for r in rows]
    dupes = [q for q, n in Counter(questions).items() if n > 1]
    assert not dupes, dupes


@pytest.mark.parametrize("row", gold(), ids=lambda r: r["id"])
def test_gold_quotes_occur_in_exactly_one_line(row: dict) -> None:
    for quote in row["answers"]:
        check_quote(quote)


def test_gold_counts() -> None:
    rows = gold()
    answerable = [r for r in rows if r["kind"] in ANSWERABLE_KINDS]
    by_lang = Counter(r["lang"] for r in answerable)
    kinds = Counter(r["kind"] for r in rows)
    assert len(rows) >= 130
    assert len(answerable) >= 110
    assert by_lang["zh-Hans"] >= 50, by_lang
    assert by_lang["zh-Hant"] >= 20, by_lang
    assert by_lang["en"] >= 30, by_lang
    assert kinds["paraphrase"] >= 20, kinds
    assert kinds["section"] >= 6, kinds
    assert kinds["unanswerable"] >= 15, kinds
    assert kinds["greeting"] >= 5, kinds
    for kind in ("paraphrase", "unanswerable"):
        langs = {r["lang"] for r in rows if r["kind"] == kind}
        assert langs == LANGS, (kind, langs)


def test_every_body_paragraph_answered_twice() -> None:
    per_line: Counter[int] = Counter()
    for row in gold():
        for line in {quote_line(q) for q in row["answers"]}:
            per_line[line] += 1
    lines = article_lines()
    thin = {i + 1: lines[i][:20] for i in body_paragraphs() if per_line[i] < 2}
    assert not thin, f"paragraphs (1-based line: start) with < 2 questions: {thin}"


# ---------------------------------------------------------------------------- followups.jsonl


def test_followups_schema_and_count() -> None:
    rows = followups()
    assert len(rows) >= 22
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert set(row) == FOLLOWUP_KEYS, row
        assert re.fullmatch(r"f\d{2,3}", row["id"]), row["id"]
        assert row["lang"] in LANGS, row
        for key in ("first", "followup"):
            assert isinstance(row[key], str) and row[key].strip(), row
            check_question_lang(row[key], row["lang"])
        assert len(row["followup"]) <= 60, row  # short, elliptical
        for key in ("first_answers", "answers"):
            assert isinstance(row[key], list) and row[key], row


@pytest.mark.parametrize("row", followups(), ids=lambda r: r["id"])
def test_followup_quotes_occur_in_exactly_one_line(row: dict) -> None:
    for quote in row["first_answers"] + row["answers"]:
        check_quote(quote)
