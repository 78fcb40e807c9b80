"""The documentation's Python that is not a DAG: run here against the emulator, included by the pages from here.

The regions between ``# [START howto_...]`` and ``# [END howto_...]`` are what the pages show; the
documented return values are compared with what the operators return, so a page cannot show a key
the code no longer sends, or miss one it does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import (
    ZendeskJobResultsOperator,
    ZendeskJobStatusAuditOperator,
)
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import on_clock

# [START howto_results_value]
RESULTS_VALUE = {
    "job_id": "V3-0b5a6293824601a4c59c0fe131439de8",
    "status": "completed",
    "job_type": "Bulk Import Ticket",
    "total": 4,
    "progress": 4,
    "message": "Completed at 2023-09-18 23:35:12 +0000",
    "succeeded_ids": [1000, 1001, 1002],  # ids of the records Zendesk created/updated/deleted
    "failed": [  # the records Zendesk rejected
        {"index": 1, "id": None, "error": "TicketCreateFailed", "details": "Subject: is invalid"},
    ],
    "counts": {"succeeded": 3, "failed": 1},
    "results": [  # every item, in one shape whatever the bulk call
        {"index": 0, "id": 1000, "success": True, "action": None, "status": None,
         "error": None, "details": None, "account_id": 18525119},
        ...,
    ],
}  # fmt: skip
# [END howto_results_value]

# [START howto_audit_value]
AUDIT_VALUE = {
    "checked": 6,
    "counts_by_status": {"working": 1, "completed": 3, "failed": 1, "killed": 1},
    "counts_by_type": {"Bulk Import Ticket": 3, "Bulk Update Ticket": 2, "(none)": 1},
    "failed_jobs": [  # killed counts as failed
        {"id": "V3-...", "job_type": "Bulk Update Ticket", "status": "killed", "message": "..."},
        {"id": "V3-...", "job_type": None, "status": "failed", "message": "..."},
    ],
    "unfinished": ["V3-..."],  # queued, working, or a status this provider does not know
}
# [END howto_audit_value]

# [START howto_bulk_value]
BULK_VALUE = {
    "action": "tickets.import", "records": 5000, "jobs": ["V3-...", ...],
    "succeeded": 4987, "failed": 13, "unresolved": 0,  # unresolved: unreported + uncertain records
    "created": [{"record_index": 0, "id": 1000}, ...],  # "updated" / "deleted" for those calls
    "failures": [{"record_index": 3007, "job_id": "V3-...", "item_index": 7, "id": None,
                  "error": "TicketCreateFailed", "details": "Subject: is invalid"}, ...],
    "unmapped": [...],  # items Zendesk answered that no record can be matched to
    "unreported": [...],  # record indexes no item spoke of (e.g. a job answered "results": [])
    "uncertain": [...],  # chunks that may or may not have started a job: never sent again
}  # fmt: skip
# [END howto_bulk_value]


def test_the_hook_as_the_hook_page_shows_it(zendesk_emulator: ZendeskEmulator) -> None:
    tickets = [{"subject": f"Ticket {n}", "comment": {"body": "Hello"}} for n in range(3)]
    # [START howto_hook]
    hook = ZendeskJobStatusHook(zendesk_conn_id="zendesk_default")
    job = hook.submit_job("POST", "/api/v2/imports/tickets/create_many", {"tickets": tickets})
    status = hook.get_job_status(job.id)  # JobStatus
    print(status.describe_progress())  # "V3-0b5a...: queued 0/3"
    statuses = hook.get_job_statuses([job.id])  # show_many, 100 ids a request, in the order asked
    for recent in hook.list_job_statuses(limit=50):
        print(recent.id, recent.status)
    value = status.to_dict()  # the JSON-safe XCom form
    # [END howto_hook]
    assert isinstance(status, JobStatus) and status.id == job.id
    assert [s.id for s in statuses] == [job.id]
    assert value["job_id"] == job.id and value["total"] == 3


def test_the_emulator_in_python_as_the_testing_page_shows_it() -> None:
    # [START howto_emulator_python]
    from airflow_provider_zendesk_jobs.testing import Fault, ManualClock, ZendeskEmulator

    with ZendeskEmulator(clock=ManualClock()) as emu:
        job_id = emu.create_job("tickets_import", count=3, fail_indexes=[1])
        emu.advance(emu.finish_time(job_id) - emu.clock.now())  # now completed, item 1 failed
        emu.add_fault(Fault("rate_limit", count=1, retry_after=2))  # the next API call answers 429
        print(emu.url, emu.request_count("/api/v2/job_statuses"))
        # [END howto_emulator_python]
        job = emu.job(job_id)
        assert job["status"] == "completed"
        assert [item["index"] for item in job["results"] if "error" in item] == [1]
        assert emu.faults and emu.faults[0].kind == "rate_limit"


# [START howto_pytest_plugin]
def test_my_gate(zendesk_emulator: ZendeskEmulator) -> None:  # started, manual clock, the connection set
    job_id = zendesk_emulator.create_job("tickets_create", count=10)
    status = ZendeskJobStatusHook().get_job_status(job_id)
    assert status.status == "queued"


# [END howto_pytest_plugin]


#: Dicts keyed by data (a status, a job type), not by the value's own names.
DATA_KEYED = ("counts_by_status", "counts_by_type")


def same_shape(documented: Any, actual: Any, where: str = "value") -> None:
    """The documented value has the keys the real one has, at every level; ``...`` stands for more of the same."""
    if where.endswith(tuple(f"[{key!r}]" for key in DATA_KEYED)):
        assert isinstance(actual, dict), where
    elif isinstance(documented, dict):
        assert isinstance(actual, dict), where
        assert set(documented) == set(actual), f"{where}: documented {sorted(documented)}, returned {sorted(actual)}"
        for key, value in documented.items():
            same_shape(value, actual[key], f"{where}[{key!r}]")
    elif isinstance(documented, list) and documented and isinstance(documented[0], dict):
        assert isinstance(actual, list) and actual, where
        same_shape(documented[0], actual[0], f"{where}[0]")


def test_the_documented_results_value_has_the_keys_the_operator_returns(zendesk_emulator: ZendeskEmulator) -> None:
    job_id = zendesk_emulator.create_job("tickets_import", count=4, fail_indexes=[1])
    zendesk_emulator.advance(zendesk_emulator.finish_time(job_id) - zendesk_emulator.clock.now())
    value = ZendeskJobResultsOperator(task_id="read_results", job_id=job_id).execute({})  # type: ignore[arg-type]
    same_shape(RESULTS_VALUE, value)
    assert value["counts"] == {"succeeded": 3, "failed": 1} and value["failed"][0]["index"] == 1


def test_the_documented_audit_value_has_the_keys_the_operator_returns(zendesk_emulator: ZendeskEmulator) -> None:
    zendesk_emulator.create_job("tickets_import", count=2, queued_seconds=0, work_seconds=1)
    zendesk_emulator.create_job("tickets_update", count=2, outcome="killed", work_seconds=1)
    zendesk_emulator.advance(60)
    zendesk_emulator.create_job("tickets_update", count=5, queued_seconds=0, work_seconds=600)
    value = ZendeskJobStatusAuditOperator(task_id="audit").execute({})  # type: ignore[arg-type]
    same_shape(AUDIT_VALUE, value)
    assert value["checked"] == 3 and len(value["failed_jobs"]) == 1 and len(value["unfinished"]) == 1


def test_the_documented_bulk_value_has_the_keys_the_operator_returns(
    zendesk_emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    records = [{"subject": f"Ticket {n}" + (" FAIL" if n == 7 else ""), "comment": {"body": "Hi"}} for n in range(120)]
    value = on_clock(ZendeskBulkJobOperator, zendesk_emulator.clock.now, zendesk_emulator.advance)(
        task_id="import_tickets",
        action="tickets.import",
        records=records,
        poll_interval=5,
        ledger_path=str(tmp_path / "ledgers"),
    ).execute({"run_id": "manual__1"})  # type: ignore[arg-type]
    same_shape(BULK_VALUE, value)
    assert (value["records"], value["succeeded"], value["failed"]) == (120, 119, 1)
