"""The per-user question limit on a clock the test turns: a sliding minute, bounded memory."""

from __future__ import annotations

from bot.telegram.limits import RateLimit


class Clock:
    """Seconds the test sets by hand; RateLimit takes any ``() -> float``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_gets_the_limit_and_no_more_within_a_minute() -> None:
    clock = Clock()
    limit = RateLimit(3, clock=clock)
    assert [limit.allow(7) for _ in range(4)] == [True, True, True, False]
    clock.now += 59.9
    assert not limit.allow(7)


def test_the_window_slides_one_question_at_a_time() -> None:
    clock = Clock()
    limit = RateLimit(2, clock=clock)
    assert limit.allow(7)  # t = 0
    clock.now += 30
    assert limit.allow(7)  # t = 30
    clock.now += 30
    assert limit.allow(7)  # t = 60: the first has left the window
    assert not limit.allow(7)  # the one at 30 has not
    clock.now += 30
    assert limit.allow(7)


def test_a_refused_question_does_not_count() -> None:
    clock = Clock()
    limit = RateLimit(1, clock=clock)
    assert limit.allow(7)
    for _ in range(5):
        clock.now += 10
        assert not limit.allow(7)
    clock.now += 10  # 60 s after the one allowed, not after the last refused
    assert limit.allow(7)


def test_users_are_limited_separately() -> None:
    limit = RateLimit(1, clock=Clock())
    assert limit.allow(1)
    assert limit.allow(2)
    assert not limit.allow(1)


def test_idle_users_are_forgotten_past_the_bound() -> None:
    clock = Clock()
    limit = RateLimit(1, clock=clock, max_users=3)
    for user in range(3):
        limit.allow(user)
    clock.now += 60
    limit.allow(3)
    limit.allow(4)  # over the bound: every user idle for a minute is dropped
    assert set(limit._seen) <= {3, 4}
    assert not limit.allow(4)  # the active ones are still limited


def test_a_limit_of_zero_refuses_everyone() -> None:
    assert not RateLimit(0, clock=Clock()).allow(1)
