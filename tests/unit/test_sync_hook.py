"""ZendeskJobStatusHook with requests-mock: every auth mode, retry path, read and pagination case."""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
import requests
import requests_mock as rm

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskJobsError,
    ZendeskNotFoundError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from tests.unit.support import API_TOKEN, BASE, EMAIL, FakeClock, job, make_hook, set_connection

SHOW = f"{BASE}/api/v2/job_statuses/V3-abc"
SHOW_MANY = f"{BASE}/api/v2/job_statuses/show_many"
LIST = f"{BASE}/api/v2/job_statuses"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def token_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login=EMAIL, password=API_TOKEN)


@pytest.fixture
def client_credentials_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(
        monkeypatch, host="acme.zendesk.com", extra={"client_id": "cid", "client_secret": "CLIENT-SECRET-xyz"}
    )


# -- auth modes -------------------------------------------------------------------------------------
def test_api_token_basic_auth_user_agent_and_timeouts(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(SHOW, json={"job_status": job(status="working", total=10, progress=3)})
    hook = make_hook(clock, read_timeout=12)
    assert hook.get_job_status("V3-abc").describe_progress() == "V3-abc: working 3/10"
    sent = requests_mock.last_request
    expected = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {expected}"
    assert sent.headers["User-Agent"].startswith("airflow-provider-zendesk-jobs/")
    assert sent.timeout == (10.0, 12.0)


def test_oauth_token_bearer(monkeypatch: pytest.MonkeyPatch, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    set_connection(monkeypatch, host="acme", extra={"oauth_token": "OAUTH-TOKEN-1"})
    requests_mock.get(SHOW, json={"job_status": job()})
    make_hook(clock).get_job_status("V3-abc")
    assert requests_mock.last_request.headers["Authorization"] == "Bearer OAUTH-TOKEN-1"


def test_oauth_token_401_is_final(monkeypatch: pytest.MonkeyPatch, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    set_connection(monkeypatch, host="acme", extra={"oauth_token": "OAUTH-TOKEN-1"})
    requests_mock.get(SHOW, status_code=401, json={"error": "Couldn't authenticate you"})
    with pytest.raises(ZendeskAuthError, match=r"refused the credentials for GET /api/v2/job_statuses/V3-abc \(401\)"):
        make_hook(clock).get_job_status("V3-abc")
    assert requests_mock.call_count == 1


def test_client_credentials_fetch_once_cache_and_renew_before_expiry(
    client_credentials_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    tokens = iter(["TOKEN-ONE", "TOKEN-TWO"])
    requests_mock.post(
        f"{BASE}/oauth/tokens",
        json=lambda request, context: {"access_token": next(tokens), "token_type": "bearer", "expires_in": 3600},
    )
    requests_mock.get(SHOW, json={"job_status": job()})
    hook = make_hook(clock)
    hook.get_job_status("V3-abc")
    hook.get_job_status("V3-abc")
    token_calls = [r for r in requests_mock.request_history if r.path == "/oauth/tokens"]
    assert len(token_calls) == 1
    assert token_calls[0].json() == {
        "grant_type": "client_credentials",
        "client_id": "cid",
        "client_secret": "CLIENT-SECRET-xyz",
        "scope": "read",
    }
    assert "Authorization" not in token_calls[0].headers
    assert requests_mock.last_request.headers["Authorization"] == "Bearer TOKEN-ONE"
    clock.now += 3600 - 59  # inside the renewal margin
    hook.get_job_status("V3-abc")
    assert requests_mock.last_request.headers["Authorization"] == "Bearer TOKEN-TWO"


def test_client_credentials_renew_once_on_401(
    client_credentials_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    tokens = iter(["OLD", "NEW"])
    requests_mock.post(f"{BASE}/oauth/tokens", json=lambda r, c: {"access_token": next(tokens), "expires_in": 7200})
    requests_mock.get(
        SHOW,
        [{"status_code": 401, "json": {"error": "Couldn't authenticate you"}}, {"json": {"job_status": job()}}],
    )
    assert make_hook(clock).get_job_status("V3-abc").id == "V3-abc"
    auths = [r.headers.get("Authorization") for r in requests_mock.request_history if r.path != "/oauth/tokens"]
    assert auths == ["Bearer OLD", "Bearer NEW"]


def test_client_credentials_second_401_raises_without_secret(
    client_credentials_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(f"{BASE}/oauth/tokens", json={"access_token": "TOKEN-Z", "expires_in": 7200})
    requests_mock.get(SHOW, status_code=401, json={"error": "Couldn't authenticate you"})
    with pytest.raises(ZendeskAuthError) as info:
        make_hook(clock).get_job_status("V3-abc")
    assert requests_mock.call_count == 4  # token, read, token, read: renewed once only
    assert "CLIENT-SECRET" not in str(info.value) and "TOKEN-Z" not in str(info.value)


def test_client_credentials_refused_client(
    client_credentials_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(f"{BASE}/oauth/tokens", status_code=401, json={"error": "invalid_client"})
    with pytest.raises(ZendeskAuthError, match="POST /oauth/tokens") as info:
        make_hook(clock).get_job_status("V3-abc")
    assert "CLIENT-SECRET" not in str(info.value)


def test_token_answer_without_access_token(
    client_credentials_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(f"{BASE}/oauth/tokens", json={"token_type": "bearer"})
    with pytest.raises(ZendeskResponseError, match="has no access_token"):
        make_hook(clock).get_job_status("V3-abc")


# -- retries ----------------------------------------------------------------------------------------
def test_429_waits_exactly_retry_after_seconds(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW, [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": {"job_status": job()}}])
    make_hook(clock).get_job_status("V3-abc")
    assert sum(clock.sleeps) == pytest.approx(7.0)
    assert requests_mock.call_count == 2


def test_429_http_date_retry_after(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    when = datetime.fromtimestamp(clock.now + 20, tz=timezone.utc)
    requests_mock.get(
        SHOW,
        [
            {"status_code": 429, "headers": {"Retry-After": format_datetime(when, usegmt=True)}},
            {"json": {"job_status": job()}},
        ],
    )
    make_hook(clock).get_job_status("V3-abc")
    assert sum(clock.sleeps) == pytest.approx(20.0, abs=1.0)


def test_429_past_budget_raises_rate_limit_error(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.get(SHOW, status_code=429, headers={"Retry-After": "2"}, json={"error": "APIRateLimitExceeded"})
    with caplog.at_level(logging.WARNING), pytest.raises(ZendeskRateLimitError) as info:
        make_hook(clock, retry_limit=3).get_job_status("V3-abc")
    assert requests_mock.call_count == 3
    assert info.value.retry_after == 2.0
    assert "slow down (429)" in caplog.text
    assert "attempt 2 of 3" in caplog.text


def test_long_retry_after_is_not_slept_through(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW, status_code=429, headers={"Retry-After": "3600"})
    with pytest.raises(ZendeskRateLimitError, match="asked to wait 3600 s, longer than the 300 s"):
        make_hook(clock).get_job_status("V3-abc")
    assert requests_mock.call_count == 1
    assert clock.sleeps == []


def test_5xx_backs_off_exponentially_then_gives_up_with_excerpt(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    page = "<html><head><style>x{}</style></head><body><h1>502 Bad Gateway</h1>" + "x" * 50_000 + "</body></html>"
    requests_mock.get(SHOW, status_code=502, text=page)
    hook = make_hook(clock, retry_limit=4)
    with pytest.raises(ZendeskUnavailableError) as info:
        hook.get_job_status("V3-abc")
    assert requests_mock.call_count == 4
    assert len(clock.sleeps) == 3
    for attempt, slept in enumerate(clock.sleeps, start=1):
        ceiling = 2.0 ** (attempt - 1)
        assert ceiling / 2 <= slept <= ceiling
    message = str(info.value)
    assert "502 Bad Gateway" in message and "<h1>" not in message
    assert len(message) < 600
    assert info.value.status_code == 502


def test_connection_errors_and_timeouts_are_retried(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(
        SHOW,
        [
            {"exc": requests.ConnectionError("boom")},
            {"exc": requests.ReadTimeout("slow")},
            {"json": {"job_status": job()}},
        ],
    )
    assert make_hook(clock).get_job_status("V3-abc").id == "V3-abc"
    assert requests_mock.call_count == 3


def test_timeouts_past_budget_raise_unavailable(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW, exc=requests.ReadTimeout("slow"))
    with pytest.raises(ZendeskUnavailableError, match="No answer from Zendesk for GET /api/v2/job_statuses/V3-abc"):
        make_hook(clock, retry_limit=2).get_job_status("V3-abc")


def test_malformed_json_is_retried_then_response_error(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(SHOW, text='{"job_status": {"id": "V3-a')
    with pytest.raises(ZendeskResponseError, match="not JSON"):
        make_hook(clock, retry_limit=2).get_job_status("V3-abc")
    assert requests_mock.call_count == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ZendeskResponseError),
        (401, ZendeskAuthError),
        (403, ZendeskAuthError),
        (404, ZendeskNotFoundError),
        (422, ZendeskResponseError),
    ],
)
def test_client_errors_are_not_retried(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker, status: int, error: type[ZendeskJobsError]
) -> None:
    requests_mock.get(SHOW, status_code=status, json={"error": "X", "description": "Y"})
    with pytest.raises(error) as info:
        make_hook(clock).get_job_status("V3-abc")
    assert requests_mock.call_count == 1
    assert info.value.status_code == status


def test_404_names_the_job_and_retention(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW, status_code=404, json={"error": "RecordNotFound", "description": "Not found"})
    with pytest.raises(ZendeskNotFoundError) as info:
        make_hook(clock).get_job_status("V3-abc")
    assert info.value.job_ids == ("V3-abc",)
    assert "job V3-abc" in str(info.value) and "about a day" in str(info.value)


def test_redirects_are_not_followed(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW, status_code=302, headers={"Location": "https://evil.example.com/steal"})
    requests_mock.get("https://evil.example.com/steal", json={})
    with pytest.raises(ZendeskResponseError, match="redirected"):
        make_hook(clock).get_job_status("V3-abc")
    assert [r.hostname for r in requests_mock.request_history] == ["acme.zendesk.com"]


def test_retry_limit_must_be_positive() -> None:
    with pytest.raises(ZendeskInvalidInputError, match="retry_limit"):
        make_hook(FakeClock(), retry_limit=0)


# -- reads --------------------------------------------------------------------------------------------
def test_show_many_chunks_of_100_in_asked_order(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    ids = [f"V3-{n:03d}" for n in range(250)]

    def answer(request: requests.PreparedRequest, context: object) -> dict[str, object]:
        asked = request.qs["ids"][0].upper().split(",")  # type: ignore[attr-defined]
        return {"job_statuses": [job(i, "completed") for i in reversed(asked)]}

    requests_mock.get(SHOW_MANY, json=answer)
    jobs = make_hook(clock).get_job_statuses(ids)
    assert [j.id for j in jobs] == ids
    sizes = [len(r.qs["ids"][0].split(",")) for r in requests_mock.request_history]
    assert sizes == [100, 100, 50]


def test_show_many_missing_ids_raise_listing_them(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY, json={"job_statuses": [job("V3-a")]})
    hook = make_hook(clock)
    with pytest.raises(ZendeskNotFoundError) as info:
        hook.get_job_statuses(["V3-a", "V3-b", "V3-c"])
    assert info.value.job_ids == ("V3-b", "V3-c")
    assert "V3-b, V3-c" in str(info.value)
    assert list(hook.get_job_statuses_by_id(["V3-a", "V3-b"])) == ["V3-a"]


def test_ids_given_as_a_generator_are_read_once(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    """A generator is used up by one pass: the answer must still hold every job asked for."""
    requests_mock.get(SHOW_MANY, json={"job_statuses": [job("V3-b"), job("V3-a")]})
    jobs = make_hook(clock).get_job_statuses(job_id for job_id in ("V3-a", "V3-b"))  # type: ignore[arg-type]
    assert [j.id for j in jobs] == ["V3-a", "V3-b"]
    assert requests_mock.last_request.qs["ids"] == ["v3-a,v3-b"]  # type: ignore[union-attr]


def test_bad_ids_are_refused_before_any_request(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    hook = make_hook(clock)
    with pytest.raises(ZendeskInvalidInputError):
        hook.get_job_status("../../users")
    with pytest.raises(ZendeskInvalidInputError):
        hook.get_job_statuses(["V3-a", "V3-b?x=1"])
    with pytest.raises(ZendeskInvalidInputError):
        hook.get_job_statuses([])
    assert requests_mock.call_count == 0


def cursor_page(ids: list[str], after: str | None, link: str | None = None) -> dict[str, object]:
    return {
        "job_statuses": [job(i) for i in ids],
        "meta": {"has_more": after is not None, "after_cursor": after, "before_cursor": None},
        "links": {
            "next": link if link is not None else (f"{LIST}?page[size]=100&page[after]={after}" if after else None)
        },
    }


def test_list_walks_cursor_pages(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        LIST,
        [
            {"json": cursor_page(["a", "b"], "c1")},
            {"json": cursor_page(["c"], "c2")},
            {"json": cursor_page(["d"], None)},
        ],
    )
    assert [j.id for j in make_hook(clock).list_job_statuses()] == ["a", "b", "c", "d"]
    assert requests_mock.request_history[0].qs == {"page[size]": ["100"]}
    assert requests_mock.request_history[1].qs["page[after]"] == ["c1"]


def test_list_stops_at_limit_without_fetching_more(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(LIST, [{"json": cursor_page(["a", "b"], "c1")}, {"json": cursor_page(["c", "d"], "c2")}])
    assert [j.id for j in make_hook(clock).list_job_statuses(limit=3)] == ["a", "b", "c"]
    assert requests_mock.call_count == 2
    assert requests_mock.request_history[0].qs == {"page[size]": ["3"]}


def test_list_is_lazy(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(LIST, json=cursor_page(["a"], None))
    walk = make_hook(clock).list_job_statuses()
    assert requests_mock.call_count == 0
    assert next(walk).id == "a"


def test_list_offset_pagination_fallback(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        LIST,
        [
            {"json": {"job_statuses": [job("a")], "next_page": f"{LIST}?page=2&per_page=1"}},
            {"json": {"job_statuses": [job("b")], "next_page": None}},
        ],
    )
    assert [j.id for j in make_hook(clock).list_job_statuses()] == ["a", "b"]


def test_foreign_next_link_is_never_followed(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        LIST, json={"job_statuses": [job("a")], "next_page": "https://evil.example.com/api/v2/job_statuses?page=2"}
    )
    requests_mock.get("https://evil.example.com/api/v2/job_statuses", json={"job_statuses": []})
    with pytest.raises(ZendeskResponseError, match="another address"):
        list(make_hook(clock).list_job_statuses())
    assert {r.hostname for r in requests_mock.request_history} == {"acme.zendesk.com"}


def test_foreign_cursor_link_is_rebuilt_on_own_host(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(
        LIST,
        [
            {"json": cursor_page(["a"], "c1", link="http://acme.zendesk.com/api/v2/job_statuses?page[after]=c1")},
            {"json": cursor_page(["b"], None)},
        ],
    )
    assert [j.id for j in make_hook(clock).list_job_statuses()] == ["a", "b"]
    assert all(r.scheme == "https" for r in requests_mock.request_history)


def test_repeated_next_link_stops_instead_of_looping(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(LIST, json=cursor_page(["a"], "same"))
    with pytest.raises(ZendeskResponseError, match="same next-page link twice"):
        list(make_hook(clock).list_job_statuses())


@pytest.mark.parametrize("limit", [0, -1, 1.5, "10", True])
def test_bad_limit(token_conn: None, clock: FakeClock, limit: object) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="limit"):
        make_hook(clock).list_job_statuses(limit=limit)  # type: ignore[arg-type]


# -- submit and test_connection ------------------------------------------------------------------------
def test_submit_job_returns_the_queued_status(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{BASE}/api/v2/tickets/create_many", json={"job_status": job("V3-new", "queued", total=2)})
    status = make_hook(clock).submit_job("post", "/api/v2/tickets/create_many", {"tickets": [{}, {}]})
    assert (status.id, status.status, status.total) == ("V3-new", "queued", 2)
    assert requests_mock.last_request.json() == {"tickets": [{}, {}]}


def test_submit_job_is_not_retried_after_an_ambiguous_failure(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(f"{BASE}/api/v2/tickets/create_many", [{"status_code": 502, "text": "bad gateway"}])
    with pytest.raises(ZendeskUnavailableError):
        make_hook(clock).submit_job("POST", "/api/v2/tickets/create_many", {"tickets": []})
    assert requests_mock.call_count == 1
    requests_mock.put(f"{BASE}/api/v2/tickets/update_many", exc=requests.ReadTimeout("slow"))
    with pytest.raises(ZendeskUnavailableError, match="not sent again"):
        make_hook(clock).submit_job("PUT", "/api/v2/tickets/update_many", {"tickets": []})
    assert requests_mock.call_count == 2


def test_submit_job_retries_429_which_proves_nothing_started(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.delete(
        f"{BASE}/api/v2/tickets/destroy_many",
        [{"status_code": 429, "headers": {"Retry-After": "1"}}, {"json": {"job_status": job("V3-d", "queued")}}],
    )
    assert make_hook(clock).submit_job("DELETE", "/api/v2/tickets/destroy_many?ids=1,2").id == "V3-d"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://evil.example.com/api/v2/tickets/create_many",
        "//evil.example.com/api/v2/x",
        "/api/v1/tickets",
        "/oauth/tokens",
        "/api/v2/../../admin",
        "/api/v2/%2e%2e/x",
        "/api/v2/tickets create",
        "",
    ],
)
def test_submit_job_refuses_endpoints_outside_api_v2(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker, endpoint: str
) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="endpoint"):
        make_hook(clock).submit_job("POST", endpoint, {})
    assert requests_mock.call_count == 0


def test_submit_job_refuses_get(token_conn: None, clock: FakeClock) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="method"):
        make_hook(clock).submit_job("GET", "/api/v2/tickets/create_many")


def test_test_connection_reads_one_page_of_one(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(LIST, json=cursor_page(["a"], None))
    ok, message = make_hook(clock).test_connection()
    assert ok and "https://acme.zendesk.com" in message
    assert requests_mock.last_request.qs == {"page[size]": ["1"]}


def test_test_connection_reports_failure_without_raising(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(LIST, status_code=401, json={"error": "Couldn't authenticate you"})
    ok, message = make_hook(clock).test_connection()
    assert not ok and "401" in message and API_TOKEN not in message


def test_test_connection_reports_bad_host(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    set_connection(monkeypatch, host="http://acme.zendesk.com", login=EMAIL, password=API_TOKEN)
    ok, message = make_hook(clock).test_connection()
    assert not ok and "plain http://" in message


def test_one_session_per_hook(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW, json={"job_status": job()})
    hook = make_hook(clock)
    session = hook.get_conn()
    hook.get_job_status("V3-abc")
    assert hook.get_conn() is session
    hook.close()
    assert hook.get_conn() is not session
