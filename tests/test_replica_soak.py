"""``python -m bot soak --replicas 2``, short: 150 questions from 10 chats through HAProxy to
two webhook replicas on PostgreSQL, 2% Bot API faults, replica 1 SIGKILLed once and restarted
(``bot.tools.replica_soak``). Nothing lost; nothing answered twice but a reply in flight at
the kill; both replicas served; the question log's report is printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.engine import ArticleBot
from bot.tools.replica_soak import format_replica_soak, run_replica_soak
from tests.helpers.debian import installed
from tests.helpers.telegram import without_proxies


@pytest.mark.slow
def test_a_soak_through_two_replicas_with_a_kill_loses_nothing(
    settings: Settings, core: ArticleBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed("haproxy", "haproxy")  # on PATH for bot.tools.haproxy
    without_proxies(monkeypatch)
    notes: list[str] = []
    result = run_replica_soak(
        settings,
        questions=150,
        chats=10,
        fault_rate=0.02,
        kill_once=True,
        workdir=tmp_path,
        progress=notes.append,
    )
    text = format_replica_soak(result)
    assert result["sent"] == 150 and result["answered"] == 150, text
    assert result["lost"] == 0, text
    assert result["duplicated_not_in_flight"] == 0, text
    assert result["duplicated"] <= result["in_flight_at_kill"], text
    assert result["kills"] == 1 and len(result["replica_back_after_s"]) == 1, (text, notes)
    assert set(result["updates_by_replica"]) == {"bot1", "bot2"}, text
    assert not result["exited_by_themselves"], result["exited_by_themselves"]
    assert result["latency_first_reply"]["p95_ms"] > 0, text
    assert "bot report on the soak's question log:" in text and "asked " in text, text
    assert result["target_met"], text
