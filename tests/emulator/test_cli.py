"""The console script, run as a real subprocess (and main() in-process for argument handling)."""

from __future__ import annotations

import base64
import io
import json
import signal
import socket
import threading
import time
import urllib.request

import pytest

from airflow_provider_zendesk_jobs.testing import RemoteEmulator
from airflow_provider_zendesk_jobs.testing.cli import build_parser, main
from tests.support.emulator_http import BASIC


def get(url: str, path: str, auth: str | None = BASIC) -> tuple[int, dict]:
    request = urllib.request.Request(url + path, headers={"Authorization": auth} if auth else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


@pytest.mark.timeout(60)
def test_cli_serves_prints_a_banner_and_stops_on_sigterm():
    with RemoteEmulator.start("--seed", "3", "--manual-clock") as emu:
        url = emu.url
        assert url.startswith("http://127.0.0.1:")
        status, body = get(url, "/api/v2/job_statuses")
        assert status == 200
        assert body["job_statuses"] == []
        job_id = emu.create_job(count=2)
        assert emu.clock_name() == "ManualClock"
    process = emu.process
    assert process is not None
    assert process.returncode == 0  # stop() sends SIGTERM
    out = process.output()
    assert f"listening on {url}" in out
    assert "demo@example.com" in out
    assert "demo-token" in out
    assert "demo-oauth-token" in out
    assert "demo-client" in out and "demo-secret" in out
    export = next(line for line in out.splitlines() if line.startswith("export AIRFLOW_CONN_ZENDESK_DEFAULT="))
    conn = json.loads(export.split("=", 1)[1].strip("'"))
    assert conn == {"conn_type": "zendesk_jobs", "host": url, "login": "demo@example.com", "password": "demo-token"}
    assert conn == json.loads(emu.connection_extra_json())
    assert "stopped" in out
    assert "Traceback" not in out
    assert job_id.startswith("V3-")


@pytest.mark.timeout(60)
def test_cli_ctrl_c_and_custom_credentials():
    emu = RemoteEmulator.start("--email", "ops@acme.test", "--api-token", "t0k", "--speed", "50")
    process = emu.process
    assert process is not None
    try:
        custom = "Basic " + base64.b64encode(b"ops@acme.test/token:t0k").decode()
        assert get(emu.url, "/api/v2/job_statuses", auth=custom)[0] == 200
        assert emu.clock_name() == "ScaledClock"
    finally:
        process.popen.send_signal(signal.SIGINT)
        process.popen.wait(timeout=20)
        emu.stop()
    assert process.returncode == 0
    out = process.output()
    assert "ops@acme.test" in out
    assert "clock speed x50" in out
    assert "Traceback" not in out


def test_parser_defaults():
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.speed, args.seed) == ("127.0.0.1", 8765, 20.0, 0)
    assert args.not_visible_seconds == 0.0
    assert args.verbose is False
    assert args.url_file is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "0"], "--speed"),
        (["--queued-seconds", "-1"], "queued_seconds"),
        (["--rate-limit", "0"], "per_minute"),
    ],
)
def test_bad_values_are_refused_without_a_traceback(capsys, argv, message):
    assert main(["--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_port_in_use_is_reported(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert "cannot listen" in capsys.readouterr().err


@pytest.mark.timeout(30)
def test_main_in_a_thread_writes_the_url_file_and_stops(tmp_path):
    """main() outside the main thread leaves signal handlers alone and ends when ``stop`` is set."""
    url_file = tmp_path / "nested" / "url"
    out = io.StringIO()
    stop = threading.Event()
    result: list[int] = []
    argv = ["--port", "0", "--url-file", str(url_file), "--rate-limit", "5"]
    worker = threading.Thread(target=lambda: result.append(main(argv, out=out, stop=stop)))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not url_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        url = url_file.read_text().strip()
        assert get(url, "/__emulator__/settings", auth=None)[1]["settings"]["rate_limit"] == 5
    finally:
        stop.set()
        worker.join(10)
    assert result == [0]
    assert "listening on" in out.getvalue()
    assert "stopped" in out.getvalue()
