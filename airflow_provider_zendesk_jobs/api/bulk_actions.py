"""The bulk calls that start Zendesk jobs: what each sends, and how its result items point back to the records.

Pure data, no I/O: :class:`BulkAction` says, for one call, the HTTP method and path, the key of
the record list in the body (or that the records are ids sent as ``?ids=``), the name of the
XCom list its successes go to, and the fields by which a result item is matched to a record.

How items point back, from Zendesk's reference pages (Tickets, Ticket Import, Users,
Organizations, Job Statuses) and the shapes real accounts send:

* ticket creates and imports: every item has ``index``, its place in the call;
* updates and deletions: every item has the ``id`` of the record it acted on;
* users and organizations created: ``index`` where Zendesk sends it (failed items), else the
  ``email`` (users) or ``external_id`` or ``name`` the item carries;
* a permanent deletion answers one object, ``{"success": true|false}``, for the whole call.

An item that matches no record, or more than one, is never guessed at: it is reported as unmapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_zendesk_jobs.api.request_builders import bulk_call
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError

__all__ = ["BULK_ACTIONS", "MAX_CHUNK_SIZE", "BulkAction", "custom_action", "resolve_action"]

#: Every bulk call of the catalogue takes at most 100 records.
MAX_CHUNK_SIZE = 100


@dataclass(frozen=True)
class BulkAction:
    """One bulk call: where it goes, what it carries, and how its items are matched to records."""

    name: str
    method: str
    path: str
    #: The key of the record list in the JSON body; None when the records are ids sent as ``?ids=``.
    payload_key: str | None
    #: The XCom list of successful items: "created", "updated" or "deleted".
    result_key: str
    #: The item fields that identify a record, tried in order ("index" is the place in the call).
    match_by: tuple[str, ...]
    #: True when the whole call answers ``{"success": ...}`` instead of one item per record.
    object_result: bool = False
    #: True for create-or-update calls: an item whose status is ``Updated`` goes to ``updated``, not ``created``.
    result_by_status: bool = False

    @property
    def result_keys(self) -> tuple[str, ...]:
        """The XCom lists of successes: ``("created", "updated")`` for a create-or-update call."""
        return (self.result_key, "updated") if self.result_by_status else (self.result_key,)

    @property
    def records_are_ids(self) -> bool:
        return self.payload_key is None

    def request(self, records: Sequence[Any]) -> tuple[str, str, Any]:
        """``(method, endpoint, payload)`` for one chunk, as ``ZendeskJobStatusHook.submit_job`` takes them."""
        if self.payload_key is None:
            separator = "&" if "?" in self.path else "?"
            return self.method, f"{self.path}{separator}ids={','.join(str(record) for record in records)}", None
        return self.method, self.path, {self.payload_key: list(records)}


def _action(name: str, method: str, path: str, key: str | None, result: str, match: tuple[str, ...]) -> BulkAction:
    return BulkAction(name, method, path, key, result, match)


_BY_INDEX = ("index",)
_BY_ID = ("id",)
_USERS = ("index", "email", "external_id", "name")
_ORGANIZATIONS = ("index", "external_id", "name")

BULK_ACTIONS: dict[str, BulkAction] = {
    action.name: action
    for action in (
        _action("tickets.create_many", "POST", "/api/v2/tickets/create_many", "tickets", "created", _BY_INDEX),
        _action("tickets.import", "POST", "/api/v2/imports/tickets/create_many", "tickets", "created", _BY_INDEX),
        _action("tickets.update_many", "PUT", "/api/v2/tickets/update_many", "tickets", "updated", _BY_ID),
        _action("tickets.destroy_many", "DELETE", "/api/v2/tickets/destroy_many", None, "deleted", _BY_ID),
        BulkAction(
            "deleted_tickets.destroy_many",
            "DELETE",
            "/api/v2/deleted_tickets/destroy_many",
            None,
            "deleted",
            _BY_ID,
            object_result=True,
        ),
        _action("users.create_many", "POST", "/api/v2/users/create_many", "users", "created", _USERS),
        BulkAction(
            "users.create_or_update_many",
            "POST",
            "/api/v2/users/create_or_update_many",
            "users",
            "created",
            _USERS,
            result_by_status=True,
        ),
        _action("users.update_many", "PUT", "/api/v2/users/update_many", "users", "updated", ("id", *_USERS)),
        _action("users.destroy_many", "DELETE", "/api/v2/users/destroy_many", None, "deleted", _BY_ID),
        _action(
            "organizations.create_many",
            "POST",
            "/api/v2/organizations/create_many",
            "organizations",
            "created",
            _ORGANIZATIONS,
        ),
        _action(
            "organizations.update_many",
            "PUT",
            "/api/v2/organizations/update_many",
            "organizations",
            "updated",
            ("id", *_ORGANIZATIONS),
        ),
        _action("organizations.destroy_many", "DELETE", "/api/v2/organizations/destroy_many", None, "deleted", _BY_ID),
    )
}


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
