"""The Zendesk side of the emulator: routing and the endpoints, from a request to an answer.

Order of checks for ``/api/v2`` calls, as a real account applies them: the rate limit (when
set), then authentication, then the route (404 / 405), then the endpoint's own validation.
A ``.json`` suffix is accepted on every ``/api/v2`` path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from airflow_provider_zendesk_jobs.testing.clock import Clock
from airflow_provider_zendesk_jobs.testing.credentials import AUTHENTICATED, Authenticator
from airflow_provider_zendesk_jobs.testing.job_kinds import (
    CUSTOM_OBJECT_ACTIONS,
    CUSTOM_RECORDS_PREFIX,
    KINDS,
    MEMBERSHIP_TARGETS,
)
from airflow_provider_zendesk_jobs.testing.jobs_store import JobStore, TooManyJobsError
from airflow_provider_zendesk_jobs.testing.messages import (
    BadInput,
    Request,
    Response,
    encode_json,
    error_response,
    json_response,
)
from airflow_provider_zendesk_jobs.testing.pagination import cursor_links, cursor_page, offset_page
from airflow_provider_zendesk_jobs.testing.rate_limit import RateLimiter
from airflow_provider_zendesk_jobs.testing.record_log import RecordLog

API_PREFIX = "/api/v2"
JOB_STATUSES = "/api/v2/job_statuses"
SHOW_MANY = "/api/v2/job_statuses/show_many"
TOKENS_PATH = "/oauth/tokens"
PAGINATION_STYLES = ("cursor", "offset")

#: Bulk endpoints: path -> (method, job kind).
BULK_ROUTES: dict[str, tuple[str, str]] = {
    "/api/v2/tickets/create_many": ("POST", "tickets_create"),
    "/api/v2/imports/tickets/create_many": ("POST", "tickets_import"),
    "/api/v2/tickets/update_many": ("PUT", "tickets_update"),
    "/api/v2/tickets/mark_many_as_spam": ("PUT", "tickets_mark_spam"),
    "/api/v2/users/create_or_update_many": ("POST", "users_create_or_update"),
    "/api/v2/tickets/destroy_many": ("DELETE", "tickets_destroy"),
    "/api/v2/deleted_tickets/destroy_many": ("DELETE", "deleted_tickets_destroy"),
    "/api/v2/users/create_many": ("POST", "users_create"),
    "/api/v2/users/update_many": ("PUT", "users_update"),
    "/api/v2/users/destroy_many": ("DELETE", "users_destroy"),
    "/api/v2/organizations/create_many": ("POST", "organizations_create"),
    "/api/v2/organizations/update_many": ("PUT", "organizations_update"),
    "/api/v2/organizations/destroy_many": ("DELETE", "organizations_destroy"),
    "/api/v2/organization_memberships/create_many": ("POST", "organization_memberships_create"),
    "/api/v2/organization_memberships/destroy_many": ("DELETE", "organization_memberships_destroy"),
    "/api/v2/group_memberships/create_many": ("POST", "group_memberships_create"),
    "/api/v2/group_memberships/destroy_many": ("DELETE", "group_memberships_destroy"),
}
#: ``POST /api/v2/custom_objects/{custom_object_key}/jobs``: a custom object records job, answered with 201.
CUSTOM_OBJECTS = "/api/v2/custom_objects/"
CUSTOM_OBJECT_JOBS = "/jobs"
_OBJECT_KEY = re.compile(r"[a-z0-9_]+")
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
#: Answered 403 while the account owner has not switched bulk user imports on (``ApiSettings.bulk_user_imports``).
_BULK_USER_IMPORTS = frozenset({"users_create", "users_create_or_update"})
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

_UNAUTHORIZED_BODY = encode_json({"error": "Couldn't authenticate you"})


@dataclass
class ApiSettings:
    """Limits and answer styles of the Zendesk endpoints; mutable while the emulator runs."""

    max_active_jobs: int = 30
    max_records: int = 100
    max_show_many: int = 100
    pagination_style: str = "cursor"
    next_link_base: str | None = None
    failing_ids: set[object] = field(default_factory=set)
    #: False: users/create_many and create_or_update_many answer 403, as on an account whose owner has not
    #: switched on bulk user imports (nothing is started, recorded or counted).
    bulk_user_imports: bool = True

    def __post_init__(self) -> None:
        for name in ("max_active_jobs", "max_records", "max_show_many"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        if not isinstance(self.bulk_user_imports, bool):
            raise ValueError(f"bulk_user_imports must be True or False, not {self.bulk_user_imports!r}")


def normalise(path: str) -> str:
    """The route of a path: without ``.json`` and a trailing slash."""
    if path.endswith(".json"):
        path = path[:-5]
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def custom_object_key(route: str) -> str | None:
    """The key in ``/api/v2/custom_objects/{key}/jobs``; None for another path or a key Zendesk has none like."""
    if not (route.startswith(CUSTOM_OBJECTS) and route.endswith(CUSTOM_OBJECT_JOBS)):
        return None
    key = route[len(CUSTOM_OBJECTS) : -len(CUSTOM_OBJECT_JOBS)]
    return key if _OBJECT_KEY.fullmatch(key) else None


def not_found_endpoint() -> Response:
    return error_response(404, "InvalidEndpoint", "Not found")


def method_not_allowed(allowed: str) -> Response:
    return error_response(
        405, "MethodNotAllowed", f"This endpoint only accepts {allowed}", headers=[("Allow", allowed)]
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_noun(kind: str) -> str:
    """What the ids of a call are, for messages: "ticket ids", "organization membership ids"..."""
    noun = re.sub(r"(?<!^)(?=[A-Z])", " ", KINDS[kind].noun).lower()
    return f"{noun} ids" if noun else "ids"


def _decode_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(400, "InvalidJSON", f"The request body is not valid JSON: {exc}") from None


class ZendeskApi:
    def __init__(
        self,
        *,
        clock: Clock,
        store: JobStore,
        auth: Authenticator,
        limiter: RateLimiter,
        settings: ApiSettings,
        base_url: Callable[[], str],
        records: RecordLog | None = None,
    ) -> None:
        self.clock = clock
        self.store = store
        self.auth = auth
        self.limiter = limiter
        self.settings = settings
        self.base_url = base_url
        self.records = records if records is not None else RecordLog()

    def handle(self, request: Request, auth: str) -> Response:
        path = request.path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            decision = self.limiter.hit(self.clock.now())
            if decision is None:
                return self._api(request, auth)
            if decision.allowed:
                response = self._api(request, auth)
            else:
                response = error_response(
                    429,
                    "APIRateLimitExceeded",
                    "Number of allowed API requests per minute exceeded",
                    headers=[("Retry-After", str(decision.retry_after))],
                )
            response.headers.extend(decision.headers)
            return response
        if normalise(path) == TOKENS_PATH:
            if request.method != "POST":
                return method_not_allowed("POST")
            return self._issue_token(request)
        return not_found_endpoint()

    # -- /api/v2 ----------------------------------------------------------------------------

    def _api(self, request: Request, auth: str) -> Response:
        if auth not in AUTHENTICATED:
            return Response(401, _UNAUTHORIZED_BODY)
        route = normalise(request.path)
        method = request.method
        try:
            if route.startswith(JOB_STATUSES + "/"):
                if method != "GET":
                    return method_not_allowed("GET")
                if route == SHOW_MANY:
                    return self._show_many(request)
                job_id = unquote(route[len(JOB_STATUSES) + 1 :])
                if "/" in job_id:
                    return not_found_endpoint()
                return self._show(job_id)
            if route == JOB_STATUSES:
                if method != "GET":
                    return method_not_allowed("GET")
                return self._list(request)
            bulk = BULK_ROUTES.get(route)
            if bulk is None:
                key = custom_object_key(route)
                if key is None:
                    return not_found_endpoint()
                if method != "POST":
                    return method_not_allowed("POST")
                return self._custom_object_job(request, key)
            if method != bulk[0]:
                return method_not_allowed(bulk[0])
            return self._bulk(request, bulk[1])
        except BadInput as exc:
            return exc.response

    def _show(self, job_id: str) -> Response:
        body = self.store.show_body(job_id, self.clock.now(), self.base_url())
        if body is None:
            return error_response(404, "RecordNotFound", "Not found")
        return Response(200, body)

    def _show_many(self, request: Request) -> Response:
        raw = request.param("ids")
        ids = [part.strip() for part in raw.split(",")] if raw is not None else []
        ids = [job_id for job_id in ids if job_id]
        if not ids:
            raise BadInput(400, "InvalidParameter", "ids is required: a comma-separated list of job status ids")
        if len(ids) > self.settings.max_show_many:
            raise BadInput(
                400, "TooManyIds", f"{len(ids)} ids given; at most {self.settings.max_show_many} are allowed per call"
            )
        now = self.clock.now()
        base = self.base_url()
        jobs = self.store.readable(ids, now)
        return json_response(200, {"job_statuses": [job.view(now, base) for job in jobs]})

    def _list(self, request: Request) -> Response:
        now = self.clock.now()
        base = self.base_url()
        link_base = self.settings.next_link_base or base
        jobs = self.store.listed(now)
        if self.settings.pagination_style == "offset":
            chunk, extra = offset_page(jobs, request, link_base, request.path)
            return json_response(200, {"job_statuses": [job.view(now, base) for job in chunk], **extra})
        keys = [job.sort_key(now) for job in jobs]
        page, size = cursor_page(keys, request)
        chunk = jobs[page.start : page.stop]
        first = keys[page.start] if chunk else None
        last = keys[page.stop - 1] if chunk else None
        meta, links = cursor_links(link_base, request.path, size, page, first, last)
        body = {"job_statuses": [job.view(now, base) for job in chunk], "meta": meta, "links": links}
        return json_response(200, body)

    # -- bulk calls -------------------------------------------------------------------------

    def _bulk(self, request: Request, kind: str) -> Response:
        if kind in _BULK_USER_IMPORTS and not self.settings.bulk_user_imports:
            # What Zendesk answers a bulk user import on an account whose owner has not switched them on
            # (Admin Center > People > End users: "Allow bulk user imports"): 403, nothing started. The description
            # is Zendesk's usual wording for a 403, and why; it is checked before the body, as permissions are.
            return error_response(
                403,
                "Forbidden",
                "You do not have access to this page. Please contact the account owner of this help desk for "
                "further help. (Bulk user imports are not enabled on this account.)",
            )
        kind, records, logged = self._records(request, kind)
        return self._start(request, kind, records, logged)

    def _start(
        self, request: Request, kind: str, records: list[Any], logged: list[Any], *, scope: str = "", status: int = 200
    ) -> Response:
        """Start the job (or refuse it past the job limit) and answer its status; ``logged`` goes to the record log."""
        try:
            job = self.store.create(
                kind,
                records,
                failing_ids=self.settings.failing_ids,
                max_active=self.settings.max_active_jobs,
                scope=scope,
            )
        except TooManyJobsError as exc:
            self.records.refused()
            # Zendesk's answer past its job limit: 429 with the error code TooManyJobs, nothing started
            # (the "Job limit" section of https://developer.zendesk.com/api-reference/introduction/rate-limits/).
            # No Retry-After: none is documented for this refusal (Zendesk cannot know when a job ends),
            # so a client must not count on one. The description's wording is this emulator's.
            return error_response(
                429,
                "TooManyJobs",
                f"Number of allowed background jobs exceeded: {exc}. Wait for some to finish before starting more.",
            )
        # Zendesk documents Idempotency-Key for creating one ticket (POST /api/v2/tickets), not for the bulk
        # calls: here, as there, the header changes nothing (no x-idempotency-lookup answer); it is only counted.
        self.records.add(job.id, logged, request.headers.get("idempotency-key"))
        return json_response(status, {"job_status": job.view(self.clock.now(), self.base_url())})

    def _check_count(self, count: int, what: str) -> None:
        if count > self.settings.max_records:
            raise BadInput(
                400, "TooManyRecords", f"{count} {what} given; at most {self.settings.max_records} are allowed per call"
            )

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

    def _records(self, request: Request, kind: str) -> tuple[str, list[Any], list[Any]]:
        """(kind, records for the job, records for the record log) of a bulk call, or BadInput."""
        if kind in _ID_KINDS:
            if kind == "tickets_mark_spam":
                body = _decode_body(request.body)
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
        body = _decode_body(request.body)
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

    def _custom_object_job(self, request: Request, object_key: str) -> Response:
        """``POST /api/v2/custom_objects/{key}/jobs`` ``{"job": {"action": ..., "items": [...]}}``: 201 and the job."""
        body = _decode_body(request.body)
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
        return self._start(request, CUSTOM_RECORDS_PREFIX + action, items, items, scope=object_key, status=201)

    # -- OAuth ------------------------------------------------------------------------------

    def _issue_token(self, request: Request) -> Response:
        content_type = request.headers.get("content-type") or ""
        grant: Any
        if "application/x-www-form-urlencoded" in content_type:
            form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            grant = {name: values[-1] for name, values in form.items()}
        else:
            try:
                grant = _decode_body(request.body)
            except BadInput:
                grant = None
            if grant is None:
                return json_response(
                    400, {"error": "invalid_request", "error_description": "The body must be a JSON object"}
                )
        if not isinstance(grant, dict):
            return json_response(
                400, {"error": "invalid_request", "error_description": "The body must be a JSON object"}
            )
        if grant.get("grant_type") != "client_credentials":
            return json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported by the authorization server.",
                },
            )
        if not self.auth.client_matches(grant.get("client_id"), grant.get("client_secret")):
            return json_response(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed due to unknown client, no client "
                    "authentication included, or unsupported authentication method.",
                },
            )
        scope = grant.get("scope")
        token = self.auth.issue_token(scope if isinstance(scope, str) and scope else "read")
        return json_response(
            200,
            {
                "access_token": token.access_token,
                "token_type": "bearer",
                "scope": token.scope,
                "expires_in": token.expires_in,
            },
        )
