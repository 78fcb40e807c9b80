"""What each bulk call does to its records: job type, progress wording, what one record is.

The result items (:mod:`.job_items`) have exactly the shapes real Zendesk accounts send for each
call, so a client parsed against the emulator parses real answers too. Where Zendesk documents
no shape for a call, the documented neighbour's is used, and the comment above :data:`KINDS`
says which.

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

from dataclasses import dataclass
from typing import Any

from airflow_provider_zendesk_jobs.testing.id_allocator import IdAllocator

#: Fields searched for the ``FAIL`` / ``KILL_JOB`` / ``FAIL_JOB`` markers.
MARKED_FIELDS = ("subject", "email", "name", "external_id")
ITEM_FAIL_MARKER = "FAIL"
KILL_JOB_MARKER = "KILL_JOB"
FAIL_JOB_MARKER = "FAIL_JOB"

#: What one record of a call is: an object, a numeric id, an external id, or a custom object record's string id.
OBJECTS, IDS, EXTERNAL_IDS, RECORD_IDS = "objects", "ids", "external_ids", "record_ids"


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
