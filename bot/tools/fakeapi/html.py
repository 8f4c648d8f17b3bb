"""Telegram's HTML parse mode: a port of TDLib's ``parse_html`` (td/telegram/MessageEntity.cpp).

Same error texts and the same byte offsets as Telegram's own parser, so a message the fake
accepts is one Telegram would accept; entities come out in UTF-16 offsets, as the Bot API
sends them.
"""

from __future__ import annotations

import re

from bot.tools.fakeapi.records import JSONDict


class EntityParseError(ValueError):
    """Telegram's ``can't parse entities`` failure; ``str()`` is TDLib's own message."""


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_ENTITIES = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# TDLib's MessageEntity::get_type_priority, used to order entities that start together.
_ENTITY_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_SPACES = frozenset(b" \t\r\n\0\v")  # TDLib's is_space() also treats NUL as a space
_NAME_STOP = frozenset(b"=>/\"'")
_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "tonsite"})
_TG_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.IGNORECASE)
_URL_SHAPE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://[^\s]+$")


def _decode_html_entity(src: bytes, pos: int) -> tuple[int, int]:
    """Decode ``&...`` at ``pos``; return (code point, next index), or (0, pos) if not one.

    Like Telegram, only &lt; &gt; &amp; &quot; and numeric references are entities; any
    other ``&`` is kept as a literal character rather than rejected.
    """

    def at(i: int) -> int:
        return src[i] if i < len(src) else 0

    end = pos + 1
    code = 0
    if at(pos + 1) == ord("#"):
        end += 1
        if at(pos + 2) == ord("x"):
            end += 1
            while chr(at(end)) in "0123456789abcdefABCDEF" and at(end):
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while ord("0") <= at(end) <= ord("9"):
                code = code * 10 + at(end) - ord("0")
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(at(end)).isascii() and chr(at(end)).isalpha():
            end += 1
        named = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}.get(src[pos + 1 : end])
        if named is None:
            return 0, pos
        code = ord(named)
    if at(end) == ord(";"):
        end += 1
    return code, end


def _checked_link(url: str) -> str | None:
    """An approximation of LinkManager::get_checked_link: bad links silently lose the entity."""
    url = url.strip()
    if not url:
        return None
    if "://" not in url:
        url = f"http://{url}"
    shape = _URL_SHAPE.match(url)
    if not shape or shape.group(1).lower() not in _LINK_SCHEMES:
        return None
    return url


class _HtmlParser:
    """One pass over the UTF-8 bytes, mirroring TDLib so byte offsets in errors agree."""

    def __init__(self, text: str) -> None:
        self.src = text.encode("utf-8")
        self.out = bytearray()
        self.utf16 = 0
        self.stack: list[tuple[str, str, int, int]] = []
        self.entities: list[JSONDict] = []
        self.recheck_utf8 = False

    def at(self, i: int) -> int:
        """The byte at ``i``, or 0 past the end, like reading a NUL-terminated C string."""
        return self.src[i] if i < len(self.src) else 0

    def parse(self) -> tuple[str, list[JSONDict]]:
        i = 0
        while i < len(self.src):
            c = self.src[i]
            if c == ord("&"):
                code, after = _decode_html_entity(self.src, i)
                if code:
                    self.utf16 += 1 + (code > 0xFFFF)
                    self.recheck_utf8 |= 0xD800 <= code <= 0xDFFF
                    self.out += chr(code).encode("utf-8", "surrogatepass")
                    i = after
                    continue
            if c != ord("<"):
                if c & 0xC0 != 0x80:  # first byte of a UTF-8 sequence
                    self.utf16 += 1 + (c >= 0xF0)
                self.out.append(c)
                i += 1
                continue
            i = self._end_tag(i) if self.at(i + 1) == ord("/") else self._start_tag(i)
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"'
            )
        try:
            text = bytes(self.out).decode("utf-8")
        except UnicodeDecodeError:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ) from None
        for index, entity in enumerate(self.entities):
            entity.pop("_argument", None)
            self.entities[index] = {"type": entity.pop("type"), **entity}
        self.entities.sort(
            key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 50))
        )
        return text, self.entities

    def _skip_spaces(self, i: int) -> int:
        while self.at(i) != 0 and self.at(i) in _SPACES:
            i += 1
        return i

    def _start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.at(i) not in _SPACES and self.at(i) != ord(">"):
            i += 1
        if self.at(i) == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        tag = self.src[begin + 1 : i].lower().decode("utf-8", "replace")
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while self.at(i) != ord(">"):
            i = self._skip_spaces(i)
            if self.at(i) == ord(">"):
                break
            i, argument = self._attribute(i, tag, begin, argument)
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
            )
        self.stack.append((tag, argument, self.utf16, len(self.out)))
        return i + 1

    def _attribute(self, i: int, tag: str, begin: int, argument: str) -> tuple[int, str]:
        """Parse one attribute at ``i``; returns the next index and the tag's argument."""
        name_begin = i
        while self.at(i) not in _SPACES and self.at(i) not in _NAME_STOP:
            i += 1
        name = self.src[name_begin:i]
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
            )
        i = self._skip_spaces(i)
        if self.at(i) != ord("="):
            if self.at(i) == 0:
                raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
            if tag == "blockquote" and name == b"expandable":
                argument = "1"
            return i, argument
        i = self._skip_spaces(i + 1)
        if self.at(i) == 0:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        value, i = self._attribute_value(i)
        if self.at(i) == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        return i, self._tag_argument(tag, name, value, argument)

    def _attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in (ord("'"), ord('"')):
            # An unquoted name token: letters, digits, periods, hyphens; case-insensitive.
            token_begin = i
            while (chr(self.at(i)).isascii() and chr(self.at(i)).isalnum()) or self.at(i) in (
                ord("."),
                ord("-"),
            ):
                i += 1
            if self.at(i) not in _SPACES and self.at(i) != ord(">"):
                raise EntityParseError(f"Unexpected end of name token at byte offset {token_begin}")
            return self.src[token_begin:i].lower().decode("utf-8", "replace"), i
        i += 1
        value = bytearray()
        while self.at(i) not in (quote, 0):
            if self.at(i) == ord("&"):
                code, after = _decode_html_entity(self.src, i)
                if code:
                    value += chr(code).encode("utf-8", "surrogatepass")
                    i = after
                    continue
            value.append(self.at(i))
            i += 1
        if self.at(i) == quote:
            i += 1
        return bytes(value).decode("utf-8", "replace"), i

    @staticmethod
    def _tag_argument(tag: str, name: bytes, value: str, current: str) -> str:
        if tag == "a" and name == b"href":
            return value
        if tag == "code" and name == b"class" and value.startswith("language-"):
            return value[len("language-") :]
        if tag == "span" and name == b"class" and value.startswith("tg-"):
            return value[len("tg-") :]
        if tag == "tg-emoji" and name == b"emoji-id":
            return value
        if tag == "blockquote" and name == b"expandable":
            return "1"
        return current

    def _end_tag(self, begin: int) -> int:
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        i = begin + 2
        while self.at(i) not in _SPACES and self.at(i) != ord(">"):
            i += 1
        end_name = self.src[begin + 2 : i].lower().decode("utf-8", "replace")
        while self.at(i) != 0 and self.at(i) in _SPACES:
            i += 1
        if self.at(i) != ord(">"):
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, out_pos = self.stack[-1]
        if end_name and end_name != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        if self.utf16 > offset:
            self._add_entity(tag, argument, offset, self.utf16 - offset, out_pos)
        self.stack.pop()
        return i + 1

    def _add_entity(self, tag: str, argument: str, offset: int, length: int, pos: int) -> None:
        entity: JSONDict = {"offset": offset, "length": length}
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last["offset"], last["length"]) == (offset, length)
        if tag in _SIMPLE_TAG_ENTITIES:
            entity["type"] = _SIMPLE_TAG_ENTITIES[tag]
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0 or int(argument) >= 2**63:
                raise EntityParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        elif tag == "a":
            url = argument or bytes(self.out[pos:]).decode("utf-8", "replace")
            user = _TG_USER_LINK.match(url.strip())
            if user:
                uid = int(user.group(1))
                entity.update(type="text_mention", user={"id": uid, "is_bot": False})
                entity["user"]["first_name"] = ""
            else:
                checked = _checked_link(url)
                if checked is None:
                    return
                entity.update(type="text_link", url=checked)
        elif tag == "pre":
            if last is not None and same_span and last["type"] == "code" and last["_argument"]:
                last.update(type="pre", language=last.pop("_argument"))
                return
            entity["type"] = "pre"
        elif tag == "code":
            if last is not None and same_span and last["type"] == "pre" and argument:
                last["language"] = argument
                return
            entity.update(type="code", _argument=argument)
        else:  # blockquote
            entity["type"] = "expandable_blockquote" if argument else "blockquote"
        self.entities.append(entity)


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML into (plain text, Bot API entities) or raise EntityParseError.

    Offsets and lengths are in UTF-16 code units, as in the Bot API.
    """
    return _HtmlParser(text).parse()


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


_TRIM = " \t\r\n\v\f"


def trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace like Telegram does, keeping entities aligned."""
    stripped = text.strip(_TRIM)
    if stripped == text:
        return text, entities
    cut = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - cut)
        end = min(size, entity["offset"] + entity["length"] - cut)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept
