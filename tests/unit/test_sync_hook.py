"""ZendeskJobStatusHook with requests-mock: every auth mode, retry path, read and pagination case."""

from __future__ import annotations

import base64

import pytest
import requests
import requests_mock as rm

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskInvalidInputError,
    ZendeskNotFoundError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from tests.support.hooks import API_TOKEN, BASE, EMAIL, SHOW_MANY_URL, FakeClock, job, make_hook, set_connection

SHOW = f"{BASE}/api/v2/job_statuses/V3-abc"
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


def test_client_credentials_token_request_and_its_use_on_the_wire(
    client_credentials_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    """What the sync hook sends for the flow's token fetch; the caching and renewal rules are the flow's."""
    requests_mock.post(f"{BASE}/oauth/tokens", json={"access_token": "TOKEN-ONE", "expires_in": 3600})
    requests_mock.get(SHOW, json={"job_status": job()})
    hook = make_hook(clock)
    hook.get_job_status("V3-abc")
    hook.get_job_status("V3-abc")
    token_call, *reads = requests_mock.request_history
    assert token_call.path == "/oauth/tokens" and token_call.method == "POST"
    assert token_call.json() == {
        "grant_type": "client_credentials",
        "client_id": "cid",
        "client_secret": "CLIENT-SECRET-xyz",
        "scope": "read",
    }
    assert "Authorization" not in token_call.headers
    assert [read.headers["Authorization"] for read in reads] == ["Bearer TOKEN-ONE"] * 2


# -- carrying out the flow's steps ------------------------------------------------------------------
def test_the_hook_sleeps_what_the_flow_asks_through_its_sleep_seam(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(SHOW, [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": {"job_status": job()}}])
    assert make_hook(clock).get_job_status("V3-abc").id == "V3-abc"
    assert clock.sleeps == [7.0]
    assert requests_mock.call_count == 2


@pytest.mark.parametrize(
    ("raised", "says"),
    [
        (requests.ConnectTimeout("slow"), "timed out connecting, ConnectTimeout"),
        (requests.ReadTimeout("slow"), "no answer within the read timeout, ReadTimeout"),
        (requests.ConnectionError("reset"), "the connection closed before the whole answer arrived, ConnectionError"),
        (requests.exceptions.ChunkedEncodingError("cut"), "closed before the whole answer arrived, ChunkedEncoding"),
        (requests.exceptions.InvalidHeader("bad"), "the connection failed, InvalidHeader"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_each_requests_failure_is_told_to_the_flow_as_what_happened(
    token_conn: None, clock: FakeClock, requests_mock: rm.Mocker, raised: Exception, says: str
) -> None:
    requests_mock.get(SHOW, [{"exc": raised}, {"exc": raised}])
    with pytest.raises(ZendeskUnavailableError) as info:
        make_hook(clock, retry_limit=2).get_job_status("V3-abc")
    assert says in str(info.value)
    assert requests_mock.call_count == 2


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

    requests_mock.get(SHOW_MANY_URL, json=answer)
    jobs = make_hook(clock).get_job_statuses(ids)
    assert [j.id for j in jobs] == ids
    sizes = [len(r.qs["ids"][0].split(",")) for r in requests_mock.request_history]
    assert sizes == [100, 100, 50]


def test_show_many_missing_ids_raise_listing_them(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, json={"job_statuses": [job("V3-a")]})
    hook = make_hook(clock)
    with pytest.raises(ZendeskNotFoundError) as info:
        hook.get_job_statuses(["V3-a", "V3-b", "V3-c"])
    assert info.value.job_ids == ("V3-b", "V3-c")
    assert "V3-b, V3-c" in str(info.value)
    assert list(hook.get_job_statuses_by_id(["V3-a", "V3-b"])) == ["V3-a"]


def test_ids_given_as_a_generator_are_read_once(token_conn: None, clock: FakeClock, requests_mock: rm.Mocker) -> None:
    """A generator is used up by one pass: the answer must still hold every job asked for."""
    requests_mock.get(SHOW_MANY_URL, json={"job_statuses": [job("V3-b"), job("V3-a")]})
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
