"""Fixtures and helpers for the wait tests: an emulator on a manual clock, pollers driven on it.

Time only moves when the code under test sleeps (``advancing_sleep``) or when a test drives
a :class:`ManualTimeline` to a given clock time, so every assertion about time is exact.
Triggers get such pollers through the registry's factory: ``with on_emulator_time(emulator):``.
Imported by the sensor, trigger, poller and wait tests; holds no tests itself.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook
from airflow_provider_zendesk_jobs.testing import RequestRecord, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import ManualTimeline, advancing_sleep, triggers_on_clock
from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller
from tests.support.zendesk_paths import SHOW_MANY


def show_many_requests(emu: ZendeskEmulator) -> list[RequestRecord]:
    return emu.request_records(SHOW_MANY)


def asked_ids(record: RequestRecord) -> list[str]:
    """The ids one show_many request carried."""
    for part in record.query.split("&"):
        if part.startswith("ids="):
            return part[4:].replace("%2C", ",").split(",")
    return []


def requests_per_time(records: list[RequestRecord]) -> dict[float, int]:
    counts: dict[float, int] = {}
    for record in records:
        counts[record.time] = counts.get(record.time, 0) + 1
    return counts


class Watched:
    """A wait registered as a trigger registers: every message handed to its callback is kept."""

    def __init__(self, poller: SharedJobStatusPoller, job_ids: list[str], **kwargs: Any) -> None:
        self.messages: list[Any] = []
        self.sub = poller.register(job_ids, on_message=self._keep, **kwargs)

    def _keep(self, message: Any) -> bool:
        self.messages.append(message)
        return False

    @property
    def job_ids(self) -> tuple[str, ...]:
        return self.sub.job_ids

    def take(self) -> list[Any]:
        """The messages handed over so far (and forget them)."""
        taken, self.messages = self.messages, []
        return taken

    def close(self) -> None:
        self.sub.close()


class Driven:
    """A poller on the emulator's clock, with a timeline the test moves forward."""

    def __init__(self, emu: ZendeskEmulator, **kwargs: Any) -> None:
        self.emu = emu
        self.timeline = ManualTimeline(emu.clock)
        self.poller = SharedJobStatusPoller("zendesk_default", clock=emu.clock.now, sleep=self.timeline.sleep, **kwargs)

    def watch(self, job_ids: list[str], **kwargs: Any) -> Watched:
        return Watched(self.poller, job_ids, **kwargs)

    def _quiet(self) -> bool:
        task = self.poller.task
        return task is None or task.done() or (self.poller.idle and self.timeline.pending >= 1)

    async def run_for(self, seconds: float) -> None:
        """Let the poller work through ``seconds`` of clock time."""
        task = self.poller.task
        if task is not None:
            task.add_done_callback(lambda _: self.timeline.notify())
        await self.timeline.run_until(self.emu.clock.now() + seconds, quiet=self._quiet)

    async def settle(self) -> None:
        await self.timeline.settle(self._quiet)


class RecordingHook(ZendeskJobStatusAsyncHook):
    """The poller's hook on the emulator's clock, noting the context of each read and its closing."""

    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="none")

    def __init__(self, emu: ZendeskEmulator, advance: Callable[[float], object] | None = None) -> None:
        super().__init__(retry_limit=1, clock=emu.clock.now, sleep=advancing_sleep(advance or emu.advance))
        self.read_in: list[str] = []
        self.closings = 0

    async def get_job_statuses_by_id(self, job_ids: Any, *, checked: bool = False) -> Any:
        self.read_in.append(self.marker.get())
        return await super().get_job_statuses_by_id(job_ids, checked=checked)

    async def aclose(self) -> None:
        self.closings += 1
        await super().aclose()


def on_emulator_time(emu: ZendeskEmulator, advance: Callable[[float], object] | None = None) -> Any:
    """Pollers whose every sleep moves the emulator's clock (or runs ``advance``): waits of hours take no time."""
    return triggers_on_clock(emu.clock.now, advance or emu.advance)
