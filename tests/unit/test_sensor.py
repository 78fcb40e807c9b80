"""ZendeskJobStatusSensor: every poke path and failure message, the deferral, and resuming from the event.

Pokes run against the emulator on its manual clock: the sensor reads the emulator's clock and
its hook sleeps by moving it, so the not-found grace and Retry-After are exact clock seconds.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    PokeReturnValue,
)

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobsDeprecationWarning, ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import on_clock
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from airflow_provider_zendesk_jobs.waiting.failures import ZendeskWaitError
from airflow_provider_zendesk_jobs.waiting.job_wait import DEFERRAL_BACKSTOP_SECONDS
from tests.airflow_compat import TaskDeferred, capture_airflow_logs
from tests.support.pollers import SHOW_MANY, show_many_requests

pytestmark = pytest.mark.timeout(60)
CONTEXT: Any = {}


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    with capture_airflow_logs() as captured:
        yield captured


def sensor_for(emu: ZendeskEmulator, job_id: Any, **kwargs: Any) -> ZendeskJobStatusSensor:
    kwargs.setdefault("poke_interval", 5)
    return on_clock(ZendeskJobStatusSensor, emu.clock.now, emu.advance)(task_id="wait", job_id=job_id, **kwargs)


def events(logs: list[dict[str, Any]], level: str | None = None) -> list[str]:
    return [entry["event"] for entry in logs if level is None or entry["log_level"] == level]


# -- construction ---------------------------------------------------------------------------------------
def test_defaults_and_templated_fields() -> None:
    sensor = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a")
    assert ZendeskJobStatusSensor.template_fields == ("job_id", "zendesk_conn_id")
    assert (sensor.zendesk_conn_id, sensor.fail_on_item_errors, sensor.not_found_grace) == (
        "zendesk_default",
        False,
        60,
    )
    assert sensor.deferrable is False  # [operators] default_deferrable is off in the test config
    assert sensor.poke_interval == 60
    assert ZendeskJobStatusSensor(task_id="w", job_id="V3-a", poke_interval=timedelta(seconds=7)).poke_interval == 7
    grace = ZendeskJobStatusSensor(task_id="w", job_id="V3-a", not_found_grace=timedelta(minutes=2))
    assert grace.not_found_grace == 120


def test_poke_interval_is_what_the_triggerer_polls_at(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=1, work_seconds=600)
    with pytest.raises(TaskDeferred) as info:
        sensor_for(emulator, job_id, deferrable=True, poke_interval=7).execute(CONTEXT)
    assert info.value.trigger.serialize()[1]["poll_interval"] == 7


@pytest.mark.parametrize(("kwargs", "deferred_interval"), [({}, 3), ({"poke_interval": 9}, 3)])
def test_poll_interval_still_works_for_one_release_with_a_warning(
    emulator: ZendeskEmulator, kwargs: dict[str, Any], deferred_interval: float
) -> None:
    job_id = emulator.create_job(count=1, work_seconds=600)
    with pytest.warns(ZendeskJobsDeprecationWarning, match=r"poll_interval=\.\.\.\) is deprecated.*use poke_interval"):
        sensor = sensor_for(emulator, job_id, deferrable=True, poll_interval=3, **kwargs)
    assert issubclass(ZendeskJobsDeprecationWarning, DeprecationWarning)
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(CONTEXT)
    assert info.value.trigger.serialize()[1]["poll_interval"] == deferred_interval


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"not_found_grace": -1}, "not_found_grace must be at least 0"),
        ({"not_found_grace": "soon"}, "not_found_grace must be a finite number"),
        ({"poll_interval": 0}, "poll_interval must be above 0"),
        ({"deferrable": True, "poke_interval": 0}, "needs poke_interval"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], fragment: str) -> None:
    deprecated = pytest.warns(ZendeskJobsDeprecationWarning) if "poll_interval" in kwargs else contextlib.nullcontext()
    with deprecated, pytest.raises(ZendeskInvalidInputError, match=fragment):
        ZendeskJobStatusSensor(task_id="wait", job_id="V3-a", **kwargs)


@pytest.mark.parametrize(
    ("job_id", "fragment"),
    [
        ("V3-a/../../admin", "not a valid Zendesk job id"),
        ([], "nothing to wait on"),
        (42, "job_id must be a Zendesk job id or a list"),
    ],
)
def test_bad_job_ids_fail_before_any_request(emulator: ZendeskEmulator, job_id: Any, fragment: str) -> None:
    sensor = sensor_for(emulator, job_id)
    with pytest.raises(AirflowFailException, match=fragment):
        sensor.execute(CONTEXT)
    assert emulator.requests == []


# -- poke -----------------------------------------------------------------------------------------------
def test_poke_says_not_yet_and_logs_one_line_per_job(emulator: ZendeskEmulator, logs: list[dict[str, Any]]) -> None:
    ids = [emulator.create_job(count=10, queued_seconds=0, work_seconds=10) for _ in range(2)]
    sensor = sensor_for(emulator, ids)
    emulator.advance(3.1)
    assert sensor.poke(CONTEXT) is False
    assert events(logs, "info") == [f"{ids[0]}: working 3/10", f"{ids[1]}: working 3/10"]


def test_poke_succeeds_with_the_jobs_summaries_as_xcom(emulator: ZendeskEmulator) -> None:
    ids = [emulator.create_job(count=3, work_seconds=2) for _ in range(2)]
    emulator.advance(10)
    many = sensor_for(emulator, ids).poke(CONTEXT)
    one = sensor_for(emulator, ids[0]).poke(CONTEXT)
    assert isinstance(many, PokeReturnValue) and many.is_done
    assert [job["id"] for job in many.xcom_value] == ids
    assert isinstance(one, PokeReturnValue)
    assert one.xcom_value == {
        "id": ids[0],
        "status": "completed",
        "total": 3,
        "progress": 3,
        "message": emulator.job(ids[0])["message"],
    }


def test_a_list_rendered_as_text_is_read_back_as_a_list(emulator: ZendeskEmulator) -> None:
    ids = [emulator.create_job(count=1, work_seconds=1) for _ in range(2)]
    emulator.advance(10)
    result = sensor_for(emulator, str(ids)).poke(CONTEXT)
    assert isinstance(result, PokeReturnValue)
    assert [job["id"] for job in result.xcom_value] == ids


def test_poke_asks_one_show_many_per_100_ids(emulator: ZendeskEmulator) -> None:
    ids = [emulator.create_job(count=1, work_seconds=600) for _ in range(250)]
    assert sensor_for(emulator, ids).poke(CONTEXT) is False
    assert [r.query.count(",") + 1 for r in show_many_requests(emulator)] == [100, 100, 50]


@pytest.mark.parametrize("outcome", ["failed", "killed"])
def test_a_dead_job_fails_the_task_for_good_naming_it(emulator: ZendeskEmulator, outcome: str) -> None:
    job_id = emulator.create_job(count=2, work_seconds=2, outcome=outcome)
    emulator.advance(10)
    with pytest.raises(AirflowFailException) as info:
        sensor_for(emulator, job_id).poke(CONTEXT)
    assert str(info.value) == f"Zendesk job {job_id} ended {outcome}: {emulator.job(job_id)['message']}"


def test_failed_items_fail_the_task_only_when_asked(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(
        "tickets_import",
        records=[{"subject": "ok"}, {"subject": "FAIL me"}, {"subject": "fine"}],
        work_seconds=1,
    )
    emulator.advance(10)
    assert sensor_for(emulator, job_id).poke(CONTEXT)
    with pytest.raises(AirflowFailException) as info:
        sensor_for(emulator, job_id, fail_on_item_errors=True).poke(CONTEXT)
    assert str(info.value) == (
        f"Zendesk job {job_id} completed but 1 of 3 items failed (fail_on_item_errors=True): "
        "item 1: TicketCreateFailed (Subject: is invalid (contains FAIL))"
    )


def test_not_found_within_the_grace_waits_and_after_it_fails(
    emulator: ZendeskEmulator, logs: list[dict[str, Any]]
) -> None:
    sensor = sensor_for(emulator, "V3-neverexisted", not_found_grace=30)
    assert sensor.poke(CONTEXT) is False
    emulator.advance(29)
    assert sensor.poke(CONTEXT) is False
    emulator.advance(1)
    with pytest.raises(AirflowFailException) as info:
        sensor.poke(CONTEXT)
    assert str(info.value) == (
        "Zendesk does not know job id V3-neverexisted after 30 s of waiting: the id is wrong, or the job is older "
        "than Zendesk keeps job statuses (about a day). Check the id the bulk call returned."
    )
    assert events(logs, "info")[0].startswith("V3-neverexisted: not visible yet")


def test_an_expired_job_fails_after_the_grace(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=1, work_seconds=1)
    emulator.expire_job(job_id)
    sensor = sensor_for(emulator, job_id, not_found_grace=0)
    with pytest.raises(AirflowFailException, match="about a day"):
        sensor.poke(CONTEXT)


def test_an_unknown_status_waits_and_is_warned_about_once(
    emulator: ZendeskEmulator, logs: list[dict[str, Any]]
) -> None:
    job_id = emulator.create_job(count=2, work_seconds=1)
    emulator.set_job_status(job_id, "archived")
    sensor = sensor_for(emulator, job_id)
    assert sensor.poke(CONTEXT) is False
    assert sensor.poke(CONTEXT) is False
    warnings = events(logs, "warning")
    assert len(warnings) == 1 and "status 'archived'" in warnings[0]
    assert (
        events(logs, "info")
        == [f"{job_id}: archived 0/2 (a status this provider does not know; treated as not finished)"] * 2
    )


def test_a_rate_limit_past_the_budget_does_not_fail_a_long_wait(
    emulator: ZendeskEmulator, logs: list[dict[str, Any]]
) -> None:
    job_id = emulator.create_job(count=2, work_seconds=1)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=900, path_prefix=SHOW_MANY))
    sensor = sensor_for(emulator, job_id)
    assert sensor.poke(CONTEXT) is False
    assert "asked to wait 900 s" in events(logs, "warning")[-1]
    assert sensor.poke(CONTEXT)  # the next poke reads the job


def test_an_outage_past_the_budget_does_not_fail_a_long_wait(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=2, work_seconds=1)
    emulator.add_fault(Fault("server_error", count=5, path_prefix=SHOW_MANY))
    sensor = sensor_for(emulator, job_id)
    assert sensor.poke(CONTEXT) is False
    assert sensor.poke(CONTEXT)


def test_refused_credentials_fail_the_task_for_good(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = json.loads(emulator.connection_extra_json())
    conn["password"] = "bad-SECRET"
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_DEFAULT", json.dumps(conn))
    with pytest.raises(AirflowFailException) as info:
        sensor_for(emulator, "V3-a").poke(CONTEXT)
    assert "refused the credentials" in str(info.value)
    assert "bad-SECRET" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_body_that_is_not_json_is_no_answer_yet_for_a_poke_as_for_a_deferred_wait(
    emulator: ZendeskEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = emulator.create_job(count=1, work_seconds=1)
    emulator.advance(5)
    fault = emulator.add_fault(Fault("malformed_json", count=5, path_prefix=SHOW_MANY))  # a check's whole budget
    sensor = sensor_for(emulator, job_id)
    assert sensor.poke(CONTEXT) is False  # the one rule (exceptions.is_transient): an edge's garbled answer
    assert fault.applied == 5 and "Zendesk did not answer normally" in capsys.readouterr().out
    assert sensor.poke(CONTEXT) is not False  # Zendesk answers again: the wait ends


def test_poke_mode_execute_returns_the_xcom_value(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=1, work_seconds=1)
    emulator.advance(5)
    assert sensor_for(emulator, [job_id]).execute(CONTEXT)[0]["status"] == "completed"


def test_reschedule_mode_counts_the_grace_from_the_first_reschedule(emulator: ZendeskEmulator) -> None:
    first_try = datetime.fromtimestamp(emulator.clock.now() - 50, tz=timezone.utc)

    class RescheduledTaskInstance:
        def get_first_reschedule_date(self, context: Any) -> datetime:
            return first_try

    job_id = emulator.create_job(count=1, work_seconds=1)
    sensor = sensor_for(emulator, "V3-notthere", mode="reschedule", not_found_grace=45)
    with pytest.raises(AirflowFailException, match="after 45 s"):
        sensor.execute({"ti": RescheduledTaskInstance()})
    fresh = sensor_for(emulator, job_id, mode="reschedule", not_found_grace=45)
    emulator.advance(5)
    assert fresh.execute({"ti": RescheduledTaskInstance()})["status"] == "completed"


# -- deferral -----------------------------------------------------------------------------------------
def test_deferrable_execute_returns_at_once_when_the_jobs_are_done(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=1, work_seconds=1)
    emulator.advance(5)
    assert sensor_for(emulator, job_id, deferrable=True).execute(CONTEXT)["status"] == "completed"


def test_deferrable_execute_defers_with_the_first_check_and_the_deadline(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=1, work_seconds=600)
    sensor = sensor_for(emulator, job_id, deferrable=True, timeout=3600, poke_interval=20, not_found_grace=90)
    start = emulator.clock.now()
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(CONTEXT)
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout == timedelta(seconds=3600 + DEFERRAL_BACKSTOP_SECONDS)
    assert isinstance(deferred.trigger, ZendeskJobStatusTrigger)
    assert deferred.trigger.serialize()[1] == {
        "job_ids": [job_id],
        "zendesk_conn_id": "zendesk_default",
        "poll_interval": 20.0,
        "not_found_grace": 90.0,
        "fail_on_item_errors": False,
        "started_at": start,
        "deadline": start + 3600,
    }
    assert len(show_many_requests(emulator)) == 1  # checked once before deferring


def success_event(job_ids: list[str]) -> dict[str, Any]:
    jobs = [{"id": j, "status": "completed", "total": 1, "progress": 1, "message": "done"} for j in job_ids]
    return {"status": "success", "job_ids": job_ids, "message": "Zendesk finished", "jobs": jobs}


def test_execute_complete_turns_success_into_the_xcom_value() -> None:
    sensor = ZendeskJobStatusSensor(task_id="wait", job_id=["V3-b", "V3-a"])
    assert [job["id"] for job in sensor.execute_complete(CONTEXT, success_event(["V3-a", "V3-b"]))] == ["V3-b", "V3-a"]
    single = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a")
    assert single.execute_complete(CONTEXT, success_event(["V3-a"]))["status"] == "completed"


@pytest.mark.parametrize(
    ("event", "raised", "not_raised"),
    [
        ({"status": "failed", "message": "Zendesk job V3-a ended killed: x"}, AirflowFailException, None),
        ({"status": "timeout", "message": "did not finish by the deadline"}, AirflowSensorTimeout, None),
        (
            {"status": "error", "message": "Zendesk refused the credentials", "error_type": "ZendeskAuthError"},
            AirflowFailException,
            None,
        ),
        (
            {"status": "error", "message": "Zendesk answered 503", "error_type": "ZendeskUnavailableError"},
            ZendeskWaitError,
            AirflowFailException,
        ),
        ({"status": "exploded"}, ZendeskWaitError, AirflowFailException),
        (None, ZendeskWaitError, AirflowFailException),
    ],
)
def test_execute_complete_turns_other_events_into_the_right_failure(
    event: Any, raised: type[Exception], not_raised: type[Exception] | None
) -> None:
    sensor = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a")
    with pytest.raises(raised) as info:
        sensor.execute_complete(CONTEXT, event)
    if not_raised is not None:
        assert not isinstance(info.value, not_raised)
    assert isinstance(info.value, AirflowException)
    if event and event.get("message"):
        assert str(info.value) == event["message"]


def test_a_deferred_timeout_with_soft_fail_skips_the_task() -> None:
    sensor = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a", soft_fail=True)
    timeout = {"status": "timeout", "message": "did not finish", "job_ids": ["V3-a"], "jobs": []}
    with pytest.raises(AirflowSkipException):
        sensor.resume_execution("execute_complete", {"event": timeout}, CONTEXT)
    hard = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a")
    with pytest.raises(AirflowSensorTimeout, match="did not finish"):
        hard.resume_execution("execute_complete", {"event": timeout}, CONTEXT)


# -- the failures and the reads every waiting task shares ---------------------------------------------------
def test_errors_map_to_task_failures_by_class_or_by_event_name() -> None:
    from airflow_provider_zendesk_jobs.exceptions import (
        ErrorKind,
        ZendeskAuthError,
        ZendeskRateLimitError,
        ZendeskResponseError,
    )
    from airflow_provider_zendesk_jobs.waiting.failures import exception_for_error

    assert type(exception_for_error(ZendeskAuthError("no"))) is AirflowFailException
    assert type(exception_for_error(ZendeskInvalidInputError("bad id"))) is AirflowFailException
    assert type(exception_for_error(ErrorKind.PERMANENT, "refused")) is AirflowFailException
    for retryable in (ZendeskRateLimitError("429"), ZendeskResponseError("odd body"), ErrorKind.TRANSIENT):
        error = exception_for_error(retryable)
        assert isinstance(error, ZendeskWaitError) and not isinstance(error, AirflowFailException)
    assert str(exception_for_error(KeyError())) == "The Zendesk wait stopped on KeyError."


def test_an_error_event_is_decided_by_its_kind_and_by_its_class_name_from_older_releases() -> None:
    from airflow_provider_zendesk_jobs.waiting.failures import result_from_event

    for event in (
        {"status": "error", "message": "refused", "error_type": "ZendeskAuthError", "error_kind": "permanent"},
        {"status": "error", "message": "refused", "error_type": "ZendeskAuthError"},
    ):
        with pytest.raises(AirflowFailException, match="refused"):
            result_from_event(event)
    with pytest.raises(ZendeskWaitError, match="answered 400") as raised:
        result_from_event({"status": "error", "message": "answered 400", "error_kind": "failed"})
    assert not isinstance(raised.value, AirflowFailException)


def test_an_operator_chooses_its_timeout_exception_for_the_event() -> None:
    from airflow_provider_zendesk_jobs.waiting.failures import result_from_event

    class OperatorTimeout(Exception):
        pass

    with pytest.raises(OperatorTimeout, match="too slow"):
        result_from_event({"status": "timeout", "message": "too slow"}, timeout_exception=OperatorTimeout)
    assert result_from_event(success_event(["V3-a"]))["jobs"][0]["id"] == "V3-a"


def test_a_wait_reads_ids_in_chunks_and_a_404_as_unknown(emulator: ZendeskEmulator) -> None:
    ids = [emulator.create_job(count=1, work_seconds=5) for _ in range(150)]
    emulator.add_fault(Fault("not_found", count=1, path_prefix=SHOW_MANY))
    found = sensor_for(emulator, [*ids, "V3-unknown"]).build_wait().read()
    assert sorted(found) == sorted(ids[100:])  # the first request answered 404: its ids count as not found
    assert [r.status for r in show_many_requests(emulator)] == [404, 200]
