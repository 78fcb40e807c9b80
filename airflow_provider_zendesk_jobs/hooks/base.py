"""What the sync and async hooks share: the connection type and form, reading a connection (its secrets masked
before the first request), and the API calls, each written once as a flow."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_zendesk_jobs.api.connection_settings import ConnectionSettings, settings_from_connection
from airflow_provider_zendesk_jobs.api.operations import show_many_requests, statuses_by_id
from airflow_provider_zendesk_jobs.api.request_builders import show_job_request, submit_request
from airflow_provider_zendesk_jobs.api.request_flow import DEFAULT_RETRY_LIMIT, Flow, RequestFlow, RetryPolicy
from airflow_provider_zendesk_jobs.exceptions import ZendeskNotFoundError
from airflow_provider_zendesk_jobs.get_provider_info import CONN_FIELDS, CONN_TYPE, DEFAULT_CONN_ID, UI_FIELD_BEHAVIOUR
from airflow_provider_zendesk_jobs.jobs import JobStatus, parse_job_status_body

_log = logging.getLogger(__name__)

# Looked up when the hook module is imported (the triggerer's poller imports it in a thread), not
# on the event loop at the first read: a failed ``from ... import`` also searches for a submodule.
_async_connection_helpers: tuple[Any, Any] | None
try:
    from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
except ImportError:  # common-compat before 1.21, the newest release on Python 3.10
    _async_connection_helpers = None
else:
    _async_connection_helpers = (get_async_connection, get_async_extra_dejson)


def mask_secrets(values: list[str]) -> None:
    """Register values with Airflow's secrets masker, on every Airflow 3 version."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older task SDKs
        from airflow.providers.common.compat.sdk import mask_secret

    for value in filter(None, values):
        mask_secret(value)


async def amask_secrets(values: list[str]) -> None:
    """The event-loop form: a synchronous call to the supervisor from the triggerer could deadlock."""
    try:
        from airflow.sdk.log import amask_secret
    except ImportError:  # pragma: no cover - task SDKs before the async masker
        mask_secrets(values)
        return
    for value in filter(None, values):
        await amask_secret(value)


async def aread_connection(hook: BaseHook, conn_id: str) -> tuple[Any, dict[str, Any]]:
    """The connection and its extras without blocking the event loop: before Airflow 3.3.2 masking its secrets is
    a synchronous call to the supervisor, which deadlocks a busy loop; common-compat's helpers (1.21+, Python 3.11+)
    avoid it, and without them the synchronous reads run in a worker thread."""
    if _async_connection_helpers is None:
        from asgiref.sync import sync_to_async

        conn = await sync_to_async(hook.get_connection)(conn_id)
        extra: dict[str, Any] = await sync_to_async(lambda: conn.extra_dejson)()
        return conn, extra
    get_async_connection, get_async_extra_dejson = _async_connection_helpers
    conn = await get_async_connection(conn_id, hook=hook)
    return conn, await get_async_extra_dejson(conn)


class ZendeskJobsBaseHook(BaseHook):
    """Connection handling and the API calls common to :class:`ZendeskJobStatusHook` and its async twin.

    :param zendesk_conn_id: an Airflow connection of type ``zendesk_jobs`` (or one made for
        the official Zendesk provider).
    :param retry_limit: attempts per request, the first included, for 429, 5xx and network errors.
    :param connect_timeout: seconds for the TCP/TLS handshake (default 10, or the ``timeout`` extra).
    :param read_timeout: seconds to wait for each answer (default 30, or the ``timeout`` extra).
    :param max_retry_after: the longest ``Retry-After`` a call sleeps through before raising
        :class:`~airflow_provider_zendesk_jobs.exceptions.ZendeskRateLimitError`.
    :param clock: epoch seconds, for Retry-After dates, token expiry and the rate-limit gate.
    """

    conn_name_attr = "zendesk_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Zendesk Jobs"

    def __init__(
        self,
        zendesk_conn_id: str = default_conn_name,
        *,
        retry_limit: int = DEFAULT_RETRY_LIMIT,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_retry_after: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.zendesk_conn_id = zendesk_conn_id
        self.retry_policy = RetryPolicy(max_attempts=retry_limit, max_retry_after=max_retry_after)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._settings: ConnectionSettings | None = None
        self.clock = clock
        self._flow = RequestFlow(self.retry_policy, lambda: self.clock())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(zendesk_conn_id={self.zendesk_conn_id!r})"

    def rate_limit_wait(self) -> float:
        """Seconds until Zendesk's last ``Retry-After`` has passed for this hook (0 when none holds)."""
        return self._flow.wait_needed()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """For Airflow versions that still read the form from the hook class."""
        return {key.replace("-", "_"): type(value)(value) for key, value in UI_FIELD_BEHAVIOUR.items()}

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields as form widgets where the UI is Flask-based; Airflow 3 reads ``conn-fields``."""
        try:
            from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
            from flask_babel import lazy_gettext
            from wtforms import PasswordField, StringField
        except ImportError:
            return {}
        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            secret = spec["schema"].get("format") == "password"
            field_class = PasswordField if secret else StringField
            widget = BS3PasswordFieldWidget() if secret else BS3TextFieldWidget()
            widgets[name] = field_class(lazy_gettext(spec["label"]), widget=widget)
        return widgets

    def build_settings(
        self, host: str | None, login: str | None, password: str | None, extra: Mapping[str, Any]
    ) -> ConnectionSettings:
        return settings_from_connection(host, login, password, extra, self.connect_timeout, self.read_timeout)

    def _job_status_flow(self, settings: ConnectionSettings, job_id: str) -> Flow:
        return parse_job_status_body((yield from self._flow.run(show_job_request(settings.base_url, job_id), settings)))

    def _statuses_by_id_flow(self, settings: ConnectionSettings, job_ids: Sequence[str], checked: bool) -> Flow:
        found: dict[str, JobStatus] = {}
        for request in show_many_requests(settings, job_ids, checked=checked):
            try:
                body = yield from self._flow.run(request, settings)
            except ZendeskNotFoundError as exc:
                if exc.path != request.path:
                    raise
                continue  # Zendesk answers show_many with 404 when it knows none of the request's ids
            found.update(statuses_by_id(body, request.job_ids))
        return found

    def _submit_flow(
        self,
        settings: ConnectionSettings,
        method: str,
        endpoint: str,
        payload: Any,
        attempts: int | None = None,
        announce: bool = True,
    ) -> Flow:
        request = submit_request(settings.base_url, method, endpoint, payload)
        job = parse_job_status_body((yield from self._flow.run(request, settings, attempts=attempts)))
        _log.log(
            logging.INFO if announce else logging.DEBUG,
            "Zendesk accepted %s %s as job %s (%s)",
            request.method,
            request.path,
            job.id,
            job.status,
        )
        return job
