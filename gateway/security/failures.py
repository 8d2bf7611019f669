"""Counting failures per key in a sliding window, in bounded memory: what both throttles share.

`FailureWindow` remembers, per key, the times of the last `limit` failures. A key
is blocked while it has `limit` failures and the oldest is younger than
`window`; it is free again as soon as that one ages out. Keys are opaque bytes
(the throttles hash what they count, so no identifier is kept in clear), at most
`max_keys` of them: when full, the key remembered longest ago is forgotten first.
An attacker who wants a key forgotten must first fail on `max_keys` other keys,
which the per-client rate limit makes slow.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureWindow:
    def __init__(
        self,
        limit: int,
        window: float,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: dict[bytes, deque[float]] = {}

    def __len__(self) -> int:
        return len(self._failures)

    def blocked_for(self, key: bytes) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        times = self._failures.get(key)
        if times is None:
            return 0.0
        now = self._clock()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.window - now

    def fail(self, key: bytes) -> None:
        """Count one failure of `key` now."""
        times = self._failures.get(key)
        if times is None:
            while len(self._failures) >= self.max_keys:
                del self._failures[next(iter(self._failures))]  # the oldest key
            times = self._failures[key] = deque(maxlen=self.limit)
        times.append(self._clock())
