"""ZendeskJobStatusTrigger under every fault, a triggerer restart and cancellation, against the emulator.

Each trigger is rebuilt from its serialised form and runs its real ``run()``; the shared poller's
sleeps move the emulator's clock, so each event's clock time and each request's are exact.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowTaskTimeout

from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import triggers_on_clock
from airflow_provider_zendesk_jobs.triggers.registry import pollers_on_running_loop
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from tests.airflow_compat import TaskDeferred
from tests.support.faults import (
    SHOW_MANY,
    FaultCase,
    Schedule,
    api_reads,
    assert_per_minute_limit_honoured,
    assert_retry_after_honoured,
    connect,
    connect_for,
    faults,
    job_summary_now,
    operator,
    rebuilt,
    run_trigger,
    sensor,
)
from tests.support.pollers import RecordingHook, on_emulator_time
from tests.support.triggers import event_of

pytestmark = pytest.mark.timeout(60)
INTERVAL = 10.0


def trigger_for(schedule: Schedule, job_ids: list[str], **kwargs: Any) -> ZendeskJobStatusTrigger:
    kwargs.setdefault("poll_interval", INTERVAL)
    kwargs.setdefault("started_at", schedule.emu.clock.now())
    return ZendeskJobStatusTrigger(job_ids, **kwargs)


def jobs_finishing(emu: ZendeskEmulator, *seconds: float) -> list[str]:
    return [emu.create_job(count=2, queued_seconds=0, work_seconds=work) for work in seconds]


def summaries(emu: ZendeskEmulator, job_ids: list[str]) -> list[dict[str, Any]]:
    return [job_summary_now(emu, job_id) for job_id in job_ids]


@pytest.mark.parametrize("case", faults())
def test_a_fault_within_the_retry_budget_changes_no_event(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, case: FaultCase
) -> None:
    connect_for(case, emulator_at_real_time, monkeypatch)
    job_ids = jobs_finishing(emulator_at_real_time, 25, 30)
    schedule = Schedule(emulator_at_real_time)
    schedule.at(15, lambda: emulator_at_real_time.add_fault(case.fault(count=case.burst)))
    event = run_trigger(schedule, trigger_for(schedule, job_ids))
    assert event["status"] == "success"
    assert event["jobs"] == summaries(emulator_at_real_time, job_ids)
    records = api_reads(emulator_at_real_time)
    assert records[-1].time >= emulator_at_real_time.finish_time(job_ids[1])
    if case.retry_after is not None:
        assert_retry_after_honoured(records, case.retry_after)
        assert records[-1].time == schedule.start + 20 + 4 * case.retry_after  # the storm, then at once
    else:
        assert records[-1].time < schedule.start + 30 + INTERVAL  # a backoff of seconds, not a poll missed


@pytest.mark.parametrize("case", faults())
def test_past_the_hook_s_retry_budget_a_deferred_wait_keeps_waiting(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, case: FaultCase
) -> None:
    """Twelve faulty answers in a row (what failed every deferred wait of a real deployment) are no answer yet."""
    connect_for(case, emulator_at_real_time, monkeypatch)
    job_ids = jobs_finishing(emulator_at_real_time, 100, 200)
    schedule = Schedule(emulator_at_real_time)
    schedule.at(15, lambda: emulator_at_real_time.add_fault(case.fault(count=12)))
    event = run_trigger(schedule, trigger_for(schedule, job_ids))
    assert event["status"] == "success"
    assert event["jobs"] == summaries(emulator_at_real_time, job_ids)
    records = api_reads(emulator_at_real_time)
    assert [record.fault for record in records].count(case.kind) == 12
    assert records[-1].time >= emulator_at_real_time.finish_time(job_ids[1])
    if case.retry_after is not None:
        assert_retry_after_honoured(records, case.retry_after)


async def test_a_429_storm_pauses_every_wait_on_the_connection(emulator_at_real_time: ZendeskEmulator) -> None:
    job_ids = jobs_finishing(emulator_at_real_time, 12, 24, 36)
    schedule = Schedule(emulator_at_real_time)
    emulator_at_real_time.add_fault(Fault("rate_limit", count=3, retry_after=20, path_prefix=SHOW_MANY))
    with on_emulator_time(emulator_at_real_time, schedule.advance):
        events = await asyncio.gather(*(event_of(rebuilt(trigger_for(schedule, [job_id]))) for job_id in job_ids))
    assert [event["status"] for event in events] == ["success"] * 3
    records = api_reads(emulator_at_real_time)
    assert_retry_after_honoured(records, 20)
    assert [(record.time - schedule.start, record.status) for record in records[:4]] == [
        (10, 429),
        (30, 429),
        (50, 429),
        (70, 200),
    ]
    assert len(records[3].query.split(",")) == 3  # one request for the three waits


async def test_one_warning_per_429_in_the_triggerer_s_log(
    emulator_at_real_time: ZendeskEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The poller's hook tries each request once: the poller's warning is the only one per pause."""
    job_ids = jobs_finishing(emulator_at_real_time, 12, 24)
    schedule = Schedule(emulator_at_real_time)
    emulator_at_real_time.add_fault(Fault("rate_limit", count=2, retry_after=7, path_prefix=SHOW_MANY))
    caplog.set_level(logging.DEBUG, logger="airflow_provider_zendesk_jobs")
    with on_emulator_time(emulator_at_real_time, schedule.advance):
        events = await asyncio.gather(*(event_of(rebuilt(trigger_for(schedule, [job_id]))) for job_id in job_ids))
    assert [event["status"] for event in events] == ["success"] * 2
    assert [record.status for record in api_reads(emulator_at_real_time)][:3] == [429, 429, 200]
    triggerer_lines = [
        record
        for record in caplog.records
        if record.name.startswith(
            ("airflow_provider_zendesk_jobs.triggers.poller", "airflow_provider_zendesk_jobs.hooks")
        )
    ]
    warnings = [record.getMessage() for record in triggerer_lines if record.levelno >= logging.WARNING]
    assert (
        warnings
        == [
            "Zendesk asked to slow down (429): no request on connection zendesk_default for 7.0 s; "
            "2 waits will be checked after"
        ]
        * 2
    )


async def test_a_retry_after_longer_than_a_request_may_wait_pauses_the_poller(
    emulator_at_real_time: ZendeskEmulator,
) -> None:
    job_ids = jobs_finishing(emulator_at_real_time, 12, 24)
    schedule = Schedule(emulator_at_real_time)
    emulator_at_real_time.add_fault(Fault("rate_limit", count=1, retry_after=900, path_prefix=SHOW_MANY))
    with on_emulator_time(emulator_at_real_time, schedule.advance):
        events = await asyncio.gather(*(event_of(rebuilt(trigger_for(schedule, [job_id]))) for job_id in job_ids))
    assert [event["status"] for event in events] == ["success"] * 2
    records = api_reads(emulator_at_real_time)
    assert [(record.time - schedule.start, record.status) for record in records] == [(10, 429), (910, 200)]


def test_a_pause_heard_before_deferring_is_kept_by_the_trigger(emulator_at_real_time: ZendeskEmulator) -> None:
    (job_id,) = jobs_finishing(emulator_at_real_time, 12)
    schedule = Schedule(emulator_at_real_time)
    trigger = trigger_for(schedule, [job_id], not_before=schedule.start + 600)
    assert trigger.serialize()[1]["not_before"] == schedule.start + 600
    assert "not_before" not in trigger_for(schedule, [job_id]).serialize()[1]
    event = run_trigger(schedule, trigger)
    assert event["status"] == "success"
    assert [record.time - schedule.start for record in api_reads(emulator_at_real_time)] == [600]


def test_a_pause_past_the_deadline_ends_the_wait_on_time_without_a_request(
    emulator_at_real_time: ZendeskEmulator,
) -> None:
    (job_id,) = jobs_finishing(emulator_at_real_time, 12)
    schedule = Schedule(emulator_at_real_time)
    trigger = trigger_for(schedule, [job_id], not_before=schedule.start + 600, deadline=schedule.start + 60)
    event = run_trigger(schedule, trigger)
    assert event["status"] == "timeout"
    assert schedule.elapsed() == 60
    assert api_reads(emulator_at_real_time) == []


async def test_a_requests_per_minute_limit_holds_for_hundreds_of_waits(emulator_at_real_time: ZendeskEmulator) -> None:
    job_ids = [
        emulator_at_real_time.create_job(count=1, queued_seconds=0, work_seconds=30 + n % 60) for n in range(250)
    ]
    schedule = Schedule(emulator_at_real_time)
    emulator_at_real_time.set_rate_limit(4)
    with on_emulator_time(emulator_at_real_time, schedule.advance):
        events = await asyncio.gather(*(event_of(rebuilt(trigger_for(schedule, [job_id]))) for job_id in job_ids))
    assert [event["status"] for event in events] == ["success"] * 250
    records = api_reads(emulator_at_real_time)
    assert sum(record.status == 429 for record in records) >= 1
    assert_per_minute_limit_honoured(records, 4)


@pytest.mark.parametrize("situation", ["not-visible-yet", "expired-mid-wait", "token-revoked-mid-wait"])
def test_jobs_and_tokens_coming_and_going(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, situation: str
) -> None:
    job_ids = jobs_finishing(emulator_at_real_time, 30, 300)
    schedule = Schedule(emulator_at_real_time)
    if situation == "not-visible-yet":
        emulator_at_real_time.store_settings.not_visible_seconds = 25
        job_ids = jobs_finishing(emulator_at_real_time, 30)
    elif situation == "expired-mid-wait":
        schedule.at(35, lambda: emulator_at_real_time.expire_job(job_ids[1]))
    else:
        connect(emulator_at_real_time, monkeypatch, "client_credentials")
        job_ids = job_ids[:1]
        schedule.at(15, emulator_at_real_time.expire_tokens)
    event = run_trigger(schedule, trigger_for(schedule, job_ids, not_found_grace=30))
    if situation == "expired-mid-wait":
        assert event["status"] == "failed"
        assert event["message"].startswith(f"Zendesk does not know job id {job_ids[1]} after 30 s of waiting: ")
        assert event["jobs"] == summaries(emulator_at_real_time, job_ids[:1])  # the job still known, as last read
        assert schedule.elapsed() == 40
        return
    assert event["status"] == "success"
    assert event["jobs"] == summaries(emulator_at_real_time, job_ids)
    statuses = [record.status for record in api_reads(emulator_at_real_time)]
    assert statuses == ([200, 200, 200] if situation == "not-visible-yet" else [200, 401, 200, 200])
    if situation == "token-revoked-mid-wait":
        assert emulator_at_real_time.tokens_issued == 2


# -- a triggerer restart --------------------------------------------------------------------------------------
def run_until_killed(schedule: Schedule, trigger: ZendeskJobStatusTrigger, requests: int) -> None:
    """Run the trigger until it has sent ``requests`` requests, then cancel it as a dying triggerer does."""

    async def life() -> None:
        task = asyncio.create_task(event_of(rebuilt(trigger)))
        while len(api_reads(schedule.emu)) < requests:
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert pollers_on_running_loop() == {}

    with on_emulator_time(schedule.emu, schedule.advance):
        asyncio.run(life())


@pytest.mark.parametrize("outcome", ["timeout", "failed", "success"])
def test_a_triggerer_restart_mid_wait_resumes_the_same_wait(
    emulator_at_real_time: ZendeskEmulator, outcome: str
) -> None:
    """Rebuilt from what was stored, the trigger keeps the first check's time and the deadline."""
    job_ids = jobs_finishing(emulator_at_real_time, 150 if outcome == "success" else 900)
    schedule = Schedule(emulator_at_real_time)
    if outcome == "failed":
        job_ids = ["V3-neverexisted"]
    trigger = trigger_for(schedule, job_ids, deadline=schedule.start + 200, not_found_grace=100)
    stored = json.dumps(trigger.serialize()[1])  # what the triggerer keeps in the database
    run_until_killed(schedule, trigger, requests=3)
    assert schedule.elapsed() == 30
    schedule.advance(45)  # the triggerer is down for 45 s
    event = run_trigger(schedule, ZendeskJobStatusTrigger(**json.loads(stored)))
    assert event["status"] == outcome
    reads = [record.time - schedule.start for record in api_reads(emulator_at_real_time)]
    if outcome == "timeout":
        assert reads[-1] == 200  # the original deadline, not 200 s after the restart
        assert "200 s after the first check" in event["message"]
    elif outcome == "failed":
        assert reads[3:] == [85, 95, 105]  # the grace of 100 s ran on from the first check, across the restart
        assert "after 100 s of waiting" in event["message"]
    else:
        assert reads[3:] == [85, 95, 105, 115, 125, 135, 145, 155]
        assert event["jobs"] == summaries(emulator_at_real_time, job_ids)


@pytest.mark.parametrize("task", ["sensor", "results operator"])
def test_a_task_deferred_across_a_triggerer_restart_times_out_at_its_own_deadline(
    emulator_at_real_time: ZendeskEmulator, task: str
) -> None:
    (job_id,) = jobs_finishing(emulator_at_real_time, 900)
    schedule = Schedule(emulator_at_real_time)

    def make() -> Any:
        if task == "sensor":
            return sensor(schedule, job_id, "deferrable", timeout=200)
        return operator(schedule, job_id, "deferrable", timeout=200)

    with pytest.raises(TaskDeferred) as deferred:
        make().execute({})
    stored = json.dumps(deferred.value.trigger.serialize()[1])
    run_until_killed(schedule, deferred.value.trigger, requests=3)  # the worker's check, then two polls
    schedule.advance(45)
    event = run_trigger(schedule, ZendeskJobStatusTrigger(**json.loads(stored)))
    with pytest.raises(AirflowSensorTimeout if task == "sensor" else AirflowTaskTimeout, match="200 s after"):
        make().execute_complete({}, event)
    assert schedule.elapsed() == 200


# -- cancellation ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["polling", "retry-after", "hang"])
async def test_a_cancelled_trigger_sends_nothing_more_and_closes_its_connection(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    job_ids = jobs_finishing(emulator_at_real_time, 3600)
    schedule = Schedule(emulator_at_real_time)
    if where == "hang":
        connect(emulator_at_real_time, monkeypatch, read_timeout=30)  # only the cancellation can end it
        emulator_at_real_time.add_fault(Fault("hang", count=1, path_prefix=SHOW_MANY))
    elif where == "retry-after":
        emulator_at_real_time.add_fault(Fault("rate_limit", count=1, retry_after=900, path_prefix=SHOW_MANY))
    hook = RecordingHook(emulator_at_real_time, schedule.advance)
    with triggers_on_clock(emulator_at_real_time.clock.now, schedule.advance, hook=hook):
        task = asyncio.create_task(event_of(rebuilt(trigger_for(schedule, job_ids))))
        for _ in range(1000):  # until the first request is in the emulator's log
            if api_reads(emulator_at_real_time):
                break
            await asyncio.sleep(0.005)
        (poller,) = pollers_on_running_loop().values()
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.gather(poller.task, return_exceptions=True)  # type: ignore[arg-type]
    assert poller.closed and pollers_on_running_loop() == {}
    assert hook.closings == 1  # its HTTP client was closed
    # The hook's reads, not the emulator's log: a request sent before the cancellation may reach the
    # emulator's thread after it, and is no request sent after it.
    count, now = len(hook.read_in), emulator_at_real_time.clock.now()
    for _ in range(50):  # a live poller would have slept (moving the clock) and asked again by now
        await asyncio.sleep(0)
    assert (len(hook.read_in), emulator_at_real_time.clock.now()) == (count, now)
    assert [record.fault for record in api_reads(emulator_at_real_time)][:1] == [
        {"polling": None, "retry-after": "rate_limit", "hang": "hang"}[where]
    ]
