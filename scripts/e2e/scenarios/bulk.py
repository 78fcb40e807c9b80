"""8. ``bulk``: the example bulk import DAG, then a bulk import whose worker gets ``kill -9`` mid-import.

The example (1,000 tickets, deferred, in the pool ``zendesk_jobs`` with ``include_deferred``)
succeeds with 990 imported, 10 rejected, every record received once. Then ``e2e_bulk_killed``
waits in its worker; it is killed while five of its jobs are active, and the task's next try, run
by the scheduler, goes on from the ledger and finishes: 1,000 records received, none twice.
"""

from __future__ import annotations

import os
import signal

from airflow_provider_zendesk_jobs.testing import ClockRunner
from scripts.e2e.config import BULK_DAG, BULK_KILLED_DAG, CLOCK_TICK
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.metadata import task_try, xcom
from scripts.e2e.scenarios.common import final_states
from scripts.e2e.task_logs import task_log_text

TASK_ID = "import_tickets"
COUNTS = ("records", "succeeded", "failed")


def bulk(dep: Deployment, result: Result) -> None:
    the_example(dep, result)
    killed_mid_import(dep, result)


def the_example(dep: Deployment, result: Result) -> None:
    run, emu = dep.run, dep.emulators["bulk"]
    dep.api.create_pool("zendesk_jobs", slots=4)
    with ClockRunner(emu, speed=1.0, tick=CLOCK_TICK):
        run_id = dep.api.trigger(BULK_DAG, {})
        tis = final_states(run, BULK_DAG, run_id, 300)
    result.figures["example_tasks"] = {ti.task_id: ti.state for ti in tis}
    value = xcom(BULK_DAG, run_id, TASK_ID) or {}
    records = emu.record_summary()
    received, duplicates = records["total"], records["duplicates"]
    result.figures.update(
        example_result={key: value.get(key) for key in COUNTS},
        example_jobs=len(value.get("jobs") or []),
        example_records_received=received,
        example_duplicates=len(duplicates),
        example_deferred="Pausing task as DEFERRED" in task_log_text(run.home, BULK_DAG, run_id, TASK_ID),
    )
    tasks = result.figures["example_tasks"]
    result.check(all(ti.state == "success" for ti in tis), f"the example's tasks ended {tasks}")
    result.check(
        (value.get("succeeded"), value.get("failed")) == (990, 10), f"expected 990 imported, 10 rejected: {value}"
    )
    result.check(
        received == 1000 and not duplicates, f"the example's records: {received} received, duplicates {duplicates}"
    )


def killed_mid_import(dep: Deployment, result: Result) -> None:
    run, emu = dep.run, dep.emulators["bulk_kill"]  # its clock stands still: the first jobs stay active until the kill
    run_id = dep.api.trigger(BULK_KILLED_DAG, {})

    def five_active() -> int | None:
        now = task_try(BULK_KILLED_DAG, run_id, TASK_ID)
        running = now.pid and now.state == "running" and now.try_number == 1
        return now.pid if running and emu.records_received() == 500 else None

    pid = int(run.wait_for("the bulk import to have 5 jobs active", five_active, 240))
    os.kill(pid, signal.SIGKILL)
    with ClockRunner(emu, speed=1.0, tick=CLOCK_TICK):
        final_states(run, BULK_KILLED_DAG, run_id, 300)
    last = task_try(BULK_KILLED_DAG, run_id, TASK_ID)
    summary = emu.record_summary()
    received, duplicates = summary["total"], summary["duplicates"]
    value = xcom(BULK_KILLED_DAG, run_id, TASK_ID) or {}
    result.figures.update(
        killed_pid=pid,
        killed_task_state=last.state,
        killed_task_tries=last.try_number,
        killed_records_received=received,
        killed_duplicates=len(duplicates),
        killed_result={key: value.get(key) for key in COUNTS},
    )
    ended = f"the killed import ended {last.state} after {last.try_number} tries"
    result.check(last.state == "success" and last.try_number == 2, ended)
    records = f"after the kill, the records: {received} received, duplicates {duplicates}"
    result.check(received == 1000 and not duplicates, records)
    result.check(value.get("succeeded") == 1000, f"the next try's result: {value}")
