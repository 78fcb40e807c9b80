"""Which poller a trigger joins: one per (running event loop, connection id), made on first use.

Nothing is shared across event loops: an ``httpx`` client, an ``asyncio`` future or task
belongs to the loop that made it, and a triggerer may run more than one loop (or a test
may run many, one after another). A poller leaves the registry the moment its last wait
leaves, so the next wait on that connection starts a fresh one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller
from airflow_provider_zendesk_jobs.triggers.timing import current_time_source

__all__ = ["pollers_on_running_loop", "shared_poller"]

_POLLERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SharedJobStatusPoller]] = (
    weakref.WeakKeyDictionary()
)


def shared_poller(zendesk_conn_id: str) -> SharedJobStatusPoller:
    """The running loop's poller for ``zendesk_conn_id``, made with the current time source if there is none."""
    loop = asyncio.get_running_loop()
    by_connection = _POLLERS.setdefault(loop, {})
    poller = by_connection.get(zendesk_conn_id)
    if poller is None or poller.closed:
        time_source = current_time_source()
        poller = SharedJobStatusPoller(
            zendesk_conn_id,
            clock=time_source.clock,
            sleep=time_source.sleep,
            on_close=_forget_on(loop),
        )
        by_connection[zendesk_conn_id] = poller
    return poller


def pollers_on_running_loop() -> dict[str, SharedJobStatusPoller]:
    """The live pollers of the running loop by connection id (a copy), for tests and benchmarks."""
    return dict(_POLLERS.get(asyncio.get_running_loop(), {}))


def _forget_on(loop: asyncio.AbstractEventLoop) -> Callable[[SharedJobStatusPoller], None]:
    """A callback that drops a closed poller from ``loop``'s entry, holding the loop only weakly."""
    loop_ref = weakref.ref(loop)

    def forget(poller: SharedJobStatusPoller) -> None:
        live_loop = loop_ref()
        if live_loop is None:
            return
        by_connection = _POLLERS.get(live_loop)
        if by_connection is not None and by_connection.get(poller.zendesk_conn_id) is poller:
            del by_connection[poller.zendesk_conn_id]
            if not by_connection:
                del _POLLERS[live_loop]

    return forget
