"""The fake's HTTP side: a threaded loopback server, request decoding, webhook POSTs.

Nothing here knows the Bot API: the server hands each request to a :class:`Served` (the
dispatcher) and writes back what it answers, or drops the connection when told to.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import http.server
import json
import socket
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol, Self

from bot.tools.fakeapi.records import ConnectionDropError, JSONDict

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

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


class Served(Protocol):
    """What the HTTP server serves: the dispatcher."""

    server_errors: list[str]

    def handle_http(
        self, path: str, query: str, content_type: str, body: bytes, client_gone: Callable[[], bool]
    ) -> tuple[int, bytes, str]:
        """(status, body, content type) for one request, or raise ConnectionDropError."""
        ...


def require_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"refusing to contact non-loopback host {host!r}: {url}")


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


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a burst of new connections (a bot's pool
    # reconnecting after dropped ones) then sees resets and read timeouts that Telegram
    # would never cause. Measured: 200 connections at once, 56% failed with 5, none with 128.
    request_queue_size = 128

    def __init__(self, api: Served) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__(("127.0.0.1", 0), Handler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections[conn] = threading.current_thread()
            else:
                self._connections.pop(conn, None)

    def close(self, others: list[threading.Thread]) -> None:
        """Stop serving and close every connection, waking handlers idle on keep-alives;
        waits (5 s at most) for them and for ``others``, the caller's own threads."""
        self.shutdown()
        with self._lock:
            connections = dict(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5
        for thread in [*others, *connections.values()]:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.server_close()

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


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's httpx pool expects
    # Headers and body go out in two sends; with Nagle on, the body would wait for the
    # client's delayed ACK (40 ms), which Telegram's servers make no one wait.
    disable_nagle_algorithm = True
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

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
            status, payload, content_type = self.server.api.handle_http(
                path, query, self.headers.get("Content-Type", ""), body, self._client_gone
            )
        except ConnectionDropError:
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


class LoopbackService:
    """A :class:`Served` on a free port of 127.0.0.1, in background threads: start and stop
    (or a ``with`` block, which also fails on errors the server hit), and its address.

    Subclasses add loops of their own to run beside the server (:meth:`_background`) and
    what to release first when stopping (:meth:`_stopping`).
    """

    def __init__(self, served: Served, name: str) -> None:
        self._served = served
        self._name = name
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []

    def _background(self) -> list[Callable[[], None]]:
        return []

    def _stopping(self) -> None:
        """Called first by :meth:`stop`, before the server shuts down."""

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve from background threads."""
        if self._server is not None:
            raise RuntimeError(f"{self._name} already started")
        self._server = Server(self._served)
        loops: list[tuple[Callable[[], None], str]] = [(self._serve, self._name)]
        loops += [(loop, f"{self._name}-{loop.__name__}") for loop in self._background()]
        for target, name in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _serve(self) -> None:
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop promptly: every connection is closed, the background threads joined."""
        server = self._server
        if server is None:
            return
        self._stopping()
        server.close(self._threads)
        self._threads.clear()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        errors = self._served.server_errors
        if errors and exc_info[0] is None:
            raise AssertionError(f"{self._name} crashed while serving: {errors}")

    @property
    def port(self) -> int:
        """The bound port; only valid once started."""
        if self._server is None:
            raise RuntimeError(f"{self._name} is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def post_json(
    url: str, update: JSONDict, secret_token: str | None, timeout: float
) -> tuple[int, str]:
    """POST JSON to a loopback URL without any proxy; returns (status, reason)."""
    require_loopback(url)
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    request = urllib.request.Request(url, data=json_bytes(update), headers=headers)
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
