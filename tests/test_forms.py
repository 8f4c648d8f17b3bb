"""Every form an article could use for a term: numbers in any spelling, sound-alike names."""

from __future__ import annotations

import pytest
from pypinyin import lazy_pinyin

from bot.core.forms import (
    SoundAlikes,
    chinese_number,
    english_skeleton,
    number_of,
    numbers_in,
    roman_number,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [("三千", 3000), ("二十五", 25), ("十五", 15), ("两万三千", 23000), ("一亿", 100_000_000)],
)
def test_chinese_numerals_read_as_numbers(text: str, value: int) -> None:
    assert chinese_number(text) == value


def test_roman_numerals_only_when_well_formed() -> None:
    assert roman_number("xxxiii") == 33
    assert roman_number("xliv") == 44
    assert roman_number("iiii") is None  # not a numeral
    assert roman_number("i") is None  # a word, not a number


def test_an_article_writes_numbers_in_many_forms() -> None:
    found = numbers_in("从 1870 年到1939年，约三千人，2.5万册，第33届，3,000 元")
    assert {1870.0, 1939.0, 3000.0, 25_000.0, 33.0} <= found


def test_english_number_words_and_ordinals() -> None:
    assert number_of("third") == 3.0
    assert number_of("twenty") == 20.0
    assert number_of("2015") == 2015.0
    assert number_of("tianjin") is None


def _alikes(chinese: str) -> SoundAlikes:
    return SoundAlikes.of([tuple(lazy_pinyin(chinese))])


@pytest.mark.parametrize(
    ("name", "chinese"),
    [("jacksonville", "杰克逊维尔"), ("tesla", "特斯拉"), ("chopin", "肖邦")],
)
def test_a_transliterated_name_is_found_by_its_sound(name: str, chinese: str) -> None:
    assert _alikes(f"据报道{chinese}的居民很多").finds(name)


def test_sound_alikes_do_not_match_unrelated_names() -> None:
    assert english_skeleton("jacksonville") == "SGSNFL"
    alikes = _alikes("天津网络文明大会今日开幕")
    assert not alikes.finds("jacksonville")
    assert not alikes.finds("uk")  # too short to tell from chance
