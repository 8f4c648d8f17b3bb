"""The cleaning rules, on the bundled article and on damage made here by the same mechanism."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from corpus.clean import MARKER, Repair, clean_line, repair_mojibake, strip_pinyin

ARTICLE = Path(__file__).resolve().parents[1] / "corpus" / "000_b5519ea694e741d6.txt"
TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# Characters that only ever appear inside the article's mojibake spans.
TELLTALES = set("劢蚴谑皵麄浾ㄓ诰嵺`ū")


def _fold(text: str) -> str:
    """What the scraper did to full-width forms: ！ became !, ， became , and so on."""
    return "".join(chr(ord(ch) - 0xFEE0) if "！" <= ch <= "～" else ch for ch in text)


def _damage(sentence: str, index: int) -> str:
    """Lose the lead byte of ``sentence[index]`` and decode the rest of the GBK bytes shifted."""
    raw = sentence.encode("gbk")
    cut = len(sentence[:index].encode("gbk"))
    shifted = raw[cut + 1 :].decode("gbk", errors="replace").replace("\ufffd", "?")
    return _fold(sentence[:index] + "?" + shifted)


def _cleaned_article() -> list[tuple[str, list[Repair]]]:
    return [clean_line(line) for line in ARTICLE.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022年中國網(wǎng)絡(luò)文明大會", "2022年中國網絡文明大會"),
        ("風(fēng)起渤海之濱", "風起渤海之濱"),
        ("版權均屬??诰W(wǎng)所有", "版權均屬??诰W所有"),  # after mojibake residue
    ],
)
def test_pinyin_annotations_are_stripped(raw: str, expected: str) -> None:
    assert strip_pinyin(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "《數字中國發展報告(2021年)》",
        "社區(村)級",
        "研究院(App)上線",
        "他說(OK)",
        "下載(app)",
        "目的(de)",  # toneless: the article never annotates without a tone mark
        "喝咖啡(café)",  # a tone mark, but not a pinyin syllable
        "He said (wǎng) in English",  # not glued to a Chinese character
    ],
)
def test_real_parentheses_are_kept(text: str) -> None:
    assert strip_pinyin(text) == text


def test_nested_annotations_leave_the_real_parenthesis() -> None:
    assert strip_pinyin("281個街道(鄉(xiāng)鎮(zhèn))級") == "281個街道(鄉鎮)級"


def test_mojibake_that_realigns_is_repaired() -> None:
    line = "都成為構建和諧社會的積極因子?!薄皵y手網絡新時代爭做津門好網民"

    cleaned, repairs = clean_line(line)

    # "。" lost its lead byte to the "?": it is marked, never guessed.
    assert cleaned == "都成為構建和諧社會的積極因子[…]”“攜手網絡新時代爭做津門好網民"
    assert repairs == [Repair("?!薄皵y", "[…]”“攜", repaired=True)]


def test_a_question_mark_inside_a_span_can_be_a_folded_full_width_one() -> None:
    cleaned, repairs = clean_line("凡注明來源為“??诰W(wǎng)”的所有文字")

    assert cleaned == "凡注明來源為“[…]口網”的所有文字"
    assert [r.repaired for r in repairs] == [True]


def test_mojibake_that_does_not_realign_is_marked_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = "《思想引領(lǐng)》《天津?qū)嵺`》《行進(jìn)天津》等專題"

    with caplog.at_level(logging.INFO, logger="corpus.clean"):
        cleaned, repairs = clean_line(line)

    assert cleaned == "《思想引領》《天津[…]》《行進天津》等專題"
    assert repairs == [Repair("?qū)嵺`", MARKER, repaired=False)]
    assert [r.name for r in caplog.records] == ["corpus.clean"]
    assert "?qū)嵺`" in caplog.records[0].getMessage()


@pytest.mark.parametrize(
    "line",
    [
        "凝心聚力,需要陣地。我市多措並舉建強網上理論陣地",
        "網絡內容從業人員違法違規行為舉報郵箱:jb66822333@126.com",
        "你好嗎?我很好。",  # a real question mark followed by the next sentence
        "真的嗎?",
        "他問:“真的嗎??”",
        "詳見 https://example.com/a?b=1 頁面",
    ],
)
def test_clean_text_is_untouched(line: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="corpus.clean"):
        assert clean_line(f"  {line} \n") == (line, [])
    assert not caplog.records


def test_the_bundled_article_comes_out_clean() -> None:
    cleaned = [text for text, _ in _cleaned_article()]
    article = "\n".join(cleaned)

    assert not re.search(rf"\([a-zü{TONED}]+\)", article)
    assert "?" not in article
    assert not TELLTALES & set(article)
    for kept in ("(2021年)", "(鄉鎮)", "(村)", "App"):
        assert kept in article
    assert "格外醒目[…]《聚焦天津市第[…]黨代會》《思想引領》《天津[…]》" in article
    assert "“天津楷[…]”“天津好人”宣[…],真正以文化人" in article
    assert "綻放[…](記[…]孟若冰" in article


def test_every_article_repair_is_reported() -> None:
    repairs = [repair for _, line_repairs in _cleaned_article() for repair in line_repairs]

    assert [(r.original, r.repaired) for r in repairs] == [
        ("?!毒劢固旖蚴械谑吸h", True),
        ("?qū)嵺`", False),
        ("?!薄皵y", True),
        ("?!薄疤旖蚝萌恕毙麄?", True),
        ("?。ㄓ浾?", True),
        ("??诰W", True),
        ("??诰W", True),
    ]


SENTENCE = "我们在网上看到了这条新闻，大家都很高兴。"


def test_synthetic_damage_round_trips() -> None:
    damaged = _damage(SENTENCE, SENTENCE.index("上"))
    assert damaged == "我们在网?峡吹搅苏馓跣挛牛?大家都很高兴。"

    cleaned, repairs = repair_mojibake(damaged)

    # 上 lost its lead byte, ， its trail byte (the decoder rejected it): both are marked.
    assert cleaned == "我们在网[…]看到了这条新闻[…]大家都很高兴。"
    assert [r.repaired for r in repairs] == [True]


@pytest.mark.parametrize(
    "sentence",
    [SENTENCE, "他说：“这本书很好看！”然后就走了。", "風起渤海之濱，潮涌海河兩岸。"],
)
def test_synthetic_damage_never_survives_nor_invents_text(sentence: str) -> None:
    # Losing one of the last two characters leaves a bare "??" at the end: read as emphasis.
    for index in range(1, len(sentence) - 2):
        cleaned, repairs = repair_mojibake(_damage(sentence, index))

        pieces = (re.escape(piece) for piece in cleaned.split(MARKER))
        assert re.fullmatch(".+?".join(pieces), _fold(sentence)), cleaned
        assert "?" not in cleaned
        assert repairs
