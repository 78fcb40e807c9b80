"""The emulator's notion of "now", separate from the wall clock.

Every job moves through its lifecycle on a clock, never on ``time.time()`` directly, so a test
can hold time still and step it (:class:`ManualClock`) and a demo can watch jobs progress in
seconds instead of minutes (:class:`ScaledClock`). Times are epoch seconds (UTC), like
Zendesk's own timestamps.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

#: 2023-11-14 22:13:20 UTC: a fixed, recognisable start for manual clocks.
DEFAULT_START = 1_700_000_000.0


@runtime_checkable
class Clock(Protocol):
    """What the emulator needs from a clock: read it, and push it forward."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> float: ...


def _check_step(seconds: float) -> float:
    step = float(seconds)
    if not step >= 0.0 or step == float("inf"):
        raise ValueError(f"a clock only moves forward by a finite amount, not {seconds!r}")
    return step


class ManualClock:
    """A clock that only moves when told to: tests step it and never sleep."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` and return the new time."""
        step = _check_step(seconds)
        with self._lock:
            self._now += step
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"


class ScaledClock:
    """Real time multiplied by ``speed``, so a demo's jobs finish quickly but still visibly progress.

    It starts at the real current time (or ``start``); :meth:`advance` adds an offset on top, for
    skipping ahead (e.g. past a job's retention) without waiting.
    """

    def __init__(self, speed: float = 20.0, start: float | None = None) -> None:
        if not speed > 0.0:
            raise ValueError(f"speed must be positive, not {speed!r}")
        self.speed = float(speed)
        self._origin = time.time() if start is None else float(start)
        self._mono_origin = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._origin + (time.monotonic() - self._mono_origin) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        """Jump forward by ``seconds`` of clock time and return the new time."""
        step = _check_step(seconds)
        with self._lock:
            self._offset += step
        return self.now()

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self.speed!r}, now={self.now()!r})"
