"""The soak of issue 5, short: questions through the Telegram adapter under injected faults.

``python -m bot soak`` runs the full 10,000 questions; here 500 questions from 50 chats
with faults on 2% of Bot API calls must all be answered exactly once, with no exception
escaping a handler. Memory and timing are reported by the full run, not asserted here.
"""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.tools.soak import format_soak, run_soak, tally

APOLOGY = "Sorry, something went wrong while answering. Please try again."


@pytest.mark.slow
def test_a_short_soak_answers_every_question_exactly_once(settings: Settings) -> None:
    notes: list[str] = []
    result = run_soak(
        settings,
        questions=500,
        chats=50,
        fault_rate=0.02,
        seed=0,
        progress=notes.append,
        warmup=False,
    )
    report = format_soak(result)
    assert result["sent"] == 500 and result["not_sent"] == 0, report
    assert result["faults_injected"] >= 5, report  # the faults did happen
    assert result["not_processed"] == 0, report
    assert result["lost"] == 0, report
    assert result["duplicated"] == 0, report
    assert result["unhandled"] == 0, report
    assert result["processed_twice"] == 0 and result["unattributed_messages"] == 0, report
    assert result["server_errors"] == [], report
    assert result["answered"] == 500, report
    assert "500 questions from 50 chats" in report and notes


def test_the_tally_tells_answered_lost_duplicated_and_apologised_apart() -> None:
    texts = {1: "q", 2: "q", 3: "r", 4: "r", 5: "s", 6: "t", 7: "t"}
    calls = [
        [1, "sendChatAction", 200, None, None],
        [1, "sendMessage", 200, "a", None],  # answered once
        [2, "sendMessage", 200, "a", "timeout"],
        [2, "sendMessage", 200, "a", None],  # the same answer twice
        [3, "sendMessage", 502, None, "502"],
        [3, "sendMessage", 200, APOLOGY, None],  # no answer, an apology
        [4, "sendMessage", 0, None, "drop"],  # nothing at all
        [5, "sendMessage", 200, "b", None],
        [5, "sendMessage", 200, APOLOGY, None],  # the answer and an apology
        [6, "sendMessage", 200, "c1", None],
        [6, "sendMessage", 200, "c2", None],  # an answer in two messages
        [7, "sendMessage", 200, "c1", None],
        [7, "sendMessage", 0, None, "drop"],  # ... of which one arrived
        [None, "sendMessage", 200, "x", None],  # to a chat with no question
    ]
    figures = tally(texts, calls)
    assert figures["answered"] == 5 and figures["answered_once"] == 3
    assert figures["duplicated"] == 1
    assert figures["duplicated_by_fault"] == {"sendMessage:timeout": 1}
    assert figures["lost"] == 2
    assert figures["lost_apologised"] == 1 and figures["lost_silent"] == 1
    assert figures["lost_by_fault"] == {"sendMessage:502": 1, "sendMessage:drop": 1}
    assert figures["answered_and_apologised"] == 1
    assert figures["incomplete"] == 1
    assert figures["unattributed_messages"] == 1


def test_nonsense_settings_are_refused_before_anything_starts(settings: Settings) -> None:
    with pytest.raises(ValueError, match="fault kinds"):
        run_soak(settings, questions=10, faults=("lightning",))
    with pytest.raises(ValueError, match="fault_rate"):
        run_soak(settings, questions=10, fault_rate=2.0)
