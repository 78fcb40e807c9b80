"""The provider's metadata for Airflow: modules, the ``zendesk_jobs`` connection type and its form.

Airflow calls it while discovering every provider, so it imports nothing heavy.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_zendesk_jobs import __version__

CONN_TYPE = "zendesk_jobs"
#: The connection id every hook, sensor, trigger and operator uses unless told otherwise.
DEFAULT_CONN_ID = "zendesk_default"
_PACKAGE = "airflow_provider_zendesk_jobs"
HOOK_CLASS = f"{_PACKAGE}.hooks.zendesk_jobs.ZendeskJobStatusHook"
#: The modules listed under each kind (``hooks``, ``sensors``...) of the provider info.
_MODULES = {
    "hooks": ["hooks.zendesk_jobs"],
    "sensors": ["sensors.zendesk_jobs"],
    "operators": ["operators.zendesk_jobs", "operators.bulk_jobs"],
    "triggers": ["triggers.zendesk_jobs", "triggers.job_events"],
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {"host": "Zendesk subdomain or URL", "login": "Email (for an API token)", "password": "API token"},
    "placeholders": {
        "host": "acme, acme.zendesk.com or https://acme.zendesk.com",
        "login": "agent@example.com",
        "password": "API token (leave empty when using OAuth)",
        "extra": '{"oauth_token": "..."} or {"client_id": "...", "client_secret": "..."}',
    },
}

CONN_FIELDS: dict[str, Any] = {
    "oauth_token": {
        "label": "OAuth access token",
        "description": "Sent as a Bearer token instead of email + API token.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "client_id": {
        "label": "OAuth client id",
        "description": "With the client secret: tokens are fetched from /oauth/tokens and renewed automatically.",
        "schema": {"type": ["string", "null"]},
    },
    "client_secret": {"label": "OAuth client secret", "schema": {"type": ["string", "null"], "format": "password"}},
    "timeout": {
        "label": "Read timeout (seconds)",
        "description": "Seconds to wait for each answer; the connect timeout stays 10 s unless set as 'connect,read'.",
        "schema": {"type": ["number", "null"], "default": 30},
    },
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-zendesk-jobs",
        "name": "Zendesk Jobs",
        "description": "Wait on Zendesk background jobs (bulk imports, updates, deletions) and read their results.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Zendesk Jobs",
                "external-doc-url": "https://developer.zendesk.com/api-reference/ticketing/ticket-management/job_statuses/",
                "tags": ["service"],
            }
        ],
        **{
            kind: [{"integration-name": "Zendesk Jobs", "python-modules": [f"{_PACKAGE}.{name}" for name in modules]}]
            for kind, modules in _MODULES.items()
        },
        "extra-links": [f"{_PACKAGE}.links.ZendeskJobLink", f"{_PACKAGE}.links.ZendeskCreatedTicketLink"],
        "connection-types": [
            {
                "hook-class-name": HOOK_CLASS,
                "hook-name": "Zendesk Jobs",
                "connection-type": CONN_TYPE,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
