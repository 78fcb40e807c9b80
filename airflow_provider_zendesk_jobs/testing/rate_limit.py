"""Zendesk's requests-per-minute budget, on the emulator's clock.

The budget is a sliding minute: a request is served only if fewer than ``per_minute`` requests
were served in the 60 clock seconds before it, so no 60-second span ever holds more than the
limit. That is at least as strict as any window Zendesk applies, which makes it the safe model
to test a client against. Over the limit, every API call answers 429 and ``Retry-After`` says in
how many clock seconds the oldest counted request leaves the window. The budget headers Zendesk
sends (both spellings) are on every API answer while a limit is set.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    headers: list[tuple[str, str]]
    retry_after: int


class RateLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_minute: int | None = None
        self._served: deque[float] = deque()

    @property
    def per_minute(self) -> int | None:
        return self._per_minute

    def set(self, per_minute: int | None) -> None:
        if per_minute is not None and (
            isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 1
        ):
            raise ValueError(f"per_minute must be a positive int or None, not {per_minute!r}")
        with self._lock:
            self._per_minute = per_minute
            self._served.clear()

    def hit(self, now: float) -> RateDecision | None:
        """Spend one request of the budget; None when no limit is set."""
        limit = self._per_minute
        if limit is None:
            return None
        with self._lock:
            served = self._served
            while served and served[0] <= now - WINDOW_SECONDS:
                served.popleft()
            allowed = len(served) < limit
            if allowed:
                served.append(now)
            remaining = limit - len(served)
            oldest = served[0] if served else now
        reset = max(1, math.ceil(oldest + WINDOW_SECONDS - now))
        headers = [
            ("X-Rate-Limit", str(limit)),
            ("X-Rate-Limit-Remaining", str(remaining)),
            ("ratelimit-limit", str(limit)),
            ("ratelimit-remaining", str(remaining)),
            ("ratelimit-reset", str(reset)),
        ]
        return RateDecision(allowed=allowed, headers=headers, retry_after=reset)
