"""7. ``events``: the example DAG ``example_zendesk_on_failed_job``, on an asset watched by ``ZendeskJobEventTrigger``.

A job killed in the emulator starts the DAG within two reads of the job list, once; after a
``kill -9`` of the watcher's triggerer the new one fires no event again, and the next killed job
starts a second run. The watcher's trigger has no queue: it shares the one triggerer without
``--queues`` with the start_in_triggerer scenario, and takes turns with it (it kills that triggerer).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from airflow_provider_zendesk_jobs.testing import RemoteEmulator
from scripts.e2e.config import EVENTS_DAG, STATUS_READS, WATCH_SECONDS
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.metadata import run_state, watcher_cursor, xcom


def list_reads(emu: RemoteEmulator, since: float = 0.0) -> list[float]:
    """Wall times of the reads of the job list itself (not of single jobs or show_many)."""
    times = [r.wall_time for r in emu.request_records(STATUS_READS, "GET") if r.path == STATUS_READS]
    return [t for t in times if t >= since]


def events(dep: Deployment, result: Result) -> None:
    with dep.no_queue_turn:
        events_through_a_restart(dep, result)


def events_through_a_restart(dep: Deployment, result: Result) -> None:
    run, emu = dep.run, dep.emulators["events"]
    first, second = (emu.create_job("tickets_import", count=2, queued_seconds=0, work_seconds=1e7) for _ in range(2))
    run.wait_for("the watcher to read the job list twice", lambda: len(list_reads(emu)) >= 2, 300)

    def killed_starts_one_run(job_id: str, runs_before: int) -> dict[str, Any]:
        emu.set_job_status(job_id, "killed")
        killed_at = time.time()

        def new_run() -> list[dict[str, Any]] | None:
            runs = dep.api.dag_runs(EVENTS_DAG)
            return runs if len(runs) > runs_before else None

        dag_run = run.wait_for(f"a run of {EVENTS_DAG} for {job_id}", new_run, 120)[-1]
        run_id = dag_run["dag_run_id"]
        queued_at = datetime.fromisoformat(str(dag_run["queued_at"])).timestamp()
        reads = [t for t in list_reads(emu, killed_at) if t <= queued_at]
        run.wait_for("the run to end", lambda: run_state(EVENTS_DAG, run_id) in ("success", "failed"), 120)
        reported = xcom(EVENTS_DAG, run_id, "report_failed_jobs") or []
        result.check(run_state(EVENTS_DAG, run_id) == "success", f"the run for {job_id} did not succeed")
        result.check([job.get("job_id") for job in reported] == [job_id], f"the run reported {reported}, not {job_id}")
        result.check(len(reads) <= 2, f"{len(reads)} reads of the job list between the kill and the run (max 2)")
        return {"reads_to_run": len(reads), "seconds_to_run": round(queued_at - killed_at, 1)}

    def no_new_run_for(reads: int, runs: int, what: str) -> None:
        since = time.time()
        run.wait_for(f"{reads} more reads of the job list", lambda: len(list_reads(emu, since)) >= reads, 120)
        now = len(dep.api.dag_runs(EVENTS_DAG))
        result.check(now == runs, f"{what}: {now} runs of {EVENTS_DAG}, not {runs}")

    result.figures["first_kill"] = killed_starts_one_run(first, 0)
    no_new_run_for(3, 1, "after the first kill")
    dep.kill(dep.triggerers["no_queue"])
    dep.start_triggerer("no_queue", None)
    no_new_run_for(3, 1, "after the watcher's triggerer restarted")
    result.figures["kill_after_restart"] = killed_starts_one_run(second, 1)
    no_new_run_for(2, 2, "after the second kill")
    fired = [e for e in dep.api.asset_events() if (e.get("extra") or {}).get("from_trigger")]
    result.figures.update(
        events_fired=len(fired),
        runs=len(dep.api.dag_runs(EVENTS_DAG)),
        watch_seconds=WATCH_SECONDS,
        list_reads=len(list_reads(emu)),
    )
    result.check(len(fired) == 2, f"{len(fired)} asset events from the watcher, not 2 (one per killed job)")
    cursor = watcher_cursor()
    result.figures["cursor_in_state_store"] = cursor
    result.check(cursor == sorted([first, second]), f"the asset state store holds {cursor}, not both killed jobs")
