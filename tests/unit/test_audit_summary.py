"""The audit's pure arithmetic: filters, counts, the "(none)" label, the table and the failure text."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.operators.audit_summary import (
    NO_JOB_TYPE,
    VALID_STATUSES,
    AuditFilter,
    failure_message,
    format_summary,
    summarise_jobs,
    validate_statuses,
)


def job(job_id: str, status: str, job_type: str | None = "Bulk Import Ticket", message: str | None = None) -> JobStatus:
    data: dict[str, Any] = {"id": job_id, "status": status, "message": message}
    if job_type is not None:
        data["job_type"] = job_type
    return JobStatus.from_api(data)


JOBS = [
    job("V3-a", "completed", message="Completed at 2023-09-18 23:35:12 +0000"),
    job("V3-b", "failed", message="Could not import: invalid requester"),
    job("V3-c", "killed", job_type=None, message="Killed by Zendesk"),
    job("V3-d", "working", job_type="Bulk Update Ticket"),
    job("V3-e", "queued", job_type=None),
    job("V3-f", "paused", job_type="Bulk Update Ticket"),
    job("V3-g", "completed", job_type="Bulk Update Ticket"),
]


def test_summary_counts_failed_and_unfinished() -> None:
    summary = summarise_jobs(JOBS)
    assert summary == {
        "checked": 7,
        "counts_by_status": {"queued": 1, "working": 1, "completed": 2, "failed": 1, "killed": 1, "paused": 1},
        "counts_by_type": {"Bulk Update Ticket": 3, "(none)": 2, "Bulk Import Ticket": 2},
        "failed_jobs": [
            {
                "id": "V3-b",
                "job_type": "Bulk Import Ticket",
                "status": "failed",
                "message": "Could not import: invalid requester",
            },
            {"id": "V3-c", "job_type": None, "status": "killed", "message": "Killed by Zendesk"},
        ],
        "unfinished": ["V3-d", "V3-e", "V3-f"],
    }


def test_status_filter_is_case_insensitive_and_takes_one_name() -> None:
    summary = summarise_jobs(JOBS, AuditFilter.build(statuses="FAILED"))
    assert summary["checked"] == 1
    assert [j["id"] for j in summary["failed_jobs"]] == ["V3-b"]
    both = summarise_jobs(JOBS, AuditFilter.build(statuses=["failed", "killed"]))
    assert [j["id"] for j in both["failed_jobs"]] == ["V3-b", "V3-c"]
    assert both["unfinished"] == []


def test_job_type_filter_and_the_none_label() -> None:
    untyped = summarise_jobs(JOBS, AuditFilter.build(job_types=[NO_JOB_TYPE]))
    assert untyped["checked"] == 2
    assert untyped["counts_by_type"] == {NO_JOB_TYPE: 2}
    updates = summarise_jobs(JOBS, AuditFilter.build(statuses=["completed"], job_types="bulk update ticket"))
    assert updates["checked"] == 1
    assert updates["counts_by_status"] == {"completed": 1}


def test_unknown_status_is_refused_listing_the_valid_ones() -> None:
    with pytest.raises(ZendeskInvalidInputError) as info:
        validate_statuses(["failed", "faild"])
    text = str(info.value)
    assert "'faild'" in text
    for status in VALID_STATUSES:
        assert status in text


@pytest.mark.parametrize("bad", [[], [""], ["ok", 3], 5])
def test_empty_or_non_text_filters_are_refused(bad: Any) -> None:
    with pytest.raises(ZendeskInvalidInputError):
        AuditFilter.build(job_types=bad)


def test_table_shows_counts_failures_and_unfinished() -> None:
    table = format_summary(summarise_jobs(JOBS))
    lines = table.splitlines()
    assert lines[0] == "Zendesk job audit: 7 jobs checked"
    assert any(line.split() == ["failed", "1"] for line in lines)
    assert any(line.split()[:3] == ["V3-c", "(none)", "killed"] for line in lines)
    assert lines[-1] == "Unfinished jobs (3): V3-d, V3-e, V3-f"


def test_table_for_nothing_checked_and_nothing_failed() -> None:
    assert format_summary(summarise_jobs([])) == "Zendesk job audit: 0 jobs checked (none matched)"
    table = format_summary(summarise_jobs([job("V3-a", "completed")]))
    assert "Failed jobs: none" in table
    assert "Unfinished: none" in table


def test_long_messages_are_cut_in_the_table_and_failure_text() -> None:
    summary = summarise_jobs([job("V3-x", "failed", message="word " * 100)])
    table = format_summary(summary)
    assert max(len(line) for line in table.splitlines()) < 140
    text = failure_message(summary)
    assert text.startswith("1 of 1 Zendesk jobs ended failed or killed: V3-x (failed: word word")
    assert "..." in text
