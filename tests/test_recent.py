"""The adapter's bounded in-process memory: least recently used first out."""

from __future__ import annotations

from bot.telegram.recent import Recent


def test_it_keeps_what_was_put() -> None:
    recent: Recent[int, str] = Recent(2)
    recent.put(1, "a")
    assert recent.get(1) == "a"
    assert recent.get(2) is None
    assert len(recent) == 1


def test_the_least_recently_used_goes_first() -> None:
    recent: Recent[int, str] = Recent(2)
    recent.put(1, "a")
    recent.put(2, "b")
    assert recent.get(1) == "a"  # 1 is now the most recently used
    recent.put(3, "c")
    assert (recent.get(1), recent.get(2), recent.get(3)) == ("a", None, "c")
    assert len(recent) == 2


def test_putting_again_replaces_and_refreshes() -> None:
    recent: Recent[int, str] = Recent(2)
    recent.put(1, "a")
    recent.put(2, "b")
    recent.put(1, "A")
    recent.put(3, "c")
    assert (recent.get(1), recent.get(2)) == ("A", None)


def test_pop_forgets_and_returns() -> None:
    recent: Recent[int, bool] = Recent(2)
    recent.put(1, True)
    assert recent.pop(1) is True
    assert recent.pop(1) is None
    assert len(recent) == 0


def test_a_falsy_value_is_still_remembered() -> None:
    recent: Recent[int, bool] = Recent(2)
    recent.put(1, False)
    assert recent.get(1) is False


def test_it_never_grows_past_its_capacity() -> None:
    recent: Recent[int, int] = Recent(100)
    for n in range(10_000):
        recent.put(n, n)
    assert len(recent) == 100
    assert recent.get(9_999) == 9_999
    assert recent.get(9_899) is None
