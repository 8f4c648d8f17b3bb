"""HAProxy with the project's own config (``deploy/haproxy.cfg``) in front of loopback replicas
(Debian's ``haproxy``): for tests/test_replicas.py and ``python -m bot soak --replicas 2``."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from bot.tools.processes import stop

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"  # in a checkout
_LINE = re.compile(r"update=(\d+) chat=(-?\d+) server=(\S+) status=(-?\d+)")
_STATE = re.compile(r"^Server replicas/(\S+) is (UP|DOWN)", re.MULTILINE)


@contextlib.contextmanager
def running_haproxy(
    port: int, replicas: list[int], log: Path, haproxy: str = "haproxy"
) -> Iterator[str]:
    """HAProxy on 127.0.0.1:``port`` routing to the replicas' ports; yields its base URL.
    Its log (one line per delivery: update, chat, replica, status) goes to ``log``."""
    environment = dict(os.environ, HAPROXY_BIND=f"127.0.0.1:{port}")
    for number, replica in enumerate(replicas, start=1):
        environment[f"BOT{number}"] = f"127.0.0.1:{replica}"
    with log.open("ab") as output:
        process = subprocess.Popen(
            ["setpriv", "--pdeathsig", "KILL", haproxy, "-db", "-f", str(CONFIG)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"haproxy did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process, 10)


def deliveries(log: Path) -> list[tuple[int, int, str, int]]:
    """(update_id, chat id, replica, HTTP status) of every delivery HAProxy logged."""
    return [
        (int(u), int(c), server, int(status))
        for u, c, server, status in _LINE.findall(log.read_text(errors="replace"))
    ]


def replicas_by_chat(log: Path) -> dict[int, set[str]]:
    """Which replicas answered each chat (status 200) so far."""
    seen: dict[int, set[str]] = defaultdict(set)
    for _, chat, server, status in deliveries(log):
        if status == 200:
            seen[chat].add(server)
    return dict(seen)


def replicas_up(log: Path) -> set[str]:
    """The replicas HAProxy's health checks last found up."""
    state: dict[str, str] = {}
    for server, status in _STATE.findall(log.read_text(errors="replace")):
        state[server] = status
    return {server for server, status in state.items() if status == "UP"}


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
