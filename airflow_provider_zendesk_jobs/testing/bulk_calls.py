"""The bulk calls' routes: which path starts which kind of job, and the answer that starts it (or refuses it).

A bulk call answers a job status (200; 201 for a custom object records job) once its records are
read (:mod:`.bulk_records`), or 429 ``TooManyJobs`` past the account's job limit, or 403 for a bulk
user import on an account that has not switched them on. Every record of a call that started a job
goes to the record log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from airflow_provider_zendesk_jobs.testing.api_settings import ApiSettings
from airflow_provider_zendesk_jobs.testing.bulk_records import BulkRecords
from airflow_provider_zendesk_jobs.testing.clock import Clock
from airflow_provider_zendesk_jobs.testing.job_kinds import CUSTOM_RECORDS_PREFIX
from airflow_provider_zendesk_jobs.testing.jobs_store import JobStore, TooManyJobsError
from airflow_provider_zendesk_jobs.testing.messages import (
    Request,
    Response,
    error_response,
    json_response,
    method_not_allowed,
)
from airflow_provider_zendesk_jobs.testing.record_log import RecordLog

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
#: Answered 403 while the account owner has not switched bulk user imports on (``ApiSettings.bulk_user_imports``).
_BULK_USER_IMPORTS = frozenset({"users_create", "users_create_or_update"})


def custom_object_key(route: str) -> str | None:
    """The key in ``/api/v2/custom_objects/{key}/jobs``; None for another path or a key Zendesk has none like."""
    if not (route.startswith(CUSTOM_OBJECTS) and route.endswith(CUSTOM_OBJECT_JOBS)):
        return None
    key = route[len(CUSTOM_OBJECTS) : -len(CUSTOM_OBJECT_JOBS)]
    return key if _OBJECT_KEY.fullmatch(key) else None


class BulkCalls:
    def __init__(
        self,
        *,
        clock: Clock,
        store: JobStore,
        settings: ApiSettings,
        base_url: Callable[[], str],
        records: RecordLog,
    ) -> None:
        self.clock = clock
        self.store = store
        self.settings = settings
        self.base_url = base_url
        self.records = records
        self._reader = BulkRecords(settings)

    def handle(self, request: Request, route: str) -> Response | None:
        """The answer of the bulk call at ``route`` (without ``.json``); None when ``route`` is not one."""
        bulk = BULK_ROUTES.get(route)
        if bulk is None:
            key = custom_object_key(route)
            if key is None:
                return None
            if request.method != "POST":
                return method_not_allowed("POST")
            action, items = self._reader.custom_object_items(request)
            return self._start(request, CUSTOM_RECORDS_PREFIX + action, items, items, scope=key, status=201)
        method, kind = bulk
        if request.method != method:
            return method_not_allowed(method)
        return self._bulk(request, kind)

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
        kind, records, logged = self._reader.read(request, kind)
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
