"""Every way of waiting for a job under every fault, against the emulator: one scenario, each waiter.

The waiters are the sensor (poke, reschedule, deferrable) and the results operator (polling,
deferred); the sync hook's own reads join them where a scenario applies to a single call.
Each test runs the whole task as Airflow would (the poke loop, one fresh sensor per
reschedule try, or execute / the trigger rebuilt from its serialised form / execute_complete on a
fresh task), all on the emulator's clock, while the account misbehaves from a scheduled clock time on.
What the task returns must be Zendesk's whole answer however the account misbehaved on the way,
and a give-up must say what Zendesk sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zendesk_jobs.jobs import parse_job_status_body
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.waiting.failures import ZendeskWaitError
from tests.airflow_compat import AirflowTaskTerminated, TaskDeferred
from tests.support.faults import (
    FAULTS,
    SHOW_MANY,
    FaultCase,
    Outcome,
    Schedule,
    api_reads,
    assert_per_minute_limit_honoured,
    assert_retry_after_honoured,
    assert_token_renewed_once_per_refusal,
    connect,
    connect_for,
    faults,
    job_summary_now,
    kill_at_next_sleep,
    operator,
    run_operator,
    run_sensor,
    run_trigger,
    sync_hook,
)

pytestmark = pytest.mark.timeout(60)
FINISH = 30.0  # the jobs end 30 s after the wait begins; every waiter checks every 10 s


# -- the waiters ---------------------------------------------------------------------------------------------
def sensor_job(emu: ZendeskEmulator, seconds: float) -> list[str]:
    """An import with a rejected record, finished ``seconds`` from now."""
    records = [{"subject": "one"}, {"subject": "FAIL two"}, {"subject": "three"}]
    return [emu.create_job("tickets_import", records=records, queued_seconds=0, work_seconds=seconds)]


def operator_jobs(emu: ZendeskEmulator, seconds: float) -> list[str]:
    """An import with a rejected record finished ``seconds`` from now, and a user upsert finished at +20 s."""
    records = [{"subject": "one"}, {"subject": "FAIL two"}, {"subject": "three"}, {"subject": "four"}]
    return [
        emu.create_job("tickets_import", records=records, queued_seconds=0, work_seconds=seconds),
        emu.create_job("users_create_or_update", count=5, queued_seconds=0, work_seconds=20),
    ]


def assert_summary(value: Any, emu: ZendeskEmulator, job_ids: list[str]) -> None:
    """The sensor's XCom: the job's summary as Zendesk shows it now."""
    assert value == job_summary_now(emu, job_ids[0])


def assert_whole(value: Any, emu: ZendeskEmulator, job_ids: list[str]) -> None:
    """The operator's XCom: every item, every rejected record, as Zendesk's current answer gives them."""
    assert value == [parse_job_status_body({"job_status": emu.job(job_id)}).to_dict() for job_id in job_ids]
    assert [(job["counts"], len(job["results"])) for job in value] == [
        ({"succeeded": 3, "failed": 1}, 4),
        ({"succeeded": 5, "failed": 0}, 5),
    ]
    assert value[0]["failed"][0]["details"] == "Subject: is invalid (contains FAIL)"


@dataclass(frozen=True)
class Waiter:
    """One way a task waits for jobs, with what it returns and the figures only it shows."""

    task: str
    mode: str
    jobs: Callable[[ZendeskEmulator, float], list[str]]
    assert_value: Callable[[Any, ZendeskEmulator, list[str]], None]
    #: (tokens fetched, reads refused) when the OAuth token is revoked mid-wait.
    tokens: tuple[int, int]
    #: Reads in all after a 900 s Retry-After, and while the jobs are not visible yet: a deferred
    #: operator reads the results once more on resuming.
    reads_after_long_pause: int = 0
    reads_while_not_visible: int = 0

    @property
    def name(self) -> str:
        return f"{self.task}-{self.mode}"

    @property
    def deferrable(self) -> bool:
        return self.mode == "deferrable"

    def run(
        self, schedule: Schedule, job_ids: list[str], monkeypatch: pytest.MonkeyPatch, interval: float = 10, **kw: Any
    ) -> Outcome:
        if self.task == "hook":
            return Outcome(value=[job.to_dict() for job in sync_hook(schedule).get_job_statuses(job_ids)])
        if self.task == "sensor":
            return run_sensor(schedule, job_ids[0], self.mode, monkeypatch, poke_interval=interval, **kw)
        return run_operator(schedule, job_ids, self.mode, poll_interval=interval, **kw)


WAITERS = [
    Waiter("sensor", "poke", sensor_job, assert_summary, (2, 1), 2, 4),
    Waiter("sensor", "reschedule", sensor_job, assert_summary, (4, 0), 2, 4),
    Waiter("sensor", "deferrable", sensor_job, assert_summary, (3, 1), 2, 4),
    Waiter("operator", "polling", operator_jobs, assert_whole, (2, 1), 2, 4),
    Waiter("operator", "deferrable", operator_jobs, assert_whole, (4, 1), 3, 5),
]
#: One read of the sync hook, for the scenarios a single call meets as a wait does.
HOOK_READ = Waiter("hook", "sync", operator_jobs, assert_whole, (0, 0))
waiters = pytest.mark.parametrize("waiter", [pytest.param(waiter, id=waiter.name) for waiter in WAITERS])


# -- faults ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", faults())
@waiters
def test_a_fault_mid_wait_within_the_retry_budget_loses_nothing(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, waiter: Waiter, case: FaultCase
) -> None:
    connect_for(case, emulator_at_real_time, monkeypatch)
    job_ids = waiter.jobs(emulator_at_real_time, FINISH)
    schedule = Schedule(emulator_at_real_time)
    schedule.at(15, lambda: emulator_at_real_time.add_fault(case.fault(count=case.burst)))
    outcome = waiter.run(schedule, job_ids, monkeypatch)
    assert outcome.error is None
    waiter.assert_value(outcome.value, emulator_at_real_time, job_ids)
    assert outcome.deferred is waiter.deferrable
    records = api_reads(emulator_at_real_time)
    assert [record.fault for record in records].count(case.kind) == case.burst
    assert records[-1].status == 200
    assert records[-1].time >= max(emulator_at_real_time.finish_time(job_id) for job_id in job_ids)
    if case.retry_after is not None:
        assert_retry_after_honoured(records, case.retry_after)


#: Past the budget a hang ends as a closed connection does (ZendeskUnavailableError, no status), so every waiter
#: treats it alike; its five read timeouts would cost 1.5 s of real time per waiter. The hang past the budget is
#: tested where it differs: on both hooks (test_faults_hook) and on the deferred wait's async read
#: (test_faults_trigger).
PAST_THE_BUDGET = faults(*(case.name for case in FAULTS if case.kind != "hang"))


@pytest.mark.parametrize("case", PAST_THE_BUDGET)
@pytest.mark.parametrize("waiter", [*(pytest.param(w, id=w.name) for w in WAITERS), pytest.param(None, id="read-once")])
def test_an_outage_past_the_retry_budget(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, waiter: Waiter | None, case: FaultCase
) -> None:
    """A poke or a poll says "not yet" to a rate limit or an outage; a deferred wait waits out any answer
    waiting can fix; reading once (``wait_for_completion=False``) gives up with what Zendesk sent."""
    connect_for(case, emulator_at_real_time, monkeypatch)
    job_ids = (waiter.jobs if waiter else operator_jobs)(emulator_at_real_time, FINISH)
    schedule = Schedule(emulator_at_real_time)
    schedule.at(15, lambda: emulator_at_real_time.add_fault(case.fault(count=5)))  # one check's whole retry budget
    if waiter is None:
        schedule.advance(15)
        outcome = run_operator(schedule, job_ids, "read-once")
    else:
        outcome = waiter.run(schedule, job_ids, monkeypatch)
    if waiter is not None and (case.transient or waiter.deferrable):
        assert outcome.error is None
        waiter.assert_value(outcome.value, emulator_at_real_time, job_ids)
        assert [record.fault for record in api_reads(emulator_at_real_time)].count(case.kind) == 5
        return
    error = outcome.raised(ZendeskWaitError)  # a check meeting a body that is not JSON, past the budget
    assert not isinstance(error, AirflowFailException)
    assert case.says in str(error)
    if case.status is not None:
        assert str(case.status) in str(error)


@waiters
def test_a_retry_after_longer_than_a_check_may_block_is_still_honoured(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, waiter: Waiter
) -> None:
    job_ids = waiter.jobs(emulator_at_real_time, FINISH)
    emulator_at_real_time.add_fault(Fault("rate_limit", count=1, retry_after=900, path_prefix=SHOW_MANY))
    outcome = waiter.run(Schedule(emulator_at_real_time), job_ids, monkeypatch)
    waiter.assert_value(outcome.value, emulator_at_real_time, job_ids)
    records = api_reads(emulator_at_real_time)
    assert_retry_after_honoured(records, 900)
    assert len(records) == waiter.reads_after_long_pause  # the jobs had long finished once the pause was over


@pytest.mark.parametrize("limit", [2, 3])
@waiters
def test_a_requests_per_minute_limit_is_never_exceeded(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, waiter: Waiter, limit: int
) -> None:
    job_ids = waiter.jobs(emulator_at_real_time, 300)
    emulator_at_real_time.set_rate_limit(limit)
    outcome = waiter.run(Schedule(emulator_at_real_time), job_ids, monkeypatch, interval=5)
    waiter.assert_value(outcome.value, emulator_at_real_time, job_ids)
    records = api_reads(emulator_at_real_time)
    assert any(record.status == 429 for record in records)
    assert_per_minute_limit_honoured(records, limit)
    for index, record in enumerate(records):
        if record.status == 429:
            assert records[index + 1].status == 200  # it waited out exactly what was asked


# -- jobs not there (yet, or any more) -------------------------------------------------------------------------
@waiters
def test_a_new_job_not_visible_yet_is_waited_for(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, waiter: Waiter
) -> None:
    emulator_at_real_time.store_settings.not_visible_seconds = 25
    job_ids = waiter.jobs(emulator_at_real_time, FINISH)
    outcome = waiter.run(Schedule(emulator_at_real_time), job_ids, monkeypatch, not_found_grace=60)
    waiter.assert_value(outcome.value, emulator_at_real_time, job_ids)
    # +0, +10, +20: not in the answer yet
    assert [record.status for record in api_reads(emulator_at_real_time)] == [200] * waiter.reads_while_not_visible


def test_reading_once_a_job_not_visible_yet_fails_naming_the_ids(emulator_at_real_time: ZendeskEmulator) -> None:
    emulator_at_real_time.store_settings.not_visible_seconds = 25
    job_ids = operator_jobs(emulator_at_real_time, FINISH)
    error = run_operator(Schedule(emulator_at_real_time), job_ids, "read-once").raised(AirflowFailException)
    assert str(error).startswith(f"Zendesk does not know job ids {job_ids[0]}, {job_ids[1]}: ")
    assert "started a moment ago (wait_for_completion=True allows for that)" in str(error)


@waiters
def test_a_job_expiring_mid_wait_fails_the_task_naming_it(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, waiter: Waiter
) -> None:
    job_ids = waiter.jobs(emulator_at_real_time, 300)
    schedule = Schedule(emulator_at_real_time)
    schedule.at(35, lambda: emulator_at_real_time.expire_job(job_ids[0]))
    outcome = waiter.run(schedule, job_ids, monkeypatch, not_found_grace=30)
    error = outcome.raised(AirflowFailException)
    assert str(error) == (
        f"Zendesk does not know job id {job_ids[0]} after 30 s of waiting: the id is wrong, or the job is older than "
        "Zendesk keeps job statuses (about a day). Check the id the bulk call returned."
    )
    assert all(job_id not in str(error) for job_id in job_ids[1:])
    assert schedule.elapsed() == 40  # the first check after it vanished


# -- OAuth tokens and cancellation --------------------------------------------------------------------------------
@waiters
def test_an_oauth_token_revoked_mid_wait_is_renewed_once_and_the_wait_goes_on(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, waiter: Waiter
) -> None:
    """Each worker try, the triggerer and the resumed task fetch their own token; a revoked one is renewed once."""
    connect(emulator_at_real_time, monkeypatch, "client_credentials")
    job_ids = waiter.jobs(emulator_at_real_time, FINISH)
    schedule = Schedule(emulator_at_real_time)
    schedule.at(15, emulator_at_real_time.expire_tokens)
    outcome = waiter.run(schedule, job_ids, monkeypatch)
    waiter.assert_value(outcome.value, emulator_at_real_time, job_ids)
    tokens, refused = waiter.tokens
    assert emulator_at_real_time.tokens_issued == tokens
    assert_token_renewed_once_per_refusal(emulator_at_real_time, refused)


@pytest.mark.parametrize("waiter", [pytest.param(waiter, id=waiter.name) for waiter in [*WAITERS, HOOK_READ]])
def test_a_task_killed_during_a_retry_after_pause_sends_nothing_more(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, waiter: Waiter
) -> None:
    job_ids = waiter.jobs(emulator_at_real_time, FINISH)
    emulator_at_real_time.add_fault(Fault("rate_limit", count=1, retry_after=30, path_prefix=SHOW_MANY))
    schedule = Schedule(emulator_at_real_time)
    kill_at_next_sleep(schedule, monkeypatch)
    with pytest.raises(AirflowTaskTerminated):
        waiter.run(schedule, job_ids, monkeypatch)
    assert [record.status for record in api_reads(emulator_at_real_time)] == [429]


# -- the results read after a deferred wait (the operator only) ------------------------------------------------
@pytest.mark.parametrize("case", faults())
def test_the_results_read_after_a_deferred_wait_survive_a_fault(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, case: FaultCase
) -> None:
    """execute_complete reads the results once more, in the worker: a fault then costs nothing either."""
    connect_for(case, emulator_at_real_time, monkeypatch)
    job_ids = operator_jobs(emulator_at_real_time, FINISH)
    schedule = Schedule(emulator_at_real_time)
    with pytest.raises(TaskDeferred) as deferred:
        operator(schedule, job_ids, "deferrable").execute({})
    event = run_trigger(schedule, deferred.value.trigger)
    emulator_at_real_time.add_fault(case.fault(count=case.burst))
    assert_whole(operator(schedule, job_ids, "deferrable").execute_complete({}, event), emulator_at_real_time, job_ids)


def test_a_job_expiring_between_the_trigger_s_event_and_the_results_read_fails_for_good(
    emulator_at_real_time: ZendeskEmulator,
) -> None:
    job_ids = operator_jobs(emulator_at_real_time, FINISH)
    schedule = Schedule(emulator_at_real_time)
    with pytest.raises(TaskDeferred) as deferred:
        operator(schedule, job_ids, "deferrable").execute({})
    event = run_trigger(schedule, deferred.value.trigger)
    assert event["status"] == "success"
    emulator_at_real_time.expire_job(job_ids[0])
    with pytest.raises(AirflowFailException) as info:
        operator(schedule, job_ids, "deferrable").execute_complete({}, event)
    assert str(info.value).startswith(f"Zendesk does not know job id {job_ids[0]}: ")
    assert "(about a day)" in str(info.value)
