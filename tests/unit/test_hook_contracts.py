"""Both hooks on one script of answers: the same requests, sleeps and outcomes; their seams; their contracts."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import requests
import requests_mock as rm

from airflow_provider_zendesk_jobs.exceptions import (
    ErrorKind,
    ZendeskAuthError,
    ZendeskJobsError,
    ZendeskNotFoundError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook, ZendeskJobStatusHook
from tests.support.hooks import BASE, FakeClock, job, set_connection

#: One scripted answer: status, headers, JSON body (or raw bytes).
Scripted = tuple[int, dict[str, str], Any]


@pytest.fixture(autouse=True)
def token_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login="a@b.c", password="tok")


def _content(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def run_sync(script: list[Scripted], call: Callable[[Any], Any], **kwargs: Any) -> tuple[Any, list[str], list[float]]:
    """The call on the sync hook; returns its result (or error), the paths asked and the sleeps."""
    clock, answers, asked = FakeClock(), iter(script), []
    with rm.Mocker() as mock:

        def answer(request: requests.PreparedRequest, context: Any) -> bytes:
            asked.append(unquote(request.path_url))
            context.status_code, headers, body = next(answers)
            context.headers.update(headers)
            return _content(body)

        mock.register_uri(rm.ANY, rm.ANY, content=answer)
        hook = ZendeskJobStatusHook(clock=clock.time, sleep=clock.sleep, **kwargs)
        try:
            result: Any = call(hook)
        except ZendeskJobsError as exc:
            result = exc
    return result, asked, clock.sleeps


def run_async(script: list[Scripted], call: Callable[[Any], Any], **kwargs: Any) -> tuple[Any, list[str], list[float]]:
    clock, answers, asked = FakeClock(), iter(script), []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(unquote(request.url.raw_path.decode()))
        status, headers, body = next(answers)
        return httpx.Response(status, headers=headers, content=_content(body))

    async def sleep(seconds: float) -> None:
        clock.sleep(seconds)

    async def main() -> Any:
        hook = ZendeskJobStatusAsyncHook(clock=clock.time, sleep=sleep, transport=httpx.MockTransport(answer), **kwargs)
        try:
            return await call(hook)
        except ZendeskJobsError as exc:
            return exc
        finally:
            await hook.aclose()

    return asyncio.run(main()), asked, clock.sleeps


def both(script: list[Scripted], call: Callable[[Any], Any], **kwargs: Any) -> tuple[Any, list[str], list[float]]:
    """Runs the script on both hooks and checks they agree; returns the sync hook's run."""
    sync, in_async = run_sync(script, call, **kwargs), run_async(script, call, **kwargs)
    assert sync[1] == in_async[1]
    assert [math.ceil(s) for s in sync[2]] == [math.ceil(s) for s in in_async[2]]  # the same waits, but for jitter
    if isinstance(sync[0], Exception):
        assert (type(sync[0]), str(sync[0])) == (type(in_async[0]), str(in_async[0]))
    else:
        assert sync[0] == in_async[0]
    return sync


SHOW = "/api/v2/job_statuses/V3-a"


def test_both_hooks_retry_the_same_way() -> None:
    script: list[Scripted] = [
        (503, {}, b"<html>busy</html>"),
        (429, {"Retry-After": "7"}, {"error": "slow down"}),
        (200, {}, {"job_status": job("V3-a", "working")}),
    ]
    result, asked, sleeps = both(script, lambda hook: hook.get_job_status("V3-a"), retry_limit=3)
    assert result.id == "V3-a"
    assert asked == [SHOW] * 3
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and sleeps[1] == 7.0


def test_both_hooks_give_up_alike_with_the_error_s_kind() -> None:
    result, asked, _ = both([(502, {}, b"")] * 2, lambda hook: hook.get_job_status("V3-a"), retry_limit=2)
    assert isinstance(result, ZendeskUnavailableError) and result.kind is ErrorKind.TRANSIENT
    assert asked == [SHOW] * 2


@pytest.mark.parametrize(
    ("status", "body", "error", "kind"),
    [
        (401, {"error": "Couldn't authenticate you"}, ZendeskAuthError, ErrorKind.PERMANENT),
        (403, {"error": "Forbidden"}, ZendeskAuthError, ErrorKind.PERMANENT),
        (404, {"error": "RecordNotFound"}, ZendeskNotFoundError, ErrorKind.NOT_FOUND),
        (400, {"error": "Bad"}, ZendeskResponseError, ErrorKind.FAILED),
        (302, {}, ZendeskResponseError, ErrorKind.FAILED),
        (200, b"<html>proxy</html>", ZendeskResponseError, ErrorKind.TRANSIENT),
    ],
)
def test_every_error_says_its_kind(status: int, body: Any, error: type[Exception], kind: ErrorKind) -> None:
    result, _, _ = both([(status, {}, body)], lambda hook: hook.get_job_status("V3-a"), retry_limit=1)
    assert isinstance(result, error)
    assert result.kind is kind
    assert ErrorKind(result.kind.value) is kind  # the value crosses the trigger boundary as text


def test_a_show_many_404_means_none_of_its_ids_is_known() -> None:
    """Zendesk answers 404 to a show_many none of whose ids it knows: those ids are absent, the rest is read."""
    ids = [f"V3-{n}" for n in range(150)]
    script: list[Scripted] = [(404, {}, {"error": "RecordNotFound"}), (200, {}, {"job_statuses": [job("V3-120")]})]
    found, asked, _ = both(script, lambda hook: hook.get_job_statuses_by_id(ids))
    assert list(found) == ["V3-120"]
    assert len(asked) == 2
    error, _, _ = both(script, lambda hook: hook.get_job_statuses(ids))
    assert isinstance(error, ZendeskNotFoundError)
    assert error.job_ids == tuple(job_id for job_id in ids if job_id != "V3-120")


def test_a_malformed_job_in_a_show_many_answer_is_named() -> None:
    body = {"job_statuses": [job("V3-a"), {"id": "V3-b", "status": "working", "total": "many"}]}
    error, _, _ = both([(200, {}, body)], lambda hook: hook.get_job_statuses_by_id(["V3-a", "V3-b"]))
    assert isinstance(error, ZendeskResponseError)
    assert "job V3-b: 'total' should be a whole number or null, got str" in str(error)


def test_the_async_list_is_an_async_iterator_that_stops_at_the_limit() -> None:
    first_page = {
        "job_statuses": [job("V3-a"), job("V3-b")],
        "meta": {"has_more": True, "after_cursor": "x"},
        "links": {"next": f"{BASE}/api/v2/job_statuses?page[size]=2&page[after]=x"},
    }

    async def listed(hook: ZendeskJobStatusAsyncHook) -> list[str]:
        return [job.id async for job in hook.list_job_statuses(limit=2)]

    result, asked, _ = run_async([(200, {}, first_page)], listed)
    assert result == ["V3-a", "V3-b"]
    assert len(asked) == 1  # the second page is never fetched
    sync_result, sync_asked, _ = run_sync(
        [(200, {}, first_page)], lambda hook: [j.id for j in hook.list_job_statuses(limit=2)]
    )
    assert (sync_result, sync_asked) == (result, asked)


def test_the_sync_hook_sends_through_a_given_session_and_leaves_it_open(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}{SHOW}", json={"job_status": job("V3-a")})
    session = requests.Session()
    session.headers["X-Seen"] = "yes"
    clock = FakeClock()
    hook = ZendeskJobStatusHook(session=session, clock=clock.time, sleep=clock.sleep)
    assert hook.get_conn() is session
    assert hook.get_job_status("V3-a").id == "V3-a"
    assert requests_mock.last_request.headers["X-Seen"] == "yes"
    hook.close()
    assert hook.get_conn() is session  # not closed nor replaced: the caller owns it
    assert (hook.clock, hook.sleep) == (clock.time, clock.sleep)


def test_the_async_hook_builds_its_client_on_the_given_transport() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"job_status": job("V3-a")})

    async def main() -> None:
        hook = ZendeskJobStatusAsyncHook(transport=httpx.MockTransport(answer))
        assert (await hook.get_job_status("V3-a")).id == "V3-a"
        await hook.aclose()

    asyncio.run(main())
    assert seen == [SHOW]
