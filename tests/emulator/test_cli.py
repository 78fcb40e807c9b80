"""The console script, run as a real subprocess (and main() in-process for argument handling)."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from airflow_provider_zendesk_jobs.testing.cli import build_parser, main
from tests.support.emulator_http import BASIC

ROOT = Path(__file__).resolve().parents[2]


def start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    url_file = tmp_path / "url.txt"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_zendesk_jobs.testing", "--port", "0", "--url-file", str(url_file),
         *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not url_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the emulator did not start: {out}\n{err}")
        time.sleep(0.02)
    return proc, url_file.read_text().strip()


def get(url: str, path: str, auth: str | None = BASIC) -> tuple[int, dict]:
    request = urllib.request.Request(url + path, headers={"Authorization": auth} if auth else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


@pytest.mark.timeout(60)
def test_cli_serves_prints_a_banner_and_stops_on_sigterm(tmp_path):
    proc, url = start(tmp_path, "--seed", "3", "--manual-clock")
    try:
        assert url.startswith("http://127.0.0.1:")
        status, body = get(url, "/api/v2/job_statuses")
        assert status == 200
        assert body["job_statuses"] == []
        request = urllib.request.Request(
            url + "/__emulator__/jobs", data=b'{"count": 2}', headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            job_id = json.loads(response.read())["job_status"]["id"]
        clock = get(url, "/__emulator__/clock", auth=None)[1]
        assert clock["clock"] == "ManualClock"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"listening on {url}" in out
    assert "demo@example.com" in out
    assert "demo-token" in out
    assert "demo-oauth-token" in out
    assert "demo-client" in out and "demo-secret" in out
    export = next(line for line in out.splitlines() if line.startswith("export AIRFLOW_CONN_ZENDESK_DEFAULT="))
    conn = json.loads(export.split("=", 1)[1].strip("'"))
    assert conn == {"conn_type": "zendesk_jobs", "host": url, "login": "demo@example.com", "password": "demo-token"}
    assert "stopped" in out
    assert "Traceback" not in err
    assert job_id.startswith("V3-")


@pytest.mark.timeout(60)
def test_cli_ctrl_c_and_custom_credentials(tmp_path):
    proc, url = start(tmp_path, "--email", "ops@acme.test", "--api-token", "t0k", "--speed", "50")
    try:
        custom = "Basic " + base64.b64encode(b"ops@acme.test/token:t0k").decode()
        assert get(url, "/api/v2/job_statuses", auth=custom)[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "ops@acme.test" in out
    assert "clock speed x50" in out
    assert "Traceback" not in err


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
