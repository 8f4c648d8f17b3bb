"""Per-user question rate limit: one eager user must not slow the bot for everyone."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimit:
    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_users: int = 10_000
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.max_users = max_users
        self._seen: dict[int, deque[float]] = {}

    def allow(self, user_id: int) -> bool:
        now = self.clock()
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        if len(self._seen) > self.max_users:  # forget idle users so memory stays bounded
            idle = [uid for uid, w in self._seen.items() if not w or now - w[-1] >= 60]
            for uid in idle:
                del self._seen[uid]
        return True
