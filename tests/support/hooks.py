"""A Zendesk account without a server (requests-mock, httpx mock transports): its address and credentials, a clock
the test owns, connections set through the environment, hooks on them, and one call to a sync or async hook method."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from tests.support.zendesk_paths import SHOW_MANY

BASE = "https://acme.zendesk.com"
EMAIL = "agent@example.com"
API_TOKEN = "tok-SECRET-1234567890"
SHOW_MANY_URL = f"{BASE}{SHOW_MANY}"


class FakeClock:
    """Time that moves only when the code under test sleeps; records every sleep."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str = "zendesk_default", **fields: Any) -> None:
    data = {"conn_type": "zendesk_jobs", **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(data))


def make_hook(clock: FakeClock, **kwargs: Any) -> ZendeskJobStatusHook:
    return ZendeskJobStatusHook(clock=clock.time, sleep=clock.sleep, **kwargs)


def job(job_id: str = "V3-abc", status: str = "completed", **fields: Any) -> dict[str, Any]:
    return {"id": job_id, "status": status, "url": f"{BASE}/api/v2/job_statuses/{job_id}.json", **fields}


def call_to_the_end(call: Callable[[], Any]) -> Any:
    """Call, and run the coroutine an async hook method returns (or read the async iterator to its end)."""
    result = call()
    if hasattr(result, "__aiter__"):

        async def read_all() -> list[Any]:
            return [item async for item in result]

        return asyncio.run(read_all())
    return asyncio.run(result) if asyncio.iscoroutine(result) else result
