"""The enumeration watch: distinct subjects per client in a sliding window, one alarm a window."""

from __future__ import annotations

from gateway.security.enumeration import EnumerationWatch


def test_the_alarm_comes_once_when_the_norm_is_passed_and_again_a_window_later() -> None:
    watch = EnumerationWatch(window=60, default_norm=3)
    results = [watch.seen("c", f"s{i}", 0, now=float(i)) for i in range(6)]
    assert [distinct for distinct, _ in results] == [1, 2, 3, 4, 4, 4]  # bounded by norm + 1
    raised = [alarm for _, alarm in results if alarm is not None]
    assert len(raised) == 1
    assert (raised[0].distinct, raised[0].norm) == (4, 3)
    assert watch.active(now=10.0) == raised
    assert watch.active(now=70.0) == []  # the window has passed
    later = [watch.seen("c", f"t{i}", 0, now=100.0 + i)[1] for i in range(5)]
    assert sum(alarm is not None for alarm in later) == 1


def test_the_same_subject_again_and_subjects_out_of_the_window_do_not_count() -> None:
    watch = EnumerationWatch(window=10, default_norm=2)
    for _ in range(10):
        assert watch.seen("c", "same", 0, now=1.0) == (1, None)
    assert watch.seen("c", "a", 0, now=2.0)[0] == 2
    # Twenty seconds on, "same" and "a" have left the window.
    assert watch.seen("c", "b", 0, now=22.0) == (1, None)


def test_each_client_has_its_own_norm_and_count() -> None:
    watch = EnumerationWatch(window=60, default_norm=100)
    assert watch.seen("small", "x", 1, now=0.0)[1] is None
    assert watch.seen("small", "y", 1, now=1.0)[1] is not None
    assert watch.seen("big", "y", 0, now=1.0) == (1, None)
