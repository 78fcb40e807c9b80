"""Where the waiting code reads the time and sleeps, so a test can run it on a manual clock.

The sensor, the trigger and the shared poller read "now" and sleep through one
:class:`TimeSource`. In production it is ``time.time`` and ``asyncio.sleep``. A test that
runs a deferred wait against the emulator swaps in the emulator's clock, so a wait of
hours takes no real time and every assertion about time is exact::

    from airflow_provider_zendesk_jobs.triggers.timing import use_time_source

    with use_time_source(emulator.clock.now, advance=emulator.advance):
        dag.test()  # the trigger's sleeps move the emulator's clock instead of waiting

The swap is process-wide, not per event loop, because Airflow's ``dag.test()`` rebuilds
the trigger from its serialized form and runs it on a loop of its own.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "Clock",
    "ManualTimeline",
    "Sleep",
    "TimeSource",
    "advancing_sleep",
    "current_time_source",
    "use_time_source",
]

#: Returns epoch seconds (UTC).
Clock = Callable[[], float]
#: Waits the given number of seconds on the matching clock.
Sleep = Callable[[float], Awaitable[None]]


class _ManualClock(Protocol):
    def now(self) -> float: ...

    def advance(self, seconds: float) -> float: ...


@dataclass(frozen=True)
class TimeSource:
    """A clock and a sleep that agree with each other."""

    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep


_DEFAULT = TimeSource()
_current: TimeSource = _DEFAULT


def current_time_source() -> TimeSource:
    """The time source new pollers, triggers and sensors use."""
    return _current


def advancing_sleep(advance: Callable[[float], object]) -> Sleep:
    """A sleep that moves a manual clock forward by the time asked, then lets the loop run once.

    Exact when one coroutine at a time sleeps on the clock, which is how the shared poller
    works (one task per connection does every request and every pause). Code with several
    independent sleepers needs a scheduler that jumps to the earliest wake-up instead.
    """

    async def sleep(seconds: float) -> None:
        if seconds > 0:
            advance(seconds)
        await asyncio.sleep(0)

    return sleep


@contextmanager
def use_time_source(
    clock: Clock,
    sleep: Sleep | None = None,
    *,
    advance: Callable[[float], object] | None = None,
) -> Iterator[TimeSource]:
    """Run the waiting code on ``clock`` until the block ends.

    Give either ``sleep`` (an async sleep on that clock) or ``advance`` (a function that moves
    the clock forward, like ``ZendeskEmulator.advance``); with ``advance``, every sleep moves
    the clock instead of waiting. Pollers already running keep the time source they started with.
    """
    global _current
    if sleep is not None and advance is None:
        chosen = TimeSource(clock=clock, sleep=sleep)
    elif advance is not None and sleep is None:
        chosen = TimeSource(clock=clock, sleep=advancing_sleep(advance))
    else:
        raise ValueError("use_time_source needs exactly one of sleep= (an async sleep) or advance= (a clock step)")
    previous = _current
    _current = chosen
    try:
        yield chosen
    finally:
        _current = previous


class ManualTimeline:
    """Sleeps that end when a driver moves a manual clock past them, for code with many sleepers.

    :func:`advancing_sleep` is exact for one sleeper. When many coroutines sleep on their own
    intervals (a benchmark of one-request-per-trigger polling, say), a driver must instead
    jump the clock to the earliest wake-up, let everything woken run until it sleeps again,
    and repeat. ``clock`` is anything with ``now()`` and ``advance(seconds)``, such as the
    emulator's ``ManualClock``::

        timeline = ManualTimeline(emulator.clock)
        tasks = [asyncio.create_task(poll_on_my_own(job_id, timeline.sleep)) for job_id in job_ids]
        live = lambda: sum(not task.done() for task in tasks)
        await timeline.run_until(emulator.clock.now() + 60, quiet=lambda: timeline.pending >= live())
    """

    def __init__(self, clock: _ManualClock) -> None:
        self._clock = clock
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._changed: asyncio.Event | None = None

    @property
    def pending(self) -> int:
        """Coroutines asleep on this timeline right now."""
        return len(self._sleepers)

    def next_wake(self) -> float | None:
        return self._sleepers[0][0] if self._sleepers else None

    def notify(self) -> None:
        """Tell a waiting driver that something changed (e.g. a task it counts has finished)."""
        if self._changed is not None:
            self._changed.set()

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        entry = (self._clock.now() + max(0.0, seconds), self._seq, future)
        heapq.heappush(self._sleepers, entry)
        self.notify()
        try:
            await future
        except asyncio.CancelledError:
            if entry in self._sleepers:  # forget the wake-up of a sleep cancelled before it
                self._sleepers.remove(entry)
                heapq.heapify(self._sleepers)
                self.notify()
            raise

    async def settle(self, quiet: Callable[[], bool]) -> None:
        """Return once ``quiet()`` holds: everything woken has run and is asleep (or done) again.

        ``quiet()`` is checked whenever a sleeper comes or goes and on :meth:`notify`.
        """
        if self._changed is None:
            self._changed = asyncio.Event()
        await asyncio.sleep(0)  # whatever is ready runs first, even when quiet() holds already
        while not quiet():
            self._changed.clear()
            await self._changed.wait()

    async def run_until(self, when: float, *, quiet: Callable[[], bool]) -> None:
        """Move the clock to ``when``, waking every sleeper in order of its wake-up time on the way.

        ``quiet()`` says when the code under test has nothing left to do but sleep, e.g. "the
        poller is asleep" or "every polling task is asleep or done"; call :meth:`notify` when
        something it depends on changes without a sleep (a task finishing).
        """
        while True:
            await self.settle(quiet)
            wake = self.next_wake()
            if wake is None or wake > when:
                break
            now = self._clock.now()
            if wake > now:
                self._clock.advance(wake - now)
            while self._sleepers and self._sleepers[0][0] <= wake:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)
        now = self._clock.now()
        if when > now:
            self._clock.advance(when - now)
