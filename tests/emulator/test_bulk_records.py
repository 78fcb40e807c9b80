"""The users' and organizations' bulk calls, the record log, Idempotency-Key and the job limit, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from tests.support.emulator_http import call

# fmt: off
CASES = [
    ("POST", "/api/v2/users/create_many", {"users": [{"name": "A", "email": "a@x.org"}, {"name": "FAIL"}]},
     "Bulk Create User",
     [{"id": 360000001000, "status": "Created", "email": "a@x.org"},
      {"index": 1, "error": "UserCreateFailed", "details": "Name: is invalid (contains FAIL)"}]),
    ("PUT", "/api/v2/users/update_many", {"users": [{"id": 5, "notes": "n"}]}, "Bulk Update User",
     [{"action": "update", "id": 5, "status": "Updated", "success": True}]),
    ("DELETE", "/api/v2/users/destroy_many?ids=5,6", None, "Bulk Delete User",
     [{"action": "delete", "id": 5, "status": "Deleted", "success": True},
      {"action": "delete", "id": 6, "status": "Deleted", "success": True}]),
    ("POST", "/api/v2/organizations/create_many", {"organizations": [{"name": "O", "external_id": "o-1"}]},
     "Bulk Create Organization", [{"id": 360000001000, "status": "Created", "external_id": "o-1"}]),
    ("PUT", "/api/v2/organizations/update_many", {"organizations": [{"id": 9, "name": "FAIL"}]},
     "Bulk Update Organization",
     [{"index": 0, "action": "update", "id": 9, "success": False, "error": "OrganizationUpdateFailed",
       "details": "Name: is invalid (contains FAIL)"}]),
    ("DELETE", "/api/v2/organizations/destroy_many?ids=9", None, "Bulk Delete Organization",
     [{"action": "delete", "id": 9, "status": "Deleted", "success": True}]),
]
# fmt: on


@pytest.mark.parametrize(("method", "path", "body", "job_type", "items"), CASES)
def test_users_and_organizations_bulk_calls_answer_zendesk_shaped_items(
    emu: ZendeskEmulator, method: str, path: str, body: Any, job_type: str, items: list[dict[str, Any]]
) -> None:
    job = call(emu, method, path, body).json()["job_status"]
    assert job["job_type"] == job_type and job["status"] == "queued"
    emu.advance(emu.finish_time(job["id"]) - emu.clock.now())
    assert emu.job(job["id"])["results"] == items


def test_update_calls_need_an_id_per_record(emu: ZendeskEmulator) -> None:
    answer = call(emu, "PUT", "/api/v2/organizations/update_many", {"organizations": [{"name": "no id"}]})
    assert answer.status == 400 and "organizations[0] needs an integer id" in answer.json()["description"]


def test_the_record_log_counts_per_job_and_reports_duplicates_by_external_id(emu: ZendeskEmulator) -> None:
    records = [{"subject": "a", "external_id": "e-1"}, {"subject": "b", "external_id": "e-2"}]
    first = call(emu, "POST", "/api/v2/imports/tickets/create_many", {"tickets": records}).json()["job_status"]
    again = call(emu, "POST", "/api/v2/imports/tickets/create_many", {"tickets": records[:1]}).json()["job_status"]
    call(emu, "DELETE", "/api/v2/tickets/destroy_many?ids=7,7")
    assert emu.records_received() == 5
    assert emu.duplicate_records() == {"e-1": 2}
    assert emu.duplicate_records("id") == {"7": 2}
    summary = call(emu, "GET", "/__emulator__/records", auth=None).json()
    assert summary["jobs"][first["id"]] == 2 and summary["jobs"][again["id"]] == 1
    assert summary["total"] == 5 and summary["duplicates"] == {"e-1": 2}
    assert call(emu, "GET", "/__emulator__/records?field=nope", auth=None).status == 400
    assert call(emu, "DELETE", "/__emulator__/records", auth=None).json() == {"cleared": True}
    assert emu.records_received() == 0 and emu.duplicate_records() == {}


def test_idempotency_key_on_a_bulk_call_changes_nothing_as_on_zendesk(emu: ZendeskEmulator) -> None:
    body = {"tickets": [{"subject": "a", "external_id": "e-1"}]}
    headers = {"Idempotency-Key": "import-chunk-0"}
    one = call(emu, "POST", "/api/v2/tickets/create_many", body, headers=headers)
    two = call(emu, "POST", "/api/v2/tickets/create_many", body, headers=headers)
    assert one.json()["job_status"]["id"] != two.json()["job_status"]["id"]
    assert "x-idempotency-lookup" not in one.headers
    assert emu.duplicate_records() == {"e-1": 2}
    assert emu.record_log.summary()["calls_with_idempotency_key"] == 2


def test_a_call_past_the_job_limit_is_refused_counted_and_receives_nothing(emu: ZendeskEmulator) -> None:
    call(emu, "POST", "/__emulator__/settings", {"max_active_jobs": 1, "seconds_per_item": 2.0}, auth=None)
    body = {"tickets": [{"subject": "a"}]}
    assert call(emu, "POST", "/api/v2/tickets/create_many", body).status == 200
    refused = call(emu, "POST", "/api/v2/tickets/create_many", body)
    assert refused.status == 429 and refused.json()["error"] == "TooManyJobs"
    assert emu.records_received() == 1 and emu.record_log.summary()["refused_calls"] == 1
