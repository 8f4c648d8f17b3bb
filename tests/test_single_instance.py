"""One serving process per data directory: a second ``python -m bot telegram`` on the same
directory says so in one line and exits 75 (EX_TEMPFAIL), before loading anything.

(A restart after a SIGKILL is never refused: ``tests/test_telegram_crash.py`` does that.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import EXIT_IN_USE
from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.tools.fakeapi.server import FakeBotApi
from tests.helpers.paths import SAFETY_TIMEOUT, copy_index, run_bot, start_telegram


@pytest.mark.slow
def test_a_second_bot_on_one_data_directory_exits_with_one_line(
    api: FakeBotApi, data_dir: Path, settings: Settings, core: ArticleBot
) -> None:
    data = copy_index(data_dir, settings.index_dir, settings.data_dir)
    first = start_telegram(data, api.base_url, api.token)
    try:
        api.wait_for("getUpdates", timeout=SAFETY_TIMEOUT)
        second = run_bot(
            ["telegram"], data, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url
        )
        assert first.poll() is None, "the first bot must go on serving"
    finally:
        first.terminate()
        first.communicate(timeout=SAFETY_TIMEOUT)
    assert second.returncode == EXIT_IN_USE, second.stderr
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "already serving from" in lines[0], second.stderr
    assert str(data) in lines[0]
