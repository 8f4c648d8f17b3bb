"""Undo the two kinds of damage a scraped Chinese article arrives with.

Both repairs are general rules about how the damage arises, never about one article's text.

**Glued pinyin.** The source annotated characters with their reading: ``網(wǎng)絡(luò)``. An
annotation is removed when it is a parenthesised lowercase syllable right after a CJK
character (or after one ASCII letter glued to a CJK character, which is mojibake residue
such as ``诰W(wǎng)``), carries exactly one tone mark and, without its tone, is a valid
pinyin syllable. Toneless syllables such as ``(de)`` are kept: in the bundled article all
600-odd annotations carry a tone mark while neutral-tone characters (的 66 times, 了, 們)
are never annotated, and a toneless rule would also eat real text such as ``(a)`` or
``(pin)``. ``(2021年)``, ``(村)``, ``(App)`` and ``(OK)`` are therefore untouched.

**GBK one-byte-shift mojibake.** The page was GBK. At a damaged spot one byte became an ASCII
``?`` and the decoder went on one byte out of step, pairing each trail byte with the next
lead byte, until a byte it could not pair put it back in step: an ASCII byte 0x40-0x7E in
trail position (shown as a lone letter such as ``h``, ``W`` or a backtick) or a byte it
rejected (shown as another ``?``). The scraper then folded full-width forms to ASCII
(``！`` became ``!``, ``？`` became ``?``).

* An *anchor* is a ``?`` followed by more text (not by an ASCII space or the end) and not
  right after an ASCII letter (a URL, English).
* From it, the displayed characters are re-encoded (lone ASCII unfolded to full-width), one
  unknown byte is put in front and the bytes are paired again. Every ``?`` or lone ASCII
  letter on the way may be where the stream re-aligned, or a folded full-width character:
  each possibility is a *reading*. An ASCII word or number, a space or a character outside
  GBK ends the walk; a character whose second byte is ASCII re-aligns the stream inside
  itself, which leaves nothing to decode, so that reading can only be marked.
* A reading *fits* when it re-aligns, decodes strictly, and the next three characters
  hold no *foreign* letter (a non-ASCII letter that is not an ideograph of the line's
  script: Big5 for a Traditional line, GB2312 for a Simplified one, judged by which of
  them the line's own characters need; e.g. ``ū``, ``ㄓ``, ``诰`` in a Traditional line).
* The fitting reading with the fewest foreign, then rare decoded characters, then rare or
  foreign (non-ASCII) ones just after it, then the shortest, is taken. *Common* is punctuation or a
  first-level (frequent) Big5/GB2312 ideograph, *rare* another ideograph of the script,
  *foreign* anything else. The reading is plausible Chinese, and repaired, when it holds at
  least two common characters and at least three of those for each rare or foreign one.
  Characters with a lost byte, and foreign ones, become :data:`MARKER`: no text is guessed.
* An implausible fitting reading is replaced by :data:`MARKER`, except a bare ``??`` at
  the end of a sentence, which is emphasis. With no fitting reading, the shortest reading
  that holds a foreign letter is replaced by :data:`MARKER`; with none, the ``?`` is a real
  question mark and is kept (``你好嗎?我很好``).

Every repair and replacement is logged and returned.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

log = logging.getLogger(__name__)

MARKER = "[…]"


@dataclass(frozen=True)
class Repair:
    original: str  # the damaged span as found
    replacement: str  # what it became ('[…]' or repaired text)
    repaired: bool  # True if re-aligned into plausible Chinese, False if replaced by the marker


# --- glued pinyin -------------------------------------------------------------------------

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_UNTONE = str.maketrans(_TONED, "aaaaeeeeiiiioooouuuuüüüü")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_ANNOTATION = re.compile(rf"(?:(?<=[{_CJK}])|(?<=[{_CJK}][A-Za-z]))\(([a-zü{_TONED}]{{1,6}})\)")
_SYLLABLE = re.compile(
    r"(?:[zcs]h|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:a(?:i|o|ng?)?|o(?:u|ng)?|e(?:i|ng?|r)?|i(?:a(?:o|ng?)?|e|u|ng?|ong)?"
    r"|u(?:a(?:i|ng?)?|o|i|n|e)?|ü(?:e|n)?)"
)


def _is_pinyin(word: str) -> bool:
    """One tone mark and a valid toneless syllable: what the annotator wrote."""
    tones = sum(ch in _TONED for ch in word)
    return tones == 1 and _SYLLABLE.fullmatch(word.translate(_UNTONE)) is not None


def strip_pinyin(text: str) -> str:
    """Drop reading annotations glued to characters; keep every other parenthesis."""
    return _ANNOTATION.sub(lambda m: "" if _is_pinyin(m.group(1)) else m.group(0), text)


# --- GBK mojibake -------------------------------------------------------------------------

_SPAN_CAP = 80  # longest stretch read as one span
_LOOKAHEAD = 3  # characters after a re-alignment that must not hold foreign letters
_FIRST_LEVEL = {"big5": (b"\xa4\x40", b"\xc6\x7e"), "gb2312": (b"\xb0\xa1", b"\xd7\xf9")}

Stream = tuple[int | None, ...]  # the true GBK bytes behind a span; None = a lost byte


@dataclass(frozen=True)
class _Reading:
    """One guess at the true bytes behind the text after an anchor."""

    end: int  # index just past the span
    stream: Stream
    fits: bool  # re-aligned, with no foreign letter right after


class _Tally(NamedTuple):
    foreign: int
    rare: int
    common: int


def _encodes(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _is_ideograph(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK ")


@cache
def _leaning(char: str) -> int:
    """+1 for an ideograph only Big5 encodes, -1 for one only GB2312 encodes, else 0.

    Cached: an article repeats a few thousand characters, and asking two codecs (and the
    Unicode name table) about each occurrence was most of the time an article took to load.
    """
    if not _is_ideograph(char):
        return 0
    big5, gb2312 = _encodes(char, "big5"), _encodes(char, "gb2312")
    return int(big5 and not gb2312) - int(gb2312 and not big5)


def _script(text: str) -> str:
    """The codec of the line's script: Traditional (big5), Simplified (gb2312) or '' if unsure."""
    leanings = [_leaning(ch) for ch in text]
    traditional, simplified = leanings.count(1), leanings.count(-1)
    if traditional == simplified:
        return ""
    return "big5" if traditional > simplified else "gb2312"


def _codecs(script: str) -> list[str]:
    return [script] if script else list(_FIRST_LEVEL)


def _native(char: str, script: str) -> bool:
    """An ideograph that the line's script writes."""
    return _is_ideograph(char) and any(_encodes(char, codec) for codec in _codecs(script))


def _common(char: str, script: str) -> bool:
    """Punctuation, or an ideograph of the first (frequent) level of the script's charset."""
    if unicodedata.category(char).startswith("P"):
        return True
    for codec in _codecs(script):
        first, last = _FIRST_LEVEL[codec]
        if _native(char, codec) and first <= char.encode(codec) <= last:
            return True
    return False


def _foreign(char: str, script: str) -> bool:
    """A letter no clean line of this script holds: pinyin, bopomofo, the other script."""
    is_letter = unicodedata.category(char).startswith("L")
    return is_letter and not char.isascii() and not _native(char, script)


def _grade(char: str, script: str) -> str:
    """'common' (punctuation, first-level ideograph), 'rare' (other ideograph) or 'foreign'."""
    if _common(char, script):
        return "common"
    return "rare" if _native(char, script) else "foreign"


def _tally(chars: Sequence[str | None], script: str) -> _Tally:
    grades = [_grade(char, script) for char in chars if char is not None]
    return _Tally(grades.count("foreign"), grades.count("rare"), grades.count("common"))


def _is_word(text: str, pos: int) -> bool:
    """Part of an ASCII word or number: real text, never a shifted byte."""
    around = text[max(pos - 1, 0) : pos] + text[pos + 1 : pos + 2]
    return text[pos].isalnum() and any(char.isascii() and char.isalnum() for char in around)


def _gbk_pair(text: str, pos: int) -> tuple[int, int] | None:
    """The two GBK bytes a displayed character came from; lone ASCII is a folded full-width."""
    char = text[pos]
    if char.isascii():
        if not "!" <= char <= "~" or _is_word(text, pos):
            return None
        char = chr(ord(char) + 0xFEE0)
    try:
        code = char.encode("gbk")
    except UnicodeEncodeError:
        return None
    return (code[0], code[1]) if len(code) == 2 else None


def _is_blank(char: str) -> bool:
    """ASCII white space; an ideographic space may be a shifted byte pair (A1 A1)."""
    return char.isascii() and char.isspace()


def _is_anchor(text: str, pos: int) -> bool:
    """A '?' followed by more text and not right after an ASCII letter (a URL, English)."""
    after_word = pos > 0 and text[pos - 1].isascii() and text[pos - 1].isalpha()
    followed = pos + 1 < len(text) and not _is_blank(text[pos + 1])
    return text[pos] == "?" and not after_word and followed


def _at_sentence_end(text: str, pos: int) -> bool:
    """The text ends, or a space or a closing quote or bracket follows."""
    closing = pos < len(text) and unicodedata.category(text[pos]) in {"Pe", "Pf"}
    return pos == len(text) or _is_blank(text[pos]) or closing


def _garbled(text: str, pos: int, script: str) -> bool:
    return any(_foreign(char, script) for char in text[pos : pos + _LOOKAHEAD])


def _readings(
    text: str, pos: int, script: str, limit: int, *, stream: Stream = (None,), fits: bool = True
) -> Iterator[_Reading]:
    """Every reading of the text from ``pos``; the stream starts with the byte the anchor lost.

    Once a reading re-aligned into garbage (more bytes were lost), it only runs on to find
    where the damage ends, never to be repaired.
    """
    while pos < limit and (code := _gbk_pair(text, pos)) is not None:
        char = text[pos]
        if char == "?" or "@" <= char <= "~":  # a lost byte, or a trail byte shown as ASCII
            ended = (*stream, None if char == "?" else ord(char))
            if not _garbled(text, pos + 1, script):
                yield _Reading(pos + 1, ended, fits)
                if not fits:
                    return
            elif fits:
                yield from _readings(
                    text, pos + 1, script, limit, stream=(*ended, None), fits=False
                )
        stream, pos = (*stream, *code), pos + 1
        if code[1] < 0x80:  # an ASCII byte in lead position: back in step, but nothing to read
            break
    yield _Reading(pos, stream, fits=False)  # never re-aligned: at most a span to mark


def _decode(stream: Stream) -> list[str | None] | None:
    """Strictly decode the stream pair by pair; None stands for a character with a lost byte."""
    chars: list[str | None] = []
    for pos in range(0, len(stream), 2):
        lead, trail = stream[pos], stream[pos + 1]
        if lead is None or trail is None:
            chars.append(None)
            continue
        try:
            chars.append(bytes((lead, trail)).decode("gbk"))
        except UnicodeDecodeError:
            return None
    return chars


def _preference(
    text: str, reading: _Reading, chars: list[str | None], script: str
) -> tuple[int, int, int, int]:
    """Fewest foreign, then rare characters, in the span and just after it; then the shortest."""
    inside = _tally(chars, script)
    after = [ch for ch in text[reading.end : reading.end + _LOOKAHEAD] if not ch.isascii()]
    stray = _tally(after, script)
    return inside.foreign, inside.rare, stray.rare + stray.foreign, reading.end


def _repair(chars: list[str | None], script: str) -> str | None:
    """The repaired text if the characters read as Chinese, folded like the scraper; or None."""
    tally = _tally(chars, script)
    if tally.common < 2 or 3 * (tally.foreign + tally.rare) > tally.common:
        return None
    shown = "".join(
        MARKER if char is None or _grade(char, script) == "foreign" else char for char in chars
    )
    shown = re.sub(rf"(?:{re.escape(MARKER)})+", MARKER, shown)
    return "".join(chr(ord(ch) - 0xFEE0) if "！" <= ch <= "～" else ch for ch in shown)


def _mend(text: str, anchor: int, script: str) -> Repair | None:
    """The repair of the span at ``anchor``; None if the '?' is a real question mark."""
    limit = min(len(text), anchor + _SPAN_CAP)
    readings = sorted(_readings(text, anchor + 1, script, limit), key=lambda r: r.end)
    fitting = [(r, chars) for r in readings if r.fits and (chars := _decode(r.stream)) is not None]
    if fitting:
        reading, chars = min(fitting, key=lambda rc: _preference(text, rc[0], rc[1], script))
        span = text[anchor : reading.end]
        replacement = _repair(chars, script)
        if replacement is not None:
            return Repair(span, replacement, repaired=True)
        if span.strip("?") or not _at_sentence_end(text, reading.end):
            return Repair(span, MARKER, repaired=False)
    for reading in readings:
        span = text[anchor : reading.end]
        if any(_foreign(char, script) for char in span):
            return Repair(span, MARKER, repaired=False)
    return None


def repair_mojibake(text: str) -> tuple[str, list[Repair]]:
    """Re-align every mojibake span, or mark it where it will not re-align; log each."""
    if "?" not in text:  # every span starts at a '?' (the byte the scrape lost)
        return text, []
    script = _script(text)
    parts: list[str] = []
    repairs: list[Repair] = []
    done = 0
    for anchor in (i for i, char in enumerate(text) if char == "?"):
        if anchor < done or not _is_anchor(text, anchor):
            continue
        repair = _mend(text, anchor, script)
        if repair is None:
            continue
        parts += [text[done:anchor], repair.replacement]
        repairs.append(repair)
        done = anchor + len(repair.original)
        if repair.repaired:
            log.info("repaired mojibake %r as %r", repair.original, repair.replacement)
        else:
            log.info("unreadable mojibake %r replaced by %s", repair.original, MARKER)
    parts.append(text[done:])
    return "".join(parts), repairs


def clean_line(text: str) -> tuple[str, list[Repair]]:
    """Strip pinyin first, so that no annotation is read as mojibake bytes; then trim."""
    cleaned, repairs = repair_mojibake(strip_pinyin(text))
    return cleaned.strip(), repairs
