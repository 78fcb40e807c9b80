"""Which poller a trigger joins: one per (running event loop, connection id), made on first use.

Nothing is shared across loops (an ``httpx`` client or a task belongs to its loop). Tests give
triggers a clock with :func:`use_poller_factory`, for every loop (``dag.test()`` runs a trigger on
a loop of its own).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller

__all__ = ["PollerFactory", "pollers_on_running_loop", "shared_poller", "use_poller_factory"]

#: Makes the poller for a connection id, on the running loop.
PollerFactory = Callable[[str], "SharedJobStatusPoller"]

_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SharedJobStatusPoller]] = (
    weakref.WeakKeyDictionary()
)


def _production_poller(zendesk_conn_id: str) -> SharedJobStatusPoller:
    # Imported here: the poller's imports (the hooks, httpx) are heavy; the trigger loads them in a thread.
    from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller

    return SharedJobStatusPoller(zendesk_conn_id)


_factory: PollerFactory = _production_poller


def shared_poller(zendesk_conn_id: str) -> SharedJobStatusPoller:
    """The running loop's poller for ``zendesk_conn_id``, made now if it has none that still runs."""
    by_connection = _POLLERS.setdefault(asyncio.get_running_loop(), {})
    poller = by_connection.get(zendesk_conn_id)
    if poller is None or poller.closed:
        poller = by_connection[zendesk_conn_id] = _factory(zendesk_conn_id)
    return poller


@contextmanager
def use_poller_factory(factory: PollerFactory) -> Iterator[None]:
    """Make every new poller with ``factory(zendesk_conn_id)`` until the block ends: a clock for tests.

    Pollers already running keep theirs. Not for production: the factory holds for the whole process.
    """
    global _factory
    previous, _factory = _factory, factory
    try:
        yield
    finally:
        _factory = previous


def pollers_on_running_loop() -> dict[str, SharedJobStatusPoller]:
    """The running pollers of the running loop by connection id, for tests and benchmarks."""
    pollers = _POLLERS.get(asyncio.get_running_loop(), {})
    return {conn_id: poller for conn_id, poller in pollers.items() if not poller.closed}
