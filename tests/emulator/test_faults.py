"""Every fault kind, how faults are matched, and that none of them can wedge the emulator."""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import threading
import time

import pytest

from airflow_provider_zendesk_jobs.testing import Fault, ManualClock, ZendeskEmulator
from tests.support.emulator_http import BASIC, call, host_port

LIST = "/api/v2/job_statuses"


def test_rate_limit_fault_with_seconds(emu):
    fault = emu.add_fault(Fault("rate_limit", count=1, retry_after=7))
    answer = call(emu, "GET", LIST)
    assert answer.status == 429
    assert answer.headers["retry-after"] == "7"
    assert answer.json()["error"] == "APIRateLimitExceeded"
    assert call(emu, "GET", LIST).status == 200
    assert fault.applied == 1
    assert emu.faults == []
    assert [record.fault for record in emu.requests] == ["rate_limit", None]
    assert [record.status for record in emu.requests] == [429, 200]


def test_rate_limit_fault_default_retry_after(emu):
    emu.add_fault(Fault("rate_limit"))
    assert call(emu, "GET", LIST).headers["retry-after"] == "1"


def test_rate_limit_fault_with_an_http_date(emu):
    emu.add_fault(Fault("rate_limit", count=1, retry_after=120, retry_after_http_date=True))
    answer = call(emu, "GET", LIST)
    assert answer.status == 429
    when = email.utils.parsedate_to_datetime(answer.headers["retry-after"])
    assert when.tzinfo is not None
    # on the emulator's clock, like the Date header
    assert when.timestamp() == emu.clock.now() + 120
    assert email.utils.parsedate_to_datetime(answer.headers["date"]).timestamp() == emu.clock.now()


@pytest.mark.parametrize(
    ("fault", "status", "error"),
    [
        (Fault("server_error"), 503, "ServiceUnavailable"),
        (Fault("server_error", status=500), 500, "InternalServerError"),
        (Fault("server_error", status=504), 504, "GatewayTimeout"),
        (Fault("server_error", status=507), 507, "ServerError"),
        (Fault("not_found"), 404, "RecordNotFound"),
    ],
)
def test_json_error_faults(emu, fault, status, error):
    emu.add_fault(fault)
    answer = call(emu, "GET", LIST)
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json()["error"] == error


def test_server_error_with_retry_after_and_custom_body(emu):
    emu.add_fault(Fault("server_error", retry_after=3, body='{"error": "Maintenance"}'))
    answer = call(emu, "GET", LIST)
    assert answer.status == 503
    assert answer.headers["retry-after"] == "3"
    assert answer.json() == {"error": "Maintenance"}


def test_html_error_page(emu):
    emu.add_fault(Fault("html_error", count=1))
    answer = call(emu, "GET", LIST)
    assert answer.status == 502
    assert answer.headers["content-type"].startswith("text/html")
    assert 4_000 <= len(answer.body) <= 7_000
    assert answer.body.startswith(b"<!DOCTYPE html>")
    assert b"502" in answer.body
    emu.add_fault(Fault("html_error", status=503))
    assert call(emu, "GET", LIST).status == 503


def test_malformed_json(emu):
    emu.add_fault(Fault("malformed_json", count=1))
    answer = call(emu, "GET", LIST)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        answer.json()


@pytest.mark.timeout(20)
def test_truncated_answer_then_closed(emu):
    job_id = emu.create_job(count=1)
    emu.add_fault(Fault("truncated", count=1))
    host, port = host_port(emu)
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request("GET", f"{LIST}/{job_id}", headers={"Authorization": BASIC})
    response = conn.getresponse()
    assert response.status == 200
    declared = int(response.getheader("Content-Length"))
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    assert 0 < len(caught.value.partial) < declared
    conn.close()
    assert emu.requests[-1].fault == "truncated"
    assert call(emu, "GET", f"{LIST}/{job_id}").status == 200


@pytest.mark.timeout(20)
def test_close_without_answer(emu):
    emu.add_fault(Fault("close", count=1))
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(emu, "GET", LIST)
    record = emu.requests[-1]
    assert record.fault == "close"
    assert record.status == 0
    assert call(emu, "GET", LIST).status == 200


@pytest.mark.timeout(20)
def test_slow_answers_correctly_after_the_delay(emu):
    emu.add_fault(Fault("slow", count=1, delay=0.3))
    began = time.monotonic()
    assert call(emu, "GET", LIST).status == 200
    assert time.monotonic() - began >= 0.3
    assert emu.requests[-1].fault == "slow"


@pytest.mark.timeout(20)
def test_slow_beyond_the_client_timeout(emu):
    emu.add_fault(Fault("slow", count=1, delay=2.0))
    with pytest.raises(TimeoutError):
        call(emu, "GET", LIST, timeout=0.2)


@pytest.mark.timeout(20)
def test_hang_times_out_the_client_and_does_not_block_stop():
    emu = ZendeskEmulator(clock=ManualClock()).start()
    try:
        emu.add_fault(Fault("hang"))
        with pytest.raises(TimeoutError):
            call(emu, "GET", LIST, timeout=0.2)
        # a second client still hanging while the emulator stops
        host, port = host_port(emu)
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", LIST, headers={"Authorization": BASIC})
        outcome: list[object] = []

        def wait_for_answer() -> None:
            try:
                outcome.append(conn.getresponse().status)
            except (http.client.HTTPException, OSError) as exc:
                outcome.append(exc)

        waiter = threading.Thread(target=wait_for_answer)
        waiter.start()
        while emu.request_count() < 2:
            time.sleep(0.01)
    finally:
        began = time.monotonic()
        emu.stop()
        stop_took = time.monotonic() - began
    waiter.join(5)
    assert not waiter.is_alive()
    assert isinstance(outcome[0], (http.client.RemoteDisconnected, ConnectionError))
    assert stop_took < 3.0
    assert [record.status for record in emu.requests] == [0, 0]


@pytest.mark.timeout(20)
def test_stop_with_an_idle_keep_alive_connection():
    emu = ZendeskEmulator(clock=ManualClock()).start()
    host, port = host_port(emu)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", LIST, headers={"Authorization": BASIC})
    conn.getresponse().read()
    began = time.monotonic()
    emu.stop()
    assert time.monotonic() - began < 3.0
    conn.close()


def test_fault_count_path_prefix_and_method(emu):
    job_id = emu.create_job(count=1)
    emu.add_fault(Fault("server_error", count=2, path_prefix="/api/v2/job_statuses/", method="get"))
    assert call(emu, "GET", LIST).status == 200  # not under the prefix
    assert call(emu, "POST", "/api/v2/tickets/create_many", {"tickets": [{}]}).status == 200
    assert call(emu, "GET", f"{LIST}/{job_id}").status == 503
    assert call(emu, "GET", f"{LIST}/show_many?ids={job_id}").status == 503
    assert call(emu, "GET", f"{LIST}/{job_id}").status == 200


def test_faults_apply_in_order_and_clear(emu):
    emu.add_fault(Fault("not_found", count=1))
    emu.add_fault(Fault("server_error"))
    assert call(emu, "GET", LIST).status == 404
    assert call(emu, "GET", LIST).status == 503
    assert call(emu, "GET", LIST).status == 503
    assert emu.clear_faults() == 1
    assert call(emu, "GET", LIST).status == 200


def test_faults_can_target_the_token_endpoint(emu):
    emu.add_fault(Fault("server_error", count=1, path_prefix="/oauth"))
    grant = {"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"}
    assert call(emu, "POST", "/oauth/tokens", grant, auth=None).status == 503
    assert call(emu, "GET", LIST).status == 200
    assert call(emu, "POST", "/oauth/tokens", grant, auth=None).status == 200


def fraction_pattern(seed: int) -> list[int]:
    with ZendeskEmulator(clock=ManualClock(), seed=seed) as emu:
        emu.add_fault(Fault("server_error", fraction=0.3))
        return [call(emu, "GET", LIST).status for _ in range(40)]


def test_fraction_is_reproducible_with_a_seed():
    first = fraction_pattern(seed=7)
    assert first == fraction_pattern(seed=7)
    assert first != fraction_pattern(seed=8)
    failed = first.count(503)
    assert 4 <= failed <= 24
    assert set(first) == {200, 503}


def test_fraction_with_count_stops_after_count_hits(emu):
    emu.add_fault(Fault("server_error", fraction=0.5, count=3))
    statuses = [call(emu, "GET", LIST).status for _ in range(40)]
    assert statuses.count(503) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "explode"}, "unknown fault kind"),
        ({"kind": "rate_limit", "count": 0}, "count"),
        ({"kind": "rate_limit", "fraction": 1.5}, "fraction"),
        ({"kind": "rate_limit", "path_prefix": "api"}, "path_prefix"),
        ({"kind": "slow", "delay": -1}, "delay"),
        ({"kind": "server_error", "status": 99}, "status"),
    ],
)
def test_fault_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Fault(**kwargs)


def test_fault_round_trips_through_its_json_form():
    fault = Fault("rate_limit", count=2, retry_after=5)
    fault.applied = 1
    assert fault.to_dict()["applied"] == 1
    again = Fault.from_dict(fault.to_dict())
    assert again == fault
    assert again.applied == 0
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_dict({"kind": "hang", "colour": "red"})
    with pytest.raises(ValueError, match="needs a kind"):
        Fault.from_dict({})


@pytest.mark.timeout(20)
def test_raw_socket_client_gone_during_hang_frees_the_thread(emu):
    emu.add_fault(Fault("hang", count=1))
    host, port = host_port(emu)
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(f"GET {LIST} HTTP/1.1\r\nHost: x\r\nAuthorization: {BASIC}\r\n\r\n".encode())
        while emu.request_count() < 1:
            time.sleep(0.01)
    # the emulator goes on serving others
    assert call(emu, "GET", LIST).status == 200
