"""3. ``restart``: ``kill -9`` of the triggerer mid-wait, and a new one.

Every wait ends once, and a sensor's timeout ends at its first check + timeout, not at the
restart + timeout (the deadline travels in the trigger's kwargs).
"""

from __future__ import annotations

import time

from scripts.e2e.config import DEADLINE_SECONDS, POLL_SECONDS
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.metadata import all_deferred_and_held, task_instances, triggers
from scripts.e2e.scenarios.common import create_jobs, ends_once, final_states, wait_for_a_poll
from scripts.e2e.task_logs import task_log_text

DAG_ID = "e2e_restart"
QUEUE = "e2e_restart"


def restart(dep: Deployment, result: Result, waits: int = 3) -> None:
    run, emu = dep.run, dep.emulators["restart"]
    job_ids = create_jobs(emu, waits, work_seconds=lambda i: 3.0)
    never = create_jobs(emu, 1, work_seconds=lambda i: 1e7)[0]
    run_id = dep.api.trigger(DAG_ID, {"job_ids": job_ids, "deadline_job_id": never})
    held = run.wait_for(
        "the waits deferred and held by the triggerer",
        lambda: all_deferred_and_held(DAG_ID, run_id, waits + 1, ("wait", "wait_deadline")),
        300,
    )
    deadline_ti = next(ti for ti in held if ti.task_id == "wait_deadline")
    holder, kwargs = triggers([deadline_ti.trigger_id or 0])[deadline_ti.trigger_id or 0]
    first_check, deadline = float(kwargs["started_at"]), float(kwargs["deadline"])
    wait_for_a_poll(run, emu)
    # Kill it well after the first check, so "restart + timeout" and "first check + timeout" are far apart.
    run.wait_for("20 s after the first check", lambda: time.time() >= first_check + 20, 60, 0.5)
    dep.kill(dep.triggerers["restart"])
    killed_at = time.time()
    dep.start_triggerer("restart", QUEUE)

    def taken_over() -> bool:
        rows = triggers([ti.trigger_id for ti in held if ti.trigger_id is not None])
        return all(h is not None and h != holder for h, _ in rows.values())

    run.wait_for("a new triggerer to take the waits over", taken_over, 120)
    restarted_at = time.time()
    left_deferred: list[float] = []

    def deadline_wait_left() -> bool:
        state = next(ti.state for ti in task_instances(DAG_ID, run_id) if ti.task_id == "wait_deadline")
        if state != "deferred":
            left_deferred.append(time.time())
        return bool(left_deferred)

    run.wait_for("the deadline wait to end", deadline_wait_left, DEADLINE_SECONDS + 90, 0.5)
    emu.advance(60)  # now the other jobs finish
    tis = final_states(run, DAG_ID, run_id, 180)
    ended = left_deferred[0]
    by_task = {(ti.task_id, ti.map_index): ti for ti in tis}
    deadline_state = by_task[("wait_deadline", -1)].state
    result.figures.update(
        kill_after_first_check=round(killed_at - first_check, 1),
        takeover_after_kill=round(restarted_at - killed_at, 1),
        timeout_after_first_check=round(ended - first_check, 1),
        timeout_after_restart=round(ended - restarted_at, 1),
        deadline_wait=deadline_state,
    )
    result.check(deadline_state == "failed", f"the deadline wait ended {deadline_state}, not failed by its timeout")
    result.check(
        deadline - 1 <= ended <= deadline + POLL_SECONDS + 15,
        f"the deadline wait ended {ended - first_check:.0f} s after its first check, not about {DEADLINE_SECONDS:g}",
    )
    result.check(ended < restarted_at + DEADLINE_SECONDS - 5, "the deadline counted from the restart")
    timeout_log = task_log_text(run.home, DAG_ID, run_id, "wait_deadline").lower()
    result.check("timeout" in timeout_log or "timed out" in timeout_log, "no timeout in its log")
    ends_once(dep, DAG_ID, run_id, [ti for ti in tis if ti.task_id == "wait"], job_ids, result)
