"""Bounded memories the Telegram adapter keeps: recent answers (for buttons) and chats' turns."""

from __future__ import annotations

import itertools
import secrets
from collections import OrderedDict
from typing import Generic, TypeVar

from bot.core.answer import Answer

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


class AnswerMemory:
    """Recent answers by a short key, so a button carries 10 bytes, not a question.

    Keys start with a random prefix per process: after a restart, the buttons under old
    messages must expire, not fetch passages of whatever the new process stored as "1".
    """

    def __init__(self, capacity: int) -> None:
        self._items: Recent[str, Answer] = Recent(capacity)
        self._keys = itertools.count(1)
        self._prefix = _base36(secrets.randbelow(36**4)).rjust(4, "0")

    def remember(self, answer: Answer) -> str:
        key = self._prefix + _base36(next(self._keys))
        self._items.put(key, answer)
        return key

    def get(self, key: str) -> Answer | None:
        return self._items.get(key)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out
