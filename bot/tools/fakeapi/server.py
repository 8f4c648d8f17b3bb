"""A fake Telegram Bot API server for end-to-end tests of the bot.

Mocking ``telegram.Bot`` methods tests our assumptions about PTB, not PTB itself: the
serialisation of parameters, the HTTP client, the polling loop, the error mapping and the
shutdown sequence all stay untested.  ``FakeBotApi`` is instead a real HTTP server on
127.0.0.1 that speaks the Bot API wire format, so the real python-telegram-bot runs unchanged
against it via ``Application.builder().base_url(api.base_url)``.

It records every call (like aiogram's ``MockedBot``), lets a test inject the failures that
production sees (flood control, 5xx, dropped connections, slow answers, broken JSON), and
enforces the Telegram rules that bots most often break: HTML ``parse_mode`` is parsed by a
port of TDLib's ``parse_html`` (same error texts and byte offsets), and text limits are
checked after entity parsing, exactly where Telegram checks them.

Only loopback addresses are ever contacted: the server binds 127.0.0.1 and the webhook
helpers refuse any other host.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import http.server
import itertools
import json
import re
import socket
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

DEFAULT_TOKEN = "123456:TEST-token-for-the-fake-server-only-x"
"""A token of the real shape ``<bot id>:<secret>``; PTB only requires it to be non-empty."""

JSONDict = dict[str, Any]
Matcher = str | Callable[["Call"], bool]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_RESULTS = 50

_JSON_TYPE = "application/json"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Update types Telegram delivers when a bot never passed ``allowed_updates``.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Form fields whose values are strings even when they look like JSON ("123", "true").
# PTB JSON-encodes every non-string parameter and sends strings raw, so the server has to
# know which fields are strings to decode the rest - the real Bot API does it the same way.
_STRING_FIELDS = frozenset(
    {
        "action",
        "address",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "custom_title",
        "data",
        "description",
        "emoji",
        "explanation",
        "file_id",
        "first_name",
        "foursquare_id",
        "inline_message_id",
        "inline_query_id",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "next_offset",
        "parse_mode",
        "payload",
        "phone_number",
        "query",
        "question",
        "secret_token",
        "short_description",
        "start_parameter",
        "switch_pm_parameter",
        "switch_pm_text",
        "text",
        "title",
        "url",
        "vcard",
    }
)

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# What nginx in front of api.telegram.org really answers with on a 502/504: not JSON.
_NGINX_ERROR_PAGE = (
    "<html>\r\n<head><title>{code} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{code} Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------------------------
# Records and faults
# --------------------------------------------------------------------------------------------


class Call(NamedTuple):
    """One Bot API request as the bot sent it; unpacks as ``method, params``."""

    method: str
    params: JSONDict


@dataclass(frozen=True)
class Exchange:
    """A call together with what the fake answered, for asserting on failures too.

    ``status`` is 0 when the connection was dropped without an answer; ``response`` is the
    decoded JSON body, or the raw text when the answer was deliberately malformed.
    """

    method: str
    params: JSONDict
    status: int
    response: Any


@dataclass
class Fault:
    """A failure to answer the next matching call(s) with; see :meth:`FakeBotApi.inject`."""

    method: str
    error_code: int | None = 429
    description: str | None = None
    retry_after: int | None = None
    parameters: JSONDict | None = None
    delay: float = 0.0
    drop: bool = False
    malformed: bool = False
    reset: bool = False  # carry the call out, then drop the connection before answering
    times: int = 1
    when: Callable[[JSONDict], bool] | None = None
    label: str | None = None  # a name for reports (a fault policy's kind)

    def matches(self, method: str, params: JSONDict) -> bool:
        """Whether this fault applies to a call; ``"*"`` matches every method."""
        if self.method not in ("*", method) and self.method.lower() != method.lower():
            return False
        return self.when is None or bool(self.when(params))


class FaultPolicy(Protocol):
    """The public hook for faults and recording (``FakeBotApi(policy=…)``), e.g. a soak's.

    Both methods run on the request's own thread, ``choose`` when a call arrives (before
    anything is carried out) and ``observe`` when its exchange is recorded (under the
    server's lock), so a policy may keep per-request state in a ``threading.local``.
    """

    def choose(self, method: str, params: JSONDict, queued: Fault | None) -> Fault | None:
        """The fault for this call: ``queued`` (from :meth:`FakeBotApi.inject`), or another."""
        ...

    def observe(self, exchange: Exchange, fault: Fault | None) -> None:
        """Every exchange, with the fault that was applied to it."""
        ...


class ApiError(Exception):
    """Raised by a method implementation to answer with a Bot API error envelope."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def envelope(self) -> JSONDict:
        """The JSON body Telegram sends for this error."""
        body: JSONDict = {"ok": False, "error_code": self.error_code}
        body["description"] = self.description
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    """A 400 error with Telegram's ``Bad Request: `` prefix."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class _Ok:
    """A successful result that also carries Telegram's optional ``description``."""

    result: Any
    description: str | None = None


class _ConnectionDropError(Exception):
    """Internal signal: close the connection without writing a response."""


# --------------------------------------------------------------------------------------------
# HTML parse mode: a port of TDLib's parse_html (td/telegram/MessageEntity.cpp)
# --------------------------------------------------------------------------------------------


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


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
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


# --------------------------------------------------------------------------------------------
# Request parsing
# --------------------------------------------------------------------------------------------


def _decode_form_value(name: str, raw: str) -> Any:
    if name in _STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parse_multipart(content_type: str, body: bytes) -> JSONDict:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    params: JSONDict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None or part.get_content_type() not in ("text/plain",):
            params[name] = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "size": len(content),
                "content": content,
            }
        else:
            charset = part.get_content_charset() or "utf-8"
            params[name] = _decode_form_value(name, content.decode(charset))
    return params


def parse_request_params(content_type: str, body: bytes, query: str = "") -> JSONDict:
    """Decode a Bot API request the way Telegram accepts it: query string, JSON, form, multipart.

    PTB 22 sends ``application/x-www-form-urlencoded`` (``multipart/form-data`` when uploading)
    with strings raw and every other value JSON-encoded; other clients send JSON bodies.
    """
    params: JSONDict = {
        k: _decode_form_value(k, v)
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)
    }
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params
    if mime == "application/json":
        decoded = json.loads(body.decode("utf-8"))
        if isinstance(decoded, dict):
            params.update(decoded)
    elif mime == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
    else:
        for key, value in urllib.parse.parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False
        ):
            params[key] = _decode_form_value(key, value)
    return params


def _normalize_chat_id(value: Any) -> int | str:
    if isinstance(value, bool):
        raise bad_request("chat not found")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _require_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname
    if host not in _LOOPBACK_HOSTS:
        raise ValueError(f"refusing to contact non-loopback host {host!r}: {url}")


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a burst of new connections (a bot's pool
    # reconnecting after dropped ones) then sees resets and read timeouts that Telegram
    # would never cause. Measured: 200 connections at once, 56% failed with 5, none with 128.
    request_queue_size = 128

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve our name via getfqdn(); skip the DNS lookup.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # a client hung up; normal for cancelled long polls
            return
        self.api.server_errors.append(repr(error))
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's httpx pool expects
    # Headers and body go out in two sends; with Nagle on, the body would wait for the
    # client's delayed ACK (40 ms), which Telegram's servers make no one wait.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track(self.connection, add=False)

    def log_message(self, fmt: str, *args: Any) -> None:
        """Silenced: pytest output should show the test's failure, not an access log."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._read_body()
        try:
            status, payload, content_type = self.server.api._handle_http(
                path, query, self.headers.get("Content-Type", ""), body, self._client_gone
            )
        except _ConnectionDropError:
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _client_gone(self) -> bool:
        """Whether the client already hung up (a cancelled long poll), without reading data."""
        try:
            self.connection.setblocking(False)
            try:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            finally:
                self.connection.setblocking(True)
        except BlockingIOError:
            return False
        except OSError:
            return True


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------------------------
# The fake API
# --------------------------------------------------------------------------------------------

_Handler_t = Callable[["FakeBotApi", JSONDict], Any]
_METHODS: dict[str, tuple[str, _Handler_t]] = {}


def _api_method(*names: str) -> Callable[[_Handler_t], _Handler_t]:
    """Register an implementation under its Bot API name(s); lookup is case-insensitive."""

    def register(func: _Handler_t) -> _Handler_t:
        for name in names:
            _METHODS[name.lower()] = (name, func)
        return func

    return register


class FakeBotApi:
    """A real Bot API HTTP server on 127.0.0.1 for python-telegram-bot to talk to.

    Use as a context manager (or ``start()``/``stop()``); point PTB at it with
    ``Application.builder().token(api.token).base_url(api.base_url)``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "test_article_bot",
        bot_first_name: str = "Article Bot",
        deliver_webhooks: bool = False,
        policy: FaultPolicy | None = None,
    ) -> None:
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.bot_user: JSONDict = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.deliver_webhooks = deliver_webhooks
        self.policy = policy
        self.server_errors: list[str] = []
        self._request = threading.local()  # the fault applied to the call on this thread
        self._in_flight = 0  # calls being served, long polls not counted

        self._cond = threading.Condition()
        self._stop_event = threading.Event()
        self._stopping = False
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._connections: dict[socket.socket, threading.Thread] = {}

        self._exchanges: list[Exchange] = []
        self._sent: list[JSONDict] = []
        self._faults: list[Fault] = []
        self._updates: list[JSONDict] = []
        self._last_update_id = 0
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._webhook: JSONDict | None = None
        self._webhook_retry_at = 0.0
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._chats: dict[int | str, JSONDict] = {}
        self._messages: dict[tuple[int | str, int], JSONDict] = {}
        self._next_message_id: dict[int | str, int] = {}
        self._answered_queries: set[str] = set()
        self._file_ids = itertools.count(1)
        self._uploads: dict[str, bytes] = {}  # file_id -> what getFile lets the bot download

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        """Bind a free port on 127.0.0.1 and serve from background threads."""
        if self._server is not None:
            raise RuntimeError("FakeBotApi already started")
        self._server = _Server(self)
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-bot-api",
            daemon=True,
        )
        serve.start()
        self._threads.append(serve)
        if self.deliver_webhooks:
            deliverer = threading.Thread(
                target=self._deliver_webhooks, name="fake-bot-api-webhooks", daemon=True
            )
            deliverer.start()
            self._threads.append(deliverer)
        return self

    def stop(self) -> None:
        """Stop promptly: pending long polls return at once and every connection is closed."""
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._stop_event.set()
        server.shutdown()
        with self._cond:
            connections = dict(self._connections)
        for conn in connections:  # wakes handlers idling on keep-alive connections
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5
        for thread in [*self._threads, *connections.values()]:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        server.server_close()
        self._server = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if self.server_errors and exc_info[0] is None:
            raise AssertionError(f"FakeBotApi crashed while serving: {self.server_errors}")

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._cond:
            if add:
                self._connections[conn] = threading.current_thread()
            else:
                self._connections.pop(conn, None)

    # ---- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port; only valid once started."""
        if self._server is None:
            raise RuntimeError("FakeBotApi is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The value for ``ApplicationBuilder.base_url``; PTB appends the token itself."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """The value for ``ApplicationBuilder.base_file_url``."""
        return f"{self.url}/file/bot"

    # ---- recorded traffic ------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request so far, including failed ones, oldest first (a snapshot)."""
        with self._cond:
            return [Call(e.method, e.params) for e in self._exchanges]

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request with the status and body the fake answered (a snapshot)."""
        with self._cond:
            return list(self._exchanges)

    def calls_to(self, method: str) -> list[JSONDict]:
        """The params of every call to ``method`` (case-insensitive)."""
        return [c.params for c in self.calls if c.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | str | None = None) -> list[JSONDict]:
        """Params of the *successful* sendMessage calls, optionally for one chat.

        These are the raw request params (``text`` still holds the HTML); use
        :meth:`chat_history` for the messages as Telegram stored them.
        """
        with self._cond:
            sent = list(self._sent)
        if chat_id is None:
            return sent
        wanted = _normalize_chat_id(chat_id)
        return [p for p in sent if _normalize_chat_id(p.get("chat_id")) == wanted]

    def chat_history(self, chat_id: int | str) -> list[JSONDict]:
        """Current state of the chat's messages (pushed and sent, edits applied, deletes gone)."""
        key = _normalize_chat_id(chat_id)
        with self._cond:
            found = [m for (c, _), m in self._messages.items() if c == key]
        return sorted((json.loads(json.dumps(m)) for m in found), key=lambda m: m["message_id"])

    def bot_messages(self, chat_id: int | str) -> list[JSONDict]:
        """The bot's messages in a chat as Telegram shows them: tags parsed into entities."""
        bot_id = self.bot_user["id"]
        return [
            m
            for m in self.chat_history(chat_id)
            if m.get("from", {}).get("id") == bot_id or "sender_chat" in m
        ]

    def message(self, chat_id: int | str, message_id: int) -> JSONDict | None:
        """One stored message, or None if it was never there or was deleted."""
        with self._cond:
            found = self._messages.get((_normalize_chat_id(chat_id), int(message_id)))
            return json.loads(json.dumps(found)) if found else None

    def clear_calls(self) -> None:
        """Forget recorded calls and sent messages (not chats, messages or updates)."""
        with self._cond:
            self._exchanges.clear()
            self._sent.clear()

    def _matching(self, matcher: Matcher, since: int) -> list[Call]:
        calls = [Call(e.method, e.params) for e in self._exchanges[since:]]
        if isinstance(matcher, str):
            return [c for c in calls if c.method.lower() == matcher.lower()]

        def matches(call: Call) -> bool:
            try:
                return bool(matcher(call))
            except (KeyError, IndexError, TypeError, AttributeError):
                return False  # ``lambda c: c.params["text"] == ...`` on a call without text

        return [c for c in calls if matches(c)]

    def wait_for(
        self, matcher: Matcher, count: int = 1, timeout: float = 300.0, *, since: int = 0
    ) -> list[Call]:
        """Block until ``count`` calls match (a method name or a predicate on Call).

        ``since`` skips the first calls (pass ``len(api.calls)`` taken earlier). Returns the
        first ``count`` matches; raises TimeoutError listing what was called instead.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._matching(matcher, since)
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout_error(matcher, count, timeout, since, len(found))
                self._cond.wait(remaining)

    def _timeout_error(
        self, matcher: Matcher, count: int, timeout: float, since: int, found: int
    ) -> TimeoutError:
        with self._cond:
            seen = [e.method for e in self._exchanges[since:]]
        return TimeoutError(
            f"waited {timeout}s for {count} call(s) matching {matcher!r}, got {found}; "
            f"calls were {seen}"
        )

    async def wait_for_async(
        self, matcher: Matcher, count: int = 1, timeout: float = 300.0, *, since: int = 0
    ) -> list[Call]:
        """:meth:`wait_for` for async tests: polls so the event loop (and the bot) keep running."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                found = self._matching(matcher, since)
            if len(found) >= count:
                return found[:count]
            if time.monotonic() >= deadline:
                raise self._timeout_error(matcher, count, timeout, since, len(found))
            await asyncio.sleep(0.01)

    # ---- fault injection -------------------------------------------------------------------

    def inject(
        self,
        method: str,
        error_code: int | None = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        parameters: JSONDict | None = None,
        times: int = 1,
        delay: float = 0.0,
        drop: bool = False,
        malformed: bool = False,
        when: Callable[[JSONDict], bool] | None = None,
    ) -> Fault:
        """Make the next ``times`` calls to ``method`` (``"*"``: any) fail; FIFO per call.

        - ``error_code`` with the usual description (429 adds ``retry_after``, default 1);
          ``error_code=None`` with ``delay`` answers normally, just late (client timeouts).
        - ``delay`` seconds before answering; ``drop=True`` closes the connection unanswered.
        - ``malformed=True`` answers with a broken body: truncated JSON with status 200 when
          ``error_code`` is None, or nginx's HTML error page with ``error_code`` (e.g. 502).
        - ``when(params)`` restricts the fault to matching calls, e.g. one chat.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(
            method=method,
            error_code=error_code,
            description=description,
            retry_after=retry_after,
            parameters=parameters,
            delay=delay,
            drop=drop,
            malformed=malformed,
            times=times,
            when=when,
        )
        with self._cond:
            self._faults.append(fault)
        return fault

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults not yet consumed."""
        with self._cond:
            return list(self._faults)

    def _take_fault(self, method: str, params: JSONDict) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.matches(method, params):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ---- updates ---------------------------------------------------------------------------

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates (or webhook delivery); returns the queued copy.

        A missing or stale ``update_id`` is replaced by the next one, because Telegram's ids
        only grow and the bot confirms updates by offset. Messages in the update are stored so
        replies, edits and deletes of them behave like on Telegram.
        """
        queued = json.loads(json.dumps(update))
        with self._cond:
            given = queued.get("update_id")
            if not isinstance(given, int) or given <= self._last_update_id:
                queued["update_id"] = self._last_update_id + 1
            self._last_update_id = queued["update_id"]
            self._remember_update(queued)
            self._updates.append(queued)
            self._cond.notify_all()
        return queued

    def push_updates(self, updates: Iterable[JSONDict]) -> list[JSONDict]:
        """:meth:`push_update` for several updates, in order."""
        return [self.push_update(u) for u in updates]

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset (or delivered by webhook)."""
        with self._cond:
            return list(self._updates)

    def _remember_update(self, update: JSONDict) -> None:
        for key, value in update.items():
            if not isinstance(value, dict):
                continue
            message = value.get("message") if key == "callback_query" else value
            if isinstance(message, dict) and {"message_id", "chat", "date"} <= message.keys():
                self._store_message(message)

    def _store_message(self, message: JSONDict) -> None:
        chat = message["chat"]
        chat_id = _normalize_chat_id(chat["id"])
        self._chats.setdefault(chat_id, chat)
        if chat.get("username"):
            self._chats.setdefault(f"@{chat['username']}", chat)
        message_id = int(message["message_id"])
        self._next_message_id[chat_id] = max(self._next_message_id.get(chat_id, 1), message_id + 1)
        self._messages[(chat_id, message_id)] = json.loads(json.dumps(message))

    # ---- webhooks --------------------------------------------------------------------------

    def post_webhook(
        self, url: str, update: JSONDict, secret_token: str | None = None, timeout: float = 10.0
    ) -> int:
        """POST an update to a bot in webhook mode, as Telegram would; returns the HTTP status.

        Only loopback URLs are accepted. A missing ``update_id`` is assigned.
        """
        _require_loopback(url)
        if "update_id" not in update:
            with self._cond:
                self._last_update_id += 1
                update = {"update_id": self._last_update_id, **update}
        return _post_json(url, update, secret_token, timeout)[0]

    async def post_webhook_async(
        self, url: str, update: JSONDict, secret_token: str | None = None, timeout: float = 10.0
    ) -> int:
        """:meth:`post_webhook` without blocking the event loop the bot runs on."""
        return await asyncio.to_thread(self.post_webhook, url, update, secret_token, timeout)

    @property
    def webhook(self) -> JSONDict | None:
        """The webhook settings from the last setWebhook, or None."""
        with self._cond:
            return dict(self._webhook) if self._webhook else None

    def _deliver_webhooks(self) -> None:
        """Telegram's side of webhook mode: POST queued updates until the bot answers 2xx."""
        while True:
            with self._cond:
                while not self._stopping and not (
                    self._webhook and self._updates and time.monotonic() >= self._webhook_retry_at
                ):
                    self._cond.wait(0.05)
                if self._stopping or self._webhook is None:
                    return
                update = self._updates[0]
                url = self._webhook["url"]
                secret = self._webhook.get("secret_token")
            status, reason = _post_json(url, update, secret, 5.0)
            with self._cond:
                if 200 <= status < 300:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                elif self._webhook is not None:
                    self._webhook["last_error_date"] = int(time.time())
                    self._webhook["last_error_message"] = reason
                    self._webhook_retry_at = time.monotonic() + 0.2

    # ---- HTTP dispatch ---------------------------------------------------------------------

    def wait_idle(self, timeout: float) -> bool:
        """Until no call but long polls is being served and every pushed update was fetched."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._in_flight or self._updates:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
        return True

    def _handle_http(
        self,
        path: str,
        query: str,
        content_type: str,
        body: bytes,
        client_gone: Callable[[], bool] = lambda: False,
    ) -> tuple[int, bytes, str]:
        """Answer one HTTP request: (status, body, content type), or raise to drop it."""
        self._request.fault = None
        poll = path.lower().endswith("/getupdates")
        if not poll:
            with self._cond:
                self._in_flight += 1
        try:
            return self._answer_http(path, query, content_type, body, client_gone)
        finally:
            if not poll:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _answer_http(
        self,
        path: str,
        query: str,
        content_type: str,
        body: bytes,
        client_gone: Callable[[], bool],
    ) -> tuple[int, bytes, str]:
        download = self._download(path)
        if download is not None:
            return download
        route = re.fullmatch(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?", path)
        if route is None:
            return 404, _json_bytes(ApiError(404, "Not Found").envelope()), _JSON_TYPE
        if route["token"] != self.token:
            return 401, _json_bytes(ApiError(401, "Unauthorized").envelope()), _JSON_TYPE
        raw_method = route["method"]
        method, impl = _METHODS.get(raw_method.lower(), (raw_method, None))
        if impl is None and raw_method.lower().startswith("send"):
            impl = _send_unknown
        try:
            params = parse_request_params(content_type, body, query)
        except (ValueError, UnicodeDecodeError):
            return self._finish(raw_method, {}, 400, bad_request("can't parse request body"))

        fault = self._take_fault(method, params)
        if self.policy is not None:
            fault = self.policy.choose(method, params, fault)
        self._request.fault = fault
        if fault is not None:
            outcome = self._apply_fault(fault)
            if outcome is not None:
                status, payload, recorded = outcome
                with self._cond:
                    self._record(method, params, status, recorded)
                if status == 0:
                    raise _ConnectionDropError
                malformed_html = fault.malformed and status != 200
                return status, payload, "text/html" if malformed_html else _JSON_TYPE

        status, envelope = self._run_method(method, impl, params)
        if method == "getUpdates" and client_gone():
            # A long poll the bot cancelled (e.g. PTB stopping): nobody reads this answer, and
            # recording its 409/empty result would only add noise to the call log.
            raise _ConnectionDropError
        answer = self._finish(method, params, status, envelope)
        if fault is not None and fault.reset:  # carried out, but the bot never hears so
            raise _ConnectionDropError
        return answer

    def _run_method(
        self, method: str, impl: _Handler_t | None, params: JSONDict
    ) -> tuple[int, JSONDict]:
        """Run a method implementation under the lock; returns (status, envelope)."""
        try:
            with self._cond:
                result = impl(self, params) if impl is not None else True
        except ApiError as error:
            return error.error_code, error.envelope()
        except Exception as error:  # a bug in the fake itself: fail loudly, not mysteriously
            self.server_errors.append(f"{method}: {error!r}")
            return 500, ApiError(500, f"fake crashed: {error!r}").envelope()
        if not isinstance(result, _Ok):
            result = _Ok(result)
        envelope: JSONDict = {"ok": True, "result": result.result}
        if result.description:
            envelope["description"] = result.description
        return 200, envelope

    def _finish(
        self, method: str, params: JSONDict, status: int, body: JSONDict | ApiError
    ) -> tuple[int, bytes, str]:
        envelope = body.envelope() if isinstance(body, ApiError) else body
        with self._cond:
            self._record(method, params, status, envelope)
        return status, _json_bytes(envelope), _JSON_TYPE

    def _record(self, method: str, params: JSONDict, status: int, response: Any) -> None:
        exchange = Exchange(method, params, status, response)
        self._exchanges.append(exchange)
        if method == "sendMessage" and status == 200:
            self._sent.append(params)
        if self.policy is not None:
            self.policy.observe(exchange, getattr(self._request, "fault", None))
        self._cond.notify_all()

    def _apply_fault(self, fault: Fault) -> tuple[int, bytes, Any] | None:
        """Returns (status, body, recorded response) or None to answer normally after a delay."""
        if fault.delay:
            self._stop_event.wait(fault.delay)
        if fault.drop:
            return 0, b"", None
        if fault.malformed:
            if fault.error_code is None:
                text = '{"ok": true, "result": [{"update_id": '
                return 200, text.encode(), text
            page = _NGINX_ERROR_PAGE.format(code=fault.error_code)
            return fault.error_code, page.encode(), page
        if fault.error_code is None:
            return None
        description = fault.description or _DEFAULT_DESCRIPTIONS.get(fault.error_code, "Error")
        parameters = dict(fault.parameters or {})
        if fault.retry_after is not None:
            parameters["retry_after"] = fault.retry_after
            if fault.description is None and fault.error_code == 429:
                description = f"Too Many Requests: retry after {fault.retry_after}"
        envelope = ApiError(fault.error_code, description, parameters or None).envelope()
        return fault.error_code, _json_bytes(envelope), envelope

    # ---- helpers for method implementations (called with the lock held) -------------------

    def _chat(self, params: JSONDict) -> JSONDict:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        chat_id = _normalize_chat_id(raw)
        if chat_id in self._chats:
            return self._chats[chat_id]
        if isinstance(chat_id, str):
            if not chat_id.startswith("@"):
                raise bad_request("chat not found")
            chat: JSONDict = {
                "id": -1001000000000 - len(self._chats),
                "type": "channel",
                "title": chat_id[1:],
                "username": chat_id[1:],
            }
            self._chats[chat["id"]] = chat
        elif chat_id > 0:
            chat = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        elif str(chat_id).startswith("-100"):
            chat = {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
        else:
            chat = {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
        self._chats[chat_id] = chat
        return chat

    def _format(
        self, text: Any, parse_mode: Any, entities: Any, *, limit: int, kind: str
    ) -> tuple[str, list[JSONDict]]:
        """Apply parse_mode and Telegram's trimming and length rules to a text or caption."""
        text = "" if text is None else str(text)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise bad_request("strings must be encoded in UTF-8") from None
        mode = str(parse_mode or "").lower()
        parsed: list[JSONDict] = []
        if mode == "html":
            try:
                text, parsed = parse_html(text)
            except EntityParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif mode not in ("", "markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode")
        elif isinstance(entities, list):
            parsed = [dict(e) for e in entities if isinstance(e, dict)]
        text, parsed = _trim(text, parsed)
        if kind == "text" and not text:
            raise bad_request("message text is empty")
        if len(text) > limit:
            raise bad_request(
                "message is too long" if kind == "text" else "message caption is too long"
            )
        return text, parsed

    @staticmethod
    def _markup(value: Any) -> JSONDict | None:
        """Validate a reply_markup; returns it only if Telegram would echo it (inline ones)."""
        if not isinstance(value, dict):
            return None
        rows = value.get("inline_keyboard")
        if rows is None:
            return None
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad_request("BUTTON_TEXT_INVALID")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= (
                    MAX_CALLBACK_DATA_BYTES
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
                if not button.keys() - {"text"}:
                    raise bad_request("text buttons are unallowed in the inline keyboard")
        return value

    def _reply_to(self, chat: JSONDict, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
            chat_key = _normalize_chat_id(reply.get("chat_id", chat["id"]))
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
            allow_missing = bool(params.get("allow_sending_without_reply"))
            chat_key = _normalize_chat_id(chat["id"])
        else:
            return None
        target = self._messages.get((chat_key, int(message_id or 0)))
        if target is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        nested = json.loads(json.dumps(target))
        nested.pop("reply_to_message", None)
        return nested

    def _new_message(self, chat: JSONDict, params: JSONDict, **content: Any) -> JSONDict:
        """Store and return a message from the bot; validation comes first so a refused
        send, like on Telegram, does not use up a message id."""
        reply_to = self._reply_to(chat, params)
        markup = self._markup(params.get("reply_markup"))
        chat_id = _normalize_chat_id(chat["id"])
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message: JSONDict = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": chat,
            "date": int(time.time()),
        }
        if chat.get("type") == "channel":
            message.pop("from")
            message["sender_chat"] = chat
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update({k: v for k, v in content.items() if v not in (None, [])})
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[(chat_id, message_id)] = message
        return json.loads(json.dumps(message))

    def _target_message(self, params: JSONDict, missing: str) -> JSONDict:
        chat = self._chat(params)
        key = (_normalize_chat_id(chat["id"]), int(params.get("message_id") or 0))
        message = self._messages.get(key)
        if message is None:
            raise bad_request(missing)
        return message

    def _file(self, value: Any, **extra: Any) -> JSONDict:
        number = next(self._file_ids)
        file_id = value if isinstance(value, str) and value else f"FAKE-file-{number}"
        size = value.get("size") if isinstance(value, dict) else None
        described: JSONDict = {
            "file_id": file_id,
            "file_unique_id": f"FAKEunique{number}",
            "file_size": size or 1024,
        }
        if isinstance(value, dict) and value.get("filename"):
            described["file_name"] = value["filename"]
        described.update(extra)
        return described

    # ---- Bot API methods (each runs with the lock held) ------------------------------------

    def upload(self, file_id: str, content: bytes) -> None:
        """The bytes behind ``file_id`` (a document a test sends), for getFile and download."""
        with self._cond:
            self._uploads[file_id] = content

    @_api_method("getFile")
    def _api_get_file(self, params: JSONDict) -> Any:
        file_id = str(params.get("file_id", ""))
        if file_id not in self._uploads:
            raise bad_request("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self._uploads[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def _download(self, path: str) -> tuple[int, bytes, str] | None:
        """``/file/bot<token>/<file_path>``: the bytes getFile pointed at, or None."""
        route = re.fullmatch(r"/file/bot(?P<token>[^/]+)/documents/(?P<file_id>[^/]+)", path)
        if route is None:
            return None
        if urllib.parse.unquote(route["token"]) != self.token:
            return 401, b"Unauthorized", "text/plain"
        with self._cond:
            content = self._uploads.get(urllib.parse.unquote(route["file_id"]))
        if content is None:
            return 404, b"Not Found", "text/plain"
        return 200, content, "application/octet-stream"

    @_api_method("getMe")
    def _api_get_me(self, params: JSONDict) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @_api_method("getUpdates")
    def _api_get_updates(self, params: JSONDict) -> Any:
        """Long poll: answers as soon as an update is queued, at ``timeout``, or on stop."""
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(0.0, float(params.get("timeout") or 0))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # a newer poll supersedes an older one, as on Telegram
        deadline = time.monotonic() + timeout
        while True:
            self._confirm(offset)
            ready = [u for u in self._updates if self._is_allowed(u)]
            if len(ready) != len(self._updates):  # Telegram never stores unwanted types
                self._updates = ready
            if ready or self._stopping:
                return ready[:limit]
            if generation != self._poll_generation:
                raise ApiError(409, _DEFAULT_DESCRIPTIONS[409])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _is_allowed(self, update: JSONDict) -> bool:
        kinds = update.keys() - {"update_id"}
        if self._allowed_updates is None:
            return not kinds & _DEFAULT_EXCLUDED_UPDATES
        return bool(kinds & self._allowed_updates)

    @_api_method("setWebhook")
    def _api_set_webhook(self, params: JSONDict) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return self._api_delete_webhook(params)
        host = urllib.parse.urlsplit(url).hostname
        if not url.startswith("https://") and host not in _LOOPBACK_HOSTS:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": int(params.get("max_connections") or 40),
            "ip_address": params.get("ip_address") or "127.0.0.1",
        }
        self._webhook_retry_at = 0.0
        self._cond.notify_all()
        return _Ok(True, "Webhook was set")

    @_api_method("deleteWebhook")
    def _api_delete_webhook(self, params: JSONDict) -> Any:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        existed = self._webhook is not None
        self._webhook = None
        return _Ok(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    @_api_method("getWebhookInfo")
    def _api_get_webhook_info(self, params: JSONDict) -> Any:
        info: JSONDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info.update(
                {k: v for k, v in self._webhook.items() if k != "secret_token" and v is not None}
            )
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    @_api_method("setMyCommands")
    def _api_set_my_commands(self, params: JSONDict) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    @_api_method("getMyCommands")
    def _api_get_my_commands(self, params: JSONDict) -> Any:
        return list(self._commands.get(self._commands_key(params), []))

    @_api_method("deleteMyCommands")
    def _api_delete_my_commands(self, params: JSONDict) -> Any:
        self._commands.pop(self._commands_key(params), None)
        return True

    @_api_method("sendMessage")
    def _api_send_message(self, params: JSONDict) -> Any:
        chat = self._chat(params)
        text, entities = self._format(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_MESSAGE_LENGTH,
            kind="text",
        )
        return self._new_message(chat, params, text=text, entities=entities)

    @_api_method("editMessageText")
    def _api_edit_message_text(self, params: JSONDict) -> Any:
        text, entities = self._format(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_MESSAGE_LENGTH,
            kind="text",
        )
        markup = self._markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        message = self._target_message(params, "message to edit not found")
        self._check_editable(message)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        new = {"text": text, "entities": entities, "reply_markup": markup}
        return self._apply_edit(message, new)

    @_api_method("editMessageCaption")
    def _api_edit_message_caption(self, params: JSONDict) -> Any:
        caption, entities = self._format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=MAX_CAPTION_LENGTH,
            kind="caption",
        )
        markup = self._markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        message = self._target_message(params, "message to edit not found")
        self._check_editable(message)
        new = {"caption": caption or None, "caption_entities": entities, "reply_markup": markup}
        return self._apply_edit(message, new)

    @_api_method("editMessageReplyMarkup")
    def _api_edit_message_reply_markup(self, params: JSONDict) -> Any:
        markup = self._markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        message = self._target_message(params, "message to edit not found")
        self._check_editable(message)
        return self._apply_edit(message, {"reply_markup": markup})

    def _check_editable(self, message: JSONDict) -> None:
        sender = message.get("from") or {}
        if sender.get("id") != self.bot_user["id"] and message["chat"].get("type") != "channel":
            raise bad_request("message can't be edited")

    def _apply_edit(self, message: JSONDict, new: JSONDict) -> JSONDict:
        def normal(value: Any) -> Any:
            return value if value not in (None, []) else None

        if all(normal(message.get(k)) == normal(v) for k, v in new.items()):
            raise bad_request(_NOT_MODIFIED)
        for key, value in new.items():
            if normal(value) is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        return json.loads(json.dumps(message))

    @_api_method("deleteMessage")
    def _api_delete_message(self, params: JSONDict) -> Any:
        message = self._target_message(params, "message to delete not found")
        del self._messages[(_normalize_chat_id(message["chat"]["id"]), message["message_id"])]
        return True

    @_api_method("deleteMessages")
    def _api_delete_messages(self, params: JSONDict) -> Any:
        chat = self._chat(params)
        for message_id in params.get("message_ids") or []:
            self._messages.pop((_normalize_chat_id(chat["id"]), int(message_id)), None)
        return True

    @_api_method("answerCallbackQuery")
    def _api_answer_callback_query(self, params: JSONDict) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if not query_id or query_id in self._answered_queries:
            raise bad_request(_QUERY_TOO_OLD)
        self._answered_queries.add(query_id)
        return True

    @_api_method("answerInlineQuery")
    def _api_answer_inline_query(self, params: JSONDict) -> Any:
        query_id = str(params.get("inline_query_id") or "")
        if not query_id or query_id in self._answered_queries:
            raise bad_request(_QUERY_TOO_OLD)
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = str(result.get("id", "")) if isinstance(result, dict) else ""
            if not 1 <= len(result_id.encode()) <= 64:
                raise bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._format(
                    content["message_text"],
                    content.get("parse_mode"),
                    content.get("entities"),
                    limit=MAX_MESSAGE_LENGTH,
                    kind="text",
                )
            self._markup(result.get("reply_markup"))
        self._answered_queries.add(query_id)
        return True

    @_api_method("sendChatAction")
    def _api_send_chat_action(self, params: JSONDict) -> Any:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    @_api_method("getChat")
    def _api_get_chat(self, params: JSONDict) -> Any:
        return {**self._chat(params), "accent_color_id": 0, "max_reaction_count": 11}

    @_api_method("copyMessage")
    def _api_copy_message(self, params: JSONDict) -> Any:
        source = self._target_message(
            {"chat_id": params.get("from_chat_id"), "message_id": params.get("message_id")},
            "message to copy not found",
        )
        content = {k: v for k, v in source.items() if k in ("text", "entities", "caption")}
        copied = self._new_message(self._chat(params), params, **content)
        return {"message_id": copied["message_id"]}

    @_api_method("forwardMessage")
    def _api_forward_message(self, params: JSONDict) -> Any:
        source = self._target_message(
            {"chat_id": params.get("from_chat_id"), "message_id": params.get("message_id")},
            "message to forward not found",
        )
        content = {k: v for k, v in source.items() if k in ("text", "entities", "caption")}
        return self._new_message(self._chat(params), params, **content)

    @_api_method("sendMediaGroup")
    def _api_send_media_group(self, params: JSONDict) -> Any:
        chat = self._chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("media group must contain 2-10 items")
        messages = []
        for item in media:
            kind = item.get("type", "photo") if isinstance(item, dict) else "photo"
            field_value = self._media_content(kind, item.get("media") if item else None)
            messages.append(self._new_message(chat, params, **{kind: field_value}))
        return messages

    def _media_content(self, kind: str, value: Any) -> Any:
        if kind == "photo":
            return [self._file(value, width=size, height=size * 3 // 4) for size in (90, 320, 800)]
        return self._file(value, **_MEDIA_EXTRA.get(kind, {}))

    def _send_content(self, params: JSONDict, kind: str | None) -> Any:
        """sendPhoto, sendLocation, ... and any unknown send*: a Message PTB can parse."""
        chat = self._chat(params)
        caption, entities = self._format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=MAX_CAPTION_LENGTH,
            kind="caption",
        )
        content: JSONDict = {"caption": caption or None, "caption_entities": entities}
        if kind is None:
            kind = next((k for k in _MEDIA_EXTRA if k in params), None)
        if kind in _MEDIA_EXTRA:
            content[kind] = self._media_content(kind, params.get(kind))
            if kind == "animation":  # Telegram also fills ``document`` for animations
                content["document"] = self._media_content("document", params.get(kind))
        elif kind in ("location", "venue"):
            location = {"latitude": params.get("latitude"), "longitude": params.get("longitude")}
            content["location"] = location
            if kind == "venue":
                content["venue"] = {
                    "location": location,
                    "title": params.get("title", ""),
                    "address": params.get("address", ""),
                }
        elif kind == "contact":
            content["contact"] = {
                "phone_number": params.get("phone_number", ""),
                "first_name": params.get("first_name", ""),
            }
        elif kind == "dice":
            content["dice"] = {"emoji": params.get("emoji") or "🎲", "value": 4}
        return self._new_message(chat, params, **content)


_MEDIA_EXTRA: dict[str, JSONDict] = {
    "photo": {},
    "document": {"mime_type": "application/octet-stream"},
    "voice": {"duration": 3, "mime_type": "audio/ogg"},
    "audio": {"duration": 180, "mime_type": "audio/mpeg"},
    "video": {"width": 640, "height": 360, "duration": 10},
    "animation": {"width": 320, "height": 240, "duration": 3},
    "video_note": {"length": 240, "duration": 5},
    "sticker": {
        "width": 512,
        "height": 512,
        "type": "regular",
        "is_animated": False,
        "is_video": False,
    },
}
_SEND_KINDS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendVoice": "voice",
    "sendAudio": "audio",
    "sendVideo": "video",
    "sendAnimation": "animation",
    "sendSticker": "sticker",
    "sendVideoNote": "video_note",
    "sendLocation": "location",
    "sendVenue": "venue",
    "sendContact": "contact",
    "sendDice": "dice",
}


def _sender(kind: str) -> _Handler_t:
    def send(api: FakeBotApi, params: JSONDict) -> Any:
        return api._send_content(params, kind)

    return send


for _name, _kind in _SEND_KINDS.items():
    _api_method(_name)(_sender(_kind))


def _send_unknown(api: FakeBotApi, params: JSONDict) -> Any:
    return api._send_content(params, None)


def _post_json(
    url: str, update: JSONDict, secret_token: str | None, timeout: float
) -> tuple[int, str]:
    """POST JSON to a loopback URL without any proxy; returns (status, reason)."""
    _require_loopback(url)
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    request = urllib.request.Request(url, data=_json_bytes(update), headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read()
            return int(response.status), str(response.reason)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), f"Wrong response from the webhook: {error.code} {error.reason}"
    except OSError as error:
        return 0, f"Connection failed: {error}"


__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "Call",
    "EntityParseError",
    "Exchange",
    "FakeBotApi",
    "Fault",
    "bad_request",
    "parse_html",
    "parse_request_params",
    "utf16_len",
]
