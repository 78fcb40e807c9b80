"""No credential in logs (DEBUG included), errors or repr; the provider registers with Airflow."""

from __future__ import annotations

import base64
import logging

import pytest
import requests_mock as rm

from airflow_provider_zendesk_jobs.exceptions import ZendeskJobsError
from airflow_provider_zendesk_jobs.get_provider_info import get_provider_info
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from tests.airflow_compat import ProvidersManager, redact
from tests.support.hooks import BASE, FakeClock, job, make_hook, set_connection

API_TOKEN = "api-token-Q7Wz9"
OAUTH_TOKEN = "oauth-token-K2m4"
CLIENT_SECRET = "client-secret-P8x1"
ISSUED_TOKEN = "issued-token-R5t6"
BASIC = base64.b64encode(f"a@b.c/token:{API_TOKEN}".encode()).decode()
SECRETS = [API_TOKEN, OAUTH_TOKEN, CLIENT_SECRET, ISSUED_TOKEN, BASIC]

CONNECTIONS = {
    "token": {"host": "acme", "login": "a@b.c", "password": API_TOKEN},
    "extra_token": {"host": "acme", "login": "a@b.c", "extra": {"token": API_TOKEN, "use_token": True}},
    "oauth": {"host": "acme", "extra": {"oauth_token": OAUTH_TOKEN}},
    "client": {"host": "acme", "extra": {"client_id": "cid", "client_secret": CLIENT_SECRET}},
}


def drive_every_path(hook: ZendeskJobStatusHook, mocker: rm.Mocker) -> list[str]:
    """Success, retries, every error status and pagination; returns the text of every error raised."""
    mocker.post(f"{BASE}/oauth/tokens", json={"access_token": ISSUED_TOKEN, "expires_in": 7200})
    show = f"{BASE}/api/v2/job_statuses/V3-a"
    texts: list[str] = []
    mocker.get(
        show,
        [
            {"status_code": 429, "headers": {"Retry-After": "1"}},
            {"status_code": 503, "text": "<html>down</html>"},
            {"json": {"job_status": job("V3-a")}},
        ],
    )
    hook.get_job_status("V3-a")
    for status in (400, 401, 403, 404, 429, 500):
        mocker.get(show, status_code=status, json={"error": "X"})
        try:
            hook.get_job_status("V3-a")
        except ZendeskJobsError as exc:
            texts.append(str(exc))
            texts.append(repr(exc))
    mocker.get(
        f"{BASE}/api/v2/job_statuses", json={"job_statuses": [job("V3-a")], "next_page": "https://evil.example.com/x"}
    )
    try:
        list(hook.list_job_statuses())
    except ZendeskJobsError as exc:
        texts.append(str(exc))
    texts.append(repr(hook))
    texts.append(repr(hook.settings))
    return texts


@pytest.mark.parametrize("mode", sorted(CONNECTIONS))
def test_no_secret_in_logs_errors_or_repr(
    mode: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, requests_mock: rm.Mocker
) -> None:
    set_connection(monkeypatch, **CONNECTIONS[mode])  # type: ignore[arg-type]
    hook = make_hook(FakeClock(), retry_limit=3)
    with caplog.at_level(logging.DEBUG):
        texts = drive_every_path(hook, requests_mock)
    assert len(texts) >= 8
    everything = caplog.text + "\n".join(texts)
    for secret in SECRETS:
        assert secret not in everything
    # Credentials went only to the connection's own host.
    assert {r.hostname for r in requests_mock.request_history} == {"acme.zendesk.com"}


@pytest.mark.parametrize("mode", sorted(CONNECTIONS))
def test_secrets_are_registered_with_the_masker(
    mode: str, monkeypatch: pytest.MonkeyPatch, requests_mock: rm.Mocker
) -> None:
    set_connection(monkeypatch, **CONNECTIONS[mode])  # type: ignore[arg-type]
    hook = make_hook(FakeClock())
    requests_mock.post(f"{BASE}/oauth/tokens", json={"access_token": ISSUED_TOKEN, "expires_in": 7200})
    requests_mock.get(f"{BASE}/api/v2/job_statuses/V3-a", json={"job_status": job("V3-a")})
    hook.get_job_status("V3-a")
    used = {
        "token": [API_TOKEN, BASIC],
        "extra_token": [API_TOKEN, BASIC],
        "oauth": [OAUTH_TOKEN],
        "client": [CLIENT_SECRET, ISSUED_TOKEN],
    }[mode]
    for secret in used:
        assert secret not in str(redact(f"value={secret}"))


def test_provider_info_lists_the_connection_type_and_form() -> None:
    info = get_provider_info()
    (conn,) = info["connection-types"]
    assert conn["connection-type"] == "zendesk_jobs"
    assert conn["hook-class-name"] == "airflow_provider_zendesk_jobs.hooks.zendesk_jobs.ZendeskJobStatusHook"
    assert conn["ui-field-behaviour"]["hidden-fields"] == ["schema", "port"]
    assert set(conn["ui-field-behaviour"]["relabeling"]) == {"host", "login", "password"}
    fields = conn["conn-fields"]
    assert {name for name, spec in fields.items() if spec["schema"].get("format") == "password"} == {
        "oauth_token",
        "client_secret",
    }
    assert "timeout" in fields
    behaviour = ZendeskJobStatusHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == ["schema", "port"]
    assert isinstance(ZendeskJobStatusHook.get_connection_form_widgets(), dict)


def test_every_listed_module_imports() -> None:
    import importlib

    info = get_provider_info()
    for section in ("hooks", "sensors", "operators", "triggers"):
        for entry in info.get(section, []):
            for module in entry.get("python-modules", []):
                importlib.import_module(module)


def test_airflow_s_providers_manager_lists_the_hook() -> None:
    """What ``airflow providers hooks`` prints, read where the command reads it (the wheel's own test runs the CLI)."""
    hook = ProvidersManager().hooks["zendesk_jobs"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_provider_zendesk_jobs.hooks.zendesk_jobs.ZendeskJobStatusHook"
    assert (hook.hook_name, hook.connection_id_attribute_name) == ("Zendesk Jobs", "zendesk_conn_id")
