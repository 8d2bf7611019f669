"""A circuit breaker per central system: when it is down, calls fail fast instead of waiting.

    CLOSED ──(failure_threshold failures in a row, or error_rate over the window)──▶ OPEN
    CLOSED / HALF_OPEN ──(the central system's Retry-After)──▶ OPEN for that long
    OPEN ──(cool_down, or the Retry-After, elapsed)──▶ HALF_OPEN
    HALF_OPEN ──(half_open_probes trial calls succeed)──▶ CLOSED
    HALF_OPEN ──(a trial call fails)──▶ OPEN

The retry policy (adapters/retry.py) asks `admit()` before every attempt and
reports its outcome; while the breaker is open `admit()` raises
`CentralUnavailable` at once, which the worker answers as 503
`central-unavailable` with `Retry-After`. In half-open, only `half_open_probes`
calls at a time reach the central system; the others fail fast as if open.

An attempt *fails* when it raises `TransientError` or times out; any other
outcome (an answer, a record not found, a refusal) shows the central system is
up. Only a probe's outcome counts in half-open, and a late outcome of a call
admitted before the breaker opened counts for nothing.

Why not a library: aiobreaker has had no release since 2021; pybreaker counts
only failures in a row and runs coroutines through Tornado; purgatory is
asyncio-native but has no error rate over a window and no way to open for the
time a central system asks (`Retry-After`). None knows our deadline model (a
probe must be an attempt inside the retry loop, under its time box). This state
machine is small, synchronous (it runs on one event loop: no locks) and takes an
injectable clock, so its tests need no sleeps.

State lives in the worker process: each replica of a worker has its own
breaker, and learns about the central system from its own calls.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import IntEnum

from adapters.errors import CentralUnavailable
from schemas.config import BreakerSettings


class BreakerState(IntEnum):
    """The values of the `lgsp_worker_breaker_state` gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


Transition = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        settings: BreakerSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Transition | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._on_transition = on_transition
        self._state = BreakerState.CLOSED
        self._open_until = 0.0
        self._in_a_row = 0
        # One [second, calls, failures] per second that saw an outcome, oldest first.
        self._window: deque[list[int]] = deque()
        self._probes = 0  # trial calls in flight (half-open)
        self._probe_successes = 0

    @property
    def state(self) -> BreakerState:
        """The state now: an open breaker whose time is up is half-open."""
        if self._state is BreakerState.OPEN and self._clock() >= self._open_until:
            self._move(BreakerState.HALF_OPEN)
        return self._state

    def retry_after(self) -> float:
        """Seconds until trial calls are let through again (0 unless open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._open_until - self._clock())

    def honoured(self, retry_after: float) -> float:
        """A central system's Retry-After, as long as the breaker will honour it."""
        return min(max(retry_after, 0.0), self.settings.max_retry_after)

    def admit(self) -> bool:
        """Before an attempt: raise `CentralUnavailable` if it must fail fast.

        Returns whether the attempt is a trial call (a probe), to be given back to
        `succeeded` or `failed`.
        """
        if self._state is BreakerState.CLOSED:  # the hot path: one comparison
            return False
        state = self.state
        if state is BreakerState.OPEN:
            raise CentralUnavailable(
                f"the {self.name} central system is unavailable (circuit open)",
                self.retry_after(),
            )
        if self._probes >= self.settings.half_open_probes:
            # Trial calls are under way; until they tell, everyone else waits a cool-down.
            raise CentralUnavailable(
                f"the {self.name} central system is being probed (circuit half-open)",
                self.settings.cool_down,
            )
        self._probes += 1
        return True

    def succeeded(self, probe: bool) -> None:
        if probe:
            self._probes = max(0, self._probes - 1)
            if self._state is BreakerState.HALF_OPEN:
                self._probe_successes += 1
                if self._probe_successes >= self.settings.half_open_probes:
                    self._close()
            return
        if self._state is BreakerState.CLOSED:
            self._in_a_row = 0
            self._count(failed=False)

    def failed(self, probe: bool, retry_after: float | None = None) -> None:
        if probe:
            self._probes = max(0, self._probes - 1)
        if retry_after is not None and retry_after > 0:
            # The central system said when to come back: nobody calls before then.
            self._open(self.honoured(retry_after))
            return
        if probe:
            if self._state is BreakerState.HALF_OPEN:
                self._open(self.settings.cool_down)
            return
        if self._state is not BreakerState.CLOSED:
            return  # a late outcome of a call admitted before the breaker opened
        self._in_a_row += 1
        calls, failures = self._count(failed=True)
        if self._in_a_row >= self.settings.failure_threshold or (
            calls >= self.settings.min_calls and failures >= self.settings.error_rate * calls
        ):
            self._open(self.settings.cool_down)

    def released(self, probe: bool) -> None:
        """An attempt that ended without a verdict (cancelled, or the adapter's own bug)."""
        if probe:
            self._probes = max(0, self._probes - 1)

    # -- transitions ---------------------------------------------------------------------

    def _count(self, *, failed: bool) -> tuple[int, int]:
        """Add one outcome to the window; the window's (calls, failures) after it."""
        now = int(self._clock())
        window = self._window
        if not window or window[-1][0] != now:
            window.append([now, 0, 0])
            oldest = now - int(self.settings.window) + 1
            while window[0][0] < oldest:
                window.popleft()
        bucket = window[-1]
        bucket[1] += 1
        if not failed:
            return bucket[1], bucket[2]  # nobody asks on success: the sums are not needed
        bucket[2] += 1
        return sum(b[1] for b in window), sum(b[2] for b in window)

    def _open(self, seconds: float) -> None:
        until = self._clock() + seconds
        if self._state is BreakerState.OPEN:
            self._open_until = max(self._open_until, until)
            return
        self._open_until = until
        self._reset_counts()
        self._move(BreakerState.OPEN)

    def _close(self) -> None:
        self._reset_counts()
        self._move(BreakerState.CLOSED)

    def _reset_counts(self) -> None:
        self._in_a_row = 0
        self._window.clear()
        self._probe_successes = 0

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if new is BreakerState.HALF_OPEN:
            self._probes = 0
            self._probe_successes = 0
        if self._on_transition is not None and old is not new:
            self._on_transition(old, new)
