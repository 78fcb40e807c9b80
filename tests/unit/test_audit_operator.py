"""ZendeskJobStatusAuditOperator: every page read, filters, the fail flag, and errors before any request."""

from __future__ import annotations

import pytest
import requests_mock as rm
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobStatusAuditOperator
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from tests.support.hooks import API_TOKEN, BASE, EMAIL, job, set_connection

LIST = "/api/v2/job_statuses"


def fill(emu: ZendeskEmulator) -> dict[str, list[str]]:
    """230 jobs (three pages of 100): most completed, some failed, killed or still running."""
    emu.store_settings.listed_jobs = 1000  # an account that lists more than Zendesk's usual 100
    made: dict[str, list[str]] = {"completed": [], "failed": [], "killed": [], "working": []}
    for n in range(220):
        outcome = "failed" if n % 50 == 7 else "killed" if n == 100 else "completed"
        kind = "tickets_import" if n % 2 else "users_create_or_update"
        made[outcome].append(emu.create_job(kind, count=2, outcome=outcome, queued_seconds=1, work_seconds=1))
    emu.advance(10)
    for _ in range(10):
        made["working"].append(emu.create_job("tickets_update", count=5, queued_seconds=0, work_seconds=100))
    emu.advance(1)
    return made


@pytest.mark.timeout(60)
def test_reads_every_page_and_summarises(emulator: ZendeskEmulator) -> None:
    made = fill(emulator)
    emulator.reset_requests()
    summary = ZendeskJobStatusAuditOperator(task_id="audit").execute({})  # type: ignore[arg-type]
    assert emulator.request_count(LIST, "GET") == 3
    assert summary["checked"] == 230
    assert summary["counts_by_status"] == {"working": 10, "completed": 214, "failed": 5, "killed": 1}
    assert summary["counts_by_type"] == {
        "Bulk Create Or Update User": 110,
        "Bulk Import Ticket": 110,
        "Bulk Update Ticket": 10,
    }
    assert {j["id"] for j in summary["failed_jobs"]} == set(made["failed"] + made["killed"])
    assert all(j["message"] and j["job_type"] for j in summary["failed_jobs"])
    assert sorted(summary["unfinished"]) == sorted(made["working"])


@pytest.mark.timeout(60)
def test_filters_and_limit(emulator: ZendeskEmulator) -> None:
    made = fill(emulator)
    failed_imports = ZendeskJobStatusAuditOperator(
        task_id="audit", statuses=["failed", "killed"], job_types="Bulk Import Ticket"
    ).execute({})  # type: ignore[arg-type]
    expected = {
        job_id for job_id in made["failed"] + made["killed"] if emulator.job(job_id)["job_type"] == "Bulk Import Ticket"
    }
    assert expected
    assert {j["id"] for j in failed_imports["failed_jobs"]} == expected
    assert failed_imports["checked"] == len(expected)
    emulator.reset_requests()
    newest = ZendeskJobStatusAuditOperator(task_id="audit", limit=10).execute({})  # type: ignore[arg-type]
    assert newest["checked"] == 10
    assert sorted(newest["unfinished"]) == sorted(made["working"])
    assert emulator.request_count(LIST) == 1


@pytest.mark.timeout(60)
def test_fail_flag_names_every_failed_job(emulator: ZendeskEmulator) -> None:
    made = fill(emulator)
    op = ZendeskJobStatusAuditOperator(task_id="audit", fail_on_failed_jobs=True)
    with pytest.raises(AirflowFailException) as info:
        op.execute({})  # type: ignore[arg-type]
    for job_id in made["failed"] + made["killed"]:
        assert job_id in str(info.value)
    calm = ZendeskJobStatusAuditOperator(task_id="audit", fail_on_failed_jobs=True, statuses=["completed", "working"])
    assert calm.execute({})["checked"] == 224  # type: ignore[arg-type]


def test_exact_pages_and_jobs_without_a_type(monkeypatch: pytest.MonkeyPatch, requests_mock: rm.Mocker) -> None:
    set_connection(monkeypatch, host="acme", login=EMAIL, password=API_TOKEN)
    second = f"{BASE}{LIST}?page%5Bsize%5D=100&page%5Bafter%5D=c2"
    requests_mock.get(
        f"{BASE}{LIST}?page[size]=100",
        complete_qs=False,
        json={
            "job_statuses": [job("V3-a", "completed"), job("V3-b", "killed", message="Stopped", job_type=None)],
            "meta": {"has_more": True, "after_cursor": "c2"},
            "links": {"next": second},
        },
    )
    requests_mock.get(
        second,
        json={
            "job_statuses": [job("V3-c", "queued", total=4, job_type="Bulk Import Ticket")],
            "meta": {"has_more": False, "after_cursor": None},
            "links": {"next": None},
        },
    )
    summary = ZendeskJobStatusAuditOperator(task_id="audit").execute({})  # type: ignore[arg-type]
    assert requests_mock.call_count == 2
    assert summary == {
        "checked": 3,
        "counts_by_status": {"queued": 1, "completed": 1, "killed": 1},
        "counts_by_type": {"(none)": 2, "Bulk Import Ticket": 1},
        "failed_jobs": [{"id": "V3-b", "job_type": None, "status": "killed", "message": "Stopped"}],
        "unfinished": ["V3-c"],
    }


def test_bad_arguments_fail_at_construction(requests_mock: rm.Mocker) -> None:
    with pytest.raises(ZendeskInvalidInputError, match=r"'done'.*Valid statuses are: queued, working, completed"):
        ZendeskJobStatusAuditOperator(task_id="audit", statuses=["done"])
    for limit in (0, -1, True, 2.5, "10"):
        with pytest.raises(ZendeskInvalidInputError) as info:
            ZendeskJobStatusAuditOperator(task_id="audit", limit=limit)  # type: ignore[arg-type]
        assert str(info.value) == f"limit must be a whole number of jobs, 1 or more, or None; got {limit!r}."
    assert requests_mock.call_count == 0


def test_auth_error_fails_without_retry_and_server_error_allows_retry(
    monkeypatch: pytest.MonkeyPatch, requests_mock: rm.Mocker
) -> None:
    set_connection(monkeypatch, host="acme", login=EMAIL, password=API_TOKEN)
    requests_mock.get(f"{BASE}{LIST}", status_code=401, json={"error": "Couldn't authenticate you"})
    with pytest.raises(AirflowFailException) as info:
        ZendeskJobStatusAuditOperator(task_id="audit").execute({})  # type: ignore[arg-type]
    assert API_TOKEN not in str(info.value)
    requests_mock.get(f"{BASE}{LIST}", status_code=404, json={"error": "InvalidEndpoint"})
    with pytest.raises(AirflowException) as other:
        ZendeskJobStatusAuditOperator(task_id="audit").execute({})  # type: ignore[arg-type]
    assert not isinstance(other.value, AirflowFailException)
