"""``python -m bot telegram`` at start: a rejected token or an unreachable Bot API is one
clear line and a distinct exit code (not a crash loop), and health means "can serve"."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from bot.__main__ import EXIT_BAD_TOKEN, EXIT_UNREACHABLE
from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.telegram.liveness import STALE_SECONDS, Liveness, check
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.paths import SAFETY_TIMEOUT, copy_index, run_bot, start_telegram


def _data_with_index(data_dir: Path, settings: Settings) -> Path:
    return copy_index(data_dir, settings.index_dir, settings.data_dir)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_rejected_token_exits_78_with_one_clear_line(
    api: FakeBotApi, data_dir: Path, settings: Settings, core: ArticleBot
) -> None:
    wrong = api.token.split(":")[0] + ":" + "W" * 35
    result = run_bot(
        ["telegram"],
        _data_with_index(data_dir, settings),
        TELEGRAM_BOT_TOKEN=wrong,
        TELEGRAM_API_BASE_URL=api.base_url,
    )
    assert result.returncode == EXIT_BAD_TOKEN, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "rejected the bot token" in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "W" * 35 not in result.stderr


def test_an_unreachable_bot_api_exits_69_with_one_clear_line(
    data_dir: Path, settings: Settings, core: ArticleBot
) -> None:
    result = run_bot(
        ["telegram"],
        _data_with_index(data_dir, settings),
        TELEGRAM_BOT_TOKEN="123456:" + "A" * 35,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{_closed_port()}/bot",
    )
    assert result.returncode == EXIT_UNREACHABLE, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "cannot reach the Telegram Bot API" in errors[0], result.stderr
    assert "Traceback" not in result.stderr  # the bounded retries before it are warnings


@pytest.mark.slow
def test_health_follows_the_bot_api_and_sigterm_stops_promptly(
    api: FakeBotApi, data_dir: Path, settings: Settings, core: ArticleBot
) -> None:
    """Healthy once Telegram answers; unhealthy when it stops answering (the record goes stale)."""
    data = _data_with_index(data_dir, settings)
    process = start_telegram(data, api.base_url, api.token)
    record = data / "telegram.heartbeat"
    try:
        api.wait_for("getUpdates", count=2, timeout=SAFETY_TIMEOUT)  # the first long poll came back
        assert run_bot(["health"], data).returncode == 0
        api.stop()  # Telegram unreachable from now on: the bot retries, the record ages
        # Long enough for PTB's own backoff to have reached a 17 s sleep that no stop can
        # interrupt (the SIGKILL `docker stop` met); the bot's own wait is interruptible.
        time.sleep(35)
        stopped = time.monotonic()
        process.terminate()
        _, stderr = process.communicate(timeout=SAFETY_TIMEOUT)
        assert time.monotonic() - stopped < 10, stderr  # SIGTERM during the outage's backoff
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    outage = [line for line in stderr.splitlines() if "Telegram" in line and "WARNING" in line]
    assert len(outage) == 1 and "cannot reach Telegram to poll" in outage[0], stderr
    # PTB's own note at the stop (it could not confirm the last updates) is the only error.
    errors = [line for line in stderr.splitlines() if " ERROR " in line]
    assert all("one more time to mark all fetched updates" in line for line in errors), stderr
    heard = json.loads(record.read_text(encoding="utf-8"))["telegram_ok_at"]
    healthy, why = check(record, now=heard + STALE_SECONDS + 1)
    assert not healthy and "last answer from Telegram" in why


def test_health_says_why_it_is_unhealthy(tmp_path: Path) -> None:
    record = tmp_path / "telegram.heartbeat"
    assert check(record) == (False, "unhealthy: Telegram has not answered yet")
    liveness = Liveness(record)
    liveness.heard_from_telegram()
    assert check(record)[0]
    liveness.answered(ok=False)
    assert check(record) == (False, "unhealthy: the last answer to a reader failed")
    liveness.answered(ok=True)
    assert check(record)[0]
    record.write_text("{not json", encoding="utf-8")
    healthy, why = check(record)
    assert not healthy and "unreadable" in why


@pytest.mark.parametrize("state", ["missing", "fresh"])
def test_python_m_bot_health_reads_the_record(tmp_path: Path, state: str) -> None:
    if state == "fresh":
        Liveness(tmp_path / "telegram.heartbeat").heard_from_telegram()
    result = run_bot(["health"], tmp_path)
    assert result.returncode == (0 if state == "fresh" else 1)
    assert (result.stdout if state == "fresh" else result.stderr).startswith(
        "healthy" if state == "fresh" else "unhealthy"
    )
