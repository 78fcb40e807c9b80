"""``scripts/demo.py`` (``make demo``): its parts quickly, and the whole demo when asked for.

The whole demo runs ``airflow dags test`` (about 25 s), which the gate DAG test in
``test_example_dags.py`` already covers; set ``ZENDESK_DEMO_E2E=1`` to run it here too.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing import DEFAULT_CREDENTIALS, RequestRecord

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "demo.py"


@pytest.fixture(scope="module")
def demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zendesk_demo_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def read_job(url: str, job_id: str) -> dict[str, Any]:
    creds = base64.b64encode(f"{DEFAULT_CREDENTIALS.email}/token:{DEFAULT_CREDENTIALS.api_token}".encode()).decode()
    request = urllib.request.Request(f"{url}/api/v2/job_statuses/show_many?ids={job_id}")
    request.add_header("Authorization", f"Basic {creds}")
    with urllib.request.urlopen(request, timeout=10) as response:
        statuses: list[dict[str, Any]] = json.loads(response.read())["job_statuses"]
    return statuses[0]


def wait_for(condition: Any, what: str, limit: float = 20.0) -> None:
    """Wait for something another thread or process does; the limit only guards against a hang."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.mark.timeout(60)
def test_emulator_process_and_clock_held_until_the_trigger_polls(demo: ModuleType, tmp_path: Path) -> None:
    emulator = demo.start_emulator(tmp_path, dict(os.environ))
    driver = demo.clock_after_trigger_polls(emulator, speed=1000.0, tick=0.05)
    try:
        job_id = emulator.create_job("tickets_import", count=2)
        driver.start()
        assert read_job(emulator.url, job_id)["status"] == "queued"  # the sensor's first look
        assert not driver.released.is_set()
        held = emulator.now()
        read_job(emulator.url, job_id)  # the trigger's first poll releases the clock
        wait_for(driver.released.is_set, "the clock driver to see two status reads")
        wait_for(
            lambda: read_job(emulator.url, job_id)["status"] == "completed", "the job to finish on the moving clock"
        )
        assert held == 1_700_000_000.0  # the clock stood still until then
        assert emulator.request_count() >= 3
    finally:
        driver.stop()
        emulator.stop()
    assert driver.error is None
    assert emulator.process.returncode == 0
    assert "Zendesk jobs emulator stopped." in (tmp_path / "emulator.log").read_text()


def test_an_emulator_that_cannot_start_is_a_demo_error_with_its_output(demo: ModuleType, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONHOME=str(tmp_path / "no-python-here"))  # Python itself cannot start
    with pytest.raises(demo.DemoError, match="the emulator did not start") as caught:
        demo.start_emulator(tmp_path, env)
    assert "exited with status 1 before it was ready" in str(caught.value)
    assert "Fatal Python error" in str(caught.value)


def test_summary_names_the_job_created_ids_failures_and_requests(demo: ModuleType) -> None:
    failed = [{"index": 1, "id": None, "error": "TicketCreateFailed", "details": "Subject: is invalid"}]
    run = {
        "state": "success",
        "tasks": {"report": "success", "start_import": "success", "wait_for_import": "success"},
        "xcoms": {
            "read_results": {
                "job_id": "V3-abc",
                "status": "completed",
                "job_type": "Bulk Import Ticket",
                "counts": {"succeeded": 2, "failed": 1},
            },
            "report": {"job_id": "V3-abc", "created_ticket_ids": [1000, 1001], "failed_items": failed},
        },
    }
    records = [
        RequestRecord(0.0, 0.0, "POST", "/api/v2/imports/tickets/create_many", "", 200, "basic", None),
        RequestRecord(1.0, 0.0, "GET", "/api/v2/job_statuses/show_many", "", 200, "basic", None),
        RequestRecord(2.0, 0.0, "GET", "/api/v2/job_statuses/show_many", "", 200, "basic", None),
    ]
    log = (
        "2026-01-01T00:00:00Z [info     ] V3-abc: queued 0/3 [airflow_provider_zendesk_jobs.triggers.zendesk_jobs."
        "ZendeskJobStatusTrigger] loc=progress.py:56\n"
        "2026-01-01T00:00:01Z [info     ] V3-abc: completed 3/3 [airflow_provider_zendesk_jobs.triggers.zendesk_jobs."
        "ZendeskJobStatusTrigger] loc=progress.py:56\n"
        "2026-01-01T00:00:01Z [info     ] V3-abc: completed 3/3 [airflow.task.operators.x] loc=progress.py:56\n"
    )
    text = "\n".join(demo.summary(run, records, log))
    assert "job id           V3-abc" in text
    assert "completed (Bulk Import Ticket): 2 records created, 1 rejected" in text
    assert "created tickets  1000, 1001" in text
    assert "record 1: TicketCreateFailed - Subject: is invalid" in text
    assert "the sensor deferred; the trigger logged\n                   queued 0/3 -> completed 3/3\n" in text
    assert "start_import=success, wait_for_import=success, report=success" in text
    assert "emulator served  3 requests:" in text
    assert "2 x GET /api/v2/job_statuses/show_many -> 200" in text


@pytest.mark.timeout(240)
@pytest.mark.skipif(os.environ.get("ZENDESK_DEMO_E2E") != "1", reason="set ZENDESK_DEMO_E2E=1 to run the whole demo")
def test_the_whole_demo(airflow_db: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--airflow-home", str(airflow_db), "--skip-migrate"],
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "created tickets  1000, 1001, 1002" in out
    assert "record 1: TicketCreateFailed - Subject: is invalid (contains FAIL)" in out
    assert "the sensor deferred; the trigger logged" in out
    assert "-> completed " in out
    assert "1 x POST /api/v2/imports/tickets/create_many -> 200" in out
    assert "The DAG run succeeded" in out
