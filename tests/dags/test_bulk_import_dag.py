"""The bulk-import example DAG as users run it (the trigger run in line), and a killed worker.

The emulator runs in this process, and so does the whole run (``dag.test()``, what ``airflow dags
test`` runs) and the next try after a kill (``airflow tasks test``'s own function). The worker to be
killed is an ``airflow dags test`` process of its own, reading the emulator's clock over HTTP. A
ClockRunner moves that clock forward while a run goes on; when the worker is to be killed, the clock
stands still, so the jobs it started stay active and the kill finds it waiting on them, with its
ledger written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider_zendesk_jobs.testing import ClockRunner, ZendeskEmulator
from airflow_provider_zendesk_jobs.version_compat import AIRFLOW_V_3_3_PLUS
from tests.airflow_compat import capture_airflow_logs
from tests.support.dag_runs import example_dag, example_environment, latest_run, run_dag

DAG_ID = "example_zendesk_bulk_import"
LOGICAL_DATE = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    emulator: ZendeskEmulator = zendesk_emulator_factory(queued_seconds=2, seconds_per_item=0.1)
    return emulator


def use_here(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's environment made ``env``, as a subprocess would get it, until the test ends."""
    for name in os.environ.keys() - env.keys():
        monkeypatch.delenv(name)
    for name, value in env.items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)


def ledger_rows(tmp_path: Path) -> dict[str, Any]:
    """The ledger's keys as stored: task state store rows of the import task on 3.3, else the ledger's files."""
    if not AIRFLOW_V_3_3_PLUS:
        return {
            path.stem: json.loads(path.read_text())
            for path in (tmp_path / "ledgers").rglob("*.json")
            if not path.name.startswith(".")
        }
    from airflow.models.task_state_store import TaskStateStoreModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskStateStoreModel.key, TaskStateStoreModel.value, TaskStateStoreModel.expires_at).where(
                TaskStateStoreModel.dag_id == DAG_ID, TaskStateStoreModel.task_id == "import_tickets"
            )
        ).all()
    assert all(expires_at is None for _, _, expires_at in rows)  # the ledger never expires by age
    return {key.removeprefix("zendesk_bulk."): json.loads(value) for key, value, _ in rows}


def command() -> list[str]:
    return [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, LOGICAL_DATE]


def tasks_test(dag: Any, task_id: str, run_id: str) -> None:
    """``airflow tasks test <dag> <task> <run_id>`` run by the command's own function in this process."""
    from airflow.cli import cli_parser
    from airflow.cli.commands import task_command

    args = cli_parser.get_parser().parse_args(["tasks", "test", dag.dag_id, task_id, run_id])
    task_command.task_test(args, dag=dag)


def check_result(emu: ZendeskEmulator) -> dict[str, object]:
    run = latest_run(DAG_ID)
    assert run["state"] == "success", run
    result = run["xcom"]["import_tickets"]
    assert (result["records"], result["succeeded"], result["failed"]) == (1000, 990, 10)
    assert len(result["jobs"]) == 10 and result["unmapped"] == [] and result["uncertain"] == []
    rejected = run["xcom"]["report_failures"]
    assert [r["record_index"] for r in rejected] == [96 + 97 * k for k in range(10)]
    assert all(r["external_id"] == f"example-source-{r['record_index']}" for r in rejected)
    assert emu.records_received() == 1000
    assert emu.duplicate_records("external_id") == {}
    return result


@pytest.mark.timeout(240)
@pytest.mark.usefixtures("airflow_db")
def test_bulk_import_dag_runs_deferred_through_the_trigger(
    emulator: ZendeskEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Run by ``dag.test()`` in this process, as ``airflow dags test`` runs it (tests/support/dag_runs.py)."""
    use_here(example_environment(emulator, tmp_path, ZENDESK_EXAMPLE_POLL_SECONDS="0.2"), monkeypatch)
    dag = example_dag(DAG_ID)
    with ClockRunner(emulator, speed=250.0, tick=0.02), capture_airflow_logs() as events:  # 5 clock s every 20 ms
        run_dag(dag, logical_date=pendulum.parse(LOGICAL_DATE))
    lines = [str(event["event"]) for event in events]
    assert "[DAG TEST] running trigger in line" in caplog.messages  # it deferred, and the trigger ran
    assert any("1,000 records in 10 chunks of up to 100" in line for line in lines)  # a new import began
    check_result(emulator)
    assert any(line.startswith("1,000 of 1,000 records (100%): 990 done, 10 failed") for line in lines), lines[-20:]
    assert emulator.request_count("/api/v2/imports/tickets/create_many", "POST") == 10
    rows = ledger_rows(tmp_path)
    assert sorted(key for key in rows if key.startswith("chunk.")) == sorted(f"chunk.{n}" for n in range(10))
    assert all(rows[f"chunk.{n}"]["state"] == "done" and rows[f"chunk.{n}"]["results"] for n in range(10))


@pytest.mark.timeout(300)
def test_a_worker_killed_mid_import_and_the_next_try_send_every_record_exactly_once(
    airflow_db: Path, emulator: ZendeskEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = example_environment(emulator, tmp_path, ZENDESK_EXAMPLE_POLL_SECONDS="0.2")
    worker = subprocess.Popen(
        command(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 150
        while True:  # the clock stands still: the first 5 jobs stay active, the worker waits on them
            if emulator.records_received() == 500:
                rows = ledger_rows(tmp_path)
                chunks = [value for key, value in rows.items() if key.startswith("chunk.")]
                if sum(chunk["state"] == "active" for chunk in chunks) == 5:
                    break
            assert worker.poll() is None, "the worker ended before it could be killed"
            assert time.monotonic() < deadline, "the worker never had 5 jobs active"
            time.sleep(0.1)
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    assert emulator.records_received() == 500
    run_id = latest_run(DAG_ID)["run_id"]
    assert rows["owner"]["try_number"] >= 1 and rows["head"]["records"] == 1000
    # The same task instance runs again, as its next try would: same DAG run, same task, same ledger, another
    # process. It is ``airflow tasks test``'s own code, called here in the test process with its parsed arguments.
    # (Airflow 3.0's ``tasks test`` stops after running a deferred task's trigger in line; each run then
    # goes one round further, so it is run until the import is done.)
    use_here({**env, "AIRFLOW_TEST_MODE": "True"}, monkeypatch)  # tasks test sets AIRFLOW_TEST_MODE; undone after
    dag = example_dag(DAG_ID)
    outputs: list[str] = []
    with ClockRunner(emulator, speed=250.0, tick=0.02):  # 5 clock seconds every 20 ms
        while not outputs or "1,000 of 1,000 records" not in outputs[-1]:
            assert len(outputs) < 12, outputs[-1][-4000:]
            with capture_airflow_logs() as events:
                tasks_test(dag, "import_tickets", run_id)
            outputs.append("\n".join(str(event["event"]) for event in events))
    output = "\n".join(outputs)
    assert "records in 10 chunks of up to 100" not in output  # never a new import: the ledger was found
    assert "1,000 of 1,000 records (100%): 990 done, 10 failed" in output
    assert emulator.records_received() == 1000
    assert emulator.duplicate_records("external_id") == {}
    assert emulator.request_count("/api/v2/imports/tickets/create_many", "POST") == 10
