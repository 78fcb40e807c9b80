"""The job model against every shape of job and item Zendesk sends, and the XCom form of a job."""

from __future__ import annotations

import json

import pytest

from airflow_provider_zendesk_jobs.exceptions import ZendeskResponseError
from airflow_provider_zendesk_jobs.jobs import (
    NON_TERMINAL_STATES,
    TERMINAL_STATES,
    JobResult,
    JobState,
    JobStatus,
    parse_job_status_body,
    parse_job_statuses_body,
)
from airflow_provider_zendesk_jobs.waiting import WaitDecision, WaitOptions, evaluate_wait


def completed(results: object, **fields: object) -> JobStatus:
    return JobStatus.from_api(
        {"id": "V3-job", "status": "completed", "total": 2, "progress": 2, "message": "Completed", "results": results}
        | fields
    )


@pytest.mark.parametrize(
    ("raw", "state", "terminal"),
    [
        ("queued", JobState.QUEUED, False),
        ("working", JobState.WORKING, False),
        ("completed", JobState.COMPLETED, True),
        ("failed", JobState.FAILED, True),
        ("killed", JobState.KILLED, True),
        ("Completed", JobState.COMPLETED, True),
        ("paused", JobState.UNKNOWN, False),
    ],
)
def test_status_maps_to_state_and_unknown_is_not_terminal(raw: str, state: JobState, terminal: bool) -> None:
    job = JobStatus.from_api({"id": "V3-a", "status": raw})
    assert job.state is state
    assert job.is_terminal is terminal
    assert job.status == raw


def test_state_sets_partition_every_state() -> None:
    assert set(JobState) == TERMINAL_STATES | NON_TERMINAL_STATES
    assert not TERMINAL_STATES & NON_TERMINAL_STATES


def test_real_lifecycle_with_nulls() -> None:
    queued = JobStatus.from_api(
        {"id": "V3-x", "status": "queued", "total": 100, "progress": None, "message": None, "results": None}
    )
    working = JobStatus.from_api(
        {"id": "V3-x", "status": "working", "total": 100, "progress": 31, "message": "Creating organization #31"}
    )
    assert queued.describe_progress() == "V3-x: queued 0/100"
    assert working.describe_progress() == "V3-x: working 31/100"
    assert queued.results is None and queued.items == []
    assert queued.to_dict()["succeeded_ids"] == []


def test_bulk_create_tickets_with_index_and_account_id() -> None:
    job = completed([{"index": 0, "id": 4018, "account_id": 18525119}, {"id": 244, "index": 1}])
    assert job.succeeded_ids == [4018, 244]
    first = job.items[0]
    assert first.index == 0 and first.extra == {"account_id": 18525119}
    assert job.to_dict()["results"][0] == {
        "index": 0,
        "id": 4018,
        "success": True,
        "action": None,
        "status": None,
        "error": None,
        "details": None,
        "account_id": 18525119,
    }


def test_users_create_without_index() -> None:
    job = completed([{"status": "Created", "id": 6164110479770}, {"id": 2, "status": "Updated", "email": "a@b.c"}])
    assert job.succeeded_ids == [6164110479770, 2]
    assert job.items[0].index is None
    assert job.items[1].extra == {"email": "a@b.c"}


@pytest.mark.parametrize("action,status", [("update", "Updated"), ("delete", "Deleted")])
def test_bulk_update_and_delete(action: str, status: str) -> None:
    job = completed([{"action": action, "id": 244, "status": status, "success": True}])
    item = job.items[0]
    assert (item.action, item.status, item.success, item.failed) == (action, status, True, False)


def test_failed_item_inside_completed_job_keeps_error_and_details() -> None:
    job = completed(
        [
            {"index": 0, "id": 244},
            {
                "index": 1,
                "error": "OrganizationUpdateFailed",
                "id": 6164110666394,
                "details": "Name: Acme has already been taken",
            },
        ]
    )
    data = job.to_dict()
    assert data["succeeded_ids"] == [244]
    assert data["failed"] == [
        {
            "index": 1,
            "id": 6164110666394,
            "error": "OrganizationUpdateFailed",
            "details": "Name: Acme has already been taken",
        }
    ]
    assert data["counts"] == {"succeeded": 1, "failed": 1}


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"id": 2, "error": "UserUpdateError", "details": "x", "status": "Failed"}, "UserUpdateError"),
        ({"id": 3, "errors": "Email is invalid", "title": "t"}, "Email is invalid"),
        ({"id": 4, "status": "Failed"}, "Failed"),
        ({"id": 5, "action": "update", "success": False}, "success=false"),
        ({"id": 6, "error": {"code": "X"}}, '{"code": "X"}'),
    ],
)
def test_every_failure_form_and_its_error_text(item: dict[str, object], error: str) -> None:
    result = JobResult.from_api(item)
    assert result.failed
    assert result.to_dict()["error"] == error
    assert result.failure_dict()["error"] == error


def test_empty_errors_from_older_accounts_is_success() -> None:
    result = JobResult.from_api({"id": 7, "title": "T", "errors": "", "status": "Created"})
    assert not result.failed
    assert result.extra == {"title": "T"}
    assert result.to_dict()["error"] is None


def test_known_keys_sent_as_null_are_not_unknown_keys_and_unknown_keys_keep_their_order() -> None:
    job = completed([{"id": 1, "index": None, "action": None, "zeta": 1, "alpha": 2}, {"id": 2, "details": None}])
    first, second = job.items
    assert first.extra == {"zeta": 1, "alpha": 2} and second.extra == {}
    assert list(job.to_dict()["results"][0]) == [
        "index",
        "id",
        "success",
        "action",
        "status",
        "error",
        "details",
        "zeta",
        "alpha",
    ]


@pytest.mark.parametrize(
    ("status", "failed"),
    [("Created", False), ("Failed", True), (" FAILED ", True), ("failed", True), ("Skipped", False)],
)
def test_status_spellings_decide_failure(status: str, failed: bool) -> None:
    item = completed([{"id": 1, "status": status}]).items[0]
    assert item.failed is failed
    assert item.to_dict()["error"] == (status if failed else None)


def test_an_unknown_key_never_replaces_a_field_in_the_xcom_form() -> None:
    result = JobResult(index=0, id=1, extra={"id": 9, "error": "x", "title": "T"})
    assert result.to_dict() == {
        "index": 0,
        "id": 1,
        "success": True,
        "action": None,
        "status": None,
        "error": None,
        "details": None,
        "title": "T",
    }


def test_a_bad_item_is_named_by_its_position_and_its_first_bad_field() -> None:
    with pytest.raises(ZendeskResponseError, match=r"job V3-job: results\[2\]\.'action' should be text"):
        _ = completed([{"id": 1}, {"id": 2}, {"success": "yes", "action": 3}, "oops"]).items
    with pytest.raises(ZendeskResponseError, match=r"results\[3\] should be an object, got str"):
        _ = completed([{"id": 1}, {"id": 2}, {"id": 3}, "oops"]).items


BAD_ITEMS = [{"id": 1}, {"id": 2}, {"id": 3}, {"index": "3"}]


def test_items_are_read_on_first_use_and_a_poll_does_not_need_them() -> None:
    """What a poll reads works on a job whose items are malformed; every read of the items reports them."""
    job = completed(BAD_ITEMS)
    summary = (job.id, job.state, job.total, job.progress, job.message)
    assert summary == ("V3-job", JobState.COMPLETED, 2, 2, "Completed")
    assert job.describe_progress() == "V3-job: completed 2/2"
    assert job.success is None
    reads = {
        "results": lambda: job.results,
        "items": lambda: job.items,
        "failed_items": lambda: job.failed_items,
        "succeeded_ids": lambda: job.succeeded_ids,
        "to_dict": job.to_dict,
        "to_dict without results": lambda: job.to_dict(include_results=False),
    }
    for name, read in reads.items():
        with pytest.raises(ZendeskResponseError) as info:
            read()
        assert "job V3-job: results[3].'index' should be a whole number or null, got str" in str(info.value), name


def test_a_wait_reads_the_items_only_when_they_decide_it() -> None:
    """The rule ends a wait on the job's state; with fail_on_item_errors it reads the items and reports a bad one."""
    job = completed(BAD_ITEMS)
    outcome = evaluate_wait(["V3-job"], {"V3-job": job}, options=WaitOptions(), started_at=0.0, now=1.0)
    assert outcome.decision is WaitDecision.SUCCEEDED
    strict = WaitOptions(fail_on_item_errors=True)
    with pytest.raises(ZendeskResponseError, match=r"results\[3\]\.'index' should be a whole number"):
        evaluate_wait(["V3-job"], {"V3-job": job}, options=strict, started_at=0.0, now=1.0)


def test_items_are_read_once_and_the_snapshot_keeps_its_equality() -> None:
    body = {"id": "V3-job", "status": "completed", "results": [{"id": 1}, {"id": 2, "error": "E"}]}
    first, second = JobStatus.from_api(body), JobStatus.from_api(body)
    assert first == second
    items = first.items
    assert first.results is items and first.items is items  # read once, then kept
    assert [item.id for item in first.failed_items] == [2]
    assert first == second  # whether the items were read takes no part in comparisons
    assert first != JobStatus.from_api({**body, "results": [{"id": 1}]})
    assert "_items" not in repr(first)
    queued = JobStatus.from_api({"id": "V3-job", "status": "queued"})
    assert hash(queued) == hash(JobStatus.from_api({"id": "V3-job", "status": "queued"}))


@pytest.mark.parametrize("success", [True, False])
def test_permanent_deletion_object_results(success: bool) -> None:
    job = JobStatus.from_api(
        {"id": "dd93", "status": "completed", "total": None, "progress": None, "results": {"success": success}}
    )
    data = job.to_dict()
    assert data["success"] is success
    assert data["succeeded_ids"] == [] and data["failed"] == [] and data["results"] == []
    assert data["counts"] == {"succeeded": 0, "failed": 0}
    assert job.describe_progress() == "dd93: completed"


def test_include_results_false_keeps_ids_and_failures() -> None:
    job = completed([{"index": 0, "id": 1}, {"index": 1, "error": "E", "id": None}])
    data = job.to_dict(include_results=False)
    assert "results" not in data
    assert data["succeeded_ids"] == [1]
    assert data["failed"][0]["error"] == "E"


def test_xcom_form_has_contract_keys_and_is_json_safe() -> None:
    job = completed([{"index": 0, "id": 1, "weird": {"nested": [1, 2]}}], job_type="Bulk Create Ticket")
    data = job.to_dict()
    assert list(data) == [
        "job_id",
        "status",
        "job_type",
        "total",
        "progress",
        "message",
        "succeeded_ids",
        "failed",
        "counts",
        "results",
    ]
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([], "expected an object, got list"),
        ({"status": "queued"}, "'id' should be non-empty text, got nothing"),
        ({"id": 12, "status": "queued"}, "'id' should be non-empty text, got int"),
        ({"id": "V3-a"}, "'status' should be non-empty text"),
        ({"id": "V3-a", "status": 3}, "'status' should be non-empty text"),
        ({"id": "V3-a", "status": "working", "total": "100"}, "'total' should be a whole number or null, got str"),
        ({"id": "V3-a", "status": "working", "progress": True}, "'progress' should be a whole number"),
        ({"id": "V3-a", "status": "working", "message": 5}, "'message' should be text or null"),
        ({"id": "V3-a", "status": "completed", "results": "done"}, "'results' should be a list, an object or null"),
        ({"id": "V3-a", "status": "completed", "results": [1]}, "results[0] should be an object, got int"),
        ({"id": "V3-a", "status": "completed", "results": [{"id": [1]}]}, "results[0].id should be a number"),
        ({"id": "V3-a", "status": "completed", "results": [{"success": "yes"}]}, "results[0].success should be"),
        ({"id": "V3-a", "status": "completed", "results": [{"index": "0"}]}, "'index' should be a whole number"),
    ],
)
def test_bodies_that_are_not_zendesk_raise_response_error_naming_the_field(body: object, fragment: str) -> None:
    with pytest.raises(ZendeskResponseError) as info:
        JobStatus.from_api(body).to_dict()  # the items are read by to_dict(), not at parsing
    assert fragment in str(info.value)


def test_envelope_parsers() -> None:
    assert parse_job_status_body({"job_status": {"id": "V3-a", "status": "queued"}}).id == "V3-a"
    assert [j.id for j in parse_job_statuses_body({"job_statuses": [{"id": "a", "status": "queued"}]})] == ["a"]
    with pytest.raises(ZendeskResponseError, match="no 'job_status' object"):
        parse_job_status_body({"ticket": {}})
    with pytest.raises(ZendeskResponseError, match="no 'job_statuses' list"):
        parse_job_statuses_body({"job_statuses": None})


def test_unknown_status_is_described_as_such() -> None:
    job = JobStatus.from_api({"id": "V3-a", "status": "paused", "message": "Paused by admin"})
    assert "does not know" in job.describe_progress()
    assert "Paused by admin" in job.describe_progress()
