"""4. ``two_triggerers``: two triggerers on one queue, each with the capacity for half the waits.

Every wait ends once, and the requests per interval follow the triggerers (one poller each),
not the waits.
"""

from __future__ import annotations

from scripts.e2e.config import PAIR_WAITS
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import Result
from scripts.e2e.metadata import all_deferred_and_held, triggers
from scripts.e2e.scenarios.common import create_jobs, ends_once, final_states, show_many_per_interval

DAG_ID = "e2e_two_triggerers"


def two_triggerers(dep: Deployment, result: Result, waits: int = PAIR_WAITS) -> None:
    run, emu = dep.run, dep.emulators["pair"]
    job_ids = create_jobs(emu, waits, work_seconds=lambda i: 3.0)
    run_id = dep.api.trigger(DAG_ID, {"job_ids": job_ids})
    held = run.wait_for("the waits deferred and held", lambda: all_deferred_and_held(DAG_ID, run_id, waits), 300)
    holders = [h for h, _ in triggers([ti.trigger_id for ti in held if ti.trigger_id is not None]).values()]
    spread = sorted(holders.count(h) for h in set(holders))
    intervals = 3
    _, counts = show_many_per_interval(run, emu, intervals)
    result.figures.update(waits_per_triggerer=spread, show_many_per_interval=counts)
    result.check(len(spread) == 2, f"the waits were held by {len(spread)} triggerer(s), not 2: {spread}")
    result.check(
        sum(counts) <= len(spread) * (intervals + 1),
        f"{sum(counts)} show_many in {intervals} intervals: more than one per triggerer per interval",
    )
    result.check(sum(counts) < waits * intervals, "as many requests as waits: the waits did not share a poller")
    emu.advance(60)
    tis = final_states(run, DAG_ID, run_id, 180)
    ends_once(dep, DAG_ID, run_id, [ti for ti in tis if ti.task_id == "wait"], job_ids, result)
