"""Button data on the wire: every kind packs to its fixed format and parses back, nothing else.

Buttons under messages already sent carry these strings, so the formats are pinned byte
for byte here; after that, the rules aiogram's ``CallbackData`` tests hold a format to:
pack/parse round trips, Telegram's 64-byte limit, and garbage refused in both directions.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.telegram import callbacks as cb

# One button of each kind and the exact string Telegram stores under it.
WIRE: list[tuple[cb.CallbackData, str]] = [
    (cb.More("k3f01", 1), "m:k3f01:1"),
    (cb.ShowAnyway("k3f01"), "c:k3f01"),
    (cb.Vote("k3f01", 0, "u"), "v:k3f01:0:u"),
    (cb.Vote("k3f01", 2, "d"), "v:k3f01:2:d"),
    (cb.Walk("p", "s2-p7", "s"), "p:s2-p7:s"),
    (cb.Walk("n", "Ab_9-z", "o"), "n:Ab_9-z:o"),
    (cb.WholeSection(3), "w:3"),
    (cb.SectionPage(12, 0), "s:12:0"),
    (cb.Suggested(9), "q:9"),
    (cb.Language("zh-Hant"), "l:zh-Hant"),
    (cb.Language("auto"), "l:auto"),
    (cb.SectionOf("s2-p7"), "t:s2-p7"),
    (cb.UseArticle(0), "a:0"),
    (cb.ArticlesPage(2), "r:2"),
]

# The longest value each field format allows: the byte limit must hold even then.
LONGEST = {cb.KEY: "z" * 12, cb.PASSAGE: "P" * 40, cb.DIGIT: "9"}


def _parse(data: str) -> cb.CallbackData | None:
    """The one kind whose pattern takes ``data``, parsed, as the dispatcher would; else None."""
    kinds = [(kind, match) for kind in cb.KINDS if (match := kind.PATTERN.fullmatch(data))]
    assert len(kinds) <= 1, f"{data!r} is claimed by {[k.__name__ for k, _ in kinds]}"
    return kinds[0][0].parse(kinds[0][1]) if kinds else None


@pytest.mark.parametrize(("button", "data"), WIRE, ids=[d for _, d in WIRE])
def test_each_kind_packs_to_its_fixed_format(button: cb.CallbackData, data: str) -> None:
    assert button.pack() == data


@pytest.mark.parametrize(("button", "data"), WIRE, ids=[d for _, d in WIRE])
def test_each_kind_parses_back_to_the_same_button(button: cb.CallbackData, data: str) -> None:
    parsed = _parse(data)
    assert parsed == button
    assert type(parsed) is type(button)


def test_every_kind_is_registered_and_tested() -> None:
    assert set(cb.KINDS) == set(cb.CallbackData.__subclasses__())
    assert {type(button) for button, _ in WIRE} == set(cb.KINDS)
    prefixes = [kind.PREFIX for kind in cb.KINDS]
    assert len(set(prefixes)) == len(prefixes)


def test_number_fields_parse_as_numbers() -> None:
    page = _parse("s:4:2")
    assert isinstance(page, cb.SectionPage)
    assert (page.number, page.page) == (4, 2)
    assert all(isinstance(v, int) for v in dataclasses.astuple(page))


@pytest.mark.parametrize("kind", cb.KINDS, ids=lambda k: k.__name__)
def test_the_longest_data_each_kind_allows_fits_in_64_bytes(kind: type[cb.CallbackData]) -> None:
    values = [LONGEST.get(f, _longest_match(f)) for f in kind.FORMAT]
    data = ":".join(([kind.PREFIX] if kind.PREFIX else []) + values)
    assert kind.PATTERN.fullmatch(data), data
    assert len(data.encode()) <= cb.MAX_BYTES


@pytest.mark.parametrize(
    "button",
    [
        cb.More("K3F01", 1),  # keys are lower-case base 36
        cb.More("k" * 13, 1),  # at most 12 characters
        cb.More("k3f01", 10),  # one digit of rank
        cb.More("", 1),
        cb.Vote("k3f01", 0, "x"),
        cb.Walk("x", "s2-p7", "s"),
        cb.Walk("p", "P" * 41, "s"),  # passage ids stop at 40
        cb.Walk("p", "s2:p7", "s"),  # a separator inside a field
        cb.Walk("p", "段落", "s"),  # ASCII only
        cb.WholeSection(1000),
        cb.WholeSection(-1),
        cb.Suggested(100),
        cb.Language("fr"),
        cb.SectionOf("a b"),
    ],
    ids=repr,
)
def test_pack_refuses_values_outside_the_format(button: cb.CallbackData) -> None:
    with pytest.raises(ValueError, match="not valid callback data"):
        button.pack()


@pytest.mark.parametrize(
    "data",
    [
        "",
        ":",
        "m",
        "m:",
        "m:k3f01",  # a field missing
        "m:k3f01:1:",  # a trailing separator
        "m:k3f01:1:2",  # a field too many
        " w:3",
        "w:3 ",
        "w:3\n",
        "W:3",
        "x:3",
        "w:3a",
        "w:１",  # a full-width digit
        "l:en-US",
        "v:k3f01:0:up",
        "p:s2-p7",
        "天津",
        "m:k3f01:1" + "0" * 64,
    ],
)
def test_garbage_is_claimed_by_no_kind(data: str) -> None:
    assert _parse(data) is None


@given(st.sampled_from(cb.KINDS).flatmap(lambda k: st.from_regex(k.PATTERN, fullmatch=True)))
def test_whatever_a_pattern_takes_parses_and_packs_within_the_limit(data: str) -> None:
    button = _parse(data)
    assert button is not None
    again = button.pack()  # "w:007" comes back as "w:7": same button, canonical form
    assert _parse(again) == button
    assert len(again.encode()) <= cb.MAX_BYTES


def _longest_match(field_format: str) -> str:
    """The longest string a small field format takes (alternatives, or repeated classes)."""
    if "|" in field_format:
        return max(field_format.split("|"), key=len)
    repeat = re.fullmatch(r"\[(.+)\](?:\{\d+,(\d+)\})?", field_format)
    assert repeat, field_format
    return repeat.group(1)[-1] * int(repeat.group(2) or 1)
