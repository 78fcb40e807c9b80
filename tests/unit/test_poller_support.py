"""Fixtures and helpers for the wait tests: an emulator on a manual clock, pollers driven on it.

Time only moves when the code under test sleeps (``advancing_sleep``) or when a test drives
a :class:`ManualTimeline` to a given clock time, so every assertion about time is exact.
Imported by the sensor, trigger, poller and wait tests; holds no tests itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing import ManualClock, RequestRecord, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import ManualTimeline
from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller

SHOW_MANY = "/api/v2/job_statuses/show_many"


@pytest.fixture(name="emulator")
def emulator_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZendeskEmulator]:
    """An emulator on a manual clock; ``zendesk_default`` points at it."""
    with ZendeskEmulator(clock=ManualClock(), max_active_jobs=10_000) as emu:
        monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_DEFAULT", emu.connection_extra_json())
        yield emu


def show_many_requests(emu: ZendeskEmulator) -> list[RequestRecord]:
    return [record for record in emu.requests if record.path.startswith(SHOW_MANY)]


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
