"""What each bulk call does to its records: job type, progress wording, and the result items.

Result items have exactly the shapes real Zendesk accounts send for each call, so a client
parsed against the emulator parses real answers too. Where Zendesk documents no shape for a
call, the documented neighbour's is used, and the comment above :data:`KINDS` says which.

Making records fail on purpose (the only way to get failures through the HTTP bulk calls):

* a record whose ``subject``, ``email``, ``name`` or ``external_id`` contains ``FAIL`` gives a
  failed result item (the rest of the job completes normally); where the records are external
  ids or custom object record ids (strings), the string itself is searched;
* for update and destroy calls, an id in ``ZendeskEmulator.failing_ids`` gives a failed item
  (ticket, user, organization, membership or custom object record ids; for the calls by external
  id, the external id); for a permanent deletion, any such id turns the results into
  ``{"success": false}``; for membership creation, a ``user_id`` in it does;
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

#: What one record of a call is: an object, a numeric id, an external id, or a custom object record's string id.
OBJECTS, IDS, EXTERNAL_IDS, RECORD_IDS = "objects", "ids", "external_ids", "record_ids"

#: Zendesk sends ``account_id`` on ticket-import items of some accounts; imports carry this one.
IMPORT_ACCOUNT_ID = 18525119
FIRST_TICKET_ID = 1000
FIRST_USER_ID = 360_000_001_000
FIRST_MEMBERSHIP_ID = 480_000_001_000
#: Custom object record ids are 26 characters of Crockford's base 32 (ULIDs), e.g. this one, the first handed out.
FIRST_RECORD_ID = "01GDXYD7ZTWYP542BA8MDDTE36"
CUSTOM_OBJECT_JOB_TYPE = "Custom Object Record Bulk Job"
CUSTOM_RECORDS_PREFIX = "custom_object_records_"
#: The ``action`` of a custom object records job (``{"job": {"action": ..., "items": [...]}}``).
CUSTOM_OBJECT_ACTIONS = (
    "create",
    "update",
    "delete",
    "delete_by_external_id",
    "create_or_update_by_external_id",
    "create_or_update_by_name",
)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class JobKind:
    name: str
    job_type: str
    #: Working-phase message before the item number, e.g. "Creating ticket" -> "Creating ticket #31".
    verb: str | None
    #: Key of the record list in the request body (None: the records are ids or external ids in the query).
    body_key: str | None
    #: Permanent deletion reports neither total nor progress, and an object as results.
    counts_items: bool = True
    #: What one record is: OBJECTS, IDS, EXTERNAL_IDS or RECORD_IDS.
    records: str = OBJECTS
    #: The start of the error codes of failed items: "Ticket" -> "TicketUpdateFailed".
    noun: str = ""


def _custom(action: str, verb: str, records: str = OBJECTS) -> JobKind:
    return JobKind(CUSTOM_RECORDS_PREFIX + action, CUSTOM_OBJECT_JOB_TYPE, verb, "items", records=records)


# Where Zendesk's reference states no item shape, limit or job type for a call, the documented neighbour's is used:
# Zendesk's reference states no item shape for tickets/mark_many_as_spam; the neighbour's (tickets/update_many) is used
# Zendesk's reference states no job_type for tickets/mark_many_as_spam; the neighbour's (Bulk Update Ticket) is used
# Zendesk's reference states no item shape for organization_memberships/create_many; the neighbour's (tickets') is used
# Zendesk's reference states no item shape for organization_memberships/destroy_many; the neighbour's (tickets') is used
# Zendesk's reference states no item shape for group_memberships/create_many; the neighbour's (tickets') is used
# Zendesk's reference states no item shape for group_memberships/destroy_many; the neighbour's (tickets') is used
# Zendesk's reference states no failed item shape for custom object jobs; the neighbour's (job statuses page's) is used
# Zendesk's reference states no limit for users/update_many; the neighbour's (100, tickets/update_many) is used
# Zendesk's reference states no limit for the memberships' destroy_many; the neighbour's (100, tickets') is used
# Zendesk's reference states no job_type for the memberships' calls; "Bulk Create Group Membership" and such are ours
# Zendesk's reference states no job_type for custom object jobs; "Custom Object Record Bulk Job" is this emulator's
KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind("tickets_create", "Bulk Create Ticket", "Creating ticket", "tickets", noun="Ticket"),
        JobKind("tickets_import", "Bulk Import Ticket", "Importing ticket", "tickets", noun="Ticket"),
        JobKind("tickets_update", "Bulk Update Ticket", "Updating ticket", "tickets", noun="Ticket"),
        JobKind("users_create_or_update", "Bulk Create Or Update User", "Creating or updating user", "users"),
        JobKind("tickets_destroy", "Bulk Delete Ticket", "Deleting ticket", None, records=IDS, noun="Ticket"),
        JobKind(
            "deleted_tickets_destroy", "Bulk Permanent Delete Ticket", None, None, counts_items=False, records=IDS
        ),
        JobKind("tickets_mark_spam", "Bulk Update Ticket", "Marking ticket as spam", None, records=IDS, noun="Ticket"),
        JobKind("users_create", "Bulk Create User", "Creating user", "users", noun="User"),
        JobKind("users_update", "Bulk Update User", "Updating user", "users", noun="User"),
        JobKind(
            "users_update_by_external_id", "Bulk Update User", "Updating user", None, records=EXTERNAL_IDS, noun="User"
        ),
        JobKind("users_destroy", "Bulk Delete User", "Deleting user", None, records=IDS, noun="User"),
        JobKind(
            "users_destroy_by_external_id", "Bulk Delete User", "Deleting user", None, records=EXTERNAL_IDS, noun="User"
        ),
        JobKind(
            "organizations_create", "Bulk Create Organization", "Creating organization", "organizations",
            noun="Organization",
        ),
        JobKind(
            "organizations_update", "Bulk Update Organization", "Updating organization", "organizations",
            noun="Organization",
        ),
        JobKind(
            "organizations_update_by_external_id", "Bulk Update Organization", "Updating organization", None,
            records=EXTERNAL_IDS, noun="Organization",
        ),
        JobKind(
            "organizations_destroy", "Bulk Delete Organization", "Deleting organization", None, records=IDS,
            noun="Organization",
        ),
        JobKind(
            "organizations_destroy_by_external_id", "Bulk Delete Organization", "Deleting organization", None,
            records=EXTERNAL_IDS, noun="Organization",
        ),
        JobKind(
            "organization_memberships_create", "Bulk Create Organization Membership",
            "Creating organization membership", "organization_memberships", noun="OrganizationMembership",
        ),
        JobKind(
            "organization_memberships_destroy", "Bulk Delete Organization Membership",
            "Deleting organization membership", None, records=IDS, noun="OrganizationMembership",
        ),
        JobKind(
            "group_memberships_create", "Bulk Create Group Membership", "Creating group membership",
            "group_memberships", noun="GroupMembership",
        ),
        JobKind(
            "group_memberships_destroy", "Bulk Delete Group Membership", "Deleting group membership", None,
            records=IDS, noun="GroupMembership",
        ),
        _custom("create", "Creating custom object record"),
        _custom("update", "Updating custom object record"),
        _custom("delete", "Deleting custom object record", RECORD_IDS),
        _custom("delete_by_external_id", "Deleting custom object record", EXTERNAL_IDS),
        _custom("create_or_update_by_external_id", "Creating or updating custom object record"),
        _custom("create_or_update_by_name", "Creating or updating custom object record"),
    )
}  # fmt: skip

#: Membership creation: the kind -> the key naming what the user joins.
MEMBERSHIP_TARGETS = {"organization_memberships_create": "organization_id", "group_memberships_create": "group_id"}

OUTCOMES = frozenset({"completed", "failed", "killed"})


def kind_named(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}; expected one of {', '.join(KINDS)}") from None


def _crockford(value: int) -> str:
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def _from_crockford(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + _CROCKFORD.index(char)
    return value


class IdAllocator:
    """Ids handed out in increasing order, and the users, organizations and records already created.

    Not thread-safe on its own: the job store calls it under its lock.
    """

    def __init__(self) -> None:
        self.next_ticket_id = FIRST_TICKET_ID
        self.next_user_id = FIRST_USER_ID
        self.next_membership_id = FIRST_MEMBERSHIP_ID
        self.next_record_id = _from_crockford(FIRST_RECORD_ID)
        self.generated_users = 0
        self.generated_external_ids = 0
        self.user_ids_by_email: dict[str, int] = {}
        #: (noun, external id) -> numeric id, for users ("User") and organizations ("Organization").
        self.ids_by_external_id: dict[tuple[str, str], int] = {}
        #: (custom object key, external id or name) -> record id.
        self.records_by_external_id: dict[tuple[str, str], str] = {}
        self.records_by_name: dict[tuple[str, str], str] = {}

    def ticket_id(self) -> int:
        value = self.next_ticket_id
        self.next_ticket_id += 1
        return value

    def user_id(self) -> int:
        value = self.next_user_id
        self.next_user_id += 1
        return value

    def membership_id(self) -> int:
        value = self.next_membership_id
        self.next_membership_id += 1
        return value

    def record_id(self) -> str:
        """A custom object record id: 26 upper-case letters and digits, each one greater than the last."""
        value = self.next_record_id
        self.next_record_id += 1
        return _crockford(value)

    def by_external_id(self, noun: str, external_id: str) -> int:
        """The numeric id of the user or organization with this external id (one that existed before, if new)."""
        key = (noun, external_id)
        known = self.ids_by_external_id.get(key)
        if known is None:
            known = self.ids_by_external_id[key] = self.user_id()
        return known

    def external_id(self, noun: str) -> str:
        self.generated_external_ids += 1
        return f"generated-{noun}-{self.generated_external_ids}"


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
    name = kind.name
    if name in ("tickets_create", "tickets_import"):
        return [{"subject": f"Generated ticket {i + 1}", "comment": {"body": "Generated."}} for i in range(count)]
    if name == "users_create_or_update":
        records = []
        for _ in range(count):
            ids.generated_users += 1
            n = ids.generated_users
            records.append({"name": f"Generated user {n}", "email": f"generated-user-{n}@example.com"})
        return records
    if name == "tickets_update":
        return [{"id": ids.ticket_id(), "status": "solved"} for _ in range(count)]
    if name in ("users_create", "organizations_create"):
        noun = name.split("_")[0][:-1]
        return [{"name": f"Generated {noun} {i + 1}", "external_id": f"generated-{noun}-{i + 1}"} for i in range(count)]
    if name in ("users_update", "organizations_update"):
        return [{"id": ids.user_id(), "notes": "Updated."} for _ in range(count)]
    if name in ("users_destroy", "organizations_destroy"):
        return [ids.user_id() for _ in range(count)]
    if name in MEMBERSHIP_TARGETS:
        return [{"user_id": ids.user_id(), MEMBERSHIP_TARGETS[name]: ids.user_id()} for _ in range(count)]
    if name.endswith("memberships_destroy"):
        return [ids.membership_id() for _ in range(count)]
    if name.startswith(CUSTOM_RECORDS_PREFIX):
        return _generated_custom_records(name[len(CUSTOM_RECORDS_PREFIX) :], count, ids)
    if kind.records == EXTERNAL_IDS:
        return [ids.external_id(kind.noun.lower()) for _ in range(count)]
    return [ids.ticket_id() for _ in range(count)]


def _generated_custom_records(action: str, count: int, ids: IdAllocator) -> list[Any]:
    if action == "delete":
        return [ids.record_id() for _ in range(count)]
    if action == "delete_by_external_id":
        return [ids.external_id("record") for _ in range(count)]
    if action == "update":
        return [{"id": ids.record_id(), "name": "Updated"} for _ in range(count)]
    records = []
    for _ in range(count):
        external_id = ids.external_id("record")
        records.append({"name": f"Generated {external_id}", "external_id": external_id})
    return records


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
