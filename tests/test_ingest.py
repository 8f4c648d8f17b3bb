"""Ingestion of the bundled article and of a user's Markdown article."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from corpus.ingest import BUNDLED_ARTICLE, ArticleError, load_article
from tests.helpers.paths import DATA

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_b5519ea694e741d6.txt"


def test_bundled_file_is_the_seed_byte_for_byte() -> None:
    if not SEED.exists():
        pytest.skip("../shared is not beside this checkout")
    assert BUNDLED_ARTICLE.read_bytes() == SEED.read_bytes()


def test_four_sections_with_their_subheadings() -> None:
    article = load_article()
    got = [(s.heading, s.subheading) for s in article.sections]
    assert got == [
        ("凝心聚力", "厚植網絡文明建設的“根”與“魂”"),
        ("成風化人", "豐富網絡文明建設的“知”與“行”"),
        ("激濁揚清", "提升網絡文明建設的“質”與“效”"),
        ("數字天津", "體悟網絡文明建設的“獲”與“得”"),
    ]
    assert all(len(s.paragraphs) >= 4 for s in article.sections)


def test_lead_positions_and_ids() -> None:
    article = load_article()
    paragraphs = list(article.paragraphs())
    assert article.lead and article.lead[0].text.startswith("風起渤海之濱")
    assert [p.position for p in paragraphs] == list(range(1, len(paragraphs) + 1))
    assert len({p.id for p in paragraphs}) == len(paragraphs)
    # ids come from the text, so parsing again gives the same ids
    assert [p.id for p in load_article().paragraphs()] == [p.id for p in paragraphs]
    assert article.content_hash == hashlib.sha256(BUNDLED_ARTICLE.read_bytes()).hexdigest()


def test_footer_and_photo_credit_are_metadata_not_paragraphs() -> None:
    article = load_article()
    texts = [p.text for p in article.paragraphs()]
    assert not any("版權" in t or "@" in t or t.startswith("·") for t in texts)
    assert not any("攝" in t for t in texts), "photo credits must not be quoted"
    assert any("jb66822333@126.com" in line for line in article.footer)
    assert article.credit and "攝" in article.credit
    assert article.title.startswith("2022年中國網絡文明大會")


def test_cleaned_text_has_no_pinyin_or_mojibake() -> None:
    article = load_article()
    for paragraph in article.paragraphs():
        assert "(wǎng)" not in paragraph.text and "?" not in paragraph.text
    joined = "\n".join(p.text for p in article.paragraphs())
    assert "(2021年)" in joined and "(鄉鎮)" in joined and "(村)" in joined


def test_markdown_article_parses_by_its_headings() -> None:
    article = load_article(DATA / "sample_article.md")
    assert article.title == "The Lighthouse Keepers of Harbour Bay"
    assert [(s.heading, s.subheading) for s in article.sections] == [
        ("History", "From oil lamps to LEDs"),
        ("Visiting", None),
    ]
    assert article.lead[0].text.startswith("Harbour Bay has had a lighthouse since 1852.")
    assert "northern cliff and its lamp" in article.lead[0].text  # lines of a block joined
    assert len(article.sections[1].paragraphs) == 2


def test_unreadable_or_empty_article_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="cannot read"):
        load_article(tmp_path / "missing.txt")
    empty = tmp_path / "empty.md"
    empty.write_text("# Only a title\n", encoding="utf-8")
    with pytest.raises(ArticleError, match="no paragraphs"):
        load_article(empty)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")  # a UTF-16 byte-order mark: said so
    with pytest.raises(ArticleError, match="re-save it as UTF-8"):
        load_article(binary)


def test_sidecar_adds_date_source_and_suggested_questions(tmp_path: Path) -> None:
    article = load_article()
    assert article.date and article.suggested_questions
    plain = tmp_path / "article.txt"
    plain.write_bytes(BUNDLED_ARTICLE.read_bytes())
    assert load_article(plain).suggested_questions == ()  # no sidecar: nothing invented
    (tmp_path / "article.toml").write_text(
        'title = "Another title"\nsuggested_questions = ["Q1?", "Q2?"]\n', encoding="utf-8"
    )
    with_sidecar = load_article(plain)
    assert with_sidecar.title == "Another title"
    assert with_sidecar.suggested_questions == ("Q1?", "Q2?")
    (tmp_path / "article.toml").write_text("suggested_questions = 3\n", encoding="utf-8")
    with pytest.raises(ArticleError, match="suggested_questions"):
        load_article(plain)
