"""The result items of a job, in the shapes real Zendesk accounts send for each call.

A job's end and its items are decided once, when it is created (:func:`plan_job`): which records
fail (the markers and ``failing_ids`` of :mod:`.job_kinds`), whether the whole job is killed or
fails, and the ids Zendesk would hand out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_zendesk_jobs.testing.id_allocator import IdAllocator
from airflow_provider_zendesk_jobs.testing.job_kinds import (
    CUSTOM_RECORDS_PREFIX,
    EXTERNAL_IDS,
    FAIL_JOB_MARKER,
    ITEM_FAIL_MARKER,
    KILL_JOB_MARKER,
    MARKED_FIELDS,
    MEMBERSHIP_TARGETS,
    RECORD_IDS,
    JobKind,
)

#: Zendesk sends ``account_id`` on ticket-import items of some accounts; imports carry this one.
IMPORT_ACCOUNT_ID = 18525119


@dataclass(frozen=True)
class Plan:
    """How a job will end, decided when it is created."""

    outcome: str
    reason: str | None
    #: Items processed before a ``FAIL_JOB``/``KILL_JOB`` record stopped the job.
    stopped_at: int | None
    results: list[dict[str, Any]] | dict[str, Any]


def _bare_field(kind: JobKind) -> str | None:
    """The field a bare string record stands for (searched for the markers), None for objects and numeric ids."""
    return {EXTERNAL_IDS: "external_id", RECORD_IDS: "id"}.get(kind.records)


def _marked(record: object, marker: str, bare: str | None = None) -> str | None:
    """The first marked field whose value contains ``marker`` (``bare`` for a record that is a string)."""
    if isinstance(record, str):
        return bare if bare is not None and marker in record else None
    if not isinstance(record, dict):
        return None
    for field in MARKED_FIELDS:
        value = record.get(field)
        if isinstance(value, str) and marker in value:
            return field
    return None


def record_ticket_id(record: object) -> object:
    return record.get("id") if isinstance(record, dict) else record


def _listed(key: object, failing_ids: Collection[object]) -> bool:
    """Whether ``key`` is in ``failing_ids`` (a value that cannot be in a set never is)."""
    try:
        return key is not None and key in failing_ids
    except TypeError:
        return False


def plan_job(
    kind: JobKind,
    records: Sequence[Any],
    *,
    outcome: str,
    fail_indexes: Collection[int],
    failing_ids: Collection[object],
    ids: IdAllocator,
    scope: str = "",
) -> Plan:
    """Decide the job's end and build its result items (allocating ids as Zendesk would).

    ``scope`` is the custom object key of a custom object records job: names and external ids are
    known per custom object.
    """
    reason: str | None = None
    stopped_at: int | None = None
    bare = _bare_field(kind)
    for index, record in enumerate(records):
        if _marked(record, KILL_JOB_MARKER, bare):
            outcome, reason, stopped_at = "killed", f"record {index} contains {KILL_JOB_MARKER}", index
            break
        if _marked(record, FAIL_JOB_MARKER, bare):
            outcome, reason, stopped_at = "failed", f"record {index} contains {FAIL_JOB_MARKER}", index
            break
    if outcome == "failed" and reason is None:
        reason = "the job could not be processed"
    results: list[dict[str, Any]] | dict[str, Any]
    if kind.name == "deleted_tickets_destroy":
        ok = all(
            index not in fail_indexes and record_ticket_id(record) not in failing_ids
            for index, record in enumerate(records)
        )
        results = {"success": ok}
    else:
        results = []
        for index, record in enumerate(records):
            details = _failure(index, record, fail_indexes, bare)
            results.append(_item(kind, index, record, details, failing_ids, ids, scope))
    return Plan(outcome=outcome, reason=reason, stopped_at=stopped_at, results=results)


def _failure(index: int, record: object, fail_indexes: Collection[int], bare: str | None) -> str | None:
    field = _marked(record, ITEM_FAIL_MARKER, bare)
    if field is not None:
        return f"{field.replace('_', ' ').capitalize()}: is invalid (contains {ITEM_FAIL_MARKER})"
    if index in fail_indexes:
        return "Record rejected (listed in fail_indexes)"
    return None


def _item(
    kind: JobKind,
    index: int,
    record: Any,
    details: str | None,
    failing_ids: Collection[object],
    ids: IdAllocator,
    scope: str,
) -> dict[str, Any]:
    name = kind.name
    if name in ("tickets_create", "tickets_import"):
        if details is not None:
            return {"index": index, "error": "TicketCreateFailed", "id": None, "details": details}
        item: dict[str, Any] = {"index": index, "id": ids.ticket_id()}
        if name == "tickets_import":
            item["account_id"] = IMPORT_ACCOUNT_ID
        return item
    if name == "users_create_or_update":
        return _user_item(record, details, ids)
    if name in ("users_create", "organizations_create"):
        return _created_item(kind, index, record, details, ids)
    if name in MEMBERSHIP_TARGETS:
        return _membership_item(kind, index, record, details, failing_ids, ids)
    if name.startswith(CUSTOM_RECORDS_PREFIX):
        return _custom_item(name[len(CUSTOM_RECORDS_PREFIX) :], index, record, details, failing_ids, ids, scope)
    return _changed_item(kind, index, record, details, failing_ids, ids)


def _changed_item(
    kind: JobKind,
    index: int,
    record: Any,
    details: str | None,
    failing_ids: Collection[object],
    ids: IdAllocator,
) -> dict[str, Any]:
    """An update or a deletion by id or external id: ``{"action", "id", "status", "success"}``."""
    noun = kind.noun
    action, done, error = ("update", "Updated", f"{noun}UpdateFailed")
    if "_destroy" in kind.name:
        action, done, error = ("delete", "Deleted", f"{noun}DeleteFailed")
    key = record_ticket_id(record)
    # By external id, the item names the user or organization by its numeric id only, as Zendesk's do.
    record_id = ids.by_external_id(noun, str(record)) if kind.records == EXTERNAL_IDS else key
    if details is None and _listed(key, failing_ids):
        what = "with external id " if kind.records == EXTERNAL_IDS else ""
        details = f"{noun} {what}{key} could not be {done.lower()} (listed in failing_ids)"
    if details is not None:
        failed: dict[str, Any] = {"action": action, "id": record_id, "success": False, "error": error}
        if noun in ("User", "Organization"):  # users' and organizations' failed items carry the index, as Zendesk's do
            failed = {"index": index, **failed}
        return {**failed, "details": details}
    return {"action": action, "id": record_id, "status": done, "success": True}


def _created_item(kind: JobKind, index: int, record: Any, details: str | None, ids: IdAllocator) -> dict[str, Any]:
    """Users and organizations created: ``{"id", "status": "Created"}`` and the email / external_id sent;
    a failed one has the ``index`` (Zendesk's failed items do) and no id."""
    keys = ("email", "external_id") if kind.name == "users_create" else ("external_id",)
    named = {key: record[key] for key in keys if isinstance(record, dict) and isinstance(record.get(key), str)}
    if details is not None:
        return {"index": index, "error": f"{kind.noun}CreateFailed", "details": details, **named}
    new_id = ids.user_id()
    _remember(ids, kind.noun, named, new_id)
    return {"id": new_id, "status": "Created", **named}


def _remember(ids: IdAllocator, noun: str, named: dict[str, Any], new_id: int) -> None:
    """A user or organization created: later calls by its email or external id find it."""
    email = named.get("email")
    if noun == "User" and isinstance(email, str) and email:
        ids.user_ids_by_email.setdefault(email.casefold(), new_id)
    external_id = named.get("external_id")
    if isinstance(external_id, str) and external_id:
        ids.ids_by_external_id.setdefault((noun, external_id), new_id)


def _user_item(record: Any, details: str | None, ids: IdAllocator) -> dict[str, Any]:
    """Create or update one user: "Updated" when a user with its email or external_id was created before."""
    email = record.get("email") if isinstance(record, dict) else None
    external_id = record.get("external_id") if isinstance(record, dict) else None
    email = email if isinstance(email, str) and email else None
    external_id = external_id if isinstance(external_id, str) and external_id else None
    known = ids.user_ids_by_email.get(email.casefold()) if email is not None else None
    if known is None and external_id is not None:
        known = ids.ids_by_external_id.get(("User", external_id))
    if details is not None:
        if known is not None:
            return {"id": known, "error": "UserUpdateError", "details": details, "status": "Failed"}
        return {"id": None, "error": "UserCreateFailed", "details": details, "status": "Failed"}
    named = {key: value for key, value in (("email", email), ("external_id", external_id)) if value is not None}
    if known is not None:
        item: dict[str, Any] = {"id": known, "status": "Updated"}
    else:
        user_id = ids.user_id()
        _remember(ids, "User", named, user_id)
        item = {"id": user_id, "status": "Created"}
    item.update(named)
    return item


def _membership_item(
    kind: JobKind,
    index: int,
    record: Any,
    details: str | None,
    failing_ids: Collection[object],
    ids: IdAllocator,
) -> dict[str, Any]:
    """A membership created: ``{"id", "index"}``; failed: ``{"index", "error", "details", "success": false}``."""
    user_id = record.get("user_id") if isinstance(record, dict) else None
    if details is None and _listed(user_id, failing_ids):
        details = f"User {user_id} could not be added (listed in failing_ids)"
    if details is not None:
        return {"index": index, "error": f"{kind.noun}CreateFailed", "details": details, "success": False}
    return {"id": ids.membership_id(), "index": index}


def _custom_item(
    action: str,
    index: int,
    record: Any,
    details: str | None,
    failing_ids: Collection[object],
    ids: IdAllocator,
    scope: str,
) -> dict[str, Any]:
    """One item of a custom object records job; record ids are strings."""
    fields = record if isinstance(record, dict) else {}
    if action in ("update", "delete", "delete_by_external_id"):
        key = fields.get("id") if action == "update" else record
        done = "updated" if action == "update" else "deleted"
        if action == "delete_by_external_id":
            record_id: str | None = ids.records_by_external_id.get((scope, str(record)))
        else:
            record_id = key if isinstance(key, str) else None
        if details is None and _listed(key, failing_ids):
            details = f"Record {key} could not be {done} (listed in failing_ids)"
        if details is not None:
            failed: dict[str, Any] = {} if record_id is None else {"id": record_id}
            return {**failed, "error": "RecordInvalid", "details": details, "success": False}
        if record_id is None:  # deleted by an external id this emulator never created: a record made elsewhere
            record_id = ids.records_by_external_id[(scope, str(record))] = ids.record_id()
        if action == "update":
            return {"id": record_id, "action": "update", "status": "Updated", "success": True}
        return {"id": record_id, "action": "delete", "status": "Deleted", "success": True}
    external_id = fields.get("external_id") if isinstance(fields.get("external_id"), str) else None
    name = fields.get("name") if isinstance(fields.get("name"), str) else None
    known: str | None = None
    if action == "create_or_update_by_external_id" and external_id is not None:
        known = ids.records_by_external_id.get((scope, external_id))
    elif action == "create_or_update_by_name" and name is not None:
        known = ids.records_by_name.get((scope, name))
    if details is not None:
        found = {} if known is None else {"id": known}
        return {"index": index, **found, "error": "RecordInvalid", "details": details, "success": False}
    if known is not None:
        return {"id": known, "index": index, "status": "Updated", "success": True}
    new_id = ids.record_id()
    if external_id is not None:
        ids.records_by_external_id.setdefault((scope, external_id), new_id)
    if name is not None:
        ids.records_by_name.setdefault((scope, name), new_id)
    if action == "create":
        return {"id": new_id, "index": index, "success": True}
    return {"id": new_id, "index": index, "status": "Created", "success": True}
