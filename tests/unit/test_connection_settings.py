"""Connection fields -> base URL, auth mode and timeouts; bad values refused before any request."""

from __future__ import annotations

import pytest

from airflow_provider_zendesk_jobs.api.auth import ApiTokenAuth, ClientCredentialsAuth, OAuthTokenAuth
from airflow_provider_zendesk_jobs.api.connection_settings import (
    Timeouts,
    auth_from_connection,
    base_url_from_host,
    settings_from_connection,
    timeouts_from,
)
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("acme", "https://acme.zendesk.com"),
        ("acme.zendesk.com", "https://acme.zendesk.com"),
        ("https://acme.zendesk.com", "https://acme.zendesk.com"),
        ("https://acme.zendesk.com/", "https://acme.zendesk.com"),
        ("https://acme.zendesk.com/api/v2", "https://acme.zendesk.com"),
        ("ACME.zendesk.com", "https://acme.zendesk.com"),
        ("https://acme.zendesk.com:8443", "https://acme.zendesk.com:8443"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("  acme  ", "https://acme.zendesk.com"),
    ],
)
def test_host_forms(host: str, base: str) -> None:
    assert base_url_from_host(host) == base


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        (None, "has no host"),
        ("", "has no host"),
        ("http://acme.zendesk.com", "plain http:// is only allowed for a loopback host"),
        ("http://10.0.0.1:80", "plain http:// is only allowed for a loopback host"),
        ("ftp://acme.zendesk.com", "the scheme 'ftp' is not supported"),
        ("https://user@evil.com", "contains a user name"),
        ("user@evil.com", "may not contain '/', '@'"),
        ("https://user:pw@acme.zendesk.com", "contains a user name"),
        ("https://acme.zendesk.com/other", "has the path '/other'"),
        ("https://acme.zendesk.com/?x=1", "has a query or fragment"),
        ("acme.zendesk.com/api", "may not contain '/'"),
        ("https://ac me.zendesk.com", "not valid"),
        ("https://acme.zendesk.com:99999", "not a valid URL"),
    ],
)
def test_bad_hosts_are_refused_with_the_reason(host: str | None, reason: str) -> None:
    with pytest.raises(ZendeskInvalidInputError) as info:
        base_url_from_host(host)
    assert reason in str(info.value)
    assert "acme.zendesk.com" in str(info.value)


def test_api_token_from_password_like_the_official_provider() -> None:
    auth = auth_from_connection("agent@example.com", "tok", {})
    assert auth == ApiTokenAuth(email="agent@example.com", token="tok")


@pytest.mark.parametrize("extra", [{"token": "tok"}, {"token": "tok", "use_token": True}])
def test_api_token_from_extra(extra: dict[str, object]) -> None:
    assert auth_from_connection("agent@example.com", "old-password", extra) == ApiTokenAuth("agent@example.com", "tok")


def test_login_with_token_suffix_is_not_doubled() -> None:
    auth = auth_from_connection("agent@example.com/token", "tok", {})
    assert isinstance(auth, ApiTokenAuth)
    assert auth.email == "agent@example.com"


def test_oauth_token_wins_over_api_token() -> None:
    assert auth_from_connection("a@b.c", "tok", {"oauth_token": "oat"}) == OAuthTokenAuth("oat")


def test_client_credentials_win_over_everything() -> None:
    auth = auth_from_connection("a@b.c", "tok", {"oauth_token": "oat", "client_id": "cid", "client_secret": "cs"})
    assert auth == ClientCredentialsAuth("cid", "cs")


@pytest.mark.parametrize(
    ("login", "password", "extra", "message"),
    [
        (None, None, {}, "has no credentials"),
        (None, "tok", {}, "no login"),
        ("a@b.c", None, {}, "has no credentials"),
        (None, None, {"client_id": "cid"}, "need both"),
        (None, None, {"oauth_token": 5}, "must be text"),
    ],
)
def test_missing_or_partial_credentials(
    login: str | None, password: str | None, extra: dict[str, object], message: str
) -> None:
    with pytest.raises(ZendeskInvalidInputError, match=message):
        auth_from_connection(login, password, extra)


def test_secrets_are_hidden_from_repr() -> None:
    settings = settings_from_connection(
        host="acme", login="a@b.c", password="SECRET-TOKEN", extra={}, connect_timeout=None, read_timeout=None
    )
    assert "SECRET-TOKEN" not in repr(settings)
    assert "SECRET" not in repr(ClientCredentialsAuth("cid", "SECRET"))
    assert "SECRET" not in repr(OAuthTokenAuth("SECRET"))
    assert "SECRET-TOKEN" in settings.auth.secrets()


@pytest.mark.parametrize(
    ("extra", "kwargs", "expected"),
    [
        ({}, {}, Timeouts(10.0, 30.0)),
        ({"timeout": 5}, {}, Timeouts(10.0, 5.0)),
        ({"timeout": "3,20"}, {}, Timeouts(3.0, 20.0)),
        ({"timeout": {"connect": 2, "read": 7}}, {}, Timeouts(2.0, 7.0)),
        ({"timeout": '{"read": 9}'}, {}, Timeouts(10.0, 9.0)),
        ({"timeout": 5}, {"read_timeout": 60, "connect_timeout": 1}, Timeouts(1.0, 60.0)),
    ],
)
def test_timeouts_defaults_extra_and_arguments(
    extra: dict[str, object], kwargs: dict[str, float], expected: Timeouts
) -> None:
    assert timeouts_from(extra, **kwargs) == expected


@pytest.mark.parametrize("value", [0, -1, "soon", True, 10_000, [1]])
def test_bad_timeouts_are_refused(value: object) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="timeout must be"):
        timeouts_from({"timeout": value})
