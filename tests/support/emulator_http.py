"""A small HTTP client for the emulator's tests (http.client, so raw answers stay visible)."""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass
from typing import Any

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator

BASIC = "Basic " + base64.b64encode(b"demo@example.com/token:demo-token").decode()
BEARER = "Bearer demo-oauth-token"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def host_port(emu: ZendeskEmulator) -> tuple[str, int]:
    host, _, port = emu.url.removeprefix("http://").rpartition(":")
    return host, int(port)


def call(
    emu: ZendeskEmulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    auth: str | None = BASIC,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 5.0,
) -> Answer:
    """One request on a fresh connection; ``body`` is sent as JSON, ``raw`` as is."""
    host, port = host_port(emu)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        sent = dict(headers or {})
        if auth is not None:
            sent["Authorization"] = auth
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def get_json(emu: ZendeskEmulator, path: str, **kwargs: Any) -> Any:
    answer = call(emu, "GET", path, **kwargs)
    assert answer.status == 200, answer
    return answer.json()
