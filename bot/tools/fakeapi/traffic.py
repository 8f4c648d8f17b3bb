"""The fake's log and its fault queue: every call with its answer, and what to fail next.

Shared with the dispatcher under the server's one condition variable, so a test thread
waiting for a call wakes the moment a request thread records it.
"""

from __future__ import annotations

import asyncio
import threading
import time

from bot.tools.fakeapi.records import (
    Call,
    Exchange,
    Fault,
    FaultPolicy,
    JSONDict,
    Matcher,
    normalize_chat_id,
)


class Traffic:
    """Recorded exchanges, successful sends, and faults waiting to be applied."""

    def __init__(self, cond: threading.Condition, policy: FaultPolicy | None) -> None:
        self._cond = cond
        self.policy = policy
        self._exchanges: list[Exchange] = []
        self._sent: list[JSONDict] = []
        self._faults: list[Fault] = []
        self._request = threading.local()  # the fault applied to the call on this thread

    # ---- reading the log ---------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return [Call(e.method, e.params) for e in self._exchanges]

    @property
    def exchanges(self) -> list[Exchange]:
        with self._cond:
            return list(self._exchanges)

    def sent_messages(self, chat_id: int | str | None = None) -> list[JSONDict]:
        with self._cond:
            sent = list(self._sent)
        if chat_id is None:
            return sent
        wanted = normalize_chat_id(chat_id)
        return [p for p in sent if normalize_chat_id(p.get("chat_id")) == wanted]

    def clear(self) -> None:
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

    def wait_for(self, matcher: Matcher, count: int, timeout: float, since: int) -> list[Call]:
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

    async def wait_for_async(
        self, matcher: Matcher, count: int, timeout: float, since: int
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                found = self._matching(matcher, since)
            if len(found) >= count:
                return found[:count]
            if time.monotonic() >= deadline:
                raise self._timeout_error(matcher, count, timeout, since, len(found))
            await asyncio.sleep(0.01)

    def _timeout_error(
        self, matcher: Matcher, count: int, timeout: float, since: int, found: int
    ) -> TimeoutError:
        with self._cond:
            seen = [e.method for e in self._exchanges[since:]]
        return TimeoutError(
            f"waited {timeout}s for {count} call(s) matching {matcher!r}, got {found}; "
            f"calls were {seen}"
        )

    # ---- faults ------------------------------------------------------------------------------

    def queue(self, fault: Fault) -> Fault:
        with self._cond:
            self._faults.append(fault)
        return fault

    @property
    def pending_faults(self) -> list[Fault]:
        with self._cond:
            return list(self._faults)

    def choose_fault(self, method: str, params: JSONDict) -> Fault | None:
        """The queued fault for this call (FIFO), as the policy may replace it; remembered
        for this request's thread so :meth:`record` can tell the policy what was applied."""
        fault = self._take(method, params)
        if self.policy is not None:
            fault = self.policy.choose(method, params, fault)
        self._request.fault = fault
        return fault

    def forget_request(self) -> None:
        self._request.fault = None

    def _take(self, method: str, params: JSONDict) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.matches(method, params):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # ---- recording ---------------------------------------------------------------------------

    def record(self, method: str, params: JSONDict, status: int, response: object) -> None:
        with self._cond:
            exchange = Exchange(method, params, status, response)
            self._exchanges.append(exchange)
            if method == "sendMessage" and status == 200:
                self._sent.append(params)
            if self.policy is not None:
                self.policy.observe(exchange, getattr(self._request, "fault", None))
            self._cond.notify_all()
