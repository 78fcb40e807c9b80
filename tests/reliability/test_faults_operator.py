"""ZendeskJobResultsOperator under every fault: polling, deferred, and reading once, against the emulator.

What a downstream task receives must be Zendesk's whole answer (every item, every rejected record)
however the account misbehaved on the way, and a give-up must say what Zendesk sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zendesk_jobs.jobs import parse_job_status_body
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.waiting.failures import ZendeskWaitError
from tests.airflow_compat import AirflowTaskTerminated, TaskDeferred
from tests.reliability.fault_support import (
    OPERATOR_MODES,
    SHOW_MANY,
    FaultCase,
    Schedule,
    api_reads,
    assert_per_minute_limit_honoured,
    assert_retry_after_honoured,
    assert_token_renewed_once_per_refusal,
    connect,
    connect_for,
    faults,
    kill_at_next_sleep,
    operator,
    run_operator,
    run_trigger,
)

pytestmark = pytest.mark.timeout(60)


def jobs_finishing(emu: ZendeskEmulator) -> list[str]:
    """An import with a rejected record and a user upsert, both finished 30 s from now."""
    records = [{"subject": "one"}, {"subject": "FAIL two"}, {"subject": "three"}, {"subject": "four"}]
    return [
        emu.create_job("tickets_import", records=records, queued_seconds=0, work_seconds=30),
        emu.create_job("users_create_or_update", count=5, queued_seconds=0, work_seconds=20),
    ]


def results(emu: ZendeskEmulator, job_ids: list[str]) -> list[dict[str, Any]]:
    """The XCom value Zendesk's current answer gives: every item, every rejected record."""
    return [parse_job_status_body({"job_status": emu.job(job_id)}).to_dict() for job_id in job_ids]


def assert_whole(value: list[dict[str, Any]], emu: ZendeskEmulator, job_ids: list[str]) -> None:
    assert value == results(emu, job_ids)
    assert [(job["counts"], len(job["results"])) for job in value] == [
        ({"succeeded": 3, "failed": 1}, 4),
        ({"succeeded": 5, "failed": 0}, 5),
    ]
    assert value[0]["failed"][0]["details"] == "Subject: is invalid (contains FAIL)"


@pytest.mark.parametrize("case", faults())
@pytest.mark.parametrize("mode", OPERATOR_MODES)
def test_a_fault_mid_wait_within_the_retry_budget_loses_nothing(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str, case: FaultCase
) -> None:
    connect_for(case, emulator, monkeypatch)
    job_ids = jobs_finishing(emulator)
    schedule = Schedule(emulator)
    schedule.at(15, lambda: emulator.add_fault(case.fault(count=case.burst)))
    outcome = run_operator(schedule, job_ids, mode)
    assert outcome.error is None
    assert_whole(outcome.value, emulator, job_ids)
    records = api_reads(emulator)
    assert [record.fault for record in records].count(case.kind) == case.burst
    if case.retry_after is not None:
        assert_retry_after_honoured(records, case.retry_after)


@pytest.mark.parametrize("case", faults())
def test_the_results_read_after_a_deferred_wait_survive_a_fault(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, case: FaultCase
) -> None:
    """execute_complete reads the results once more, in the worker: a fault then costs nothing either."""
    connect_for(case, emulator, monkeypatch)
    job_ids = jobs_finishing(emulator)
    schedule = Schedule(emulator)
    with pytest.raises(TaskDeferred) as deferred:
        operator(schedule, job_ids, "deferrable").execute({})
    event = run_trigger(schedule, deferred.value.trigger)
    emulator.add_fault(case.fault(count=case.burst))
    assert_whole(operator(schedule, job_ids, "deferrable").execute_complete({}, event), emulator, job_ids)


@pytest.mark.parametrize("case", faults())
@pytest.mark.parametrize("mode", [*OPERATOR_MODES, "read-once"])
def test_an_outage_past_the_retry_budget(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str, case: FaultCase
) -> None:
    """Polling goes on through a rate limit or an outage, a deferred wait through any answer waiting can fix."""
    connect_for(case, emulator, monkeypatch)
    job_ids = jobs_finishing(emulator)
    schedule = Schedule(emulator)
    schedule.at(15, lambda: emulator.add_fault(case.fault(count=5)))
    if mode == "read-once":
        schedule.advance(15)
    outcome = run_operator(schedule, job_ids, mode)
    if mode == "deferrable" or (case.transient and mode == "polling"):
        assert outcome.error is None
        assert_whole(outcome.value, emulator, job_ids)
        assert [record.fault for record in api_reads(emulator)].count(case.kind) == 5
        return
    error = outcome.raised(ZendeskWaitError)
    assert not isinstance(error, AirflowFailException)
    assert case.says in str(error)
    if case.status is not None:
        assert str(case.status) in str(error)


@pytest.mark.parametrize("mode", OPERATOR_MODES)
def test_a_retry_after_longer_than_a_check_may_block_is_still_honoured(emulator: ZendeskEmulator, mode: str) -> None:
    job_ids = jobs_finishing(emulator)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=900, path_prefix=SHOW_MANY))
    outcome = run_operator(Schedule(emulator), job_ids, mode)
    assert_whole(outcome.value, emulator, job_ids)
    assert_retry_after_honoured(api_reads(emulator), 900)


@pytest.mark.parametrize("mode", OPERATOR_MODES)
def test_a_requests_per_minute_limit_is_never_exceeded(emulator: ZendeskEmulator, mode: str) -> None:
    job_ids = jobs_finishing(emulator)
    emulator.set_rate_limit(2)
    outcome = run_operator(Schedule(emulator), job_ids, mode, poll_interval=5)
    assert_whole(outcome.value, emulator, job_ids)
    records = api_reads(emulator)
    assert any(record.status == 429 for record in records)
    assert_per_minute_limit_honoured(records, 2)


@pytest.mark.parametrize("mode", [*OPERATOR_MODES, "read-once"])
def test_a_new_job_not_visible_yet(emulator: ZendeskEmulator, mode: str) -> None:
    emulator.store_settings.not_visible_seconds = 25
    job_ids = jobs_finishing(emulator)
    outcome = run_operator(Schedule(emulator), job_ids, mode)
    if mode == "read-once":
        error = outcome.raised(AirflowFailException)
        assert str(error).startswith(f"Zendesk does not know job ids {job_ids[0]}, {job_ids[1]}: ")
        assert "started a moment ago (wait_for_completion=True allows for that)" in str(error)
        return
    assert_whole(outcome.value, emulator, job_ids)


@pytest.mark.parametrize("mode", OPERATOR_MODES)
def test_a_job_expiring_mid_wait_fails_the_task_naming_it(emulator: ZendeskEmulator, mode: str) -> None:
    job_ids = jobs_finishing(emulator)
    schedule = Schedule(emulator)
    schedule.at(15, lambda: emulator.expire_job(job_ids[1]))
    outcome = run_operator(schedule, job_ids, mode, not_found_grace=10)
    error = outcome.raised(AirflowFailException)
    assert str(error).startswith(f"Zendesk does not know job id {job_ids[1]} after 10 s of waiting: ")
    assert job_ids[0] not in str(error)


def test_a_job_expiring_between_the_trigger_s_event_and_the_results_read_fails_for_good(
    emulator: ZendeskEmulator,
) -> None:
    job_ids = jobs_finishing(emulator)
    schedule = Schedule(emulator)
    with pytest.raises(TaskDeferred) as deferred:
        operator(schedule, job_ids, "deferrable").execute({})
    event = run_trigger(schedule, deferred.value.trigger)
    assert event["status"] == "success"
    emulator.expire_job(job_ids[0])
    with pytest.raises(AirflowFailException) as info:
        operator(schedule, job_ids, "deferrable").execute_complete({}, event)
    assert str(info.value).startswith(f"Zendesk does not know job id {job_ids[0]}: ")
    assert "(about a day)" in str(info.value)


@pytest.mark.parametrize(("mode", "tokens"), [("polling", 2), ("deferrable", 4)])
def test_an_oauth_token_revoked_mid_wait_is_renewed_once_and_the_wait_goes_on(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str, tokens: int
) -> None:
    """The worker, the triggerer and the resumed task each fetch a token; the revoked one is renewed once."""
    connect(emulator, monkeypatch, "client_credentials")
    job_ids = jobs_finishing(emulator)
    schedule = Schedule(emulator)
    schedule.at(15, emulator.expire_tokens)
    outcome = run_operator(schedule, job_ids, mode)
    assert_whole(outcome.value, emulator, job_ids)
    assert emulator.tokens_issued == tokens
    assert_token_renewed_once_per_refusal(emulator, 1)


@pytest.mark.parametrize("mode", OPERATOR_MODES)
def test_a_task_killed_during_a_retry_after_pause_sends_nothing_more(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    job_ids = jobs_finishing(emulator)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=30, path_prefix=SHOW_MANY))
    schedule = Schedule(emulator)
    kill_at_next_sleep(schedule, monkeypatch)
    with pytest.raises(AirflowTaskTerminated):
        run_operator(schedule, job_ids, mode)
    assert [record.status for record in api_reads(emulator)] == [429]
