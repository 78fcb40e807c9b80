"""2. ``many``: 30 deferred sensors, one job each.

All succeed; at most 2 ``show_many`` per poll interval while all are pending (one poller for
them all); every task's log holds its own job's progress lines, and no other task's ids.
"""

from __future__ import annotations

import urllib.parse

from airflow_provider_zendesk_jobs.testing import ClockRunner
from scripts.e2e.config import CLOCK_TICK, POLL_SECONDS
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.metadata import all_deferred_and_held
from scripts.e2e.scenarios.common import create_jobs, final_states, show_many_per_interval
from scripts.e2e.task_logs import progress_lines, task_log_text

DAG_ID = "e2e_many_waits"


def many(dep: Deployment, result: Result, waits: int = 30) -> None:
    run, emu = dep.run, dep.emulators["many"]
    job_ids = create_jobs(emu, waits, work_seconds=lambda i: 5.0 + i)  # they finish over 7 to 36 s once time runs
    run_id = dep.api.trigger(DAG_ID, {"job_ids": job_ids})
    run.wait_for(
        f"{waits} waits deferred and held by the triggerer", lambda: all_deferred_and_held(DAG_ID, run_id, waits), 300
    )
    # The clock stands still: every job is pending.
    measured, counts = show_many_per_interval(run, emu)
    ids_asked = {job for r in measured for job in urllib.parse.parse_qs(r.query).get("ids", [""])[0].split(",")}
    result.figures.update(waits=waits, show_many_per_interval=counts, ids_covered=len(ids_asked & set(job_ids)))
    result.check(max(counts) <= 2, f"show_many per {POLL_SECONDS:g} s interval while all pending: {counts} (max 2)")
    result.check(min(counts) >= 1, f"an interval without a show_many while waits were pending: {counts}")
    with ClockRunner(emu, speed=1.0, tick=CLOCK_TICK):
        tis = final_states(run, DAG_ID, run_id, 240)
    waits_tis = [ti for ti in tis if ti.task_id == "wait"]
    succeeded = sum(ti.state == "success" for ti in waits_tis)
    result.figures["succeeded"] = f"{succeeded}/{waits}"
    result.check(succeeded == waits, f"{waits - succeeded} of {waits} waits did not succeed")
    lines_per_task = []
    foreign = 0
    for ti in waits_tis:
        text = task_log_text(run.home, DAG_ID, run_id, "wait", ti.map_index, part="trigger")
        mine = job_ids[ti.map_index]
        lines_per_task.append(len(progress_lines(text, mine)))
        foreign += sum(1 for other in job_ids if other != mine and other in text)
    result.figures.update(progress_lines_min=min(lines_per_task, default=0), foreign_ids_in_logs=foreign)
    result.check(min(lines_per_task, default=0) >= 2, f"a task log with too few progress lines: {lines_per_task}")
    result.check(foreign == 0, f"{foreign} mentions of other tasks' job ids in the task logs")
