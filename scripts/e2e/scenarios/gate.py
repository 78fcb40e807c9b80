"""1. ``gate``: the example DAG ``example_zendesk_bulk_import_gate``, unchanged, succeeds.

Its report lists the created tickets and the rejected record; its sensor deferred (the job stays
queued 15 s on the gate emulator's real-time clock, longer than the sensor's first look).
"""

from __future__ import annotations

from scripts.e2e.config import GATE_DAG
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.metadata import run_state, xcom
from scripts.e2e.scenarios.common import final_states
from scripts.e2e.task_logs import task_log_text


def gate(dep: Deployment, result: Result) -> None:
    run = dep.run
    run_id = dep.api.trigger(GATE_DAG, {})
    tis = final_states(run, GATE_DAG, run_id, 300)
    result.figures["tasks"] = {ti.task_id: ti.state for ti in tis}
    run.wait_for("the DAG run to end", lambda: run_state(GATE_DAG, run_id) in ("success", "failed"), 60)
    state = run_state(GATE_DAG, run_id)
    result.check(state == "success", f"the DAG run ended {state}")
    report = xcom(GATE_DAG, run_id, "report") or {}
    created = report.get("created_ticket_ids") or []
    rejected = [
        f"record {item.get('index')}: {item.get('error')} ({item.get('details') or 'no details'})"
        for item in report.get("failed_items") or []
    ]
    result.figures.update(job_id=report.get("job_id"), created=created, rejected=rejected)
    result.figures["sensor_deferred"] = "Deferring" in task_log_text(run.home, GATE_DAG, run_id, "wait_for_import")
    result.check(len(created) == 3 and len(rejected) == 1, f"expected 3 created and 1 rejected, got {report}")
