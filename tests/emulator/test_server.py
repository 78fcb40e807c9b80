"""The HTTP layer: keep-alive, bodies, malformed requests, internal errors, start and stop."""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator
from tests.support.emulator_http import BASIC, call, host_port

LIST = "/api/v2/job_statuses"


def raw_exchange(emu: ZendeskEmulator, data: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes, read until the server closes the connection."""
    with socket.create_connection(host_port(emu), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def split_answer(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


def test_keep_alive_serves_many_requests_on_one_connection(emu):
    job_id = emu.create_job(count=1)
    conn = http.client.HTTPConnection(*host_port(emu), timeout=5)
    peers = set()
    for i in range(20):
        conn.request("GET", f"{LIST}/{job_id}" if i % 2 else LIST, headers={"Authorization": BASIC})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") is not None
        assert response.getheader("Connection") is None
        json.loads(response.read())
        peers.add(conn.sock.getsockname())
    conn.close()
    assert len(peers) == 1
    assert emu.request_count() == 20


def test_keep_alive_survives_error_answers(emu):
    conn = http.client.HTTPConnection(*host_port(emu), timeout=5)
    for path, status in [("/nope", 404), (LIST, 200), (f"{LIST}?page[size]=0", 400), (LIST, 200)]:
        conn.request("GET", path, headers={"Authorization": BASIC})
        response = conn.getresponse()
        response.read()
        assert response.status == status
    conn.request("POST", "/api/v2/tickets/create_many", body=b"{bad", headers={"Authorization": BASIC})
    response = conn.getresponse()
    response.read()
    assert response.status == 400
    conn.request("GET", LIST, headers={"Authorization": BASIC})
    assert conn.getresponse().status == 200
    conn.close()


def test_internal_errors_answer_500_json_without_a_traceback(emu, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals /path/to/file.py line 12")

    monkeypatch.setattr(emu._store, "show_body", explode)
    answer = call(emu, "GET", f"{LIST}/V3-abc")
    assert answer.status == 500
    body = answer.json()
    assert body["error"] == "InternalError"
    assert "RuntimeError" in body["description"]
    assert "Traceback" not in answer.body.decode()
    assert "secret internals" not in answer.body.decode()
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert emu.requests[-1].status == 500
    assert call(emu, "GET", LIST).status == 200  # still serving


def test_internal_errors_in_control_calls_too(emu, monkeypatch):
    def explode(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(emu._control._routes, ("GET", "/clock"), explode)
    answer = call(emu, "GET", "/__emulator__/clock", auth=None)
    assert answer.status == 500
    assert answer.json()["error"] == "InternalError"


def test_chunked_request_body(emu):
    body = json.dumps({"tickets": [{"subject": "chunked"}]}).encode()
    chunked = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    raw = raw_exchange(
        emu,
        b"POST /api/v2/tickets/create_many HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + f"Authorization: {BASIC}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + chunked,
    )
    status, headers, payload = split_answer(raw)
    assert status == "HTTP/1.1 200 OK"
    assert headers["connection"] == "close"
    assert json.loads(payload)["job_status"]["total"] == 1


def test_expect_100_continue(emu):
    body = json.dumps({"tickets": [{"subject": "a"}]}).encode()
    raw = raw_exchange(
        emu,
        b"POST /api/v2/tickets/create_many HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n"
        + f"Authorization: {BASIC}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )
    assert raw.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")


def test_http_1_0_closes_after_the_answer(emu):
    raw = raw_exchange(emu, f"GET {LIST} HTTP/1.0\r\nAuthorization: {BASIC}\r\n\r\n".encode())
    status, headers, body = split_answer(raw)
    assert status == "HTTP/1.1 200 OK"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)


def test_head_has_headers_but_no_body(emu):
    head = f"HEAD {LIST} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {BASIC}\r\n\r\n"
    raw = raw_exchange(emu, head.encode())
    status, headers, body = split_answer(raw)
    assert status == "HTTP/1.1 405 Method Not Allowed"
    assert int(headers["content-length"]) > 0
    assert body == b""


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /api/v2/job_statuses HTTP/2.0\r\n\r\n", 505),
        (b"GET /api/v2/job_statuses FTP/1.1\r\n\r\n", 400),
        (b"GET /api/v2/job_statuses HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET /api/v2/job_statuses HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /api/v2/job_statuses HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", 431),
        (b"POST /api/v2/tickets/create_many HTTP/1.1\r\nContent-Length: lots\r\n\r\n", 400),
        (b"POST /api/v2/tickets/create_many HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"BREW /api/v2/job_statuses HTTP/1.1\r\n\r\n", 501),
    ],
)
def test_malformed_requests_get_json_errors_and_a_closed_connection(emu, request_bytes, status):
    first_line, headers, body = split_answer(raw_exchange(emu, request_bytes))
    assert first_line.startswith(f"HTTP/1.1 {status} ")
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["connection"] == "close"
    parsed = json.loads(body)
    assert set(parsed) == {"error", "description"}


def test_repeated_headers_are_joined(emu):
    raw = raw_exchange(
        emu,
        f"GET {LIST} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {BASIC}\r\n".encode()
        + b"X-A: 1\r\nX-A: 2\r\n\r\n",
    )
    assert split_answer(raw)[0] == "HTTP/1.1 200 OK"


def test_start_stop_lifecycle():
    emu = ZendeskEmulator(clock=ManualClock())
    with pytest.raises(RuntimeError, match="no URL"):
        _ = emu.url
    assert "not started" in repr(emu)
    emu.start()
    assert emu.url.startswith("http://127.0.0.1:")
    assert not emu.url.endswith("/")
    with pytest.raises(RuntimeError, match="started once"):
        emu.start()
    emu.stop()
    emu.stop()  # idempotent
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(host_port(emu), timeout=1).close()
    with pytest.raises(RuntimeError, match="started once"):
        emu.start()


def test_stop_before_start_is_harmless():
    emu = ZendeskEmulator(clock=ManualClock())
    emu.stop()
    with pytest.raises(RuntimeError):
        emu.start()


def test_context_manager_and_fixed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ZendeskEmulator(port=port, clock=ManualClock()) as emu:
        assert emu.url == f"http://127.0.0.1:{port}"
        assert call(emu, "GET", LIST).status == 200
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_default_clock_is_fast_enough_for_demos():
    emu = ZendeskEmulator()
    job_id = emu.create_job(count=100)
    real_seconds = (emu.finish_time(job_id) - emu.clock.now()) / emu.clock.speed  # type: ignore[attr-defined]
    assert real_seconds < 1.0


def test_verbose_logs_requests_to_stderr(capfd):
    with ZendeskEmulator(clock=ManualClock(), verbose=True) as emu:
        call(emu, "GET", LIST)
    assert "GET /api/v2/job_statuses -> 200" in capfd.readouterr().err


def test_quiet_by_default(capfd):
    with ZendeskEmulator(clock=ManualClock()) as emu:
        call(emu, "GET", LIST)
        raw_exchange(emu, b"NONSENSE\r\n\r\n")
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        emu = ZendeskEmulator(host="::1", clock=ManualClock()).start()
    except OSError:
        pytest.skip("IPv6 loopback not available")
    try:
        assert emu.url.startswith("http://[::1]:")
        port = int(emu.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("::1", port, timeout=5)
        conn.request("GET", LIST, headers={"Authorization": BASIC})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        emu.stop()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"queued_seconds": -1}, "queued_seconds"),
        ({"retention_seconds": float("inf")}, "retention_seconds"),
        ({"max_active_jobs": 0}, "max_active_jobs"),
        ({"max_records": 2.5}, "max_records"),
        ({"oauth_token_ttl": 0}, "oauth_token_ttl"),
    ],
)
def test_constructor_checks_its_numbers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ZendeskEmulator(clock=ManualClock(), **kwargs)
