"""What each bulk call does to its records: job type, progress wording, and the result items.

Result items have exactly the shapes real Zendesk accounts send for each call, so a client
parsed against the emulator parses real answers too.

Making records fail on purpose (the only way to get failures through the HTTP bulk calls):

* a record whose ``subject``, ``email``, ``name`` or ``external_id`` contains ``FAIL`` gives a
  failed result item (the rest of the job completes normally);
* for update and destroy calls, a ticket id in ``ZendeskEmulator.failing_ids`` gives a failed item;
  for a permanent deletion, any such id turns the results into ``{"success": false}``;
* a record whose fields contain ``KILL_JOB`` ends the whole job ``killed``; ``FAIL_JOB`` ends it
  ``failed``, with a message naming the record. The first such record wins.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

#: Fields searched for the ``FAIL`` / ``KILL_JOB`` / ``FAIL_JOB`` markers.
MARKED_FIELDS = ("subject", "email", "name", "external_id")
ITEM_FAIL_MARKER = "FAIL"
KILL_JOB_MARKER = "KILL_JOB"
FAIL_JOB_MARKER = "FAIL_JOB"

#: Zendesk sends ``account_id`` on ticket-import items of some accounts; imports carry this one.
IMPORT_ACCOUNT_ID = 18525119
FIRST_TICKET_ID = 1000
FIRST_USER_ID = 360_000_001_000


@dataclass(frozen=True)
class JobKind:
    name: str
    job_type: str
    #: Working-phase message before the item number, e.g. "Creating ticket" -> "Creating ticket #31".
    verb: str | None
    #: Key of the record list in the request body (None: the records are ticket ids in ``?ids=``).
    body_key: str | None
    #: Permanent deletion reports neither total nor progress, and an object as results.
    counts_items: bool = True


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind("tickets_create", "Bulk Create Ticket", "Creating ticket", "tickets"),
        JobKind("tickets_import", "Bulk Import Ticket", "Importing ticket", "tickets"),
        JobKind("tickets_update", "Bulk Update Ticket", "Updating ticket", "tickets"),
        JobKind("users_create_or_update", "Bulk Create Or Update User", "Creating or updating user", "users"),
        JobKind("tickets_destroy", "Bulk Delete Ticket", "Deleting ticket", None),
        JobKind("deleted_tickets_destroy", "Bulk Permanent Delete Ticket", None, None, counts_items=False),
        JobKind("users_create", "Bulk Create User", "Creating user", "users"),
        JobKind("users_update", "Bulk Update User", "Updating user", "users"),
        JobKind("users_destroy", "Bulk Delete User", "Deleting user", None),
        JobKind("organizations_create", "Bulk Create Organization", "Creating organization", "organizations"),
        JobKind("organizations_update", "Bulk Update Organization", "Updating organization", "organizations"),
        JobKind("organizations_destroy", "Bulk Delete Organization", "Deleting organization", None),
    )
}

OUTCOMES = frozenset({"completed", "failed", "killed"})


def kind_named(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}; expected one of {', '.join(KINDS)}") from None


class IdAllocator:
    """Ticket and user ids handed out in increasing order, and the emails already seen.

    Not thread-safe on its own: the job store calls it under its lock.
    """

    def __init__(self) -> None:
        self.next_ticket_id = FIRST_TICKET_ID
        self.next_user_id = FIRST_USER_ID
        self.generated_users = 0
        self.user_ids_by_email: dict[str, int] = {}

    def ticket_id(self) -> int:
        value = self.next_ticket_id
        self.next_ticket_id += 1
        return value

    def user_id(self) -> int:
        value = self.next_user_id
        self.next_user_id += 1
        return value


@dataclass(frozen=True)
class Plan:
    """How a job will end, decided when it is created."""

    outcome: str
    reason: str | None
    #: Items processed before a ``FAIL_JOB``/``KILL_JOB`` record stopped the job.
    stopped_at: int | None
    results: list[dict[str, Any]] | dict[str, Any]


def generate_records(kind: JobKind, count: int, ids: IdAllocator) -> list[Any]:
    """Plausible records for ``count`` items, for jobs created without a request body."""
    if kind.name in ("tickets_create", "tickets_import"):
        return [{"subject": f"Generated ticket {i + 1}", "comment": {"body": "Generated."}} for i in range(count)]
    if kind.name == "users_create_or_update":
        records = []
        for _ in range(count):
            ids.generated_users += 1
            n = ids.generated_users
            records.append({"name": f"Generated user {n}", "email": f"generated-user-{n}@example.com"})
        return records
    if kind.name == "tickets_update":
        return [{"id": ids.ticket_id(), "status": "solved"} for _ in range(count)]
    if kind.name in ("users_create", "organizations_create"):
        noun = kind.name.split("_")[0][:-1]
        return [{"name": f"Generated {noun} {i + 1}", "external_id": f"generated-{noun}-{i + 1}"} for i in range(count)]
    if kind.name in ("users_update", "organizations_update"):
        return [{"id": ids.user_id(), "notes": "Updated."} for _ in range(count)]
    if kind.name in ("users_destroy", "organizations_destroy"):
        return [ids.user_id() for _ in range(count)]
    return [ids.ticket_id() for _ in range(count)]


def _marked(record: object, marker: str) -> str | None:
    """The first marked field whose value contains ``marker``."""
    if not isinstance(record, dict):
        return None
    for field in MARKED_FIELDS:
        value = record.get(field)
        if isinstance(value, str) and marker in value:
            return field
    return None


def record_ticket_id(record: object) -> object:
    return record.get("id") if isinstance(record, dict) else record


def plan_job(
    kind: JobKind,
    records: Sequence[Any],
    *,
    outcome: str,
    fail_indexes: Collection[int],
    failing_ids: Collection[object],
    ids: IdAllocator,
) -> Plan:
    """Decide the job's end and build its result items (allocating ids as Zendesk would)."""
    reason: str | None = None
    stopped_at: int | None = None
    for index, record in enumerate(records):
        if _marked(record, KILL_JOB_MARKER):
            outcome, reason, stopped_at = "killed", f"record {index} contains {KILL_JOB_MARKER}", index
            break
        if _marked(record, FAIL_JOB_MARKER):
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
        results = [_item(kind, index, record, fail_indexes, failing_ids, ids) for index, record in enumerate(records)]
    return Plan(outcome=outcome, reason=reason, stopped_at=stopped_at, results=results)


def _failure(index: int, record: object, fail_indexes: Collection[int]) -> str | None:
    field = _marked(record, ITEM_FAIL_MARKER)
    if field is not None:
        return f"{field.replace('_', ' ').capitalize()}: is invalid (contains {ITEM_FAIL_MARKER})"
    if index in fail_indexes:
        return "Record rejected (listed in fail_indexes)"
    return None


def _item(
    kind: JobKind,
    index: int,
    record: Any,
    fail_indexes: Collection[int],
    failing_ids: Collection[object],
    ids: IdAllocator,
) -> dict[str, Any]:
    details = _failure(index, record, fail_indexes)
    if kind.name in ("tickets_create", "tickets_import"):
        if details is not None:
            return {"index": index, "error": "TicketCreateFailed", "id": None, "details": details}
        item: dict[str, Any] = {"index": index, "id": ids.ticket_id()}
        if kind.name == "tickets_import":
            item["account_id"] = IMPORT_ACCOUNT_ID
        return item
    if kind.name == "users_create_or_update":
        return _user_item(record, details, ids)
    if kind.name in ("users_create", "organizations_create"):
        return _created_item(kind, index, record, details, ids)
    resource = kind.name.split("_")[0]
    noun = {"tickets": "Ticket", "users": "User", "organizations": "Organization"}[resource]
    action, done, error = ("update", "Updated", f"{noun}UpdateFailed")
    if kind.name.endswith("_destroy"):
        action, done, error = ("delete", "Deleted", f"{noun}DeleteFailed")
    ticket_id = record_ticket_id(record)
    if details is None and ticket_id in failing_ids:
        details = f"{noun} {ticket_id} could not be {done.lower()} (listed in failing_ids)"
    if details is not None:
        failed: dict[str, Any] = {"action": action, "id": ticket_id, "success": False, "error": error}
        if resource != "tickets":  # users' and organizations' failed items carry the index, as Zendesk's do
            failed = {"index": index, **failed}
        return {**failed, "details": details}
    return {"action": action, "id": ticket_id, "status": done, "success": True}


def _created_item(kind: JobKind, index: int, record: Any, details: str | None, ids: IdAllocator) -> dict[str, Any]:
    """Users and organizations created: ``{"id", "status": "Created"}`` and the email / external_id sent;
    a failed one has the ``index`` (Zendesk's failed items do) and no id."""
    keys = ("email", "external_id") if kind.name == "users_create" else ("external_id",)
    named = {key: record[key] for key in keys if isinstance(record, dict) and isinstance(record.get(key), str)}
    noun = "User" if kind.name == "users_create" else "Organization"
    if details is not None:
        return {"index": index, "error": f"{noun}CreateFailed", "details": details, **named}
    return {"id": ids.user_id(), "status": "Created", **named}


def _user_item(record: Any, details: str | None, ids: IdAllocator) -> dict[str, Any]:
    email = record.get("email") if isinstance(record, dict) else None
    key = email.casefold() if isinstance(email, str) and email else None
    known = ids.user_ids_by_email.get(key) if key is not None else None
    if details is not None:
        if known is not None:
            return {"id": known, "error": "UserUpdateError", "details": details, "status": "Failed"}
        return {"id": None, "error": "UserCreateFailed", "details": details, "status": "Failed"}
    if known is not None:
        item: dict[str, Any] = {"id": known, "status": "Updated"}
    else:
        user_id = ids.user_id()
        if key is not None:
            ids.user_ids_by_email[key] = user_id
        item = {"id": user_id, "status": "Created"}
    if isinstance(email, str) and email:
        item["email"] = email
    return item
