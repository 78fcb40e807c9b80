"""5. ``outage``: two real minutes of 503 from Zendesk while waits are deferred: all succeed after it."""

from __future__ import annotations

import time

from airflow_provider_zendesk_jobs.testing import Fault
from scripts.e2e.config import OUTAGE_SECONDS, STATUS_READS
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.metadata import all_deferred_and_held, mapped_waits
from scripts.e2e.scenarios.common import create_jobs, final_states, wait_for_a_poll
from scripts.e2e.task_logs import last_error, task_log_text

DAG_ID = "e2e_outage"


def outage(dep: Deployment, result: Result, waits: int = 6) -> None:
    run, emu = dep.run, dep.emulators["outage"]
    job_ids = create_jobs(emu, waits, work_seconds=lambda i: 3.0)
    run_id = dep.api.trigger(DAG_ID, {"job_ids": job_ids})
    run.wait_for("the waits deferred and held", lambda: all_deferred_and_held(DAG_ID, run_id, waits), 300)
    wait_for_a_poll(run, emu)
    emu.add_fault(Fault("server_error"))
    began = time.time()
    ended_early: dict[int, float] = {}

    def outage_over() -> bool:
        for ti in mapped_waits(DAG_ID, run_id, waits):
            if ti.state != "deferred" and ti.map_index not in ended_early:
                ended_early[ti.map_index] = time.time() - began
        return time.time() >= began + OUTAGE_SECONDS

    run.wait_for("the outage to last its two minutes", outage_over, OUTAGE_SECONDS + 30, 1.0)
    emu.clear_faults()
    outage_ended = time.time()
    served_503 = sum(1 for r in emu.request_records(STATUS_READS, "GET") if r.status == 503)
    emu.advance(60)
    tis = [ti for ti in final_states(run, DAG_ID, run_id, 180) if ti.task_id == "wait"]
    succeeded = sum(ti.state == "success" for ti in tis)
    result.figures.update(
        outage_seconds=round(outage_ended - began),
        answered_503=served_503,
        survived=f"{succeeded}/{waits}",
        ended_during_outage=len(ended_early),
    )
    if ended_early:
        result.figures["first_end_into_outage_s"] = round(min(ended_early.values()), 1)
        failed = next(ti for ti in tis if ti.state != "success")
        result.figures["failure"] = last_error(task_log_text(run.home, DAG_ID, run_id, "wait", failed.map_index))
    result.check(succeeded == waits, f"{waits - succeeded} of {waits} waits did not survive the outage")
