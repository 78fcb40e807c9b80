"""Sleeps on a manual clock, for tests and benchmarks of waiting code (never used in production).

A poller, a hook or a sensor takes ``clock=`` and ``sleep=`` as constructor arguments. Give it
the emulator's ``ManualClock.now`` and one of these sleeps, and a wait of hours takes no real
time while every time it reads is exact:

* :func:`advancing_sleep` moves the clock by the time asked: exact for one sleeper at a time,
  such as the shared poller, whose one task does every request and every pause;
* :class:`ManualTimeline` serves many sleepers: a driver jumps the clock to the earliest
  wake-up, lets everything woken run until it sleeps again, and repeats.

For triggers, which find their poller through the registry, install a poller on such a clock
with :func:`triggers_on_clock`. For a task, :func:`on_clock` gives its class on such a clock
through ``build_wait``, the seam every waiting task offers.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

__all__ = ["ManualTimeline", "advancing_sleep", "on_clock", "triggers_on_clock"]


class _ManualClock(Protocol):
    def now(self) -> float: ...

    def advance(self, seconds: float) -> float: ...


def advancing_sleep(advance: Callable[[float], object]) -> Callable[[float], Awaitable[None]]:
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


@contextmanager
def triggers_on_clock(
    clock: Callable[[], float], advance: Callable[[float], object], **poller_kwargs: Any
) -> Iterator[None]:
    """Triggers run in the block get pollers that read ``clock`` and sleep by running ``advance``.

    ``poller_kwargs`` go to each poller as well (``hook=``, ``rand=``...).
    """
    from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller
    from airflow_provider_zendesk_jobs.triggers.registry import use_poller_factory

    factory = functools.partial(SharedJobStatusPoller, clock=clock, sleep=advancing_sleep(advance), **poller_kwargs)
    with use_poller_factory(factory):
        yield


Task = TypeVar("Task")


def on_clock(task_class: type[Task], clock: Callable[[], float], sleep: Callable[[float], Any]) -> type[Task]:
    """``task_class`` whose wait reads ``clock`` and whose hook (and polling loop) sleeps through ``sleep``.

    Every waiting task builds its wait in ``build_wait(clock=, sleep=)``: the sensor and the results
    operator their ``JobWait``, the bulk operator its ``ImportWait`` (the clock and sleep of its rounds,
    and the hook on them). The subclass keeps the task's module and name, so its log lines come from
    the same logger as the real task's.
    """

    class OnClock(task_class):  # type: ignore[valid-type,misc]
        __module__ = task_class.__module__

        def build_wait(self, **seams: Any) -> Any:
            return super().build_wait(clock=clock, sleep=sleep)

    OnClock.__name__ = OnClock.__qualname__ = task_class.__name__
    return OnClock
