"""A request-rate budget shared by every stream and thread of one tap run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RequestPacer:
    """Spaces request starts at least `1 / per_second` apart, across all threads.

    Breezeway does not document its data-endpoint limits, but clients sweeping ~400
    properties with 16 workers report 429s; pacing keeps the parallel task fetch under a
    configured budget instead of discovering the limit through retries. A slot is reserved
    under the lock and slept for outside it, so waiting threads never hold each other up.
    """

    def __init__(
        self,
        per_second: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def wait_turn(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)
