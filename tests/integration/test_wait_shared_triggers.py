"""Hundreds of deferred waits on one event loop, as in a triggerer: shared requests, 429, cancellation.

Every trigger runs its real ``run()``; they share the real poller and its real async hook,
against the emulator. The poller's sleeps move the emulator's clock, so a minute of waiting
takes a fraction of a second and each event's clock time is exact.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.triggers.registry import pollers_on_running_loop
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from tests.support.pollers import (
    SHOW_MANY,
    on_emulator_time,
    requests_per_time,
    show_many_requests,
)

pytestmark = pytest.mark.timeout(90)
WAITS = 300
INTERVAL = 5.0


@pytest.fixture(autouse=True)
def emulator_time(emulator: ZendeskEmulator) -> Iterator[None]:
    with on_emulator_time(emulator):
        yield


def jobs_finishing_over_a_minute(emu: ZendeskEmulator) -> list[str]:
    """WAITS jobs of one record each, the last finishing 60 s of clock time from now."""
    return [emu.create_job(count=1, queued_seconds=0, work_seconds=60 * (n + 1) / WAITS) for n in range(WAITS)]


async def wait_for(emu: ZendeskEmulator, job_id: str) -> tuple[dict[str, Any], float]:
    trigger = ZendeskJobStatusTrigger([job_id], poll_interval=INTERVAL, started_at=emu.clock.now())
    event = await anext(trigger.run())
    return event.payload, emu.clock.now()


async def test_300_waits_share_show_many_requests(emulator: ZendeskEmulator) -> None:
    ids = jobs_finishing_over_a_minute(emulator)
    start = emulator.clock.now()
    results = await asyncio.gather(*(wait_for(emulator, job_id) for job_id in ids))

    assert [event["status"] for event, _ in results] == ["success"] * WAITS
    for job_id, (_, fired_at) in zip(ids, results, strict=True):
        finished = emulator.finish_time(job_id)
        assert finished <= fired_at <= finished + INTERVAL  # detected within one poll interval
    per_cycle = requests_per_time(show_many_requests(emulator))
    assert sorted(per_cycle) == [start + INTERVAL * n for n in range(1, 13)]
    for cycle_time, count in per_cycle.items():
        still_waiting = sum(emulator.finish_time(job_id) > cycle_time - INTERVAL for job_id in ids)
        assert count == math.ceil(still_waiting / 100)  # about N/100 requests per interval
    assert per_cycle[start + INTERVAL] == 3
    polling_alone = sum(math.ceil((emulator.finish_time(job_id) - start) / INTERVAL) for job_id in ids)
    assert sum(per_cycle.values()) * 50 <= polling_alone  # each trigger polling alone: 50+ times more
    assert pollers_on_running_loop() == {}


async def test_429_pauses_all_300_waits_for_retry_after(emulator: ZendeskEmulator) -> None:
    ids = jobs_finishing_over_a_minute(emulator)
    start = emulator.clock.now()
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=30, path_prefix=SHOW_MANY))
    results = await asyncio.gather(*(wait_for(emulator, job_id) for job_id in ids))

    assert [event["status"] for event, _ in results] == ["success"] * WAITS
    records = show_many_requests(emulator)
    limited = [r for r in records if r.status == 429]
    assert [(r.time, r.query == records[0].query) for r in limited] == [(start + INTERVAL, True)]
    pause_ends = start + INTERVAL + 30
    assert [r for r in emulator.requests if start + INTERVAL < r.time < pause_ends] == []
    assert min(r.time for r in records if r.status == 200) == pause_ends
    for job_id, (_, fired_at) in zip(ids, results, strict=True):
        assert fired_at <= max(emulator.finish_time(job_id), pause_ends) + INTERVAL


async def test_cancelling_every_wait_leaves_no_request_behind(emulator: ZendeskEmulator) -> None:
    ids = [emulator.create_job(count=1, work_seconds=3600) for _ in range(WAITS)]
    tasks = [asyncio.create_task(wait_for(emulator, job_id)) for job_id in ids]
    while len(show_many_requests(emulator)) < 6:  # two cycles of three requests
        await asyncio.sleep(0)
    (poller,) = pollers_on_running_loop().values()
    for task in tasks[:150]:
        task.cancel()
    await asyncio.gather(*tasks[:150], return_exceptions=True)
    cancelled_at = emulator.clock.now()
    while len([r for r in show_many_requests(emulator) if r.time > cancelled_at]) < 4:
        await asyncio.sleep(0)
    later = [r for r in show_many_requests(emulator) if r.time > cancelled_at]
    assert not any(job_id in r.query for r in later for job_id in ids[:150])
    assert requests_per_time(later)[cancelled_at + INTERVAL] == 2  # 150 waits left: two requests a cycle

    for task in tasks[150:]:
        task.cancel()
    await asyncio.gather(*tasks[150:], return_exceptions=True)
    await asyncio.gather(poller.task, return_exceptions=True)  # type: ignore[arg-type]
    assert poller.closed and pollers_on_running_loop() == {}
    count, now = len(emulator.requests), emulator.clock.now()
    for _ in range(100):  # a live poller would have slept (moving the clock) and asked again by now
        await asyncio.sleep(0)
    assert (len(emulator.requests), emulator.clock.now()) == (count, now)
