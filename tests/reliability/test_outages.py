"""Deferred waits through an outage: as patient as a poke, until Zendesk answers or the task's deadline comes.

Thirty triggers run together on one poller, each rebuilt from its serialised form, while the
emulator answers 503 for two minutes of its clock; each trigger logs to a logger of its own, as
each task's log in a triggerer. Only refused credentials and the deadline end a wait.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import triggers_on_clock
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from tests.support.faults import (
    SHOW_MANY,
    Schedule,
    api_reads,
    rebuilt,
    sensor,
)
from tests.support.logs import RecordingLogger
from tests.support.triggers import event_of

pytestmark = pytest.mark.timeout(120)
INTERVAL = 10.0
OUTAGE = (60.0, 180.0)  # 503 from +60 s to +180 s: two minutes


class TaskLog(RecordingLogger):
    """One task's log, as the triggerer files a trigger's lines."""

    def exception(self, msg: str, /, *args: Any) -> None:
        self._record("error", msg, *args)

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


def with_own_log(trigger: ZendeskJobStatusTrigger) -> tuple[ZendeskJobStatusTrigger, TaskLog]:
    trigger = rebuilt(trigger)
    log = TaskLog()
    trigger._log = log  # type: ignore[assignment]
    return trigger, log


def outage(schedule: Schedule, start: float, end: float, **kwargs: Any) -> None:
    """From ``start`` to ``end`` (seconds into the schedule) every read is answered with the fault."""
    fault = Fault(kwargs.pop("kind", "server_error"), path_prefix=SHOW_MANY, **kwargs)
    schedule.at(start, lambda: schedule.emu.add_fault(fault))
    schedule.at(end, schedule.emu.clear_faults)


async def run_all(schedule: Schedule, triggers: list[ZendeskJobStatusTrigger]) -> list[dict[str, Any]]:
    with triggers_on_clock(schedule.emu.clock.now, schedule.advance):
        return list(await asyncio.gather(*(event_of(trigger) for trigger in triggers)))


async def test_thirty_deferred_waits_ride_out_a_two_minute_outage(emulator_at_real_time: ZendeskEmulator) -> None:
    job_ids = [emulator_at_real_time.create_job(count=2, queued_seconds=0, work_seconds=100 + n) for n in range(30)]
    schedule = Schedule(emulator_at_real_time)
    outage(schedule, *OUTAGE)
    waits = [
        with_own_log(ZendeskJobStatusTrigger([job_id], poll_interval=INTERVAL, started_at=schedule.start))
        for job_id in job_ids
    ]
    events = await run_all(schedule, [trigger for trigger, _ in waits])

    assert [event["status"] for event in events] == ["success"] * 30
    records = api_reads(emulator_at_real_time)
    during = [record for record in records if record.status == 503]
    assert during and all(OUTAGE[0] <= record.time - schedule.start < OUTAGE[1] for record in during)
    # One request per try, whatever the number of waits; tries at least half an interval apart once grown.
    assert len(during) <= 2 * (OUTAGE[1] - OUTAGE[0]) / INTERVAL
    gaps = [b.time - a.time for a, b in itertools.pairwise(during)]
    assert max(gaps) <= INTERVAL
    first_answer = next(r for r in records if r.status == 200 and r.time - schedule.start >= OUTAGE[1])
    assert first_answer.time - schedule.start <= OUTAGE[1] + INTERVAL  # noticed within one interval
    assert all(record.status == 200 for record in records if record.time >= first_answer.time)
    for (_, log), job_id in zip(waits, job_ids, strict=True):
        warnings = log.at("warning")
        assert len(warnings) == 1, warnings  # one line for the whole outage, not one per try
        assert warnings[0].startswith("Zendesk unavailable for ")
        assert ": 503; still waiting, next check in " in warnings[0]
        back = [line for line in log.at("info") if line.startswith("Zendesk answered again after ")]
        assert len(back) == 1 and " min" in back[0], back  # about two minutes after its first try went unanswered
        assert f"{job_id}: completed 2/2" in log.text()
        assert log.at("error") == []
    print(f"requests during the outage: {len(during)} (30 waits, {INTERVAL:g} s interval, 120 s of 503)")


@pytest.mark.parametrize("soft_fail", [True, False])
def test_an_outage_longer_than_the_sensor_s_timeout_ends_as_a_timeout(
    emulator_at_real_time: ZendeskEmulator, soft_fail: bool
) -> None:
    """The sensor defers, Zendesk goes down for good; the deadline is kept and soft_fail skips."""
    job_id = emulator_at_real_time.create_job(count=2, queued_seconds=0, work_seconds=3600)
    schedule = Schedule(emulator_at_real_time)
    outage(schedule, 1, 10_000, kind="html_error")
    task = sensor(schedule, job_id, "deferrable", timeout=300, poke_interval=30, soft_fail=soft_fail)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute({})
    trigger, log = with_own_log(deferred.value.trigger)
    (event,) = asyncio.run(run_all(schedule, [trigger]))

    assert event["status"] == "timeout"
    assert schedule.elapsed() == 300  # on time, in the middle of a backoff
    assert "Zendesk gave no answer for the last " in event["message"]
    assert "(502)" in event["message"]
    resumed = sensor(schedule, job_id, "deferrable", timeout=300, poke_interval=30, soft_fail=soft_fail)
    expected = AirflowSkipException if soft_fail else AirflowSensorTimeout
    with pytest.raises(expected):
        resumed.resume_execution("execute_complete", {"event": event}, {})  # as the task runner resumes it
    assert len(log.at("warning")) == 2  # the outage, then the timeout
    reads = [record for record in api_reads(emulator_at_real_time) if record.fault is not None]
    assert len(reads) <= 2 * 300 / 30 + 6


async def test_refused_credentials_during_a_wait_still_end_it_at_once(emulator_at_real_time: ZendeskEmulator) -> None:
    job_id = emulator_at_real_time.create_job(count=2, queued_seconds=0, work_seconds=3600)
    schedule = Schedule(emulator_at_real_time)
    refused = '{"error": "Couldn\'t authenticate you"}'
    schedule.at(
        25,
        lambda: emulator_at_real_time.add_fault(Fault("server_error", status=401, body=refused, path_prefix=SHOW_MANY)),
    )
    trigger, _ = with_own_log(ZendeskJobStatusTrigger([job_id], poll_interval=INTERVAL, started_at=schedule.start))
    (event,) = await run_all(schedule, [trigger])

    assert event["status"] == "error" and event["error_type"] == "ZendeskAuthError"
    assert schedule.elapsed() == 30  # the first read that met the 401: no backoff, no second try
    assert [record.status for record in api_reads(emulator_at_real_time)] == [200, 200, 401]
    assert event["message"].startswith(f"While checking {job_id}: Zendesk refused the credentials")
    resumed = sensor(schedule, job_id, "deferrable", soft_fail=True)
    with pytest.raises(AirflowFailException, match="refused the credentials"):
        resumed.execute_complete({}, event)


@pytest.mark.parametrize("kind", ["outage", "refused"])
async def test_each_wait_s_messages_name_its_own_ids_only(emulator_at_real_time: ZendeskEmulator, kind: str) -> None:
    """Two waits share one request; neither's log nor event shows the other's ids (nor the request's query)."""
    mine = [emulator_at_real_time.create_job(count=1, queued_seconds=0, work_seconds=200) for _ in range(7)]
    theirs = [emulator_at_real_time.create_job(count=1, queued_seconds=0, work_seconds=200) for _ in range(3)]
    schedule = Schedule(emulator_at_real_time)
    if kind == "outage":
        outage(schedule, 5, 95, kind="close")
    else:
        emulator_at_real_time.add_fault(
            Fault("server_error", status=403, body='{"error": "Forbidden"}', path_prefix=SHOW_MANY)
        )
    waits = [
        with_own_log(ZendeskJobStatusTrigger(ids, poll_interval=INTERVAL, started_at=schedule.start))
        for ids in (mine, theirs)
    ]
    events = await run_all(schedule, [trigger for trigger, _ in waits])

    assert len({record.query for record in api_reads(emulator_at_real_time)}) == 1  # both waits' ids in every request
    for (_, log), event, own, other in zip(waits, events, (mine, theirs), (theirs, mine), strict=True):
        if kind == "outage":
            assert event["status"] == "success"
            assert len(log.at("warning")) == 1
            shown = log.text()
        else:
            assert event["status"] == "error"
            (stopped,) = log.at("warning")
            shown = stopped + "\n" + event["message"]
            assert ", ".join(own[:5]) in event["message"] and ", ".join(own[:5]) in stopped
            assert (f"and {len(own) - 5} more" in stopped) is (len(own) > 5)
        assert not any(job_id in shown for job_id in other)
        assert "show_many?" not in shown and "ids=" not in shown
        assert all(len(line) < 600 for _, line in log.lines)
