"""The Zendesk side of the emulator: routing and the endpoints, from a request to an answer.

Order of checks for ``/api/v2`` calls, as a real account applies them: the rate limit (when
set), then authentication, then the route (404 / 405), then the endpoint's own validation.
A ``.json`` suffix is accepted on every ``/api/v2`` path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from airflow_provider_zendesk_jobs.testing.clock import Clock
from airflow_provider_zendesk_jobs.testing.credentials import AUTHENTICATED, Authenticator
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
    "/api/v2/users/create_or_update_many": ("POST", "users_create_or_update"),
    "/api/v2/tickets/destroy_many": ("DELETE", "tickets_destroy"),
    "/api/v2/deleted_tickets/destroy_many": ("DELETE", "deleted_tickets_destroy"),
    "/api/v2/users/create_many": ("POST", "users_create"),
    "/api/v2/users/update_many": ("PUT", "users_update"),
    "/api/v2/users/destroy_many": ("DELETE", "users_destroy"),
    "/api/v2/organizations/create_many": ("POST", "organizations_create"),
    "/api/v2/organizations/update_many": ("PUT", "organizations_update"),
    "/api/v2/organizations/destroy_many": ("DELETE", "organizations_destroy"),
}
_BODY_KEYS = {
    "tickets_create": "tickets",
    "tickets_import": "tickets",
    "users_create_or_update": "users",
    "users_create": "users",
    "organizations_create": "organizations",
}
#: Update calls: the body's list key; each record needs an integer id.
_UPDATE_KEYS = {"tickets_update": "tickets", "users_update": "users", "organizations_update": "organizations"}
_DESTROY_KINDS = frozenset({"tickets_destroy", "deleted_tickets_destroy", "users_destroy", "organizations_destroy"})

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

    def __post_init__(self) -> None:
        for name in ("max_active_jobs", "max_records", "max_show_many"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")


def normalise(path: str) -> str:
    """The route of a path: without ``.json`` and a trailing slash."""
    if path.endswith(".json"):
        path = path[:-5]
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


def not_found_endpoint() -> Response:
    return error_response(404, "InvalidEndpoint", "Not found")


def method_not_allowed(allowed: str) -> Response:
    return error_response(
        405, "MethodNotAllowed", f"This endpoint only accepts {allowed}", headers=[("Allow", allowed)]
    )


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
                return not_found_endpoint()
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
        records = self._records(request, kind)
        try:
            job = self.store.create(
                kind,
                records,
                failing_ids=self.settings.failing_ids,
                max_active=self.settings.max_active_jobs,
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
        self.records.add(job.id, records, request.headers.get("idempotency-key"))
        return json_response(200, {"job_status": job.view(self.clock.now(), self.base_url())})

    def _check_count(self, count: int, what: str) -> None:
        if count > self.settings.max_records:
            raise BadInput(
                400, "TooManyRecords", f"{count} {what} given; at most {self.settings.max_records} are allowed per call"
            )

    def _ids_param(self, request: Request) -> list[int] | None:
        raw = request.param("ids")
        if raw is None:
            return None
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if not parts:
            raise BadInput(400, "RecordInvalid", "ids is empty: give a comma-separated list of ticket ids")
        self._check_count(len(parts), "ids")
        try:
            return [int(part) for part in parts]
        except ValueError:
            raise BadInput(400, "RecordInvalid", "ids must be a comma-separated list of integer ticket ids") from None

    def _records(self, request: Request, kind: str) -> list[Any]:
        if kind in _DESTROY_KINDS:
            ids = self._ids_param(request)
            if ids is None:
                raise BadInput(400, "RecordInvalid", "ids is required: a comma-separated list of ids")
            return list(ids)
        body = _decode_body(request.body)
        key = _UPDATE_KEYS.get(kind)
        if key is not None:
            single = key[:-1]
            ids = self._ids_param(request)
            if ids is not None:
                one = body.get(single) if isinstance(body, dict) else None
                if not isinstance(one, dict):
                    raise BadInput(400, "RecordInvalid", f'With ?ids=, the body must be {{"{single}": {{...}}}}')
                return [{**one, "id": record_id} for record_id in ids]
            records = self._record_list(body, key)
            for index, record in enumerate(records):
                record_id = record.get("id")
                if isinstance(record_id, bool) or not isinstance(record_id, int):
                    raise BadInput(400, "RecordInvalid", f"{key}[{index}] needs an integer id")
            return records
        return self._record_list(body, _BODY_KEYS[kind])

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
