"""Failure windows: blocked after `limit` failures, free once the oldest ages out, bounded."""

from __future__ import annotations

from adapters.logs import looks_personal, mask_personal_data
from gateway.security.failures import FailureWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_blocked_after_limit_failures_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    window = FailureWindow(limit=3, window=60, max_keys=10, clock=clock)
    for _ in range(2):
        window.fail(b"k")
        clock.now += 10
    assert window.blocked_for(b"k") == 0
    window.fail(b"k")  # the third, at t=20
    assert window.blocked_for(b"k") == 60 - 20
    assert window.blocked_for(b"other") == 0
    clock.now = 1000.0 + 60.0  # the first failure has aged out
    assert window.blocked_for(b"k") == 0


def test_the_window_forgets_its_oldest_key_when_full() -> None:
    window = FailureWindow(limit=1, window=60, max_keys=2, clock=Clock())
    for key in (b"a", b"b", b"c"):
        window.fail(key)
    assert len(window) == 2
    assert window.blocked_for(b"a") == 0
    assert window.blocked_for(b"c") > 0


def test_identifier_shapes_are_recognised_anywhere_in_a_value() -> None:
    for value in ("031199012345", "req-123456789", "x3112345678y", "HS4310123456789"):
        assert looks_personal(value), value
    for value in ("case-2026-0042", "a1b2c3d4-e5f6", "12345678"):
        assert not looks_personal(value), value


def test_request_ids_in_log_lines_are_masked_unless_generated_or_harmless() -> None:
    generated = "6bcf8488c0e50b17000000000000002d"  # 32 hex: digits runs, but ours
    event = {"request_id": "req-031199012345", "message_id": generated, "correlation_id": "c-1"}
    masked = mask_personal_data(None, "info", dict(event))
    assert masked == {"request_id": "***", "message_id": generated, "correlation_id": "c-1"}
