"""9. ``start_in_triggerer``: 30 sensor waits with ``start_from_trigger`` and 30 without (Airflow 3.3).

All succeed; started in the triggerer, no task runs on a worker and fewer requests than waits go
to Zendesk. Airflow 3.3 creates a started-in-triggerer trigger with no queue, so only the
triggerer without ``--queues`` takes it: the scenario takes turns on it with the events scenario.
"""

from __future__ import annotations

import urllib.parse

from airflow_provider_zendesk_jobs.testing import ClockRunner
from scripts.e2e.config import CLOCK_TICK, SHOW_MANY
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.metadata import task_instances
from scripts.e2e.scenarios.common import create_jobs, final_states
from scripts.e2e.task_logs import task_log_text


def start_in_triggerer(dep: Deployment, result: Result, waits: int = 30) -> None:
    """30 waits with and without ``start_from_trigger``: the tasks a worker ran, and the requests to Zendesk."""
    with dep.no_queue_turn:
        for mode in ("off", "on"):
            result.figures[mode] = waits_of(dep, result, mode, waits)
    on, off = result.figures["on"], result.figures["off"]
    result.check(on["tasks_run_on_a_worker"] == 0, f"started in the triggerer, yet a worker ran tasks: {on}")
    # A worker's first check is a single-id show_many; so is the poller's first cycle when one trigger
    # arrived before the others. With no worker task, every request left is the poller's: fewer than
    # the worker's checks alone would be.
    result.check(off["single_id_checks"] >= waits, f"without start_from_trigger each task checks once first: {off}")
    result.check(on["requests"] < waits, f"started in the triggerer, {on['requests']} requests for {waits} waits: {on}")
    result.check(off["worker_deferrals"] == waits, f"without start_from_trigger every wait defers from a worker: {off}")


def waits_of(dep: Deployment, result: Result, mode: str, waits: int) -> dict[str, object]:
    """One DAG's run (``e2e_start_from_trigger_<mode>``) to its end, and what it cost."""
    run, emu = dep.run, dep.emulators["start"]
    dag_id = f"e2e_start_from_trigger_{mode}"
    before = emu.request_count(None, "GET")
    job_ids = create_jobs(emu, waits, work_seconds=lambda i: 5.0 + i)
    run_id = dep.api.trigger(dag_id, {"job_ids": job_ids})
    run.wait_for(
        f"{waits} waits of {dag_id} deferred",
        lambda: sum(ti.state == "deferred" for ti in task_instances(dag_id, run_id)) == waits,
        300,
    )
    with ClockRunner(emu, speed=1.0, tick=CLOCK_TICK):
        tis = final_states(run, dag_id, run_id, 300, expected=waits)
    succeeded = sum(ti.state == "success" for ti in tis)
    requests = emu.request_records(None, "GET")[before:]
    asked = [urllib.parse.parse_qs(r.query).get("ids", [""])[0] for r in requests if r.path.startswith(SHOW_MANY)]
    single_id = sum(1 for ids in asked if "," not in ids)
    worker_logs = [task_log_text(run.home, dag_id, run_id, ti.task_id, part="worker") for ti in tis]
    result.check(succeeded == waits, f"{mode}: {waits - succeeded} of {waits} waits did not succeed")
    return {
        "succeeded": f"{succeeded}/{waits}",
        "tasks_run_on_a_worker": sum(1 for text in worker_logs if text.strip()),
        "worker_deferrals": sum(text.count("Deferring: the triggerer checks") for text in worker_logs),
        "requests": len(requests),
        "single_id_checks": single_id,
    }
