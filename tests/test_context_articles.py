"""Every context an article (the shelf bench at scale): names, credits and gold questions, from
small files of the CMRC and XQuAD shape (the real ones live outside the repository)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.tools.context_articles import write_context_articles
from corpus.ingest import load_article


def _qa(qid: str, question: str, answer: str, context: str) -> dict[str, object]:
    return {
        "id": qid,
        "question": question,
        "answers": [{"text": answer, "answer_start": context.index(answer)}],
    }


def _data(folder: Path) -> Path:
    cmrc = [
        (
            "泡泡战士",
            "泡泡战士由韩国Nexon开发与发行。中国大陆由盛大游戏运营。",
            "谁开发了泡泡战士？",
            "Nexon",
        ),
        ("乍都节公园", "乍都节公园位于曼谷北部。公园建于1975年。", "公园建于哪一年？", "1975年"),
    ]
    (folder / "xquad_dev").mkdir(parents=True)
    rows = [
        {"title": t, "paragraphs": [{"context": c, "qas": [_qa(f"c{i}", q, a, c)]}]}
        for i, (t, c, q, a) in enumerate(cmrc)
    ]
    (folder / "cmrc2018_trial.json").write_text(json.dumps({"data": rows}), encoding="utf-8")
    zh = ["华沙的夏季剧院从1870年运营到1939年。", "华沙大剧院设有表演系和舞台导演系。"]
    en = [
        "Warsaw's Summer Theatre ran from 1870 to 1939.",
        "The Great Theatre had an acting department.",
    ]
    questions_zh = ["夏季剧院运营到哪一年？", "大剧院设有什么系？"]
    questions_en = ["Until when did the Summer Theatre run?", "What did the Great Theatre have?"]
    answers = ["1939年", "表演系"]
    for name, contexts, questions in (("zh", zh, questions_zh), ("en", en, questions_en)):
        paragraphs = [
            {"context": c, "qas": [_qa(f"x{i}", q, a if name == "zh" else c.split()[-1], c)]}
            for i, (c, q, a) in enumerate(zip(contexts, questions, answers, strict=True))
        ]
        data = {"data": [{"title": "Warsaw", "paragraphs": paragraphs}]}
        (folder / "xquad_dev" / f"xquad_dev.{name}.json").write_text(
            json.dumps(data), encoding="utf-8"
        )
    return folder


def test_every_context_is_an_article_with_its_own_questions(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    folder = tmp_path / "articles"
    gold = write_context_articles(data, folder)
    names = sorted(p.stem for p in folder.glob("*.md"))
    assert names == ["cmrc_000", "cmrc_001", "xquad_00_1", "xquad_00_2"]
    assert {g.article for g in gold} == set(names)
    # XQuAD: each question in Chinese and in English, the Chinese answer text as gold.
    second = [g for g in gold if g.article == "xquad_00_2"]
    assert [g.text for g in second] == ["大剧院设有什么系？", "What did the Great Theatre have?"]
    assert {g.answer for g in second} == {"表演系"}
    for g in gold:  # the answer text is in the one article it is gold for
        article = load_article(folder / f"{g.article}.md")
        assert g.answer in "".join(p.text for p in article.paragraphs()), g
    article = load_article(folder / "xquad_00_1.md")
    assert article.title == "Warsaw (1)" and "XQuAD" in (article.source or "")
    assert "CMRC 2018" in (load_article(folder / "cmrc_000.md").source or "")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    write_context_articles(data, folder)  # again: the same bytes, so indexes are reused
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
