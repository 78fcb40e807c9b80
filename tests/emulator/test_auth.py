"""The three ways to authenticate, and every way to fail."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.emulator_http import BASIC, BEARER, call

UNAUTHORIZED = {"error": "Couldn't authenticate you"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def issue(emu, **overrides):
    grant = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}
    grant.update(overrides)
    return call(emu, "POST", "/oauth/tokens", grant, auth=None)


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (BASIC, "basic"),
        (basic("DEMO@example.com/token", "demo-token"), "basic"),
        ("basic " + BASIC.split(" ", 1)[1], "basic"),
        (BEARER, "bearer"),
        ("bearer demo-oauth-token", "bearer"),
    ],
)
def test_valid_credentials(emu, header, kind):
    answer = call(emu, "GET", "/api/v2/job_statuses", auth=header)
    assert answer.status == 200
    assert emu.requests[-1].auth == kind


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (None, "none"),
        (basic("demo@example.com/token", "wrong-token"), "invalid"),
        (basic("other@example.com/token", "demo-token"), "invalid"),
        (basic("demo@example.com", "demo-token"), "invalid"),  # password access is retired
        ("Basic not-base64!!", "invalid"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), "invalid"),
        ("Bearer wrong", "invalid"),
        ("Bearer ", "invalid"),
        ("Token demo-token", "invalid"),
    ],
)
def test_invalid_credentials_answer_401(emu, header, kind):
    for path in ("/api/v2/job_statuses", "/api/v2/tickets/create_many", "/api/v2/anything"):
        answer = call(emu, "GET", path, auth=header)
        assert answer.status == 401
        assert answer.json() == UNAUTHORIZED
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert emu.requests[-1].auth == kind


def test_custom_credentials(zendesk_emulator_factory):
    emu = zendesk_emulator_factory(email="ops@acme.test", api_token="s3cret", oauth_token="tok")
    assert call(emu, "GET", "/api/v2/job_statuses", auth=basic("ops@acme.test/token", "s3cret")).status == 200
    assert call(emu, "GET", "/api/v2/job_statuses", auth="Bearer tok").status == 200
    assert call(emu, "GET", "/api/v2/job_statuses", auth=BASIC).status == 401


def test_client_credentials_token_lifecycle(zendesk_emulator_factory):
    emu = zendesk_emulator_factory(oauth_token_ttl=600.0)
    answer = issue(emu, scope="read")
    assert answer.status == 200
    grant = answer.json()
    assert set(grant) == {"access_token", "token_type", "scope", "expires_in"}
    assert grant["token_type"] == "bearer"
    assert grant["scope"] == "read"
    assert grant["expires_in"] == 600
    assert emu.tokens_issued == 1
    header = f"Bearer {grant['access_token']}"
    assert call(emu, "GET", "/api/v2/job_statuses", auth=header).status == 200
    assert emu.requests[-1].auth == "oauth-client-token"
    emu.advance(599.0)
    assert call(emu, "GET", "/api/v2/job_statuses", auth=header).status == 200
    emu.advance(1.0)
    expired = call(emu, "GET", "/api/v2/job_statuses", auth=header)
    assert expired.status == 401
    assert expired.json() == UNAUTHORIZED
    assert emu.requests[-1].auth == "invalid"


def test_each_token_is_new_and_expire_tokens_ends_them_all(emu):
    first = issue(emu).json()["access_token"]
    second = issue(emu).json()["access_token"]
    assert first != second
    assert emu.tokens_issued == 2
    emu.expire_tokens()
    for token in (first, second):
        assert call(emu, "GET", "/api/v2/job_statuses", auth=f"Bearer {token}").status == 401
    assert call(emu, "GET", "/api/v2/job_statuses", auth=BEARER).status == 200  # the fixed token lives on
    assert issue(emu).status == 200
    assert emu.tokens_issued == 3


def test_token_request_without_scope_gets_read(emu):
    assert issue(emu).json()["scope"] == "read"


def test_token_request_as_a_form(emu):
    answer = call(
        emu,
        "POST",
        "/oauth/tokens",
        raw=b"grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret&scope=read",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=None,
    )
    assert answer.status == 200
    assert answer.json()["token_type"] == "bearer"


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "unsupported_grant_type"),
    ],
)
def test_token_request_errors(emu, overrides, status, error):
    answer = issue(emu, **overrides)
    assert answer.status == status
    body = answer.json()
    assert body["error"] == error
    assert body["error_description"]
    assert emu.tokens_issued == 0


@pytest.mark.parametrize("raw", [b"", b"{oops", b"[1, 2]"])
def test_token_request_with_a_bad_body(emu, raw):
    answer = call(emu, "POST", "/oauth/tokens.json", raw=raw, auth=None, headers={"Content-Type": "application/json"})
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"


def test_connection_json_forms(emu):
    assert json.loads(emu.connection_extra_json()) == {
        "conn_type": "zendesk_jobs",
        "host": emu.url,
        "login": "demo@example.com",
        "password": "demo-token",
    }
    assert json.loads(emu.connection_extra_json(auth="oauth")) == {
        "conn_type": "zendesk_jobs",
        "host": emu.url,
        "extra": {"oauth_token": "demo-oauth-token"},
    }
    assert json.loads(emu.connection_extra_json(auth="client_credentials")) == {
        "conn_type": "zendesk_jobs",
        "host": emu.url,
        "extra": {"client_id": "demo-client", "client_secret": "demo-secret"},
    }
    with pytest.raises(ValueError, match="auth"):
        emu.connection_extra_json(auth="password")
