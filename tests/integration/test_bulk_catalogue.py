"""Every new call of the bulk catalogue through the operator, against the emulator: the request Zendesk gets
(method, path, query, body), each result item mapped back to its record, and one failing record."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from tests.integration.test_bulk_operator import CONTEXT, operator

USER = 360_000_001_000


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    emulator: ZendeskEmulator = zendesk_emulator_factory(
        conn_id="zendesk_default", queued_seconds=2, seconds_per_item=0.1
    )
    return emulator


def run(emu: ZendeskEmulator, tmp_path: Path, action: str, records: list[Any], **kwargs: Any) -> dict[str, Any]:
    value: dict[str, Any] = operator(
        emu, tmp_path, action=action, records=records, allow_unresolved=True, **kwargs
    ).execute(CONTEXT)
    return value


def bulk_requests(emu: ZendeskEmulator) -> list[tuple[str, str, str]]:
    return [(r.method, r.path, r.query) for r in emu.requests if not r.path.startswith("/api/v2/job_statuses")]


# (action, records, arguments, failing ids, expected request, result key, expected record indexes that succeed,
#  expected failed record indexes)
CASES = [
    ("tickets.update_many_by_ids", [1, 2, 3], {"change": {"additional_tags": ["imported"]}}, {2},
     ("PUT", "/api/v2/tickets/update_many", "ids=1,2,3"), "updated", [0, 2], [1]),
    ("tickets.mark_many_as_spam", [4, 5], {}, {5},
     ("PUT", "/api/v2/tickets/mark_many_as_spam", "ids=4,5"), "updated", [0], [1]),
    ("users.update_many_by_ids", [7, 8], {"change": {"notes": "moved"}}, set(),
     ("PUT", "/api/v2/users/update_many", "ids=7,8"), "updated", [0, 1], []),
    ("users.update_many_by_external_ids", ["u-1", "u-FAIL", "u-3"], {"change": {"notes": "moved"}}, set(),
     ("PUT", "/api/v2/users/update_many", "external_ids=u-1,u-FAIL,u-3"), "updated", [0, 2], [1]),
    ("organizations.update_many_by_ids", [9, 10], {"change": {"notes": "n"}}, {10},
     ("PUT", "/api/v2/organizations/update_many", "ids=9,10"), "updated", [0], [1]),
    ("organizations.update_many_by_external_ids", ["o-1", "o-2"], {"change": {"notes": "n"}}, set(),
     ("PUT", "/api/v2/organizations/update_many", "external_ids=o-1,o-2"), "updated", [0, 1], []),
    ("users.destroy_many_by_external_ids", ["u-1", "u-FAIL"], {}, set(),
     ("DELETE", "/api/v2/users/destroy_many", "external_ids=u-1,u-FAIL"), "deleted", [0], [1]),
    ("organizations.destroy_many_by_external_ids", ["o-1", "o-2"], {}, set(),
     ("DELETE", "/api/v2/organizations/destroy_many", "external_ids=o-1,o-2"), "deleted", [0, 1], []),
    ("organization_memberships.create_many", [{"user_id": 1, "organization_id": 5},
                                              {"user_id": 2, "organization_id": 5}], {}, {2},
     ("POST", "/api/v2/organization_memberships/create_many", ""), "created", [0], [1]),
    ("organization_memberships.destroy_many", [11, 12], {}, {12},
     ("DELETE", "/api/v2/organization_memberships/destroy_many", "ids=11,12"), "deleted", [0], [1]),
    ("group_memberships.create_many", [{"user_id": 1, "group_id": 6}], {}, set(),
     ("POST", "/api/v2/group_memberships/create_many", ""), "created", [0], []),
    ("group_memberships.destroy_many", [13, 14], {}, {14},
     ("DELETE", "/api/v2/group_memberships/destroy_many", "ids=13,14"), "deleted", [0], [1]),
    ("custom_object_records.create", [{"name": "Flat 1"}, {"name": "Flat FAIL"}], {"custom_object_key": "apartment"},
     set(), ("POST", "/api/v2/custom_objects/apartment/jobs", ""), "created", [0], [1]),
    ("custom_object_records.create_or_update_by_external_id", [{"external_id": "a-1", "name": "Flat"}],
     {"custom_object_key": "apartment"}, set(), ("POST", "/api/v2/custom_objects/apartment/jobs", ""), "created",
     [0], []),
    ("tickets.import", [{"subject": "Archived"}], {"query_params": {"archive_immediately": True}}, set(),
     ("POST", "/api/v2/imports/tickets/create_many", "archive_immediately=true"), "created", [0], []),
]  # fmt: skip


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("action", "records", "arguments", "failing", "expected", "key", "succeeded", "failed"),
    [pytest.param(*case, id=case[0]) for case in CASES],
)
def test_each_new_call_sends_what_zendesk_documents_and_maps_every_item_back(
    emulator: ZendeskEmulator,
    tmp_path: Path,
    action: str,
    records: list[Any],
    arguments: dict[str, Any],
    failing: set[int],
    expected: tuple[str, str, str],
    key: str,
    succeeded: list[int],
    failed: list[int],
) -> None:
    emulator.failing_ids = failing
    value = run(emulator, tmp_path, action, records, **arguments)
    assert bulk_requests(emulator) == [expected]
    assert [entry["record_index"] for entry in value[key]] == succeeded
    assert [failure["record_index"] for failure in value["failures"]] == failed
    assert value["unresolved"] == 0 and value["unmapped"] == []
    assert emulator.records_received() == len(records)


@pytest.mark.timeout(60)
def test_custom_object_records_are_updated_and_deleted_by_their_string_ids(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    created = run(
        emulator, tmp_path, "custom_object_records.create", [{"name": "A"}, {"name": "B"}], custom_object_key="flat"
    )
    ids = [entry["id"] for entry in created["created"]]
    assert all(isinstance(record_id, str) and len(record_id) == 26 for record_id in ids)
    updated = operator(
        emulator,
        tmp_path / "u",
        action="custom_object_records.update",
        records=[{"id": record_id, "name": "C"} for record_id in ids],
        custom_object_key="flat",
    ).execute(CONTEXT)
    assert [entry["id"] for entry in updated["updated"]] == ids
    deleted = operator(
        emulator, tmp_path / "d", action="custom_object_records.delete", records=ids, custom_object_key="flat"
    ).execute(CONTEXT)
    assert [entry["id"] for entry in deleted["deleted"]] == ids


@pytest.mark.timeout(60)
def test_create_or_update_users_returns_created_and_updated(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    run(emulator, tmp_path, "users.create_many", [{"name": "A", "email": "a@example.com"}])
    value = run(
        emulator,
        tmp_path / "again",
        "users.create_or_update_many",
        [{"name": "A", "email": "a@example.com"}, {"name": "B", "email": "b@example.com"}],
    )
    assert [entry["record_index"] for entry in value["updated"]] == [0]
    assert [entry["record_index"] for entry in value["created"]] == [1]


@pytest.mark.timeout(60)
def test_bulk_user_imports_switched_off_say_who_can_switch_them_on(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    emulator.bulk_user_imports = False
    with pytest.raises(AirflowFailException, match="account owner switched them on"):
        run(emulator, tmp_path, "users.create_many", [{"name": "A", "email": "a@example.com"}])
    assert emulator.records_received() == 0


def test_the_call_arguments_are_checked_when_the_dag_is_parsed_and_a_rendered_text_is_read_back(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

    with pytest.raises(ValueError, match="give change= as a non-empty dict"):
        ZendeskBulkJobOperator(task_id="t", action="tickets.update_many_by_ids", records=[1])
    with pytest.raises(ValueError, match="needs custom_object_key="):
        ZendeskBulkJobOperator(task_id="t", action="custom_object_records.create", records=[{}])
    templated = operator(emulator, tmp_path, action="tickets.update_many_by_ids", records=[1], change="{{ x }}")
    assert "change" in templated.template_fields
    templated.change = json.dumps({"additional_tags": ["x"]})  # what a template renders without native objects
    assert templated.execute(CONTEXT)["updated"] == [{"record_index": 0, "id": 1}]
    with pytest.raises(AirflowFailException, match="change rendered as text that is not a JSON object"):
        operator(emulator, tmp_path / "b", action="tickets.update_many_by_ids", records=[1], change="x").execute(
            CONTEXT
        )
