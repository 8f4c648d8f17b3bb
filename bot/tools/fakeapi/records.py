"""What the fake records and how it fails: calls, exchanges, faults, Bot API errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

JSONDict = dict[str, Any]
Matcher = str | Callable[["Call"], bool]


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
    """A failure to answer the next matching call(s) with; see ``FakeBotApi.inject``."""

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
        """The fault for this call: ``queued`` (from ``FakeBotApi.inject``), or another."""
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
class Ok:
    """A successful result that also carries Telegram's optional ``description``."""

    result: Any
    description: str | None = None


class ConnectionDropError(Exception):
    """Internal signal: close the connection without writing a response."""


def normalize_chat_id(value: Any) -> int | str:
    """A chat id as Telegram keys chats: an int, or an ``@username`` string."""
    if isinstance(value, bool):
        raise bad_request("chat not found")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text
