"""The soak's crash fault, short: the real bot process SIGKILLed mid-burst and restarted;
every question answered, none twice (``bot.tools.crash``)."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.tools.crash import run_crash
from bot.tools.soak import FakeServer, gold_questions


@pytest.mark.slow
def test_a_sigkill_mid_burst_loses_and_duplicates_nothing(
    settings: Settings, core: ArticleBot
) -> None:
    notes: list[str] = []
    server = FakeServer(seed=0)
    try:
        figures = run_crash(
            settings,
            server,
            gold_questions(),
            rounds=2,
            chats=20,
            kill_after=3,
            progress=notes.append,
        )
    finally:
        server.close()
    assert figures["questions"] == 40 and len(notes) == 2, (figures, notes)
    assert figures["answered"] == 40, figures
    assert figures["lost"] == 0 and figures["duplicated"] == 0, figures
    assert len(figures["all_answered_after_restart_s"]) == 2, figures
