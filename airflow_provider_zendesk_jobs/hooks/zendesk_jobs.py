"""The Zendesk Job Statuses API for Airflow: a sync hook on ``requests`` and an async one on ``httpx``; both carry
out the flows of :mod:`airflow_provider_zendesk_jobs.api.request_flow` and only move bytes and sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter

from airflow_provider_zendesk_jobs.api.connection_settings import ConnectionSettings
from airflow_provider_zendesk_jobs.api.operations import (
    JobListWalk,
    checked_job_ids,
    in_requested_order,
    validate_limit,
)
from airflow_provider_zendesk_jobs.api.request_builders import list_request
from airflow_provider_zendesk_jobs.api.request_flow import Answer, Flow, Mask, NoAnswer, Send, Sleep, TokenFetch
from airflow_provider_zendesk_jobs.api.responses import TransportFailure
from airflow_provider_zendesk_jobs.exceptions import ZendeskJobsError
from airflow_provider_zendesk_jobs.hooks.base import ZendeskJobsBaseHook, amask_secrets, aread_connection, mask_secrets
from airflow_provider_zendesk_jobs.jobs import JobStatus

if TYPE_CHECKING:
    import httpx

__all__ = ["ZendeskJobStatusAsyncHook", "ZendeskJobStatusHook"]


class _Authorization(requests.auth.AuthBase):
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
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return TransportFailure.CONNECT_TIMEOUT
    if isinstance(exc, requests.ReadTimeout):
        return TransportFailure.READ_TIMEOUT
    if exc.args and isinstance(getattr(exc.args[0], "reason", None), NewConnectionError):
        return TransportFailure.CONNECT
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return TransportFailure.CLOSED
    return TransportFailure.OTHER


def _httpx_failure(exc: Exception) -> TransportFailure:
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

    Takes the arguments of :class:`~airflow_provider_zendesk_jobs.hooks.base.ZendeskJobsBaseHook`, and:

    :param sleep: how the hook waits between attempts.
    :param session: the ``requests`` session to send through; by default the hook makes (and closes) its own.
    """

    def __init__(
        self,
        zendesk_conn_id: str = ZendeskJobsBaseHook.default_conn_name,
        *,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        **options: Any,
    ) -> None:
        super().__init__(zendesk_conn_id, **options)
        self.sleep = sleep
        self._session = session
        self._owns_session = session is None

    @property
    def settings(self) -> ConnectionSettings:
        if self._settings is None:
            conn = self.get_connection(self.zendesk_conn_id)
            settings = self.build_settings(conn.host, conn.login, conn.password, conn.extra_dejson)
            mask_secrets(settings.auth.secrets())
            self._settings = settings
        return self._settings

    def get_conn(self) -> requests.Session:
        """The hook's one HTTP session: connections to Zendesk are pooled and kept alive."""
        if self._session is None:
            self._session = requests.Session()
            for prefix in ("https://", "http://"):
                self._session.mount(prefix, HTTPAdapter(pool_connections=1, pool_maxsize=4))
        return self._session

    def close(self) -> None:
        if self._session is not None and self._owns_session:
            self._session.close()
            self._session = None

    def _drive(self, flow: Flow) -> Any:
        reply: Any = None
        while True:
            try:
                step = flow.send(reply)
            except StopIteration as done:
                return done.value
            reply = None
            if isinstance(step, Sleep):
                self.sleep(step.seconds)
            elif isinstance(step, Mask):
                mask_secrets([step.secret])
            elif isinstance(step, TokenFetch):
                reply = self._drive(step.flow)
            else:
                reply = self._exchange(step)

    def _exchange(self, send: Send) -> Answer | NoAnswer:
        request, timeouts = send.request, self.settings.timeouts
        try:
            response = self.get_conn().request(
                request.method,
                request.url,
                json=request.json,
                headers=request.headers(None),
                auth=_Authorization(send.authorization),
                timeout=(timeouts.connect, timeouts.read),
                allow_redirects=False,
            )
            return Answer(response.status_code, response.headers, response.content)
        except requests.RequestException as exc:
            return NoAnswer(_requests_failure(exc), type(exc).__name__)

    def get_job_status(self, job_id: str) -> JobStatus:
        """One job's current status; an unknown or expired id raises ``ZendeskNotFoundError``."""
        return self._drive(self._job_status_flow(self.settings, job_id))  # type: ignore[no-any-return]

    def get_job_statuses_by_id(self, job_ids: Sequence[str], *, checked: bool = False) -> dict[str, JobStatus]:
        """The jobs Zendesk knows among ``job_ids``, keyed by id; unknown ids are simply absent.

        ``checked=True`` skips checking the ids again: only for ids that already went through
        :func:`~airflow_provider_zendesk_jobs.job_ids.validate_job_ids` (they become part of the URL).
        """
        return self._drive(self._statuses_by_id_flow(self.settings, job_ids, checked))  # type: ignore[no-any-return]

    def get_job_statuses(self, job_ids: Sequence[str]) -> list[JobStatus]:
        """Many jobs, at most 100 per request, in the order asked; unknown ids raise naming them all."""
        ids = checked_job_ids(job_ids)
        return in_requested_order(ids, self.get_job_statuses_by_id(ids, checked=True))

    def list_job_statuses(self, limit: int | None = None) -> Iterator[JobStatus]:
        """Every recent job, newest first, page by page; stops at ``limit`` without fetching more."""
        validate_limit(limit)
        return self._pages(limit)

    def _pages(self, limit: int | None) -> Iterator[JobStatus]:
        walk = JobListWalk(self.settings, limit)
        while (request := walk.next_request()) is not None:
            yield from walk.feed(self._drive(self._flow.run(request, walk.settings)))

    def submit_job(
        self, method: str, endpoint: str, payload: Any = None, *, attempts: int | None = None, announce: bool = True
    ) -> JobStatus:
        """Start a bulk call under ``/api/v2/`` that answers a job status, e.g. ``/api/v2/tickets/create_many``.

        Only answers that prove Zendesk did not start the job (429, 503, a connection that never opened) are
        retried; past the budget, a refusal at the account's job limit raises ``ZendeskJobLimitError``.
        ``attempts`` (default: the hook's ``retry_limit``) is for this call alone: a caller that queues
        refused calls itself sends each once, through the same hook as its reads. ``announce=False`` logs
        the accepted job at DEBUG, for a caller that reports its jobs itself.
        """
        flow = self._submit_flow(self.settings, method, endpoint, payload, attempts, announce)
        return self._drive(flow)  # type: ignore[no-any-return]

    def test_connection(self) -> tuple[bool, str]:
        """Read one page of size 1 of the job list: proves the host, the credentials and the scope."""
        try:
            body = self._drive(self._flow.run(list_request(self.settings.base_url, page_size=1), self.settings))
        except ZendeskJobsError as exc:
            return False, str(exc)
        count = len(body.get("job_statuses") or []) if isinstance(body, dict) else 0
        return True, f"Connected to {self.settings.base_url}: job statuses are readable ({count} on the first page)."


def _new_async_client(settings: ConnectionSettings, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeouts.read, connect=settings.timeouts.connect),
        follow_redirects=False,
        trust_env=True,
        transport=transport,
    )


class ZendeskJobStatusAsyncHook(ZendeskJobsBaseHook):
    """The reads of :class:`ZendeskJobStatusHook`, ``async`` on ``httpx``, for triggers (no blocking call).

    :param sleep: how the hook waits between attempts.
    :param transport: the ``httpx`` transport of the client the hook builds (by default httpx's own).
    """

    def __init__(
        self,
        zendesk_conn_id: str = ZendeskJobsBaseHook.default_conn_name,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Any,
    ) -> None:
        super().__init__(zendesk_conn_id, **options)
        self.sleep = sleep
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._client_lock = asyncio.Lock()
        self._token_lock = asyncio.Lock()

    async def aget_settings(self) -> ConnectionSettings:
        if self._settings is None:
            conn, extra = await aread_connection(self, self.zendesk_conn_id)
            settings = self.build_settings(conn.host, conn.login, conn.password, extra)
            await amask_secrets(settings.auth.secrets())
            self._settings = settings
        return self._settings

    async def get_async_conn(self) -> httpx.AsyncClient:
        settings = await self.aget_settings()
        async with self._client_lock:  # one client for many concurrent first reads
            if self._client is None:
                # A new client loads the system's CA certificates: tens of milliseconds of the shared
                # event loop, done by OpenSSL without the GIL, so in a thread.
                self._client = await asyncio.to_thread(_new_async_client, settings, self._transport)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _drive(self, flow: Flow) -> Any:
        reply: Any = None
        while True:
            try:
                step = flow.send(reply)
            except StopIteration as done:
                return done.value
            reply = None
            if isinstance(step, Sleep):
                await self.sleep(step.seconds)
            elif isinstance(step, Mask):
                await amask_secrets([step.secret])
            elif isinstance(step, TokenFetch):
                async with self._token_lock:  # one token fetch for many concurrent reads
                    reply = await self._drive(step.flow)
            else:
                reply = await self._exchange(step)

    async def _exchange(self, send: Send) -> Answer | NoAnswer:
        import httpx

        client, request = await self.get_async_conn(), send.request
        try:
            response = await client.request(
                request.method, request.url, json=request.json, headers=request.headers(send.authorization)
            )
            return Answer(response.status_code, response.headers, response.content)
        except httpx.HTTPError as exc:
            return NoAnswer(_httpx_failure(exc), type(exc).__name__)

    async def get_job_status(self, job_id: str) -> JobStatus:
        return await self._drive(self._job_status_flow(await self.aget_settings(), job_id))  # type: ignore[no-any-return]

    async def get_job_statuses_by_id(self, job_ids: Sequence[str], *, checked: bool = False) -> dict[str, JobStatus]:
        """``checked=True``: as the sync hook's; the triggerer's poller sends the ids its waits registered with."""
        flow = self._statuses_by_id_flow(await self.aget_settings(), job_ids, checked)
        return await self._drive(flow)  # type: ignore[no-any-return]

    async def get_job_statuses(self, job_ids: Sequence[str]) -> list[JobStatus]:
        ids = checked_job_ids(job_ids)
        return in_requested_order(ids, await self.get_job_statuses_by_id(ids, checked=True))

    def list_job_statuses(self, limit: int | None = None) -> AsyncIterator[JobStatus]:
        """``async for job in hook.list_job_statuses(limit=...)``: newest first, stops at ``limit``."""
        validate_limit(limit)
        return self._pages(limit)

    async def _pages(self, limit: int | None) -> AsyncIterator[JobStatus]:
        walk = JobListWalk(await self.aget_settings(), limit)
        while (request := walk.next_request()) is not None:
            for job in walk.feed(await self._drive(self._flow.run(request, walk.settings))):
                yield job
