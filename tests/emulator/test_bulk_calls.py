"""The rest of Zendesk's bulk calls that answer a job status, over HTTP: by external id, spam,
memberships, custom object records, the ticket import's ``archive_immediately`` and the bulk user
imports switch."""

from __future__ import annotations

import re
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing import JOB_KINDS, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.cli import build_parser
from tests.support.emulator_http import call, get_json

USER, ORG = 360_000_001_000, 360_000_001_001
MEMBERSHIP = 480_000_001_000
RECORD = "01GDXYD7ZTWYP542BA8MDDTE36"
RECORD_2 = "01GDXYD7ZTWYP542BA8MDDTE37"
CUSTOM = "/api/v2/custom_objects/apartment/jobs"


def custom_job(action: str, items: list[Any]) -> dict[str, Any]:
    return {"job": {"action": action, "items": items}}


def finish(emu: ZendeskEmulator, job_id: str) -> dict[str, Any]:
    emu.advance(emu.finish_time(job_id) - emu.clock.now())
    done: dict[str, Any] = get_json(emu, f"/api/v2/job_statuses/{job_id}")["job_status"]
    assert done["status"] == "completed"
    return done


def start(emu: ZendeskEmulator, method: str, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
    answer = call(emu, method, path, body)
    assert answer.status == status, answer.body
    job: dict[str, Any] = answer.json()["job_status"]
    return job


# fmt: off
CASES = [
    ("PUT", "/api/v2/tickets/mark_many_as_spam?ids=1,2", None, {2}, "Bulk Update Ticket", "Marking ticket as spam",
     [{"action": "update", "id": 1, "status": "Updated", "success": True},
      {"action": "update", "id": 2, "success": False, "error": "TicketUpdateFailed",
       "details": "Ticket 2 could not be updated (listed in failing_ids)"}]),
    ("PUT", "/api/v2/users/update_many?external_ids=u-1,u-FAIL", {"user": {"role": "end-user"}}, set(),
     "Bulk Update User", "Updating user",
     [{"action": "update", "id": USER, "status": "Updated", "success": True},
      {"index": 1, "action": "update", "id": USER + 1, "success": False, "error": "UserUpdateFailed",
       "details": "External id: is invalid (contains FAIL)"}]),
    ("PUT", "/api/v2/organizations/update_many?external_ids=o-1,o-FAIL", {"organization": {"notes": "n"}}, set(),
     "Bulk Update Organization", "Updating organization",
     [{"action": "update", "id": USER, "status": "Updated", "success": True},
      {"index": 1, "action": "update", "id": USER + 1, "success": False, "error": "OrganizationUpdateFailed",
       "details": "External id: is invalid (contains FAIL)"}]),
    ("PUT", "/api/v2/organizations/update_many?ids=9,10", {"organization": {"notes": "n"}}, {10},
     "Bulk Update Organization", "Updating organization",
     [{"action": "update", "id": 9, "status": "Updated", "success": True},
      {"index": 1, "action": "update", "id": 10, "success": False, "error": "OrganizationUpdateFailed",
       "details": "Organization 10 could not be updated (listed in failing_ids)"}]),
    ("DELETE", "/api/v2/users/destroy_many?external_ids=u-1,u-FAIL", None, set(), "Bulk Delete User", "Deleting user",
     [{"action": "delete", "id": USER, "status": "Deleted", "success": True},
      {"index": 1, "action": "delete", "id": USER + 1, "success": False, "error": "UserDeleteFailed",
       "details": "External id: is invalid (contains FAIL)"}]),
    ("DELETE", "/api/v2/organizations/destroy_many?external_ids=o-1,o-FAIL", None, set(), "Bulk Delete Organization",
     "Deleting organization",
     [{"action": "delete", "id": USER, "status": "Deleted", "success": True},
      {"index": 1, "action": "delete", "id": USER + 1, "success": False, "error": "OrganizationDeleteFailed",
       "details": "External id: is invalid (contains FAIL)"}]),
    ("POST", "/api/v2/organization_memberships/create_many",
     {"organization_memberships": [{"user_id": 1, "organization_id": 2}, {"user_id": 3, "organization_id": 2}]}, {3},
     "Bulk Create Organization Membership", "Creating organization membership",
     [{"id": MEMBERSHIP, "index": 0},
      {"index": 1, "error": "OrganizationMembershipCreateFailed",
       "details": "User 3 could not be added (listed in failing_ids)", "success": False}]),
    ("DELETE", "/api/v2/organization_memberships/destroy_many?ids=7,8", None, {8},
     "Bulk Delete Organization Membership", "Deleting organization membership",
     [{"action": "delete", "id": 7, "status": "Deleted", "success": True},
      {"action": "delete", "id": 8, "success": False, "error": "OrganizationMembershipDeleteFailed",
       "details": "OrganizationMembership 8 could not be deleted (listed in failing_ids)"}]),
    ("POST", "/api/v2/group_memberships/create_many",
     {"group_memberships": [{"user_id": 4, "group_id": 5}, {"user_id": 1, "group_id": 5}]}, {4},
     "Bulk Create Group Membership", "Creating group membership",
     [{"index": 0, "error": "GroupMembershipCreateFailed",
       "details": "User 4 could not be added (listed in failing_ids)", "success": False},
      {"id": MEMBERSHIP, "index": 1}]),
    ("DELETE", "/api/v2/group_memberships/destroy_many?ids=7,8", None, {7},
     "Bulk Delete Group Membership", "Deleting group membership",
     [{"action": "delete", "id": 7, "success": False, "error": "GroupMembershipDeleteFailed",
       "details": "GroupMembership 7 could not be deleted (listed in failing_ids)"},
      {"action": "delete", "id": 8, "status": "Deleted", "success": True}]),
]
# fmt: on


@pytest.mark.parametrize(("method", "path", "body", "failing", "job_type", "verb", "items"), CASES)
def test_each_call_answers_a_queued_job_that_works_then_completes_with_zendesk_items(
    emu: ZendeskEmulator,
    method: str,
    path: str,
    body: Any,
    failing: set[int],
    job_type: str,
    verb: str,
    items: list[dict[str, Any]],
) -> None:
    emu.failing_ids = failing
    answer = call(emu, method, path, body)
    assert answer.status == 200
    job = answer.json()["job_status"]
    assert (job["status"], job["job_type"], job["total"], job["results"]) == ("queued", job_type, 2, None)
    emu.advance(emu.store_settings.queued_seconds)
    working = get_json(emu, f"/api/v2/job_statuses/{job['id']}")["job_status"]
    assert working["status"] == "working" and working["message"] == f"{verb} #1"
    done = finish(emu, job["id"])
    assert done["results"] == items
    assert done["progress"] == 2


CUSTOM_CASES = [
    ("create", [{"name": "A", "external_id": "a-1"}, {"name": "B FAIL"}],
     [{"id": RECORD, "index": 0, "success": True},
      {"index": 1, "error": "RecordInvalid", "details": "Name: is invalid (contains FAIL)", "success": False}]),
    ("update", [{"id": RECORD, "name": "A2"}, {"id": RECORD_2, "name": "FAIL"}],
     [{"id": RECORD, "action": "update", "status": "Updated", "success": True},
      {"id": RECORD_2, "error": "RecordInvalid", "details": "Name: is invalid (contains FAIL)", "success": False}]),
    ("delete", [RECORD, "01GDXYD7ZTWYP542BA8MFAIL00"],
     [{"id": RECORD, "action": "delete", "status": "Deleted", "success": True},
      {"id": "01GDXYD7ZTWYP542BA8MFAIL00", "error": "RecordInvalid", "details": "Id: is invalid (contains FAIL)",
       "success": False}]),
    ("delete_by_external_id", ["e-1", "e-FAIL"],
     [{"id": RECORD, "action": "delete", "status": "Deleted", "success": True},
      {"error": "RecordInvalid", "details": "External id: is invalid (contains FAIL)", "success": False}]),
    ("create_or_update_by_external_id", [{"external_id": "e-1", "name": "A"}, {"external_id": "e-FAIL"}],
     [{"id": RECORD, "index": 0, "status": "Created", "success": True},
      {"index": 1, "error": "RecordInvalid", "details": "External id: is invalid (contains FAIL)", "success": False}]),
    ("create_or_update_by_name", [{"name": "A"}, {"name": "FAIL"}],
     [{"id": RECORD, "index": 0, "status": "Created", "success": True},
      {"index": 1, "error": "RecordInvalid", "details": "Name: is invalid (contains FAIL)", "success": False}]),
]  # fmt: skip


@pytest.mark.parametrize(("action", "records", "items"), CUSTOM_CASES)
def test_custom_object_jobs_answer_201_and_complete_with_string_record_ids(
    emu: ZendeskEmulator, action: str, records: list[Any], items: list[dict[str, Any]]
) -> None:
    answer = call(emu, "POST", CUSTOM, custom_job(action, records))
    assert answer.status == 201
    job = answer.json()["job_status"]
    assert (job["status"], job["job_type"], job["total"]) == ("queued", "Custom Object Record Bulk Job", 2)
    emu.advance(emu.store_settings.queued_seconds)
    assert emu.job(job["id"])["status"] == "working"
    assert finish(emu, job["id"])["results"] == items


def test_custom_object_record_ids_are_26_upper_case_characters_in_increasing_order(emu: ZendeskEmulator) -> None:
    job = start(emu, "POST", CUSTOM, custom_job("create", [{"name": str(i)} for i in range(40)]), status=201)
    ids = [item["id"] for item in finish(emu, job["id"])["results"]]
    assert all(re.fullmatch(r"[0-9A-Z]{26}", record_id) for record_id in ids)
    assert ids == sorted(ids) and len(set(ids)) == 40 and ids[0] == RECORD


def test_custom_object_create_or_update_answers_updated_for_what_was_created_before(emu: ZendeskEmulator) -> None:
    first = start(emu, "POST", CUSTOM, custom_job("create", [{"name": "Flat 1", "external_id": "f-1"}]), status=201)
    created = finish(emu, first["id"])["results"][0]["id"]
    by_name = custom_job("create_or_update_by_name", [{"name": "Flat 1"}, {"name": "Flat 2"}])
    by_external_id = custom_job("create_or_update_by_external_id", [{"external_id": "f-1"}, {"external_id": "f-2"}])
    one = start(emu, "POST", CUSTOM, by_name, status=201)
    two = start(emu, "POST", CUSTOM, by_external_id, status=201)
    elsewhere = start(emu, "POST", "/api/v2/custom_objects/house/jobs", by_name, status=201)
    gone = start(emu, "POST", CUSTOM, custom_job("delete_by_external_id", ["f-1"]), status=201)
    emu.advance(100.0)
    assert [(item["id"] == created, item["status"]) for item in emu.job(one["id"])["results"]] == [
        (True, "Updated"),
        (False, "Created"),
    ]
    assert [(item["id"] == created, item["status"]) for item in emu.job(two["id"])["results"]] == [
        (True, "Updated"),
        (False, "Created"),
    ]
    # Names and external ids are known per custom object: the same name on another object is a new record.
    assert [item["status"] for item in emu.job(elsewhere["id"])["results"]] == ["Created", "Created"]
    assert emu.job(gone["id"])["results"] == [{"id": created, "action": "delete", "status": "Deleted", "success": True}]


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/v2/custom_objects/Apartment/jobs", "POST", 404),
        ("/api/v2/custom_objects/apart-ment/jobs", "POST", 404),
        ("/api/v2/custom_objects//jobs", "POST", 404),
        ("/api/v2/custom_objects/apartment/records", "POST", 404),
        ("/api/v2/custom_objects/apartment/jobs.json", "POST", 201),
        ("/api/v2/custom_objects/apartment_2/jobs/", "POST", 201),
        ("/api/v2/custom_objects/apartment/jobs", "GET", 405),
        ("/api/v2/custom_objects/apartment/jobs", "PUT", 405),
    ],
)
def test_custom_object_jobs_route(emu: ZendeskEmulator, path: str, method: str, status: int) -> None:
    answer = call(emu, method, path, custom_job("create", [{"name": "A"}]))
    assert answer.status == status
    if status == 405:
        assert answer.headers["allow"] == "POST"


def test_external_ids_name_the_users_and_organizations_created_before(emu: ZendeskEmulator) -> None:
    users = start(emu, "POST", "/api/v2/users/create_many", {"users": [{"name": "A", "external_id": "u-1"}]})
    orgs = start(
        emu, "POST", "/api/v2/organizations/create_many", {"organizations": [{"name": "O", "external_id": "u-1"}]}
    )
    emu.advance(100.0)
    user_id = emu.job(users["id"])["results"][0]["id"]
    org_id = emu.job(orgs["id"])["results"][0]["id"]
    update = start(emu, "PUT", "/api/v2/users/update_many?external_ids=u-1", {"user": {"notes": "n"}})
    org_update = start(emu, "PUT", "/api/v2/organizations/update_many?external_ids=u-1", {"organization": {}})
    delete = start(emu, "DELETE", "/api/v2/users/destroy_many?external_ids=u-1,u-2")
    emu.advance(100.0)
    assert emu.job(update["id"])["results"] == [
        {"action": "update", "id": user_id, "status": "Updated", "success": True}
    ]
    assert emu.job(org_update["id"])["results"][0]["id"] == org_id != user_id
    deleted = emu.job(delete["id"])["results"]
    assert deleted[0] == {"action": "delete", "id": user_id, "status": "Deleted", "success": True}
    assert isinstance(deleted[1]["id"], int) and deleted[1]["id"] not in (user_id, org_id)
    assert all("external_id" not in item for item in deleted)


def test_an_external_id_in_failing_ids_fails_its_item(emu: ZendeskEmulator) -> None:
    emu.failing_ids = {"o-2"}
    job = start(emu, "DELETE", "/api/v2/organizations/destroy_many?external_ids=o-1,o-2")
    items = finish(emu, job["id"])["results"]
    assert [item["success"] for item in items] == [True, False]
    assert items[1]["details"] == "Organization with external id o-2 could not be deleted (listed in failing_ids)"


def test_update_many_by_ids_takes_tag_changes_and_the_log_counts_the_ids(emu: ZendeskEmulator) -> None:
    change = {"ticket": {"additional_tags": ["imported", "vip"], "remove_tags": ["new"], "external_id": "x-1"}}
    job = start(emu, "PUT", "/api/v2/tickets/update_many?ids=11,12", change)
    assert [item["status"] for item in finish(emu, job["id"])["results"]] == ["Updated", "Updated"]
    assert emu.record_log.counts("id") == {"11": 1, "12": 1}
    assert emu.duplicate_records() == {}  # the change's external_id is no record of its own
    start(emu, "PUT", "/api/v2/tickets/update_many?ids=11", {"ticket": {"remove_tags": ["vip"]}})
    assert emu.duplicate_records("id") == {"11": 2}


def test_killed_and_failed_jobs_through_external_ids_and_custom_items(emu: ZendeskEmulator) -> None:
    killed = start(emu, "PUT", "/api/v2/users/update_many?external_ids=a,KILL_JOB,c", {"user": {}})
    failed = start(emu, "POST", CUSTOM, custom_job("delete_by_external_id", ["a", "FAIL_JOB"]), status=201)
    emu.advance(100.0)
    assert emu.job(killed["id"])["status"] == "killed"
    failed_job = emu.job(failed["id"])
    assert failed_job["status"] == "failed" and "record 1 contains FAIL_JOB" in failed_job["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/v2/tickets/mark_many_as_spam?ids={ids}", None),
        ("PUT", "/api/v2/users/update_many?external_ids={external_ids}", {"user": {}}),
        ("PUT", "/api/v2/organizations/update_many?external_ids={external_ids}", {"organization": {}}),
        ("PUT", "/api/v2/organizations/update_many?ids={ids}", {"organization": {}}),
        ("DELETE", "/api/v2/users/destroy_many?external_ids={external_ids}", None),
        ("DELETE", "/api/v2/organizations/destroy_many?external_ids={external_ids}", None),
        ("POST", "/api/v2/organization_memberships/create_many",
         {"organization_memberships": [{"user_id": 1, "organization_id": 2}] * 101}),
        ("DELETE", "/api/v2/organization_memberships/destroy_many?ids={ids}", None),
        ("POST", "/api/v2/group_memberships/create_many", {"group_memberships": [{"user_id": 1, "group_id": 2}] * 101}),
        ("DELETE", "/api/v2/group_memberships/destroy_many?ids={ids}", None),
        ("POST", CUSTOM, custom_job("create", [{"name": "A"}] * 101)),
        ("POST", CUSTOM, custom_job("delete", ["R"] * 101)),
        ("POST", "/api/v2/imports/tickets/create_many?archive_immediately=true", {"tickets": [{}] * 101}),
    ],
)  # fmt: skip
def test_past_100_records_is_400_too_many_records_and_100_is_accepted(
    emu: ZendeskEmulator, method: str, path: str, body: Any
) -> None:
    def sized(count: int) -> tuple[str, Any]:
        ids = ",".join(str(i + 1) for i in range(count))
        external_ids = ",".join(f"e-{i}" for i in range(count))
        resized = body
        if isinstance(body, dict):
            key = next(iter(body))
            if key == "job":
                resized = custom_job(body["job"]["action"], body["job"]["items"][:count])
            elif isinstance(body[key], list):
                resized = {key: body[key][:count]}
        return path.format(ids=ids, external_ids=external_ids), resized

    too_many = call(emu, method, *sized(101))
    assert too_many.status == 400 and too_many.json()["error"] == "TooManyRecords"
    assert "at most 100" in too_many.json()["description"]
    assert call(emu, method, *sized(100)).status in (200, 201)
    assert emu.records_received() == 100


@pytest.mark.parametrize(
    ("method", "path", "raw", "expected"),
    [
        ("PUT", "/api/v2/tickets/mark_many_as_spam", b"", "ids is required"),
        ("PUT", "/api/v2/tickets/mark_many_as_spam?ids=", b"", "ids is empty"),
        ("PUT", "/api/v2/tickets/mark_many_as_spam?ids=1,x", b"", "integer ticket ids"),
        ("PUT", "/api/v2/tickets/mark_many_as_spam?ids=1", b'{"ticket": {}}', "takes no body"),
        ("PUT", "/api/v2/users/update_many?external_ids=a", b'{"users": {}}', '{"user": {...}}'),
        ("PUT", "/api/v2/users/update_many?external_ids=a", b"", '{"user": {...}}'),
        ("PUT", "/api/v2/users/update_many?external_ids=", b'{"user": {}}', "external_ids is empty"),
        ("PUT", "/api/v2/users/update_many?external_ids=a,,b", b'{"user": {}}', "empty external id"),
        ("PUT", "/api/v2/users/update_many?external_ids=a&ids=1", b'{"user": {}}', "not both"),
        ("PUT", "/api/v2/organizations/update_many?external_ids=a", b'{"user": {}}', '{"organization": {...}}'),
        ("PUT", "/api/v2/organizations/update_many?ids=1,b", b'{"organization": {}}', "integer organization ids"),
        ("DELETE", "/api/v2/users/destroy_many", b"", "ids or external_ids is required"),
        ("DELETE", "/api/v2/organizations/destroy_many?external_ids=", b"", "external_ids is empty"),
        ("POST", "/api/v2/organization_memberships/create_many", b'{"memberships": []}',
         '{"organization_memberships": [...]}'),
        ("POST", "/api/v2/organization_memberships/create_many", b'{"organization_memberships": []}', "non-empty"),
        ("POST", "/api/v2/organization_memberships/create_many",
         b'{"organization_memberships": [{"user_id": 1, "organization_id": "2"}]}',
         "organization_memberships[0] needs an integer user_id and organization_id"),
        ("POST", "/api/v2/organization_memberships/create_many",
         b'{"organization_memberships": [{"user_id": true, "organization_id": 2}]}', "integer user_id"),
        ("DELETE", "/api/v2/organization_memberships/destroy_many?ids=a", b"", "integer organization membership ids"),
        ("POST", "/api/v2/group_memberships/create_many", b'{"group_memberships": [{"user_id": 1}]}',
         "group_memberships[0] needs an integer user_id and group_id"),
        ("POST", "/api/v2/group_memberships/create_many", b'{"organization_memberships": [{}]}',
         '{"group_memberships": [...]}'),
        ("DELETE", "/api/v2/group_memberships/destroy_many", b"", "ids is required"),
        ("POST", CUSTOM, b'{"items": []}', '{"job": {"action": ..., "items": [...]}}'),
        ("POST", CUSTOM, b'{"job": {"action": "upsert", "items": [{}]}}', '"action" must be one of create, update'),
        ("POST", CUSTOM, b'{"job": {"items": [{}]}}', '"action" must be one of'),
        ("POST", CUSTOM, b'{"job": {"action": "create", "records": [{}]}}', '"items" must be a non-empty list'),
        ("POST", CUSTOM, b'{"job": {"action": "create", "items": []}}', '"items" must be a non-empty list'),
        ("POST", CUSTOM, b'{"job": {"action": "create", "items": ["a"]}}', "objects"),
        ("POST", CUSTOM, b'{"job": {"action": "update", "items": [{"id": 5}]}}', 'a string "id"'),
        ("POST", CUSTOM, b'{"job": {"action": "delete", "items": [5]}}', "record ids (non-empty strings)"),
        ("POST", CUSTOM, b'{"job": {"action": "delete_by_external_id", "items": [""]}}', "external ids"),
        ("POST", CUSTOM, b'{"job": {"action": "create_or_update_by_external_id", "items": [{"name": "a"}]}}',
         'a string "external_id"'),
        ("POST", CUSTOM, b'{"job": {"action": "create_or_update_by_name", "items": [{"name": ""}]}}',
         'a string "name"'),
    ],
)  # fmt: skip
def test_a_wrong_or_missing_body_key_empty_list_or_bad_ids_is_400_record_invalid(
    emu: ZendeskEmulator, method: str, path: str, raw: bytes, expected: str
) -> None:
    answer = call(emu, method, path, raw=raw, headers={"Content-Type": "application/json"})
    assert answer.status == 400
    assert answer.json()["error"] == "RecordInvalid"
    assert expected in answer.json()["description"]
    assert emu.records_received() == 0


def test_mark_many_as_spam_takes_an_empty_body_too(emu: ZendeskEmulator) -> None:
    assert call(emu, "PUT", "/api/v2/tickets/mark_many_as_spam?ids=1", {}).status == 200
    assert call(emu, "PUT", "/api/v2/tickets/mark_many_as_spam.json?ids=1").status == 200
    assert call(emu, "POST", "/api/v2/tickets/mark_many_as_spam?ids=1").status == 405


@pytest.mark.parametrize("flag", ["true", "false", None])
def test_ticket_import_takes_archive_immediately(emu: ZendeskEmulator, flag: str | None) -> None:
    query = "" if flag is None else f"?archive_immediately={flag}"
    job = start(emu, "POST", f"/api/v2/imports/tickets/create_many{query}", {"tickets": [{"subject": "a"}]})
    assert finish(emu, job["id"])["results"] == [{"index": 0, "id": 1000, "account_id": 18525119}]


@pytest.mark.parametrize("flag", ["True", "1", "yes", ""])
def test_ticket_import_refuses_another_archive_immediately(emu: ZendeskEmulator, flag: str) -> None:
    answer = call(emu, "POST", f"/api/v2/imports/tickets/create_many?archive_immediately={flag}", {"tickets": [{}]})
    assert answer.status == 400
    assert answer.json()["error"] == "InvalidParameter"
    assert "archive_immediately must be true or false" in answer.json()["description"]


@pytest.mark.parametrize("path", ["/api/v2/users/create_many", "/api/v2/users/create_or_update_many"])
def test_without_bulk_user_imports_the_user_imports_answer_403_and_start_nothing(
    zendesk_emulator_factory: Any, path: str
) -> None:
    emu = zendesk_emulator_factory(bulk_user_imports=False, max_active_jobs=1)
    emu.set_job_status(emu.create_job(count=1), "working")  # at the job limit: still 403, not 429
    answer = call(emu, "POST", path, {"users": [{"name": "A", "email": "a@x.org"}]})
    assert answer.status == 403
    body = answer.json()
    assert body["error"] == "Forbidden" and body["description"]
    assert len(get_json(emu, "/api/v2/job_statuses")["job_statuses"]) == 1  # only the job made from Python
    assert emu.records_received() == 0 and emu.record_log.summary()["refused_calls"] == 0
    assert call(emu, "POST", "/api/v2/organizations/create_many", {"organizations": [{}]}).status == 429  # others too
    emu.bulk_user_imports = True
    assert call(emu, "POST", path, {"users": [{"name": "A"}]}).status == 429  # now the job limit answers


def test_the_bulk_user_imports_switch_over_http_and_the_cli(emu: ZendeskEmulator) -> None:
    assert call(emu, "GET", "/__emulator__/settings", auth=None).json()["settings"]["bulk_user_imports"] is True
    answer = call(emu, "POST", "/__emulator__/settings", {"bulk_user_imports": False}, auth=None)
    assert answer.json()["settings"]["bulk_user_imports"] is False and emu.bulk_user_imports is False
    assert call(emu, "POST", "/api/v2/users/create_many", {"users": [{}]}).status == 403
    assert call(emu, "POST", "/__emulator__/settings", {"bulk_user_imports": "no"}, auth=None).status == 400
    assert call(emu, "POST", "/__emulator__/settings", {"bulk_user_imports": True}, auth=None).status == 200
    assert call(emu, "POST", "/api/v2/users/create_many", {"users": [{}]}).status == 200
    with pytest.raises(ValueError, match="bulk_user_imports"):
        emu.bulk_user_imports = 0
    assert build_parser().parse_args([]).bulk_user_imports is True
    assert build_parser().parse_args(["--no-bulk-user-imports"]).bulk_user_imports is False


def test_create_or_update_many_answers_updated_for_an_email_or_external_id_created_before(
    emu: ZendeskEmulator,
) -> None:
    first = start(emu, "POST", "/api/v2/users/create_many", {"users": [{"name": "A", "email": "A@x.org"}]})
    second = start(emu, "POST", "/api/v2/users/create_or_update_many", {"users": [{"name": "B", "external_id": "b-1"}]})
    emu.advance(100.0)
    a_id = emu.job(first["id"])["results"][0]["id"]
    b_id = emu.job(second["id"])["results"][0]["id"]
    users = [{"email": "a@X.org"}, {"name": "B again", "external_id": "b-1"}, {"email": "c@x.org"}]
    job = start(emu, "POST", "/api/v2/users/create_or_update_many", {"users": users})
    assert finish(emu, job["id"])["results"] == [
        {"id": a_id, "status": "Updated", "email": "a@X.org"},
        {"id": b_id, "status": "Updated", "external_id": "b-1"},
        {"id": b_id + 1, "status": "Created", "email": "c@x.org"},
    ]


def test_the_record_log_counts_ids_external_ids_and_objects_of_the_new_calls(emu: ZendeskEmulator) -> None:
    spam = start(emu, "PUT", "/api/v2/tickets/mark_many_as_spam?ids=1,2,2")
    by_external_id = start(emu, "DELETE", "/api/v2/users/destroy_many?external_ids=e-1,e-2")
    members = start(
        emu, "POST", "/api/v2/group_memberships/create_many", {"group_memberships": [{"user_id": 1, "group_id": 2}]}
    )
    records = [{"name": "A", "external_id": "x-1"}, {"name": "B", "external_id": "x-1"}]
    custom = start(emu, "POST", CUSTOM, custom_job("create_or_update_by_external_id", records), status=201)
    deleted = start(emu, "POST", CUSTOM, custom_job("delete", [RECORD]), status=201)
    summary = emu.record_log.summary()
    assert [summary["jobs"][job["id"]] for job in (spam, by_external_id, members, custom, deleted)] == [3, 2, 1, 2, 1]
    assert summary["total"] == 9
    assert emu.duplicate_records() == {"x-1": 2}  # external ids of objects, as for the other calls
    assert emu.duplicate_records("id") == {"2": 2}
    assert set(emu.record_log.counts("id")) == {"1", "2", "e-1", "e-2", RECORD}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/v2/tickets/mark_many_as_spam?ids=1", None),
        ("PUT", "/api/v2/users/update_many?external_ids=a", {"user": {}}),
        ("DELETE", "/api/v2/group_memberships/destroy_many?ids=1", None),
        ("POST", CUSTOM, custom_job("create", [{"name": "A"}])),
    ],
)
def test_the_new_calls_respect_the_job_limit(zendesk_emulator_factory: Any, method: str, path: str, body: Any) -> None:
    emu = zendesk_emulator_factory(max_active_jobs=1)
    assert call(emu, method, path, body).status in (200, 201)
    refused = call(emu, method, path, body)
    assert refused.status == 429 and refused.json()["error"] == "TooManyJobs"
    assert emu.records_received() == 1 and emu.record_log.summary()["refused_calls"] == 1
    emu.advance(100.0)
    assert call(emu, method, path, body).status in (200, 201)


@pytest.mark.parametrize("kind", JOB_KINDS)
def test_every_kind_can_be_made_from_python_with_generated_records(emu: ZendeskEmulator, kind: str) -> None:
    job_id = emu.create_job(kind, count=3)
    emu.advance(emu.finish_time(job_id) - emu.clock.now())
    job = emu.job(job_id)
    assert job["status"] == "completed"
    results = job["results"]
    if isinstance(results, dict):
        assert results == {"success": True}
    else:
        assert len(results) == 3 and all("error" not in item for item in results)
