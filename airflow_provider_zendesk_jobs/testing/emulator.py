"""``ZendeskEmulator``: a local Zendesk account for job statuses, in this process, driven from Python.

It wires the pieces together (clock, credentials, job store, faults, rate limit, request and
record logs, the HTTP server on a background thread) and is the one object tests and demos hold.
Its control surface is :class:`~airflow_provider_zendesk_jobs.testing.emulator_control.EmulatorControl`,
which :class:`~airflow_provider_zendesk_jobs.testing.RemoteEmulator` offers for an emulator in another
process. Every method is safe to call while requests are being served.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterable, Sequence
from types import TracebackType
from typing import Any

from airflow_provider_zendesk_jobs.testing.api_settings import ApiSettings
from airflow_provider_zendesk_jobs.testing.clock import Clock, ScaledClock
from airflow_provider_zendesk_jobs.testing.control import ControlApi
from airflow_provider_zendesk_jobs.testing.credentials import AUTH_NONE, Authenticator, Credentials, connection_json
from airflow_provider_zendesk_jobs.testing.emulator_control import job_records
from airflow_provider_zendesk_jobs.testing.faults import Fault, FaultSet
from airflow_provider_zendesk_jobs.testing.jobs_store import JobStore, StoreSettings
from airflow_provider_zendesk_jobs.testing.rate_limit import RateLimiter
from airflow_provider_zendesk_jobs.testing.record_log import RecordLog, RecordSummary
from airflow_provider_zendesk_jobs.testing.request_log import RequestLog, RequestRecord
from airflow_provider_zendesk_jobs.testing.server import EmulatorHTTPServer, Handlers
from airflow_provider_zendesk_jobs.testing.settings import apply, describe
from airflow_provider_zendesk_jobs.testing.zendesk_api import ZendeskApi


class ZendeskEmulator:
    """A Zendesk job-status server on loopback. See the package docstring for a tour."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        email: str = "demo@example.com",
        api_token: str = "demo-token",
        oauth_token: str = "demo-oauth-token",
        client_id: str = "demo-client",
        client_secret: str = "demo-secret",
        oauth_token_ttl: float = 7200.0,
        queued_seconds: float = 1.0,
        seconds_per_item: float = 0.1,
        not_visible_seconds: float = 0.0,
        retention_seconds: float = 86_400.0,
        listed_jobs: int = 100,
        max_active_jobs: int = 30,
        max_records: int = 100,
        max_show_many: int = 100,
        bulk_user_imports: bool = True,
        max_logged_requests: int = 100_000,
        seed: int = 0,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.verbose = verbose
        self.clock: Clock = clock if clock is not None else ScaledClock(speed=20.0)
        self.credentials = Credentials(
            email=email, api_token=api_token, oauth_token=oauth_token, client_id=client_id, client_secret=client_secret
        )
        self._store_settings, self._api_settings = StoreSettings(), ApiSettings()
        apply(  # the settings' one check, as for a change made while the emulator runs
            self._store_settings,
            self._api_settings,
            {
                "queued_seconds": queued_seconds,
                "seconds_per_item": seconds_per_item,
                "not_visible_seconds": not_visible_seconds,
                "retention_seconds": retention_seconds,
                "listed_jobs": listed_jobs,
                "max_active_jobs": max_active_jobs,
                "max_records": max_records,
                "max_show_many": max_show_many,
                "bulk_user_imports": bulk_user_imports,
            },
        )
        self._auth = Authenticator(self.credentials, self.clock, oauth_token_ttl, seed)
        self._store = JobStore(self.clock, self._store_settings, seed)
        self._faults = FaultSet(seed)
        self._limiter = RateLimiter()
        self._log = RequestLog(max_logged_requests)
        self._records = RecordLog()
        self._base_url: str | None = None
        self._api = ZendeskApi(
            clock=self.clock,
            store=self._store,
            auth=self._auth,
            limiter=self._limiter,
            settings=self._api_settings,
            base_url=self._current_base_url,
            records=self._records,
        )
        self._control = ControlApi(self, clock_name=type(self.clock).__name__)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._stopped = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> ZendeskEmulator:
        """Bind the port and serve on a background thread; returns self."""
        with self._lifecycle:
            if self._server is not None or self._stopped:
                raise RuntimeError("an emulator can be started once; create a new one")
            handlers = Handlers(
                api=self._api.handle,
                control=self._control.handle,
                classify_auth=self._classify,
                pick_fault=self._faults.pick,
                record=self._log.add,
                now=self.clock.now,
            )
            server = EmulatorHTTPServer(self.host, self.port, handlers, verbose=self.verbose)
            self.port = server.server_port
            host = f"[{self.host}]" if ":" in self.host else self.host
            self._base_url = f"http://{host}:{self.port}"
            self._server = server
            self._thread = threading.Thread(target=server.serve, name=f"zendesk-emulator-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections (hanging requests included) and close the socket."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            if self._stopped or server is None:
                self._stopped = True
                return
            self._stopped = True
        server.stopping.set()
        server.wake()
        if thread is not None:
            thread.join()
        server.server_close()
        server.close_connections(timeout=2.0)

    def __enter__(self) -> ZendeskEmulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._base_url or "not started"
        return f"ZendeskEmulator({where}, clock={self.clock!r})"

    @property
    def url(self) -> str:
        """``http://host:port`` without a trailing slash (known once started)."""
        if self._base_url is None:
            raise RuntimeError("the emulator has no URL until start() has bound its port")
        return self._base_url

    def _current_base_url(self) -> str:
        return self._base_url or f"http://{self.host}:{self.port}"

    # -- clock ------------------------------------------------------------------------------

    def now(self) -> float:
        """The clock time, epoch seconds (``emu.clock.now()``)."""
        return self.clock.now()

    def advance(self, seconds: float) -> float:
        """Move the clock forward; returns the new clock time."""
        return self.clock.advance(seconds)

    # -- settings ---------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """Every setting (timings, limits, switches, answer styles) and the rate limit, as JSON-ready values."""
        return describe(self._store_settings, self._api_settings, self.rate_limit)

    def change_settings(self, **changes: Any) -> dict[str, Any]:
        """Change settings by name (see ``testing.settings.SETTING_NAMES``); all or none. Returns them all."""
        apply(self._store_settings, self._api_settings, changes)
        return self.settings()

    @property
    def pagination_style(self) -> str:
        """``"cursor"`` (Zendesk's current list answers) or ``"offset"`` (``next_page`` / ``count``)."""
        return self._api_settings.pagination_style

    @pagination_style.setter
    def pagination_style(self, style: str) -> None:
        self.change_settings(pagination_style=style)

    @property
    def next_link_base(self) -> str | None:
        """Origin used in list page links instead of :attr:`url` (to test that clients refuse them)."""
        return self._api_settings.next_link_base

    @next_link_base.setter
    def next_link_base(self, base: str | None) -> None:
        self.change_settings(next_link_base=base)

    @property
    def failing_ids(self) -> set[object]:
        """Ids whose update or deletion fails (checked when a job is created).

        Ticket, user, organization, membership and custom object record ids, or the external ids of the
        calls by external id; a ``user_id`` in it makes a membership's creation fail.
        """
        return self._api_settings.failing_ids

    @failing_ids.setter
    def failing_ids(self, ids: Collection[object]) -> None:
        self.change_settings(failing_ids=ids)

    @property
    def bulk_user_imports(self) -> bool:
        """False: ``users/create_many`` and ``create_or_update_many`` answer 403, as when the account owner
        has not switched bulk user imports on (nothing is started, recorded or counted)."""
        return self._api_settings.bulk_user_imports

    @bulk_user_imports.setter
    def bulk_user_imports(self, enabled: bool) -> None:
        self.change_settings(bulk_user_imports=enabled)

    @property
    def store_settings(self) -> StoreSettings:
        """Job timings (queued_seconds, seconds_per_item, not_visible_seconds, retention_seconds)."""
        return self._store_settings

    @property
    def api_settings(self) -> ApiSettings:
        """Limits of the endpoints (max_active_jobs, max_records, max_show_many), switches and answer styles."""
        return self._api_settings

    # -- jobs -------------------------------------------------------------------------------

    def create_job(
        self,
        kind: str = "tickets_create",
        records: Sequence[Any] | None = None,
        count: int | None = None,
        outcome: str = "completed",
        fail_indexes: Iterable[int] = (),
        queued_seconds: float | None = None,
        work_seconds: float | None = None,
        job_type: str | None = None,
    ) -> str:
        """Create a job as a bulk call would (without HTTP, and without the active-job limit)."""
        job = self._store.create(
            kind,
            job_records(records),
            count=count,
            outcome=outcome,
            fail_indexes=fail_indexes,
            failing_ids=self._api_settings.failing_ids,
            queued_seconds=queued_seconds,
            work_seconds=work_seconds,
            job_type=job_type,
        )
        return job.id

    def job(self, job_id: str) -> dict[str, Any]:
        """The job status object as Zendesk would answer it now (even inside the not-visible window).

        Raises KeyError for an unknown or expired job.
        """
        view = self._store.get(job_id).view(self.clock.now(), self._current_base_url())
        return copy.deepcopy(view)

    def finish_time(self, job_id: str) -> float:
        """Clock time at which the job becomes terminal (``inf`` if frozen in a non-terminal status)."""
        return self._store.get(job_id).finish_time

    def set_job_status(self, job_id: str, status: str, message: str | None = None) -> None:
        """Freeze the job in ``status`` (e.g. "killed", or an unknown "paused"); ``message`` replaces the default."""
        self._store.force_status(job_id, status, message)

    def expire_job(self, job_id: str) -> None:
        """The job is gone from now on: 404, and left out of show_many and the list."""
        self._store.expire(job_id)

    # -- faults, rate limit, tokens ---------------------------------------------------------

    def add_fault(self, fault: Fault) -> Fault:
        return self._faults.add(fault)

    def clear_faults(self) -> int:
        return self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        return self._faults.active()

    def set_rate_limit(self, per_minute: int | None) -> None:
        """Requests per clock minute on ``/api/v2``; None removes the limit."""
        self._limiter.set(per_minute)

    @property
    def rate_limit(self) -> int | None:
        return self._limiter.per_minute

    @property
    def tokens_issued(self) -> int:
        return self._auth.tokens_issued

    def expire_tokens(self) -> None:
        """Every token issued by ``/oauth/tokens`` stops working now."""
        self._auth.expire_tokens()

    def _classify(self, header: str | None) -> str:
        return self._auth.classify(header) if header else AUTH_NONE

    # -- request log ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log (control calls excluded)."""
        return self._log.records()

    def request_records(self, path_prefix: str | None = None, method: str | None = None) -> list[RequestRecord]:
        """The requests whose path starts with ``path_prefix`` and whose method is ``method`` (any case)."""
        return self._log.records(path_prefix, method)

    def request_count(self, path_prefix: str | None = None, method: str | None = None) -> int:
        return self._log.count(path_prefix, method)

    def reset_requests(self) -> None:
        self._log.clear()

    # -- records received by the bulk calls ---------------------------------------------------

    @property
    def record_log(self) -> RecordLog:
        """Every record the bulk calls received (per job; counts by external_id, email and id)."""
        return self._records

    def records_received(self) -> int:
        return self._records.total()

    def duplicate_records(self, field: str = "external_id") -> dict[str, int]:
        """Values of ``field`` that came in more than once, with how often: empty when nothing was sent twice."""
        return self._records.duplicates(field)

    def record_counts(self, field: str = "external_id") -> dict[str, int]:
        """How often each value of ``field`` (``external_id``, ``email`` or ``id``) was received."""
        return self._records.counts(field)

    def record_summary(self, field: str = "external_id") -> RecordSummary:
        """Records per job, the total, refused calls, calls with an Idempotency-Key, duplicates of ``field``."""
        return self._records.summary(field)

    def reset_records(self) -> None:
        self._records.clear()

    # -- for Airflow ------------------------------------------------------------------------

    def connection_extra_json(self, auth: str = "token") -> str:
        """JSON for ``AIRFLOW_CONN_<ID>``: the API-token form, or ``"oauth"`` / ``"client_credentials"``."""
        return connection_json(self.url, self.credentials, auth)
