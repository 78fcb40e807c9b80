"""ZendeskJobStatusAsyncHook on an httpx mock transport: same decisions as the sync hook."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from airflow_provider_zendesk_jobs.exceptions import ZendeskNotFoundError
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook
from tests.support.hooks import FakeClock, job, set_connection

Handler = Callable[[httpx.Request], httpx.Response]


def async_hook(handler: Handler, clock: FakeClock, **kwargs: object) -> ZendeskJobStatusAsyncHook:
    async def sleep(seconds: float) -> None:
        clock.sleep(seconds)

    return ZendeskJobStatusAsyncHook(
        clock=clock.time,
        sleep=sleep,
        transport=httpx.MockTransport(handler),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_client_credentials_token_fetched_once_for_concurrent_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    set_connection(monkeypatch, host="acme", extra={"client_id": "cid", "client_secret": "cs"})
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("Authorization")))
        if request.url.path == "/oauth/tokens":
            assert json.loads(request.content)["client_secret"] == "cs"
            return httpx.Response(200, json={"access_token": "T1", "expires_in": 3600})
        ids = request.url.params["ids"].split(",")
        return httpx.Response(200, json={"job_statuses": [job(i, "working") for i in ids]})

    hook = async_hook(handler, FakeClock())
    results = await asyncio.gather(*(hook.get_job_statuses([f"V3-{n}"]) for n in range(5)))
    assert [r[0].id for r in results] == [f"V3-{n}" for n in range(5)]
    assert [path for path, _ in seen].count("/oauth/tokens") == 1
    assert {auth for path, auth in seen if path != "/oauth/tokens"} == {"Bearer T1"}
    await hook.aclose()


async def test_the_async_hook_sleeps_what_the_flow_asks_through_its_sleep_seam(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login="a@b.c", password="tok")
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "4"}), httpx.Response(200, json={"job_status": job("V3-a")})]
    )
    clock = FakeClock()
    hook = async_hook(lambda request: next(answers), clock)
    assert (await hook.get_job_status("V3-a")).id == "V3-a"
    assert clock.sleeps == [4.0]


async def test_async_missing_ids_and_list_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login="a@b.c", password="tok")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("show_many"):
            return httpx.Response(200, json={"job_statuses": [job("V3-a")]})
        if "page[after]" in str(request.url):
            return httpx.Response(200, json={"job_statuses": [job("V3-c")], "meta": {"has_more": False}})
        return httpx.Response(
            200,
            json={
                "job_statuses": [job("V3-b")],
                "meta": {"has_more": True, "after_cursor": "x"},
                "links": {"next": "https://acme.zendesk.com/api/v2/job_statuses?page[size]=100&page[after]=x"},
            },
        )

    hook = async_hook(handler, FakeClock())
    with pytest.raises(ZendeskNotFoundError, match="V3-z"):
        await hook.get_job_statuses(["V3-a", "V3-z"])
    assert [j.id async for j in hook.list_job_statuses()] == ["V3-b", "V3-c"]


async def test_the_http_client_is_built_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a client loads the CA certificates: in a worker thread, so the triggerer's other tasks run."""
    import asyncio
    import threading

    from airflow_provider_zendesk_jobs.hooks import zendesk_jobs

    set_connection(monkeypatch, host="acme", login="a@b.c", password="tok", extra={"timeout": 7})
    built_in: list[int] = []
    build = zendesk_jobs._new_async_client

    def recording_build(settings: object, transport: object) -> httpx.AsyncClient:
        built_in.append(threading.get_ident())
        return build(settings, transport)  # type: ignore[arg-type]

    monkeypatch.setattr(zendesk_jobs, "_new_async_client", recording_build)
    hook = ZendeskJobStatusAsyncHook()
    clients = await asyncio.gather(*(hook.get_async_conn() for _ in range(3)))
    assert len(built_in) == 1  # concurrent first reads share one client
    assert built_in[0] != threading.get_ident()  # not on the event loop's thread
    assert clients[0] is clients[1] is clients[2]
    assert clients[0].timeout.read == 7
    assert clients[0].follow_redirects is False
    await hook.aclose()
    assert hook._client is None


async def test_async_ids_given_as_a_generator_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login="a@b.c", password="tok")

    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        return httpx.Response(200, json={"job_statuses": [job(i) for i in reversed(ids)]})

    hook = async_hook(handler, FakeClock())
    jobs = await hook.get_job_statuses(job_id for job_id in ("V3-a", "V3-b"))  # type: ignore[arg-type]
    assert [j.id for j in jobs] == ["V3-a", "V3-b"]
    await hook.aclose()
