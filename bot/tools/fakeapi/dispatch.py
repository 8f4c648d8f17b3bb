"""From an HTTP request to a Bot API answer: routing, faults, recording, file downloads.

The HTTP server (``wire.Server``) calls :meth:`Dispatcher.handle_http` on its request
thread; the answer is a method's result, an injected fault, a 404 for a method the fake
does not implement (as Telegram answers one it does not know), or a dropped connection.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from bot.tools.fakeapi.methods import METHODS, Method
from bot.tools.fakeapi.records import (
    ApiError,
    ConnectionDropError,
    Fault,
    JSONDict,
    Ok,
    bad_request,
)
from bot.tools.fakeapi.state import CONFLICT, BotState
from bot.tools.fakeapi.traffic import Traffic
from bot.tools.fakeapi.wire import json_bytes, parse_request_params

_JSON_TYPE = "application/json"
DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: CONFLICT,
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# What nginx in front of api.telegram.org really answers with on a 502/504: not JSON.
_NGINX_ERROR_PAGE = (
    "<html>\r\n<head><title>{code} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{code} Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class Dispatcher:
    """Answers the requests of one bot (one token) from its state, applying faults."""

    def __init__(
        self, token: str, state: BotState, traffic: Traffic, stop_event: threading.Event
    ) -> None:
        self.token = token
        self.state = state
        self.traffic = traffic
        self.server_errors: list[str] = []
        self._cond = state.cond
        self._stop_event = stop_event
        self._in_flight = 0  # calls being served, long polls not counted

    def wait_idle(self, deadline: float) -> bool:
        """Until no call but long polls is being served and every update was fetched."""
        with self._cond:
            while self._in_flight or self.state.updates.queue:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
        return True

    def handle_http(
        self,
        path: str,
        query: str,
        content_type: str,
        body: bytes,
        client_gone: Callable[[], bool] = lambda: False,
    ) -> tuple[int, bytes, str]:
        """Answer one HTTP request: (status, body, content type), or raise to drop it."""
        self.traffic.forget_request()
        poll = path.lower().endswith("/getupdates")
        if not poll:
            with self._cond:
                self._in_flight += 1
        try:
            return self._answer(path, query, content_type, body, client_gone)
        finally:
            if not poll:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _answer(
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
            return 404, json_bytes(ApiError(404, "Not Found").envelope()), _JSON_TYPE
        if route["token"] != self.token:
            return 401, json_bytes(ApiError(401, "Unauthorized").envelope()), _JSON_TYPE
        raw_method = route["method"]
        method, impl = METHODS.get(raw_method.lower(), (raw_method, None))
        try:
            params = parse_request_params(content_type, body, query)
        except (ValueError, UnicodeDecodeError):
            return self._finish(raw_method, {}, 400, bad_request("can't parse request body"))

        fault = self.traffic.choose_fault(method, params)
        if fault is not None:
            outcome = self._apply_fault(fault)
            if outcome is not None:
                status, payload, recorded = outcome
                self.traffic.record(method, params, status, recorded)
                if status == 0:
                    raise ConnectionDropError
                malformed_html = fault.malformed and status != 200
                return status, payload, "text/html" if malformed_html else _JSON_TYPE

        status, envelope = self._run(method, impl, params)
        if method == "getUpdates" and client_gone():
            # A long poll the bot cancelled (e.g. PTB stopping): nobody reads this answer, and
            # recording its 409/empty result would only add noise to the call log.
            raise ConnectionDropError
        answer = self._finish(method, params, status, envelope)
        if fault is not None and fault.reset:  # carried out, but the bot never hears so
            raise ConnectionDropError
        return answer

    def _run(self, method: str, impl: Method | None, params: JSONDict) -> tuple[int, JSONDict]:
        """Run a method implementation under the lock; returns (status, envelope)."""
        if impl is None:  # Telegram's answer to a method it does not know
            return 404, ApiError(404, "Not Found").envelope()
        try:
            with self._cond:
                result = impl(self.state, params)
        except ApiError as error:
            return error.error_code, error.envelope()
        except Exception as error:  # a bug in the fake itself: fail loudly, not mysteriously
            self.server_errors.append(f"{method}: {error!r}")
            return 500, ApiError(500, f"fake crashed: {error!r}").envelope()
        if not isinstance(result, Ok):
            result = Ok(result)
        envelope: JSONDict = {"ok": True, "result": result.result}
        if result.description:
            envelope["description"] = result.description
        return 200, envelope

    def _finish(
        self, method: str, params: JSONDict, status: int, body: JSONDict | ApiError
    ) -> tuple[int, bytes, str]:
        envelope = body.envelope() if isinstance(body, ApiError) else body
        self.traffic.record(method, params, status, envelope)
        return status, json_bytes(envelope), _JSON_TYPE

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
        description = fault.description or DESCRIPTIONS.get(fault.error_code, "Error")
        parameters = dict(fault.parameters or {})
        if fault.retry_after is not None:
            parameters["retry_after"] = fault.retry_after
            if fault.description is None and fault.error_code == 429:
                description = f"Too Many Requests: retry after {fault.retry_after}"
        envelope = ApiError(fault.error_code, description, parameters or None).envelope()
        return fault.error_code, json_bytes(envelope), envelope

    def _download(self, path: str) -> tuple[int, bytes, str] | None:
        """``/file/bot<token>/<file_path>``: the bytes getFile pointed at, or None."""
        route = re.fullmatch(r"/file/bot(?P<token>[^/]+)/documents/(?P<file_id>[^/]+)", path)
        if route is None:
            return None
        if urllib.parse.unquote(route["token"]) != self.token:
            return 401, b"Unauthorized", "text/plain"
        with self._cond:
            content = self.state.uploads.get(urllib.parse.unquote(route["file_id"]))
        if content is None:
            return 404, b"Not Found", "text/plain"
        return 200, content, "application/octet-stream"
