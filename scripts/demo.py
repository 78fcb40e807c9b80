"""``make demo``: run the bulk-import gate DAG against the built-in Zendesk emulator, then explain what happened.

What it does, in order:

1. makes a throwaway Airflow home with SQLite (``.airflow_home_demo``) and migrates it;
2. starts the emulator (``python -m airflow_provider_zendesk_jobs.testing``) on a free port, as a
   ``RemoteEmulator``;
3. points ``AIRFLOW_CONN_ZENDESK_DEFAULT`` at it and runs ``airflow dags test
   example_zendesk_bulk_import_gate``: the sensor defers, and the trigger polls the emulator;
4. prints the job id, the created ticket ids, the rejected records with their reasons, the
   requests the emulator served, and whether the run succeeded; stops the emulator.

The emulator's clock stands still until the trigger is polling, then runs at ``--clock-speed``
times real time (a ``ClockRunner``): the job therefore always outlives the sensor's first look and the deferred
path always runs, however fast or slow the machine is. Exit status: 0 when the DAG run
succeeded and the deferred wait really happened, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from airflow_provider_zendesk_jobs.testing import ClockRunner, EmulatorProcessError, RemoteEmulator, RequestRecord

try:  # loaded from its path with the checkout on sys.path (the tests)
    from scripts.console import done, step, tail
except ModuleNotFoundError:  # run as a file, python scripts/demo.py: its own folder is on sys.path
    from console import done, step, tail  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "example_zendesk_bulk_import_gate"
STATUS_PATH = "/api/v2/job_statuses"
#: Printed by ``airflow dags test`` each time it runs a deferred task's trigger.
TRIGGER_RAN = "running trigger in line"
DAGS_TEST_TIMEOUT = 240.0
TASK_ORDER = ("start_import", "wait_for_import", "read_results", "report")
_TRIGGER_LINE = re.compile(
    r"\] V3-\w+: (?P<progress>[^\[\n]+?)\s+\[airflow_provider_zendesk_jobs\.triggers\.zendesk_jobs\."
)


class DemoError(Exception):
    """A step failed; the message says which and where to look."""


def airflow(args: Sequence[str], env: dict[str, str], log_path: Path, timeout: float) -> int:
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    return process.returncode


# -- the emulator, in its own process ---------------------------------------------------------------
def start_emulator(home: Path, env: dict[str, str]) -> RemoteEmulator:
    """The console-script emulator on a free port, with a manual clock; its output in ``emulator.log``."""
    try:
        return RemoteEmulator.start(
            "--manual-clock", "--queued-seconds", "2", "--seconds-per-item", "1",
            env=env, output=home / "emulator.log", startup_timeout=20,
        )  # fmt: skip
    except EmulatorProcessError as exc:
        raise DemoError(f"the emulator did not start: {exc}") from None


def clock_after_trigger_polls(emulator: RemoteEmulator, speed: float, tick: float = 0.25) -> ClockRunner:
    """Holds the emulator's time still until the trigger polls, then lets it run at ``speed``.

    Two status reads: the sensor's own first look (if it takes one) and the trigger's.
    """
    return ClockRunner(
        emulator, speed=speed, tick=tick, start_when=lambda: emulator.request_count(STATUS_PATH, "GET") >= 2
    )


# -- reading the run back ---------------------------------------------------------------------------
def read_run(env: dict[str, str]) -> dict[str, Any]:
    """The DAG run's state, task states and XCom values, from the demo's metadata database."""
    os.environ.update(env)
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == DAG_ID).order_by(DagRun.id.desc())).first()
        if run is None:
            raise DemoError("airflow dags test left no DAG run in the metadata database")
        tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
        rows = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=DAG_ID, key="return_value")).all()
        xcoms = {cast("Any", row).task_id: XComModel.deserialize_value(row) for row in rows}
        return {"state": str(run.state), "tasks": tasks, "xcoms": xcoms}


def trigger_progress(log_text: str) -> list[str]:
    """The trigger's progress lines at INFO (one per change) in ``airflow dags test``'s output: ``working 1/4``..."""
    return [match.group("progress") for match in _TRIGGER_LINE.finditer(log_text)]


def describe_requests(records: Sequence[RequestRecord]) -> list[str]:
    counts = Counter((r.method, r.path, r.status) for r in records)
    return [f"{n:3d} x {method} {path} -> {status}" for (method, path, status), n in counts.items()]


def summary(run: dict[str, Any], records: Sequence[RequestRecord], log_text: str) -> list[str]:
    report = run["xcoms"].get("report") or {}
    results = run["xcoms"].get("read_results") or {}
    lines = ["", "Summary"]
    lines.append(f"  job id           {report.get('job_id') or results.get('job_id') or '(none)'}")
    if results:
        counts = results.get("counts", {})
        lines.append(
            f"  job status       {results.get('status')} ({results.get('job_type')}): "
            f"{counts.get('succeeded', 0)} records created, {counts.get('failed', 0)} rejected"
        )
    created = report.get("created_ticket_ids") or []
    lines.append(f"  created tickets  {', '.join(str(i) for i in created) or '(none)'}")
    failed = report.get("failed_items") or []
    lines.append(f"  failed items     {len(failed) or '(none)'}")
    for item in failed:
        lines.append(f"    record {item.get('index')}: {item.get('error')} - {item.get('details') or 'no details'}")
    progress = trigger_progress(log_text)
    deferred = "the sensor deferred; the trigger logged" if progress else "the trigger did not run"
    lines.append(f"  deferred wait    {deferred}")
    if progress:
        lines.append(f"                   {' -> '.join(progress)}")
    order = {task: position for position, task in enumerate(TASK_ORDER)}
    tasks = sorted(run["tasks"].items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    lines.append(f"  tasks            {', '.join(f'{task}={state}' for task, state in tasks)}")
    lines.append(f"  emulator served  {len(records)} requests:")
    lines += ["    " + line for line in describe_requests(records)]
    return lines


# -- the demo ---------------------------------------------------------------------------------------
def demo_env(home: Path, conn: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        ZENDESK_EXAMPLE_POLL_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    if conn is not None:
        env["AIRFLOW_CONN_ZENDESK_DEFAULT"] = conn
    return env


def run_demo(home: Path, *, migrate: bool, clock_speed: float) -> int:
    began = time.monotonic()
    print(f"Zendesk jobs demo: {DAG_ID} against the built-in Zendesk emulator")
    if migrate:
        shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    env = demo_env(home)
    if migrate:
        started = step(f"creating a throwaway Airflow home with SQLite in {home.name}")
        if airflow(["db", "migrate"], env, home / "db_migrate.log", timeout=180) != 0:
            raise DemoError(f"airflow db migrate failed:\n{tail(home / 'db_migrate.log')}")
        done(started)
    started = step("starting the Zendesk emulator on a free port")
    emulator = start_emulator(home, env)
    done(started, f": {emulator.url}")
    driver = clock_after_trigger_polls(emulator, clock_speed)
    try:
        env = demo_env(home, emulator.connection_extra_json())
        driver.start()
        log_path = home / "dags_test.log"
        started = step(f"running 'airflow dags test {DAG_ID}' (log: {log_path.relative_to(ROOT)})")
        code = airflow(["dags", "test", DAG_ID], env, log_path, timeout=DAGS_TEST_TIMEOUT)
        done(started)
        driver.stop()
        records = emulator.requests
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
        trigger_runs = log_text.count(TRIGGER_RAN)
        run = read_run(env)
        for line in summary(run, records, log_text):
            print(line)
        if code != 0 or run["state"] != "success":
            raise DemoError(
                f"the DAG run did not succeed (state {run['state']}); the end of its log:\n{tail(log_path)}"
            )
        if trigger_runs == 0:
            raise DemoError("the sensor never deferred, so the trigger did not run; see " + str(log_path))
    finally:
        driver.stop()
        emulator.stop()
    print(f"\nThe DAG run succeeded in {time.monotonic() - began:.1f} s. The emulator is stopped.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--airflow-home", type=Path, default=ROOT / ".airflow_home_demo")
    parser.add_argument(
        "--skip-migrate",
        action="store_true",
        help="use an Airflow home whose database is already migrated, as it is (for tests)",
    )
    parser.add_argument("--clock-speed", type=float, default=3.0, help="emulated seconds per real second")
    args = parser.parse_args(argv)
    try:
        return run_demo(args.airflow_home.resolve(), migrate=not args.skip_migrate, clock_speed=args.clock_speed)
    except DemoError as exc:
        print(f"\nThe demo FAILED: {exc}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as exc:
        print(f"\nThe demo FAILED: {' '.join(map(str, exc.cmd))} did not finish in {exc.timeout:g} s", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nThe demo was interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
