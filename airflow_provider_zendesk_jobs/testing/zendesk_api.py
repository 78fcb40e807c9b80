"""The Zendesk side of the emulator: routing, the job-status endpoints and OAuth tokens.

Order of checks for ``/api/v2`` calls, as a real account applies them: the rate limit (when
set), then authentication, then the route (404 / 405), then the endpoint's own validation.
A ``.json`` suffix is accepted on every ``/api/v2`` path. The bulk calls that start jobs are
:mod:`.bulk_calls`' routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

from airflow_provider_zendesk_jobs.testing.api_settings import ApiSettings
from airflow_provider_zendesk_jobs.testing.bulk_calls import BulkCalls
from airflow_provider_zendesk_jobs.testing.clock import Clock
from airflow_provider_zendesk_jobs.testing.credentials import AUTHENTICATED, Authenticator
from airflow_provider_zendesk_jobs.testing.jobs_store import JobStore
from airflow_provider_zendesk_jobs.testing.messages import (
    BadInput,
    Request,
    Response,
    decode_json_body,
    encode_json,
    error_response,
    json_response,
    method_not_allowed,
    not_found_endpoint,
)
from airflow_provider_zendesk_jobs.testing.pagination import cursor_links, cursor_page, offset_page
from airflow_provider_zendesk_jobs.testing.rate_limit import RateLimiter
from airflow_provider_zendesk_jobs.testing.record_log import RecordLog

API_PREFIX = "/api/v2"
JOB_STATUSES = "/api/v2/job_statuses"
SHOW_MANY = "/api/v2/job_statuses/show_many"
TOKENS_PATH = "/oauth/tokens"

_UNAUTHORIZED_BODY = encode_json({"error": "Couldn't authenticate you"})


def normalise(path: str) -> str:
    """The route of a path: without ``.json`` and a trailing slash."""
    if path.endswith(".json"):
        path = path[:-5]
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


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
        self.bulk = BulkCalls(clock=clock, store=store, settings=settings, base_url=base_url, records=self.records)

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
            answer = self.bulk.handle(request, route)
            return answer if answer is not None else not_found_endpoint()
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

    # -- OAuth ------------------------------------------------------------------------------

    def _issue_token(self, request: Request) -> Response:
        content_type = request.headers.get("content-type") or ""
        grant: Any
        if "application/x-www-form-urlencoded" in content_type:
            form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            grant = {name: values[-1] for name, values in form.items()}
        else:
            try:
                grant = decode_json_body(request.body)
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
