"""ZendeskJobResultsOperator's return value for every result shape Zendesk sends (requests-mock, exact bodies).

Each case is a body from ``ZENDESK_API.md`` and the XCom value a downstream task receives.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests_mock as rm
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowTaskTimeout

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.testing.timeline import on_clock
from airflow_provider_zendesk_jobs.waiting.job_wait import seconds
from tests.support.hooks import API_TOKEN, EMAIL, SHOW_MANY_URL, FakeClock, job, set_connection


@pytest.fixture(autouse=True)
def token_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login=EMAIL, password=API_TOKEN)


def operator(job_id: Any = "V3-abc", **kwargs: Any) -> ZendeskJobResultsOperator:
    clock = FakeClock()
    return on_clock(ZendeskJobResultsOperator, clock.time, clock.sleep)(task_id="read_results", job_id=job_id, **kwargs)


def completed(results: Any, **fields: Any) -> dict[str, Any]:
    fields.setdefault("total", len(results) if isinstance(results, list) else None)
    fields.setdefault("progress", fields["total"])
    return {"job_statuses": [job("V3-abc", "completed", message="Completed at 2023-09-18", results=results, **fields)]}


def common(**fields: Any) -> dict[str, Any]:
    out = {
        "job_id": "V3-abc",
        "status": "completed",
        "job_type": None,
        "total": None,
        "progress": None,
        "message": "Completed at 2023-09-18",
    }
    out.update(fields)
    return out


def ok_item(**fields: Any) -> dict[str, Any]:
    item = {"index": None, "id": None, "success": True, "action": None, "status": None, "error": None, "details": None}
    item.update(fields)
    return item


SHAPES: dict[str, tuple[Any, dict[str, Any]]] = {
    "ticket import with account_id": (
        [{"index": 0, "id": 4018, "account_id": 18525119}, {"id": 244, "index": 1}],
        common(
            total=2,
            progress=2,
            succeeded_ids=[4018, 244],
            failed=[],
            counts={"succeeded": 2, "failed": 0},
            results=[ok_item(index=0, id=4018, account_id=18525119), ok_item(index=1, id=244)],
        ),
    ),
    "users or organizations created (no index)": (
        [{"status": "Created", "id": 6164110479770}],
        common(
            total=1,
            progress=1,
            succeeded_ids=[6164110479770],
            failed=[],
            counts={"succeeded": 1, "failed": 0},
            results=[ok_item(id=6164110479770, status="Created")],
        ),
    ),
    "bulk update and delete": (
        [
            {"action": "update", "id": 244, "status": "Updated", "success": True},
            {"action": "delete", "id": 245, "status": "Deleted", "success": True},
        ],
        common(
            total=2,
            progress=2,
            succeeded_ids=[244, 245],
            failed=[],
            counts={"succeeded": 2, "failed": 0},
            results=[
                ok_item(id=244, action="update", status="Updated"),
                ok_item(id=245, action="delete", status="Deleted"),
            ],
        ),
    ),
    "create or update users with email": (
        [{"id": 1, "status": "Created", "email": "a@b.c"}, {"id": 2, "status": "Updated", "email": "d@e.f"}],
        common(
            total=2,
            progress=2,
            succeeded_ids=[1, 2],
            failed=[],
            counts={"succeeded": 2, "failed": 0},
            results=[ok_item(id=1, status="Created", email="a@b.c"), ok_item(id=2, status="Updated", email="d@e.f")],
        ),
    ),
    "failed items in a completed job, every form": (
        [
            {"index": 0, "id": 10},
            {"index": 1, "error": "OrganizationUpdateFailed", "id": 6164110666394, "details": "Name: has been taken"},
            {"id": 2, "error": "UserUpdateError", "details": "Email: is invalid", "status": "Failed"},
            {"action": "update", "id": 77, "success": False},
            {"id": 78, "status": "Failed"},
            {"id": 79, "title": "Old account", "errors": ""},
            {"id": 80, "title": "Old account", "errors": "Subject: is missing"},
        ],
        common(
            total=7,
            progress=7,
            succeeded_ids=[10, 79],
            failed=[
                {
                    "index": 1,
                    "id": 6164110666394,
                    "error": "OrganizationUpdateFailed",
                    "details": "Name: has been taken",
                },
                {"index": None, "id": 2, "error": "UserUpdateError", "details": "Email: is invalid"},
                {"index": None, "id": 77, "error": "success=false", "details": None},
                {"index": None, "id": 78, "error": "Failed", "details": None},
                {"index": None, "id": 80, "error": "Subject: is missing", "details": None},
            ],
            counts={"succeeded": 2, "failed": 5},
            results=[
                ok_item(index=0, id=10),
                ok_item(
                    index=1,
                    id=6164110666394,
                    success=False,
                    error="OrganizationUpdateFailed",
                    details="Name: has been taken",
                ),
                ok_item(id=2, success=False, status="Failed", error="UserUpdateError", details="Email: is invalid"),
                ok_item(id=77, action="update", success=False, error="success=false"),
                ok_item(id=78, success=False, status="Failed", error="Failed"),
                ok_item(id=79, title="Old account"),
                ok_item(id=80, success=False, error="Subject: is missing", title="Old account"),
            ],
        ),
    ),
    "permanent deletion succeeded (object results)": (
        {"success": True},
        common(succeeded_ids=[], failed=[], counts={"succeeded": 0, "failed": 0}, success=True, results=[]),
    ),
    "permanent deletion failed (object results)": (
        {"success": False},
        common(succeeded_ids=[], failed=[], counts={"succeeded": 0, "failed": 0}, success=False, results=[]),
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("wait", [True, False])
def test_return_value_for_every_result_shape(shape: str, wait: bool, requests_mock: rm.Mocker) -> None:
    results, expected = SHAPES[shape]
    requests_mock.get(SHOW_MANY_URL, json=completed(results))
    value = operator(wait_for_completion=wait).execute({})  # type: ignore[arg-type]
    assert value == expected
    assert requests_mock.call_count == 1
    assert requests_mock.last_request.qs == {"ids": ["v3-abc"]}


def test_include_results_false_keeps_ids_failures_and_counts(requests_mock: rm.Mocker) -> None:
    results, expected = SHAPES["failed items in a completed job, every form"]
    requests_mock.get(SHOW_MANY_URL, json=completed(results))
    value = operator(include_results=False).execute({})  # type: ignore[arg-type]
    assert "results" not in value
    assert value == {key: val for key, val in expected.items() if key != "results"}
    deletion = SHAPES["permanent deletion failed (object results)"][0]
    requests_mock.get(SHOW_MANY_URL, json=completed(deletion))
    assert operator(include_results=False).execute({})["success"] is False  # type: ignore[arg-type,index]


@pytest.mark.parametrize("job_id", [["V3-b", "V3-a"], "['V3-b', 'V3-a']", "V3-b,V3-a", ("V3-b", "V3-a")])
def test_a_list_of_ids_gives_a_list_in_the_asked_order(job_id: Any, requests_mock: rm.Mocker) -> None:
    # Zendesk answers in its own order; the operator maps answers back by id.
    requests_mock.get(
        SHOW_MANY_URL,
        json={
            "job_statuses": [
                job("V3-a", "completed", results=[{"index": 0, "id": 1}]),
                job("V3-b", "completed", results=[{"index": 0, "id": 2}]),
            ]
        },
    )
    value = operator(job_id).execute({})  # type: ignore[arg-type]
    assert isinstance(value, list)
    assert [(v["job_id"], v["succeeded_ids"]) for v in value] == [("V3-b", [2]), ("V3-a", [1])]
    assert requests_mock.call_count == 1
    assert requests_mock.last_request.qs == {"ids": ["v3-b,v3-a"]}


def test_a_one_item_list_still_gives_a_list(requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, json=completed([{"index": 0, "id": 1}]))
    value = operator(["V3-abc"]).execute({})  # type: ignore[arg-type]
    assert isinstance(value, list)
    assert value[0]["succeeded_ids"] == [1]


def test_more_than_100_ids_are_read_in_chunks_and_kept_in_order(requests_mock: rm.Mocker) -> None:
    ids = [f"V3-{n:03d}" for n in range(150)]

    def answer(request: Any, context: Any) -> dict[str, Any]:
        asked = request.qs["ids"][0].upper().split(",")
        return {"job_statuses": [job(i, "completed", results=[]) for i in reversed(asked)]}

    requests_mock.get(SHOW_MANY_URL, json=answer)
    value = operator(ids, include_results=False).execute({})  # type: ignore[arg-type]
    assert [v["job_id"] for v in value] == ids
    assert requests_mock.call_count == 2


def test_wait_false_returns_a_running_job_as_it_is(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        SHOW_MANY_URL, json={"job_statuses": [job("V3-abc", "working", total=100, progress=31, message="Creating #31")]}
    )
    op = operator(wait_for_completion=False)
    value = op.execute({})  # type: ignore[arg-type]
    assert value["status"] == "working"
    assert (value["total"], value["progress"]) == (100, 31)
    assert value["counts"] == {"succeeded": 0, "failed": 0}
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("status", ["failed", "killed"])
@pytest.mark.parametrize("wait", [True, False])
def test_failed_or_killed_job_fails_the_task_with_its_message(
    status: str, wait: bool, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(SHOW_MANY_URL, json={"job_statuses": [job("V3-abc", status, message="Import stopped: quota")]})
    with pytest.raises(AirflowFailException) as info:
        operator(wait_for_completion=wait).execute({})  # type: ignore[arg-type]
    assert "V3-abc" in str(info.value)
    assert status in str(info.value)
    assert "Import stopped: quota" in str(info.value)


def test_item_failures_fail_the_task_only_when_asked(requests_mock: rm.Mocker) -> None:
    results = [{"index": 0, "id": 1}, {"index": 1, "id": None, "error": "TicketCreateFailed", "details": "Bad"}]
    requests_mock.get(SHOW_MANY_URL, json=completed(results))
    assert operator().execute({})["counts"] == {"succeeded": 1, "failed": 1}  # type: ignore[arg-type,index]
    with pytest.raises(AirflowFailException, match=r"1 of 2 items failed.*TicketCreateFailed \(Bad\)"):
        operator(fail_on_item_errors=True).execute({})  # type: ignore[arg-type]
    requests_mock.get(SHOW_MANY_URL, json=completed({"success": False}))
    with pytest.raises(AirflowFailException):
        operator(fail_on_item_errors=True).execute({})  # type: ignore[arg-type]


def test_wait_false_unknown_id_fails_naming_it(requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, json={"job_statuses": []})
    with pytest.raises(AirflowFailException, match="does not know job id V3-abc"):
        operator(wait_for_completion=False).execute({})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["../etc", "V3 abc", "", [], 42, "https://acme.zendesk.com/api/v2/job_statuses/V3-a"])
def test_bad_ids_fail_before_any_request(bad: Any, requests_mock: rm.Mocker) -> None:
    with pytest.raises(AirflowFailException) as info:
        operator(bad).execute({})  # type: ignore[arg-type]
    assert "job id" in str(info.value)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": "30"}, "poll_interval"),
        ({"timeout": -1}, "timeout"),
        ({"not_found_grace": float("nan")}, "not_found_grace"),
    ],
)
def test_bad_numbers_fail_at_construction(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        operator(**kwargs)


def test_provider_errors_become_task_errors_without_secrets(requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, status_code=403, json={"error": "Forbidden"})
    with pytest.raises(AirflowFailException) as auth:
        operator().execute({})  # type: ignore[arg-type]
    assert API_TOKEN not in str(auth.value)
    requests_mock.get(SHOW_MANY_URL, status_code=503, text="<html>down</html>")
    with pytest.raises(AirflowException) as down:
        operator(wait_for_completion=False).execute({})  # type: ignore[arg-type]
    assert not isinstance(down.value, AirflowFailException)
    assert requests_mock.call_count == 1 + 5  # one 403, then the hook's whole retry budget for 503


def test_template_fields() -> None:
    assert ZendeskJobResultsOperator.template_fields == ("job_id", "zendesk_conn_id")


def test_durations_may_be_timedeltas_like_the_sensor_s() -> None:
    op = ZendeskJobResultsOperator(
        task_id="read_results",
        job_id="V3-abc",
        not_found_grace=timedelta(seconds=30),
        poll_interval=timedelta(minutes=1),
        timeout=timedelta(hours=1),
    )
    assert (op.not_found_grace, op.poll_interval, op.timeout) == (30.0, 60.0, 3600.0)
    with pytest.raises(ValueError, match="not_found_grace must be at least 0"):
        ZendeskJobResultsOperator(task_id="read_results", job_id="V3-abc", not_found_grace=timedelta(seconds=-1))


@pytest.mark.parametrize(
    ("value", "shown"),
    [(10**400, f"1{'0' * 59}... (401 characters)"), (10**5000, "<int>")],  # 10**5000 has no repr on Python 3.11+
    ids=["401 digits", "5001 digits"],
)
def test_a_duration_too_large_for_a_float_is_refused_naming_it(value: int, shown: str) -> None:
    """Not an OverflowError from float(): the message says which argument and what it must be."""
    expected = f"timeout must be a finite number of seconds or a timedelta, got {shown}."
    with pytest.raises(ZendeskInvalidInputError) as info:
        seconds(value, "timeout")
    assert str(info.value) == expected
    with pytest.raises(ZendeskInvalidInputError) as info:
        ZendeskJobResultsOperator(task_id="read_results", job_id="V3-abc", timeout=value)
    assert str(info.value) == expected


MANY_IDS = [f"V3-{number:032x}" for number in range(5000)]
FIVE_AND_MORE = f"{', '.join(MANY_IDS[:5])} and 4995 more"


def test_wait_false_on_5000_unknown_ids_names_five_of_them(requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, json={"job_statuses": []})
    with pytest.raises(AirflowFailException) as info:
        operator(MANY_IDS, wait_for_completion=False).execute({})  # type: ignore[arg-type]
    assert str(info.value).startswith(f"Zendesk does not know job ids {FIVE_AND_MORE}: ")
    assert len(str(info.value)) < 600


def test_a_timeout_on_5000_ids_names_five_of_them(requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, json={"job_statuses": []})  # not visible yet: inside the not-found grace
    with pytest.raises(AirflowTaskTimeout) as info:
        operator(MANY_IDS, timeout=0).execute({})  # type: ignore[arg-type]
    assert str(info.value).startswith(f"Zendesk jobs {FIVE_AND_MORE} did not finish within timeout=0 s")
    assert len(str(info.value)) < 600
