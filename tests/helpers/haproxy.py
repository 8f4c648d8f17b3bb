"""HAProxy in front of loopback replicas: :mod:`bot.tools.haproxy`, with Debian's ``haproxy``
installed for the tests if it is missing (:mod:`tests.helpers.debian`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from bot.tools import haproxy as _haproxy
from bot.tools.haproxy import deliveries, replicas_by_chat, replicas_up
from tests.helpers.debian import installed

__all__ = ["deliveries", "replicas_by_chat", "replicas_up", "running_haproxy"]


@contextlib.contextmanager
def running_haproxy(port: int, replicas: list[int], log: Path) -> Iterator[str]:
    with _haproxy.running_haproxy(port, replicas, log, installed("haproxy", "haproxy")) as url:
        yield url
