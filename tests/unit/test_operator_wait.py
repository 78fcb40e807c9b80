"""ZendeskJobResultsOperator waiting against the emulator: polling on its manual clock, and the deferral path.

The operator sleeps through ``emulator.advance``, so each poll moves the emulator's time by
exactly ``poll_interval`` and nothing here waits in real time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    TaskDeferred,
)

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import on_clock
from tests.support.zendesk_paths import SHOW_MANY


def operator(
    emu: ZendeskEmulator, job_id: Any, sleeps: list[float] | None = None, **kwargs: Any
) -> ZendeskJobResultsOperator:

    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        emu.advance(seconds)

    return on_clock(ZendeskJobResultsOperator, emu.clock.now, sleep)(task_id="read_results", job_id=job_id, **kwargs)


# -- the polling wait -------------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_polls_until_completed_with_one_read_and_one_line_per_job_per_poll(
    emulator: ZendeskEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = emulator.create_job("tickets_import", count=10, fail_indexes=[3], queued_seconds=10, work_seconds=50)
    finish = emulator.finish_time(job_id) - emulator.clock.now()
    sleeps: list[float] = []
    value = operator(emulator, job_id, sleeps, poll_interval=15).execute({})  # type: ignore[arg-type]
    assert sleeps == [15.0] * 4  # 60 s of work: reads at 0, 15, 30, 45 (working) and 60 (completed)
    assert finish == 60
    assert emulator.request_count(SHOW_MANY) == 5
    assert emulator.request_count() == 5
    assert value["status"] == "completed"
    assert value["counts"] == {"succeeded": 9, "failed": 1}
    assert value["failed"][0]["index"] == 3
    assert len(value["succeeded_ids"]) == 9
    out = capsys.readouterr().out
    assert f"{job_id}: queued 0/10" in out
    assert f"{job_id}: working " in out
    assert f"{job_id}: completed 10/10" in out


@pytest.mark.timeout(60)
def test_many_jobs_in_one_read_per_poll_and_in_the_asked_order(emulator: ZendeskEmulator) -> None:
    slow = emulator.create_job("tickets_update", count=4, queued_seconds=0, work_seconds=90)
    fast = emulator.create_job("tickets_create", count=2, queued_seconds=0, work_seconds=5)
    deletion = emulator.create_job("deleted_tickets_destroy", records=[5, 6], queued_seconds=0, work_seconds=5)
    value = operator(emulator, [slow, fast, deletion], poll_interval=30).execute({})  # type: ignore[arg-type]
    assert [v["job_id"] for v in value] == [slow, fast, deletion]
    assert emulator.request_count(SHOW_MANY) == 4  # t = 0, 30, 60, 90
    assert value[2]["success"] is True
    assert value[2]["results"] == []


@pytest.mark.timeout(60)
def test_a_job_started_through_a_bulk_call_with_failing_records(emulator: ZendeskEmulator) -> None:
    hook = ZendeskJobStatusHook()
    tickets = [{"subject": "ok 1"}, {"subject": "FAIL me"}, {"subject": "ok 2"}]
    job = hook.submit_job("POST", "/api/v2/imports/tickets/create_many", {"tickets": tickets})
    value = operator(emulator, job.id, poll_interval=5).execute({})  # type: ignore[arg-type]
    assert value["job_type"] == "Bulk Import Ticket"
    assert len(value["succeeded_ids"]) == 2
    assert value["failed"] == [
        {"index": 1, "id": None, "error": "TicketCreateFailed", "details": "Subject: is invalid (contains FAIL)"}
    ]


@pytest.mark.timeout(60)
def test_a_new_job_not_visible_yet_is_waited_for(emulator: ZendeskEmulator) -> None:
    emulator.store_settings.not_visible_seconds = 20
    job_id = emulator.create_job("tickets_create", count=2, queued_seconds=0, work_seconds=30)
    value = operator(emulator, job_id, poll_interval=10).execute({})  # type: ignore[arg-type]
    assert value["status"] == "completed"


@pytest.mark.timeout(60)
def test_an_unknown_id_fails_after_the_grace_period(emulator: ZendeskEmulator) -> None:
    sleeps: list[float] = []
    op = operator(emulator, "V3-doesnotexist", sleeps, poll_interval=10, not_found_grace=25)
    with pytest.raises(AirflowFailException, match="does not know job id V3-doesnotexist after 25 s"):
        op.execute({})  # type: ignore[arg-type]
    assert sleeps == [10.0, 10.0, 10.0]


@pytest.mark.timeout(60)
def test_a_killed_job_fails_at_once_while_others_still_run(emulator: ZendeskEmulator) -> None:
    running = emulator.create_job("tickets_create", count=2, queued_seconds=0, work_seconds=1000)
    killed = emulator.create_job("tickets_create", count=2, outcome="killed", queued_seconds=0, work_seconds=20)
    sleeps: list[float] = []
    with pytest.raises(AirflowFailException) as info:
        operator(emulator, [running, killed], sleeps, poll_interval=10).execute({})  # type: ignore[arg-type]
    assert f"Zendesk job {killed} ended killed" in str(info.value)
    assert running not in str(info.value)
    assert sum(sleeps) == 20


@pytest.mark.timeout(60)
def test_timeout_stops_the_wait_at_the_deadline(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job("tickets_create", count=2, queued_seconds=0, work_seconds=1000)
    sleeps: list[float] = []
    with pytest.raises(AirflowTaskTimeout, match=rf"{job_id} did not finish within timeout=70 s"):
        operator(emulator, job_id, sleeps, poll_interval=30, timeout=70).execute({})  # type: ignore[arg-type]
    assert sleeps == [30.0, 30.0, 10.0]  # the last sleep ends at the deadline, with one last read there
    assert emulator.request_count(SHOW_MANY) == 4


@pytest.mark.timeout(60)
def test_wait_false_reads_once_even_when_the_job_runs(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job("tickets_create", count=10, queued_seconds=0, work_seconds=100)
    emulator.advance(31)
    value = operator(emulator, job_id, wait_for_completion=False).execute({})  # type: ignore[arg-type]
    assert value["status"] == "working"
    assert value["progress"] == 3
    assert emulator.request_count() == 1


@pytest.mark.timeout(60)
def test_rate_limit_is_waited_out_on_the_same_clock(
    emulator: ZendeskEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_zendesk_jobs.testing import Fault

    job_id = emulator.create_job("tickets_create", count=2, queued_seconds=0, work_seconds=5)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=7))
    sleeps: list[float] = []
    value = operator(emulator, job_id, sleeps, poll_interval=30).execute({})  # type: ignore[arg-type]
    assert value["status"] == "completed"
    assert 7.0 in sleeps


@pytest.mark.timeout(60)
def test_an_outage_past_the_retry_budget_only_costs_a_poll(
    emulator: ZendeskEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_zendesk_jobs.testing import Fault

    job_id = emulator.create_job("tickets_create", count=2, queued_seconds=0, work_seconds=50)
    emulator.add_fault(Fault("server_error", count=5, path_prefix=SHOW_MANY))
    value = operator(emulator, job_id, poll_interval=30).execute({})  # type: ignore[arg-type]
    assert value["status"] == "completed"
    assert "Zendesk did not answer normally; checking again in 30 s" in capsys.readouterr().out


@pytest.mark.timeout(60)
def test_the_clock_a_subclass_builds_the_wait_with_drives_the_whole_wait(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job("tickets_create", count=3, queued_seconds=5, work_seconds=100)
    start = emulator.clock.now()
    op = on_clock(ZendeskJobResultsOperator, emulator.clock.now, emulator.advance)(
        task_id="read_results", job_id=job_id, poll_interval=timedelta(seconds=40)
    )
    value = op.execute({})  # type: ignore[arg-type]
    assert value["status"] == "completed"
    assert emulator.clock.now() - start == 120  # three polls of 40 s on the emulator's clock, no real sleep


# -- the deferred wait ------------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_defers_to_the_trigger_with_the_wait_settings(emulator: ZendeskEmulator) -> None:
    job_ids = [emulator.create_job("tickets_create", count=5, queued_seconds=0, work_seconds=100) for _ in range(2)]
    op = operator(
        emulator,
        job_ids,
        deferrable=True,
        poll_interval=12.5,
        timeout=600,
        not_found_grace=45,
        fail_on_item_errors=True,
    )
    started = emulator.clock.now()
    with pytest.raises(TaskDeferred) as info:
        op.execute({})  # type: ignore[arg-type]
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger"
    assert kwargs["job_ids"] == job_ids
    assert kwargs["zendesk_conn_id"] == "zendesk_default"
    assert kwargs["poll_interval"] == 12.5
    assert kwargs["not_found_grace"] == 45
    assert kwargs["fail_on_item_errors"] is True
    assert kwargs["started_at"] == started
    assert kwargs["deadline"] == started + 600
    assert deferred.timeout is not None
    assert deferred.timeout.total_seconds() == 600 + 60  # Airflow's backstop, should the trigger not answer
    assert emulator.request_count() == 1  # one look before deferring


@pytest.mark.timeout(60)
def test_no_deadline_without_timeout_and_no_deferral_when_already_done(emulator: ZendeskEmulator) -> None:
    running = emulator.create_job("tickets_create", count=5, queued_seconds=0, work_seconds=100)
    with pytest.raises(TaskDeferred) as info:
        operator(emulator, running, deferrable=True).execute({})  # type: ignore[arg-type]
    assert info.value.trigger.serialize()[1]["deadline"] is None
    assert info.value.timeout is None
    done = emulator.create_job("tickets_create", count=2, queued_seconds=0, work_seconds=1)
    emulator.advance(200)
    value = operator(emulator, done, deferrable=True).execute({})  # type: ignore[arg-type]
    assert value["status"] == "completed"


def success_event(job_ids: list[str]) -> dict[str, Any]:
    return {"status": "success", "job_ids": job_ids, "message": "Zendesk finished", "jobs": []}


@pytest.mark.timeout(60)
def test_execute_complete_reads_every_job_in_one_request(emulator: ZendeskEmulator) -> None:
    job_ids = [
        emulator.create_job("tickets_create", records=[{"subject": "a"}, {"subject": "FAIL b"}]),
        emulator.create_job("users_create_or_update", count=3),
        emulator.create_job("deleted_tickets_destroy", records=[1, 2]),
    ]
    emulator.advance(max(emulator.finish_time(j) for j in job_ids) - emulator.clock.now())
    emulator.reset_requests()
    op = operator(emulator, job_ids, deferrable=True)
    value = op.execute_complete({}, success_event(job_ids))  # type: ignore[arg-type]
    assert emulator.request_count() == 1
    assert emulator.request_count(SHOW_MANY) == 1
    assert [v["job_id"] for v in value] == job_ids
    assert value[0]["counts"] == {"succeeded": 1, "failed": 1}
    assert value[1]["counts"] == {"succeeded": 3, "failed": 0}
    assert value[2]["success"] is True
    single = operator(
        emulator, job_ids[0], include_results=False
    ).execute_complete(
        {},  # type: ignore[arg-type]
        success_event(job_ids[:1]),
    )
    assert isinstance(single, dict)
    assert "results" not in single


@pytest.mark.timeout(60)
async def test_the_whole_deferred_path_against_the_emulator(emulator: ZendeskEmulator) -> None:
    """execute defers, the real trigger polls the emulator, execute_complete reads once."""
    from airflow_provider_zendesk_jobs.testing.timeline import triggers_on_clock
    from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger

    records = [{"subject": "one"}, {"subject": "FAIL two"}, {"subject": "three"}]
    job_ids = [
        emulator.create_job("tickets_import", records=records, queued_seconds=10, work_seconds=60),
        emulator.create_job("users_create_or_update", count=2, queued_seconds=0, work_seconds=20),
    ]
    op = operator(emulator, job_ids, deferrable=True, poll_interval=15)
    with pytest.raises(TaskDeferred) as info:
        op.execute({})  # type: ignore[arg-type]
    classpath, kwargs = info.value.trigger.serialize()
    with triggers_on_clock(emulator.clock.now, emulator.advance):
        assert classpath.endswith("ZendeskJobStatusTrigger")
        trigger = ZendeskJobStatusTrigger(**kwargs)  # as the triggerer rebuilds it
        event = await trigger.run().__anext__()
    assert event.payload["status"] == "success"
    assert emulator.clock.now() >= emulator.finish_time(job_ids[0])
    emulator.reset_requests()
    value = op.execute_complete({}, event.payload)  # type: ignore[arg-type]
    assert emulator.request_count() == 1
    assert [v["job_id"] for v in value] == job_ids
    assert value[0]["failed"][0]["details"] == "Subject: is invalid (contains FAIL)"
    assert len(value[0]["succeeded_ids"]) == 2
    assert value[1]["counts"] == {"succeeded": 2, "failed": 0}


@pytest.mark.parametrize(
    ("event", "error", "needle"),
    [
        ({"status": "failed", "message": "Zendesk job V3-a ended failed: quota"}, AirflowFailException, "quota"),
        ({"status": "timeout", "message": "V3-a did not finish by the deadline"}, AirflowTaskTimeout, "deadline"),
        (
            {"status": "error", "message": "Zendesk refused the credentials", "error_type": "ZendeskAuthError"},
            AirflowFailException,
            "refused",
        ),
        (
            {"status": "error", "message": "Zendesk kept answering 503", "error_type": "ZendeskUnavailableError"},
            AirflowException,
            "503",
        ),
        ({"status": "surprise"}, AirflowException, "unknown status"),
    ],
)
def test_execute_complete_turns_events_into_task_outcomes(
    emulator: ZendeskEmulator, event: dict[str, Any], error: type[Exception], needle: str
) -> None:
    with pytest.raises(error, match=needle) as info:
        operator(emulator, "V3-a", deferrable=True).execute_complete({}, event)  # type: ignore[arg-type]
    if error is AirflowException:
        assert not isinstance(info.value, AirflowFailException)
    assert emulator.request_count() == 0


@pytest.mark.timeout(60)
def test_execute_complete_still_applies_the_rule_to_what_it_reads(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job("tickets_create", records=[{"subject": "FAIL"}], queued_seconds=0, work_seconds=1)
    emulator.advance(5)
    op = operator(emulator, job_id, deferrable=True, fail_on_item_errors=True)
    with pytest.raises(AirflowFailException, match="1 of 1 items failed"):
        op.execute_complete({}, success_event([job_id]))  # type: ignore[arg-type]
