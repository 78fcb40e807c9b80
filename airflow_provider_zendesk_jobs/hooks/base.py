"""What the sync and async hooks share: the connection type, its form, and reading a connection.

Reading a connection registers every secret with Airflow's secrets masker before the first
request, so no later log line, at any level, can show one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_zendesk_jobs.api.auth import ClientCredentialsAuth, OAuthTokenCache
from airflow_provider_zendesk_jobs.api.connection_settings import ConnectionSettings, settings_from_connection
from airflow_provider_zendesk_jobs.api.retry_policy import DEFAULT_RETRY_LIMIT, RateLimitGate, RetryPolicy
from airflow_provider_zendesk_jobs.get_provider_info import CONN_FIELDS, CONN_TYPE, DEFAULT_CONN_ID, UI_FIELD_BEHAVIOUR

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
    for value in values:
        if value:
            mask_secret(value)


async def amask_secrets(values: list[str]) -> None:
    """The event-loop form: a synchronous call to the supervisor from the triggerer could deadlock."""
    try:
        from airflow.sdk.log import amask_secret
    except ImportError:  # pragma: no cover - task SDKs before the async masker
        mask_secrets(values)
        return
    for value in values:
        if value:
            await amask_secret(value)


async def aread_connection(hook: BaseHook, conn_id: str) -> tuple[Any, dict[str, Any]]:
    """The connection and its extras, read without blocking the event loop, on every Airflow 3 version.

    common-compat's helpers take the safe path on each Airflow: before 3.3.2 the connection's
    secrets are masked with a synchronous call to the supervisor, which deadlocks on an event
    loop with another call in flight. Their extras helper needs common-compat 1.21 (Python 3.11);
    with the older one on Python 3.10 the synchronous reads run in a worker thread, as
    common-compat does on those Airflow versions.
    """
    if _async_connection_helpers is None:  # common-compat before 1.21, the newest release on Python 3.10
        from asgiref.sync import sync_to_async

        conn = await sync_to_async(hook.get_connection)(conn_id)
        extra: dict[str, Any] = await sync_to_async(lambda: conn.extra_dejson)()
        return conn, extra
    get_async_connection, get_async_extra_dejson = _async_connection_helpers
    conn = await get_async_connection(conn_id, hook=hook)
    return conn, await get_async_extra_dejson(conn)


class ZendeskJobsBaseHook(BaseHook):
    """Connection handling common to :class:`ZendeskJobStatusHook` and its async twin."""

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
        self._token_cache = OAuthTokenCache()
        self._gate = RateLimitGate()
        #: Time source for Retry-After dates, token expiry and the rate-limit gate.
        self._clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}(zendesk_conn_id={self.zendesk_conn_id!r})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """For Airflow versions that still read the form from the hook class."""
        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

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
        settings = settings_from_connection(
            host=host,
            login=login,
            password=password,
            extra=extra,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )
        return settings

    @property
    def uses_client_credentials(self) -> bool:
        return self._settings is not None and isinstance(self._settings.auth, ClientCredentialsAuth)
