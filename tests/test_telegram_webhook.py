"""Webhook mode judges a request by its headers before reading its body.

A POST without the secret is answered 403 and its connection closed after the headers:
a client that declared 90 MB and sent none of it gets its answer at once, which it could
not if the listener waited for (or drained) the body. A body declared over the bound is
refused (413) the same way even with the secret; a real update is still answered.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.telegram.webhook import MAX_BODY_BYTES, SECRET_HEADER
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.paths import copy_index, run_bot
from tests.helpers.telegram import (
    QUESTION,
    WEBHOOK_SECRET,
    RunningBot,
    free_port,
    only_reply,
    running,
    visible,
)


@pytest.fixture
def hooked(api: FakeBotApi, core: ArticleBot) -> Iterator[RunningBot]:
    with running(api, core, webhook_port=free_port()) as bot:
        yield bot


def _post_headers_only(url: str, declared: int, secret: str | None) -> bytes:
    """POST that declares ``declared`` bytes and sends none; all the bot answers, to EOF."""
    host, port = url.split("//")[1].split("/", maxsplit=1)[0].split(":")
    headers = [
        "POST /telegram HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {declared}",
        *([f"{SECRET_HEADER}: {secret}"] if secret is not None else []),
    ]
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        answer = b""
        while chunk := conn.recv(65536):  # until the bot closes the connection
            answer += chunk
    return answer


def test_an_unauthenticated_huge_body_is_refused_before_it_is_read(hooked: RunningBot) -> None:
    assert hooked.webhook_url is not None
    answer = _post_headers_only(hooked.webhook_url, 90 * 1024 * 1024, secret=None)
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


def test_a_wrong_secret_is_refused_before_the_body_is_read(hooked: RunningBot) -> None:
    assert hooked.webhook_url is not None
    answer = _post_headers_only(hooked.webhook_url, 90 * 1024 * 1024, "wrong-secret-0123456789")
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


def test_a_body_over_the_bound_is_refused_even_with_the_secret(hooked: RunningBot) -> None:
    assert hooked.webhook_url is not None
    answer = _post_headers_only(hooked.webhook_url, MAX_BODY_BYTES + 1, WEBHOOK_SECRET)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_real_update_is_still_answered(hooked: RunningBot) -> None:
    assert "第七" in visible(only_reply(hooked.ask(QUESTION)))
    assert hooked.api.post_webhook(hooked.webhook_url or "", {"update_id": 10**6}, "x" * 20) == 403


@pytest.mark.slow
def test_a_webhook_port_already_taken_is_one_clear_line(
    api: FakeBotApi, data_dir: Path, settings: Settings, core: ArticleBot
) -> None:
    data = copy_index(data_dir, settings.index_dir, settings.data_dir)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"http://127.0.0.1:{port}/telegram"
        result = run_bot(
            ["telegram", "--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port)],
            data,
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"cannot listen on 127.0.0.1:{port}" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
