"""The bulk calls that start Zendesk jobs: what each sends, and how its result items point back to the records.

Pure data, no I/O: :class:`BulkAction` says, for one call, the HTTP method and path, how the
records travel (a list in the body, ``?ids=`` / ``?external_ids=`` with one change for all, or a
custom-object job's ``items``), the XCom list its successes go to, the fields by which a result
item is matched to a record, and the Zendesk reference page it comes from.

How items point back, from Zendesk's reference pages and the shapes real accounts send:

* creates and imports: every item has ``index``, its place in the call;
* updates and deletions: every item has the ``id`` of the record it acted on;
* users and organizations created: ``index`` where Zendesk sends it (failed items), else the
  ``email`` (users) or ``external_id`` or ``name`` the item carries;
* calls by external id answer with Zendesk's own ``id`` only (a failed item may carry ``index``):
  the records no item names are known to have succeeded only when the items left are as many as
  those records and every one a success (:attr:`BulkAction.count_settles`); else they are unresolved;
* a permanent deletion answers one object, ``{"success": true|false}``, for the whole call.

An item that matches no record, or more than one, is never guessed at: it is reported as unmapped.
Where the reference states no limit or item shape for a call, the documented neighbour's is used
and :attr:`BulkAction.unstated` says what was taken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from airflow_provider_zendesk_jobs.api.request_builders import bulk_call
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError

__all__ = [
    "BULK_ACTIONS",
    "MAX_CHUNK_SIZE",
    "BulkAction",
    "check_call_arguments",
    "custom_action",
    "resolve_action",
]

#: Every bulk call of the catalogue takes at most 100 records.
MAX_CHUNK_SIZE = 100
#: Zendesk's custom object keys: lower-case letters, digits and underscores.
_OBJECT_KEY = re.compile(r"[a-z0-9_]{1,100}")
_PARAM_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_REFERENCE = "https://developer.zendesk.com/api-reference/ticketing"

#: What a record is, per call: an object, a numeric id, an external id, or a custom object record's string id.
OBJECTS, IDS, EXTERNAL_IDS, RECORD_IDS = "objects", "ids", "external_ids", "record_ids"


@dataclass(frozen=True)
class BulkAction:
    """One bulk call: where it goes, what it carries, and how its items are matched to records."""

    name: str
    method: str
    path: str
    #: The key of the record list in the JSON body; None when the records travel in the query or a job's items.
    payload_key: str | None
    #: The XCom list of successful items: "created", "updated" or "deleted".
    result_key: str
    #: The item fields that identify a record, tried in order ("index" is the place in the call).
    match_by: tuple[str, ...]
    #: True when the whole call answers ``{"success": ...}`` instead of one item per record.
    object_result: bool = False
    #: True for create-or-update calls: an item whose status is ``Updated`` goes to ``updated``, not ``created``.
    result_by_status: bool = False
    #: What one record is: OBJECTS, IDS, EXTERNAL_IDS or RECORD_IDS.
    records: str = OBJECTS
    #: The body key of the one change every record gets (``{"ticket": {...}}``); the task's ``change=``.
    change_key: str | None = None
    #: A custom-object job's ``action``; the records are the job's ``items``.
    job_action: str | None = None
    #: The Zendesk reference page of the call.
    source: str = ""
    #: What Zendesk's reference leaves unstated for this call, and what is taken instead.
    unstated: str = ""
    #: True where items name no record: a chunk is proven done only by as many successful items as records.
    count_settles: bool = False
    #: Said beside a 403 that is not about the credentials (a feature the account owner switches on).
    forbidden_hint: str = ""

    @property
    def records_are_ids(self) -> bool:
        return self.records != OBJECTS

    @property
    def result_keys(self) -> tuple[str, ...]:
        """The XCom lists of successes: ``("created", "updated")`` for a create-or-update call."""
        return (self.result_key, "updated") if self.result_by_status else (self.result_key,)

    @property
    def needs_object_key(self) -> bool:
        return "{custom_object_key}" in self.path

    def request(
        self,
        records: Sequence[Any],
        *,
        change: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        custom_object_key: str | None = None,
    ) -> tuple[str, str, Any]:
        """``(method, endpoint, payload)`` for one chunk, as ``ZendeskJobStatusHook.submit_job`` takes them."""
        path = self.path.replace("{custom_object_key}", custom_object_key or "") if self.needs_object_key else self.path
        query = {name: _query_value(value) for name, value in (params or {}).items()}
        payload: Any = None
        if self.job_action is not None:
            payload = {"job": {"action": self.job_action, "items": list(records)}}
        elif self.payload_key is not None:
            payload = {self.payload_key: list(records)}
        else:
            query[self.records] = ",".join(str(record) for record in records)
            if self.change_key is not None:
                payload = {self.change_key: dict(change or {})}
        endpoint = f"{path}?{urlencode(query, safe=',')}" if query else path
        return self.method, endpoint, payload


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _ref(page: str, anchor: str) -> str:
    return f"{_REFERENCE}/{page}/#{anchor}"


_BY_INDEX = ("index",)
_BY_ID = ("id",)
_USERS = ("index", "email", "external_id", "name")
_ORGANIZATIONS = ("index", "external_id", "name")
_TICKETS, _IMPORT, _USERS_PAGE = "tickets/tickets", "tickets/ticket_import", "users/users"
_ORGS_PAGE, _DELETED = "organizations/organizations", "tickets/deleted_tickets"
_ORG_MEMBERS, _GROUP_MEMBERS = "organizations/organization_memberships", "groups/group_memberships"
_NEIGHBOUR_LIMIT = "no limit stated; 100, the neighbouring bulk calls' limit, is used"
_NEIGHBOUR_ITEMS = "no item shape stated; the job statuses page's created/updated/deleted shapes are used"
_BULK_USERS = (
    "Zendesk answers 403 to bulk user imports unless the account owner switched them on (Admin Center > "
    "People > Configuration > End users: 'Allow bulk user imports'); ask the account owner."
)


def _ids_call(
    name: str, path: str, result: str, *, records: str = IDS, change: str | None = None, **extra: Any
) -> BulkAction:
    """A call whose records travel as ``?ids=`` or ``?external_ids=`` (with one change for all, for updates)."""
    method = "PUT" if change is not None or name.endswith("spam") else "DELETE"
    by_external_id = records == EXTERNAL_IDS
    return BulkAction(
        name,
        method,
        path,
        None,
        result,
        ("index", "external_id") if by_external_id else _BY_ID,
        records=records,
        change_key=change,
        count_settles=by_external_id,
        **extra,
    )


def _custom(action: str, result: str, records: str, match: tuple[str, ...], **extra: Any) -> BulkAction:
    return BulkAction(
        f"custom_object_records.{action}",
        "POST",
        "/api/v2/custom_objects/{custom_object_key}/jobs",
        None,
        result,
        match,
        records=records,
        job_action=action,
        source="https://developer.zendesk.com/api-reference/custom-data/custom-objects/custom_object_records/"
        "#custom-object-record-bulk-jobs",
        **extra,
    )


BULK_ACTIONS: dict[str, BulkAction] = {
    action.name: action
    for action in (
        BulkAction(
            "tickets.create_many", "POST", "/api/v2/tickets/create_many", "tickets", "created", _BY_INDEX,
            source=_ref(_TICKETS, "create-many-tickets"),
        ),
        BulkAction(
            "tickets.import", "POST", "/api/v2/imports/tickets/create_many", "tickets", "created", _BY_INDEX,
            source=_ref(_IMPORT, "ticket-bulk-import"),
        ),
        BulkAction(
            "tickets.update_many", "PUT", "/api/v2/tickets/update_many", "tickets", "updated", _BY_ID,
            source=_ref(_TICKETS, "update-many-tickets"),
        ),
        _ids_call(
            "tickets.update_many_by_ids", "/api/v2/tickets/update_many", "updated", change="ticket",
            source=_ref(_TICKETS, "update-many-tickets"),
        ),
        _ids_call(
            "tickets.mark_many_as_spam", "/api/v2/tickets/mark_many_as_spam", "updated",
            source=_ref(_TICKETS, "bulk-mark-tickets-as-spam"), unstated=_NEIGHBOUR_ITEMS,
        ),
        _ids_call(
            "tickets.destroy_many", "/api/v2/tickets/destroy_many", "deleted",
            source=_ref(_TICKETS, "bulk-delete-tickets"),
        ),
        BulkAction(
            "deleted_tickets.destroy_many", "DELETE", "/api/v2/deleted_tickets/destroy_many", None, "deleted", _BY_ID,
            object_result=True, records=IDS, source=_ref(_DELETED, "delete-tickets-permanently"),
        ),
        BulkAction(
            "users.create_many", "POST", "/api/v2/users/create_many", "users", "created", _USERS,
            source=_ref(_USERS_PAGE, "create-many-users"), forbidden_hint=_BULK_USERS,
        ),
        BulkAction(
            "users.create_or_update_many", "POST", "/api/v2/users/create_or_update_many", "users", "created",
            _USERS, result_by_status=True, source=_ref(_USERS_PAGE, "create-or-update-many-users"),
            forbidden_hint=_BULK_USERS,
        ),
        BulkAction(
            "users.update_many", "PUT", "/api/v2/users/update_many", "users", "updated", ("id", *_USERS),
            source=_ref(_USERS_PAGE, "update-many-users"), unstated=_NEIGHBOUR_LIMIT,
        ),
        _ids_call(
            "users.update_many_by_ids", "/api/v2/users/update_many", "updated", change="user",
            source=_ref(_USERS_PAGE, "update-many-users"), unstated=_NEIGHBOUR_LIMIT,
        ),
        _ids_call(
            "users.update_many_by_external_ids", "/api/v2/users/update_many", "updated", records=EXTERNAL_IDS,
            change="user", source=_ref(_USERS_PAGE, "update-many-users"), unstated=_NEIGHBOUR_LIMIT,
        ),
        _ids_call("users.destroy_many", "/api/v2/users/destroy_many", "deleted",
                  source=_ref(_USERS_PAGE, "bulk-delete-users")),
        _ids_call(
            "users.destroy_many_by_external_ids", "/api/v2/users/destroy_many", "deleted", records=EXTERNAL_IDS,
            source=_ref(_USERS_PAGE, "bulk-delete-users"),
        ),
        BulkAction(
            "organizations.create_many", "POST", "/api/v2/organizations/create_many", "organizations", "created",
            _ORGANIZATIONS, source=_ref(_ORGS_PAGE, "create-many-organizations"),
        ),
        BulkAction(
            "organizations.update_many", "PUT", "/api/v2/organizations/update_many", "organizations", "updated",
            ("id", *_ORGANIZATIONS), source=_ref(_ORGS_PAGE, "update-many-organizations"),
        ),
        _ids_call(
            "organizations.update_many_by_ids", "/api/v2/organizations/update_many", "updated",
            change="organization", source=_ref(_ORGS_PAGE, "update-many-organizations"),
        ),
        _ids_call(
            "organizations.update_many_by_external_ids", "/api/v2/organizations/update_many", "updated",
            records=EXTERNAL_IDS, change="organization", source=_ref(_ORGS_PAGE, "update-many-organizations"),
        ),
        _ids_call("organizations.destroy_many", "/api/v2/organizations/destroy_many", "deleted",
                  source=_ref(_ORGS_PAGE, "bulk-delete-organizations")),
        _ids_call(
            "organizations.destroy_many_by_external_ids", "/api/v2/organizations/destroy_many", "deleted",
            records=EXTERNAL_IDS, source=_ref(_ORGS_PAGE, "bulk-delete-organizations"),
        ),
        BulkAction(
            "organization_memberships.create_many", "POST", "/api/v2/organization_memberships/create_many",
            "organization_memberships", "created", _BY_INDEX,
            source=_ref(_ORG_MEMBERS, "create-many-memberships"), unstated=_NEIGHBOUR_ITEMS,
        ),
        _ids_call(
            "organization_memberships.destroy_many", "/api/v2/organization_memberships/destroy_many", "deleted",
            source=_ref(_ORG_MEMBERS, "bulk-delete-memberships"), unstated=f"{_NEIGHBOUR_LIMIT}; {_NEIGHBOUR_ITEMS}",
        ),
        BulkAction(
            "group_memberships.create_many", "POST", "/api/v2/group_memberships/create_many", "group_memberships",
            "created", _BY_INDEX, source=_ref(_GROUP_MEMBERS, "bulk-create-memberships"),
            unstated=f"the body key is not stated; group_memberships, as for organization memberships, is used; "
            f"{_NEIGHBOUR_ITEMS}",
        ),
        _ids_call(
            "group_memberships.destroy_many", "/api/v2/group_memberships/destroy_many", "deleted",
            source=_ref(_GROUP_MEMBERS, "bulk-delete-memberships"), unstated=f"{_NEIGHBOUR_LIMIT}; {_NEIGHBOUR_ITEMS}",
        ),
        _custom("create", "created", OBJECTS, _BY_INDEX),
        _custom("update", "updated", OBJECTS, _BY_ID),
        _custom("delete", "deleted", RECORD_IDS, _BY_ID),
        _custom("delete_by_external_id", "deleted", EXTERNAL_IDS, ("index", "external_id"), count_settles=True),
        _custom(
            "create_or_update_by_external_id", "created", OBJECTS, ("index", "external_id"), result_by_status=True
        ),
        _custom("create_or_update_by_name", "created", OBJECTS, ("index", "name"), result_by_status=True),
    )
}  # fmt: skip


def check_call_arguments(
    action: BulkAction,
    *,
    change: Any = None,
    params: Any = None,
    custom_object_key: Any = None,
    rendered: bool = True,
) -> None:
    """What the call needs beside its records, checked before anything is sent (``rendered=False``: at parse time,
    where a template string stands for a value to come)."""
    if action.change_key is not None:
        if not (isinstance(change, str) and not rendered) and (not isinstance(change, Mapping) or not change):
            raise ZendeskInvalidInputError(
                f"{action.name} sends one change for all its records: give change= as a non-empty dict, e.g. "
                f'{{"additional_tags": ["imported"]}} (sent as {{"{action.change_key}": {{...}}}}); got {change!r}.'
            )
    elif change is not None:
        raise ZendeskInvalidInputError(f"{action.name} takes no change=; each record carries its own fields.")
    if action.needs_object_key:
        if not (isinstance(custom_object_key, str) and not rendered and "{{" in custom_object_key) and (
            not isinstance(custom_object_key, str) or not _OBJECT_KEY.fullmatch(custom_object_key)
        ):
            raise ZendeskInvalidInputError(
                f"{action.name} needs custom_object_key=, the custom object's key (lower-case letters, digits and "
                f"underscores, e.g. 'apartment'); got {custom_object_key!r}."
            )
    elif custom_object_key is not None:
        raise ZendeskInvalidInputError(f"{action.name} is not a custom object call: leave custom_object_key out.")
    if params is None or (isinstance(params, str) and not rendered):
        return
    if not isinstance(params, Mapping):
        raise ZendeskInvalidInputError(f"params= must be a dict of query parameters, got {type(params).__name__}.")
    for name, value in params.items():
        if not isinstance(name, str) or not _PARAM_NAME.fullmatch(name) or name in (IDS, EXTERNAL_IDS):
            raise ZendeskInvalidInputError(
                f"params= key {name!r} is refused: a query parameter name of lower-case letters, digits and '_' "
                "(ids and external_ids are the records' own)."
            )
        if isinstance(value, float) or not isinstance(value, (str, int, bool)) or "," in str(value):
            raise ZendeskInvalidInputError(
                f"params={{{name!r}: {value!r}}} is refused: a value is a string, a whole number or a bool, "
                "without commas."
            )


def custom_action(method: str, endpoint: str, payload_key: str | None) -> BulkAction:
    """A bulk call outside the catalogue; items are matched by ``index``, then ``id``, ``external_id``, ``email``."""
    verb, path = bulk_call(method, endpoint, named="")  # refused here, when the DAG is parsed, as submit_job would
    if payload_key is not None and (not isinstance(payload_key, str) or not payload_key):
        raise ZendeskInvalidInputError(
            f"payload_key must be the body's list key or None for ?ids=, got {payload_key!r}."
        )
    return BulkAction(
        name=f"{verb} {path}",
        method=verb,
        path=path,
        payload_key=payload_key,
        result_key="deleted" if verb == "DELETE" else "succeeded",
        match_by=("index", "id", "external_id", "email", "name"),
        records=OBJECTS if payload_key is not None else IDS,
    )


def resolve_action(
    action: str | None, method: str | None = None, endpoint: str | None = None, payload_key: str | None = None
) -> BulkAction:
    """The call named by ``action``, or the one given by ``method``/``endpoint``/``payload_key``; never both."""
    if action is not None:
        if method is not None or endpoint is not None or payload_key is not None:
            raise ZendeskInvalidInputError("Give either action= or method=/endpoint=/payload_key=, not both.")
        try:
            return BULK_ACTIONS[action]
        except (KeyError, TypeError):
            raise ZendeskInvalidInputError(
                f"Unknown bulk action {action!r}; use one of {', '.join(BULK_ACTIONS)}, "
                "or method=, endpoint= and payload_key= for another bulk call."
            ) from None
    if method is None or endpoint is None:
        raise ZendeskInvalidInputError(
            "Name the bulk call: action='tickets.import' (or another of the catalogue), or method= and endpoint=."
        )
    return custom_action(method, endpoint, payload_key)
