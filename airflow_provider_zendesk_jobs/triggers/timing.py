"""The clock and sleep types of the waiting code, and a stand-in for the sensor and the operator.

Everything that waits takes ``clock=`` and ``sleep=`` as constructor arguments; the manual
sleeps for tests are in :mod:`airflow_provider_zendesk_jobs.testing.timeline`, and triggers get
their poller's clock through :func:`.registry.use_poller_factory`. ``use_time_source`` remains
only until the sensor and the results operator take their clock as an argument: it sets their
time source and the pollers' factory for the length of a block.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Clock", "Sleep", "TimeSource", "current_time_source", "use_time_source"]

#: Returns epoch seconds (UTC).
Clock = Callable[[], float]
#: Waits the given number of seconds on the matching clock.
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class TimeSource:
    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep


_current = TimeSource()


def current_time_source() -> TimeSource:
    return _current


@contextmanager
def use_time_source(
    clock: Clock, sleep: Sleep | None = None, *, advance: Callable[[float], object] | None = None
) -> Iterator[TimeSource]:
    """Run the sensor, the operator and new pollers on ``clock`` until the block ends (``sleep`` or ``advance``)."""
    from airflow_provider_zendesk_jobs.testing.timeline import advancing_sleep
    from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller
    from airflow_provider_zendesk_jobs.triggers.registry import use_poller_factory

    global _current
    if (sleep is None) == (advance is None):
        raise ValueError("use_time_source needs exactly one of sleep= (an async sleep) or advance= (a clock step)")
    chosen = TimeSource(clock, sleep if sleep is not None else advancing_sleep(advance))  # type: ignore[arg-type]
    previous, _current = _current, chosen
    try:
        with use_poller_factory(functools.partial(SharedJobStatusPoller, clock=chosen.clock, sleep=chosen.sleep)):
            yield chosen
    finally:
        _current = previous
