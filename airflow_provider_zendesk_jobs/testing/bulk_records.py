"""The records of a bulk call, read from its request: the body's list, ``?ids=`` or ``?external_ids=``.

Each check gives the 400 Zendesk gives (``RecordInvalid``, ``TooManyRecords``...) as a
:class:`~airflow_provider_zendesk_jobs.testing.messages.BadInput`; nothing here starts a job.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_zendesk_jobs.testing.api_settings import ApiSettings
from airflow_provider_zendesk_jobs.testing.job_kinds import CUSTOM_OBJECT_ACTIONS, KINDS, MEMBERSHIP_TARGETS
from airflow_provider_zendesk_jobs.testing.messages import BadInput, Request, decode_json_body

_BODY_KEYS = {
    "tickets_create": "tickets",
    "tickets_import": "tickets",
    "users_create_or_update": "users",
    "users_create": "users",
    "organizations_create": "organizations",
}
#: Update calls: the body's list key; each record needs an integer id.
_UPDATE_KEYS = {"tickets_update": "tickets", "users_update": "users", "organizations_update": "organizations"}
#: Calls whose records are the ids in ``?ids=`` alone.
_ID_KINDS = frozenset(
    {
        "tickets_destroy",
        "deleted_tickets_destroy",
        "users_destroy",
        "organizations_destroy",
        "tickets_mark_spam",
        "organization_memberships_destroy",
        "group_memberships_destroy",
    }
)
#: Calls that take ``?external_ids=`` instead of ``?ids=``: the kind -> the kind by external id.
_BY_EXTERNAL_ID = {
    "users_update": "users_update_by_external_id",
    "organizations_update": "organizations_update_by_external_id",
    "users_destroy": "users_destroy_by_external_id",
    "organizations_destroy": "organizations_destroy_by_external_id",
}
#: Membership creation: the kind -> (the body's list key, the key naming what the user joins).
_MEMBERSHIP_KEYS = {kind: (KINDS[kind].body_key or "", target) for kind, target in MEMBERSHIP_TARGETS.items()}
#: What a custom object records job's items must be, per action.
_CUSTOM_ITEMS = {
    "create": "objects",
    "update": 'objects, each with a string "id"',
    "delete": "record ids (non-empty strings)",
    "delete_by_external_id": "external ids (non-empty strings)",
    "create_or_update_by_external_id": 'objects, each with a string "external_id"',
    "create_or_update_by_name": 'objects, each with a string "name"',
}
_CUSTOM_ITEM_KEYS = {
    "update": "id",
    "create_or_update_by_external_id": "external_id",
    "create_or_update_by_name": "name",
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_noun(kind: str) -> str:
    """What the ids of a call are, for messages: "ticket ids", "organization membership ids"..."""
    noun = re.sub(r"(?<!^)(?=[A-Z])", " ", KINDS[kind].noun).lower()
    return f"{noun} ids" if noun else "ids"


class BulkRecords:
    """Reads a bulk call's records, at most ``settings.max_records`` per call (Zendesk's 100; read at each call)."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings

    def _check_count(self, count: int, what: str) -> None:
        limit = self.settings.max_records
        if count > limit:
            raise BadInput(400, "TooManyRecords", f"{count} {what} given; at most {limit} are allowed per call")

    def _ids_param(self, request: Request, what: str) -> list[int] | None:
        raw = request.param("ids")
        if raw is None:
            return None
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if not parts:
            raise BadInput(400, "RecordInvalid", f"ids is empty: give a comma-separated list of {what}")
        self._check_count(len(parts), "ids")
        try:
            return [int(part) for part in parts]
        except ValueError:
            raise BadInput(400, "RecordInvalid", f"ids must be a comma-separated list of integer {what}") from None

    def _external_ids_param(self, raw: str) -> list[str]:
        parts = [part.strip() for part in raw.split(",")]
        if not any(parts):
            raise BadInput(400, "RecordInvalid", "external_ids is empty: give a comma-separated list of external ids")
        self._check_count(len(parts), "external_ids")
        if not all(parts):
            raise BadInput(400, "RecordInvalid", "external_ids must not contain an empty external id")
        return parts

    def _query_records(self, request: Request, kind: str) -> tuple[str, list[Any]] | None:
        """(kind, records) of a call whose records are ``?ids=`` or ``?external_ids=``; None when neither is given."""
        by_external_id = _BY_EXTERNAL_ID.get(kind)
        raw = request.param("external_ids") if by_external_id is not None else None
        if raw is not None:
            if request.param("ids") is not None:
                raise BadInput(400, "RecordInvalid", "give ids or external_ids, not both")
            return by_external_id or kind, self._external_ids_param(raw)
        ids = self._ids_param(request, _id_noun(kind))
        return None if ids is None else (kind, list(ids))

    def read(self, request: Request, kind: str) -> tuple[str, list[Any], list[Any]]:
        """(kind, records for the job, records for the record log) of a bulk call, or BadInput."""
        if kind in _ID_KINDS:
            if kind == "tickets_mark_spam":
                body = decode_json_body(request.body)
                if body is not None and body != {}:
                    raise BadInput(
                        400, "RecordInvalid", "mark_many_as_spam takes no body: the tickets are the ?ids= list"
                    )
            found = self._query_records(request, kind)
            if found is None:
                wanted = "ids or external_ids" if kind in _BY_EXTERNAL_ID else "ids"
                raise BadInput(
                    400, "RecordInvalid", f"{wanted} is required: a comma-separated list of {_id_noun(kind)}"
                )
            kind, ids = found
            return kind, ids, ids
        if kind == "tickets_import":
            flag = request.param("archive_immediately")
            if flag is not None and flag not in ("true", "false"):
                raise BadInput(400, "InvalidParameter", f"archive_immediately must be true or false, not {flag!r}")
        body = decode_json_body(request.body)
        key = _UPDATE_KEYS.get(kind)
        if key is not None:
            single = key[:-1]
            found = self._query_records(request, kind)
            if found is not None:
                one = body.get(single) if isinstance(body, dict) else None
                if not isinstance(one, dict):
                    query = "?ids= or ?external_ids=" if kind in _BY_EXTERNAL_ID else "?ids="
                    raise BadInput(400, "RecordInvalid", f'With {query}, the body must be {{"{single}": {{...}}}}')
                # By ?ids=, each record is the change with its id (markers in the change count); by
                # ?external_ids=, the records are the external ids. The log counts the ids themselves.
                found_kind, ids = found
                records = ids if found_kind != kind else [{**one, "id": record_id} for record_id in ids]
                return found_kind, records, ids
            records = self._record_list(body, key)
            for index, record in enumerate(records):
                if not _is_int(record.get("id")):
                    raise BadInput(400, "RecordInvalid", f"{key}[{index}] needs an integer id")
            return kind, records, records
        membership = _MEMBERSHIP_KEYS.get(kind)
        if membership is not None:
            key, target = membership
            records = self._record_list(body, key)
            for index, record in enumerate(records):
                if not (_is_int(record.get("user_id")) and _is_int(record.get(target))):
                    raise BadInput(400, "RecordInvalid", f"{key}[{index}] needs an integer user_id and {target}")
            return kind, records, records
        records = self._record_list(body, _BODY_KEYS[kind])
        return kind, records, records

    def _record_list(self, body: Any, key: str) -> list[dict[str, Any]]:
        if not isinstance(body, dict) or key not in body:
            raise BadInput(400, "RecordInvalid", f'The body must be a JSON object {{"{key}": [...]}}')
        records = body[key]
        if not isinstance(records, list) or not records:
            raise BadInput(400, "RecordInvalid", f'"{key}" must be a non-empty list of objects')
        self._check_count(len(records), key)
        if not all(isinstance(record, dict) for record in records):
            raise BadInput(400, "RecordInvalid", f'every item of "{key}" must be an object')
        return records

    def custom_object_items(self, request: Request) -> tuple[str, list[Any]]:
        """(action, items) of a custom object records job: ``{"job": {"action": ..., "items": [...]}}``."""
        body = decode_json_body(request.body)
        job = body.get("job") if isinstance(body, dict) else None
        if not isinstance(job, dict):
            raise BadInput(
                400, "RecordInvalid", 'The body must be a JSON object {"job": {"action": ..., "items": [...]}}'
            )
        action = job.get("action")
        if not isinstance(action, str) or action not in CUSTOM_OBJECT_ACTIONS:
            raise BadInput(
                400, "RecordInvalid", f'"action" must be one of {", ".join(CUSTOM_OBJECT_ACTIONS)}, not {action!r}'
            )
        items = job.get("items")
        wanted = _CUSTOM_ITEMS[action]
        if not isinstance(items, list) or not items:
            raise BadInput(400, "RecordInvalid", f'"items" must be a non-empty list of {wanted}')
        self._check_count(len(items), "items")
        if action in ("delete", "delete_by_external_id"):
            valid = all(isinstance(item, str) and item for item in items)
        else:
            field_name = _CUSTOM_ITEM_KEYS.get(action)
            valid = all(
                isinstance(item, dict)
                and (field_name is None or (isinstance(item.get(field_name), str) and item[field_name]))
                for item in items
            )
        if not valid:
            raise BadInput(400, "RecordInvalid", f'the items of a "{action}" job must be {wanted}')
        return action, items
