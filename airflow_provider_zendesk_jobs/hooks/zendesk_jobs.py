"""The Zendesk Job Statuses API for Airflow: a sync hook on ``requests`` and an async one on ``httpx``.

Both are thin shells around :mod:`airflow_provider_zendesk_jobs.api`: it decides what to
send, whether to retry and what an answer means; these classes only move bytes, sleep,
and keep per-connection state (HTTP session, OAuth token, the rate-limit pause).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from airflow_provider_zendesk_jobs.api.auth import ClientCredentialsAuth
from airflow_provider_zendesk_jobs.api.connection_settings import ConnectionSettings
from airflow_provider_zendesk_jobs.api.operations import (
    JobListWalk,
    asked_ids,
    in_asked_order,
    show_many_requests,
    statuses_by_id,
    validate_limit,
)
from airflow_provider_zendesk_jobs.api.request_builders import (
    ApiRequest,
    list_request,
    show_job_request,
    submit_request,
    token_request,
)
from airflow_provider_zendesk_jobs.api.responses import (
    RetryableError,
    TransportFailure,
    describe_request,
    interpret_response,
    interpret_transport_error,
)
from airflow_provider_zendesk_jobs.api.retry_policy import async_retrying, sync_retrying
from airflow_provider_zendesk_jobs.exceptions import ZendeskAuthError, ZendeskJobsError
from airflow_provider_zendesk_jobs.hooks.base import ZendeskJobsBaseHook, amask_secrets, aread_connection, mask_secrets
from airflow_provider_zendesk_jobs.jobs import JobStatus, parse_job_status_body

if TYPE_CHECKING:
    import httpx

__all__ = ["ZendeskJobStatusAsyncHook", "ZendeskJobStatusHook"]

_log = logging.getLogger(__name__)


class _BearerOrBasic(requests.auth.AuthBase):
    """Sets our Authorization header and stops ``requests`` from applying ``.netrc`` credentials over it."""

    def __init__(self, value: str | None) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._value is not None:
            request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "<authorization hidden>"


def _requests_failure(exc: requests.RequestException) -> TransportFailure:
    """Which transport failure a ``requests`` exception is."""
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return TransportFailure.CONNECT_TIMEOUT
    if isinstance(exc, requests.ReadTimeout):
        return TransportFailure.READ_TIMEOUT
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, NewConnectionError):
        return TransportFailure.CONNECT
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return TransportFailure.CLOSED
    return TransportFailure.OTHER


def _httpx_failure(exc: Exception) -> TransportFailure:
    """Which transport failure an ``httpx`` exception is."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return TransportFailure.CONNECT_TIMEOUT
    if isinstance(exc, httpx.ConnectError):
        return TransportFailure.CONNECT
    if isinstance(exc, httpx.ReadTimeout):
        return TransportFailure.READ_TIMEOUT
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return TransportFailure.CLOSED
    return TransportFailure.OTHER


class ZendeskJobStatusHook(ZendeskJobsBaseHook):
    """Read, list and start Zendesk background jobs.

    :param zendesk_conn_id: an Airflow connection of type ``zendesk_jobs`` (or one made for
        the official Zendesk provider).
    :param retry_limit: attempts per request, the first included, for 429, 5xx and network errors.
    :param connect_timeout: seconds for the TCP/TLS handshake (default 10, or the ``timeout`` extra).
    :param read_timeout: seconds to wait for each answer (default 30, or the ``timeout`` extra).
    :param max_retry_after: the longest ``Retry-After`` a call sleeps through before raising
        :class:`~airflow_provider_zendesk_jobs.exceptions.ZendeskRateLimitError`.
    """

    def __init__(self, zendesk_conn_id: str = ZendeskJobsBaseHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(zendesk_conn_id, **kwargs)
        self._session: requests.Session | None = None
        #: How the hook sleeps between attempts; tests replace it to keep the clock in hand.
        self._sleep: Callable[[float], None] = time.sleep

    # -- connection -------------------------------------------------------------------------------
    @property
    def settings(self) -> ConnectionSettings:
        if self._settings is None:
            conn = self.get_connection(self.zendesk_conn_id)
            settings = self.build_settings(conn.host, conn.login, conn.password, conn.extra_dejson)
            mask_secrets(settings.secrets())
            self._settings = settings
        return self._settings

    def get_conn(self) -> requests.Session:
        """The hook's one HTTP session: connections to Zendesk are pooled and kept alive."""
        if self._session is None:
            session = requests.Session()
            session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=4))
            session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=4))
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- the shell: one request, with the core's retry policy -----------------------------------
    def _authorization(self, request: ApiRequest) -> str | None:
        if not request.authenticated:
            return None
        auth = self.settings.auth
        if isinstance(auth, ClientCredentialsAuth):
            if not self._token_cache.valid(self._clock()):
                body = self._call(token_request(self.settings.base_url, auth))
                mask_secrets([self._token_cache.store(body, self._clock())])
            return self._token_cache.header()
        return auth.header()

    def _attempt(self, request: ApiRequest) -> Any:
        wait = self._gate.wait_needed(self._clock())
        if wait > 0:
            _log.warning("Waiting %.1f s before %s: Zendesk asked to slow down", wait, describe_request(request))
            self._sleep(wait)
        timeouts = self.settings.timeouts
        try:
            response = self.get_conn().request(
                request.method,
                request.url,
                json=request.json,
                headers=request.headers(None),
                auth=_BearerOrBasic(self._authorization(request)),
                timeout=(timeouts.connect, timeouts.read),
                allow_redirects=False,
            )
            body = response.content
        except requests.RequestException as exc:
            raise interpret_transport_error(request, _requests_failure(exc), detail=type(exc).__name__) from None
        try:
            return interpret_response(request, response.status_code, response.headers, body, now=self._clock())
        except RetryableError as exc:
            if exc.delay is not None:
                self._gate.hold(exc.delay, self._clock())
            raise

    def _call(self, request: ApiRequest) -> Any:
        retrying = sync_retrying(self.retry_policy, log=_log, sleep=self._sleep)
        return retrying(self._attempt, request)

    def _send(self, request: ApiRequest) -> Any:
        """Send with retries; with client credentials, a 401 renews the token once and tries again."""
        try:
            return self._call(request)
        except ZendeskAuthError as exc:
            if exc.status_code != 401 or not request.authenticated or not self.uses_client_credentials:
                raise
            _log.info("Zendesk refused the cached OAuth token; fetching a new one and trying once more")
            self._token_cache.invalidate()
            return self._call(request)

    # -- the API ----------------------------------------------------------------------------------
    def get_job_status(self, job_id: str) -> JobStatus:
        """One job's current status; an unknown or expired id raises ``ZendeskNotFoundError``."""
        request = show_job_request(self.settings.base_url, job_id)
        return parse_job_status_body(self._send(request))

    def get_job_statuses_by_id(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """The jobs Zendesk knows among ``job_ids``, keyed by id; unknown ids are simply absent."""
        found: dict[str, JobStatus] = {}
        for request in show_many_requests(self.settings, job_ids):
            found.update(statuses_by_id(self._send(request), request.job_ids))
        return found

    def get_job_statuses(self, job_ids: Sequence[str]) -> list[JobStatus]:
        """Many jobs, at most 100 per request, in the order asked; unknown ids raise naming them all."""
        ids = asked_ids(job_ids)
        return in_asked_order(ids, self.get_job_statuses_by_id(ids))

    def list_job_statuses(self, limit: int | None = None) -> Iterator[JobStatus]:
        """Every recent job, newest first, page by page; stops at ``limit`` without fetching more."""
        validate_limit(limit)
        return self._walk(JobListWalk(self.settings, limit))

    def _walk(self, walk: JobListWalk) -> Iterator[JobStatus]:
        while (request := walk.next_request()) is not None:
            yield from walk.feed(self._send(request))

    def submit_job(self, method: str, endpoint: str, payload: Any = None) -> JobStatus:
        """Start a bulk call under ``/api/v2/`` that answers a job status, e.g. ``/api/v2/tickets/create_many``.

        Bulk calls are not idempotent, so only answers that prove Zendesk did not start the
        job (429, 503, a connection that never opened) are retried. A refusal because the account
        is at its job limit (429 ``TooManyJobs``: 30 jobs queued or working) is waited out the same
        way, and past the retry budget raised as
        :class:`~airflow_provider_zendesk_jobs.exceptions.ZendeskJobLimitError`.
        """
        request = submit_request(self.settings.base_url, method, endpoint, payload)
        job = parse_job_status_body(self._send(request))
        _log.info("Zendesk accepted %s %s as job %s (%s)", request.method, request.path, job.id, job.status)
        return job

    def test_connection(self) -> tuple[bool, str]:
        """Read one page of size 1 of the job list: proves the host, the credentials and the scope."""
        try:
            body = self._send(list_request(self.settings.base_url, page_size=1))
            count = len(body.get("job_statuses") or []) if isinstance(body, dict) else 0
        except ZendeskJobsError as exc:
            return False, str(exc)
        return True, f"Connected to {self.settings.base_url}: job statuses are readable ({count} on the first page)."


def _new_async_client(settings: ConnectionSettings) -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeouts.read, connect=settings.timeouts.connect),
        follow_redirects=False,
        trust_env=True,
    )


class ZendeskJobStatusAsyncHook(ZendeskJobsBaseHook):
    """The reads of :class:`ZendeskJobStatusHook`, ``async`` on ``httpx``, for triggers.

    The connection is looked up through Airflow's async path, never with a synchronous call
    inside the event loop.
    """

    def __init__(
        self,
        zendesk_conn_id: str = ZendeskJobsBaseHook.default_conn_name,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(zendesk_conn_id, **kwargs)
        self._client: httpx.AsyncClient | None = None
        self._client_lock: asyncio.Lock | None = None
        self._token_lock: asyncio.Lock | None = None
        self._sleep = sleep

    async def aget_settings(self) -> ConnectionSettings:
        if self._settings is None:
            conn, extra = await aread_connection(self, self.zendesk_conn_id)
            settings = self.build_settings(conn.host, conn.login, conn.password, extra)
            await amask_secrets(settings.secrets())
            self._settings = settings
        return self._settings

    async def get_async_conn(self) -> httpx.AsyncClient:
        if self._client is None:
            settings = await self.aget_settings()
            if self._client_lock is None:
                self._client_lock = asyncio.Lock()
            async with self._client_lock:  # one client for many concurrent first reads
                if self._client is None:
                    # A new client loads the system's CA certificates: tens of milliseconds that
                    # would hold the triggerer's event loop, shared by every deferred task. OpenSSL
                    # does that work without the GIL, so in a thread the loop runs meanwhile.
                    self._client = await asyncio.to_thread(_new_async_client, settings)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def rate_limit_wait(self) -> float:
        """Seconds until Zendesk's last ``Retry-After`` has passed for this hook (0 when none holds).

        Lets a caller sharing the hook (the triggerer's poller) tell a rate-limit pause from a
        backoff, and plan its other work around the pause.
        """
        return self._gate.wait_needed(self._clock())

    async def _authorization(self, request: ApiRequest) -> str | None:
        if not request.authenticated:
            return None
        settings = await self.aget_settings()
        auth = settings.auth
        if isinstance(auth, ClientCredentialsAuth):
            if self._token_lock is None:
                self._token_lock = asyncio.Lock()
            async with self._token_lock:  # one token fetch for many concurrent reads
                if not self._token_cache.valid(self._clock()):
                    body = await self._call(token_request(settings.base_url, auth))
                    await amask_secrets([self._token_cache.store(body, self._clock())])
            return self._token_cache.header()
        return auth.header()

    async def _attempt(self, request: ApiRequest) -> Any:
        import httpx

        wait = self._gate.wait_needed(self._clock())
        if wait > 0:
            _log.warning("Waiting %.1f s before %s: Zendesk asked to slow down", wait, describe_request(request))
            await self._sleep(wait)
        client = await self.get_async_conn()
        authorization = await self._authorization(request)
        try:
            response = await client.request(
                request.method, request.url, json=request.json, headers=request.headers(authorization)
            )
            body = response.content
        except httpx.HTTPError as exc:
            raise interpret_transport_error(request, _httpx_failure(exc), detail=type(exc).__name__) from None
        try:
            return interpret_response(request, response.status_code, response.headers, body, now=self._clock())
        except RetryableError as exc:
            if exc.delay is not None:
                self._gate.hold(exc.delay, self._clock())
            raise

    async def _call(self, request: ApiRequest) -> Any:
        retrying = async_retrying(self.retry_policy, log=_log, sleep=self._sleep)
        return await retrying(self._attempt, request)

    async def _send(self, request: ApiRequest) -> Any:
        try:
            return await self._call(request)
        except ZendeskAuthError as exc:
            if exc.status_code != 401 or not request.authenticated or not self.uses_client_credentials:
                raise
            _log.info("Zendesk refused the cached OAuth token; fetching a new one and trying once more")
            self._token_cache.invalidate()
            return await self._call(request)

    async def get_job_status(self, job_id: str) -> JobStatus:
        settings = await self.aget_settings()
        return parse_job_status_body(await self._send(show_job_request(settings.base_url, job_id)))

    async def get_job_statuses_by_id(self, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        settings = await self.aget_settings()
        found: dict[str, JobStatus] = {}
        for request in show_many_requests(settings, job_ids):
            found.update(statuses_by_id(await self._send(request), request.job_ids))
        return found

    async def get_job_statuses(self, job_ids: Sequence[str]) -> list[JobStatus]:
        ids = asked_ids(job_ids)
        return in_asked_order(ids, await self.get_job_statuses_by_id(ids))

    async def list_job_statuses(self, limit: int | None = None) -> list[JobStatus]:
        """Every recent job, newest first (Zendesk keeps about the last 100, so a list is small)."""
        walk = JobListWalk(await self.aget_settings(), limit)
        jobs: list[JobStatus] = []
        while (request := walk.next_request()) is not None:
            jobs.extend(walk.feed(await self._send(request)))
        return jobs
