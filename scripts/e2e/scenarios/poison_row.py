"""6. ``poison_row``: a trigger row with garbage kwargs beside good waits.

The good waits succeed, the bad task fails with a message naming the bad value, and the
triggerer process stays up (the same pid, its job still beating). The rows are written before
any triggerer runs their queue; the scenario's triggerer starts after.
"""

from __future__ import annotations

import re

from scripts.e2e.config import TRIGGERER_HEALTH_SECONDS
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import E2EError, Result
from scripts.e2e.metadata import (
    TERMINAL,
    Ti,
    alive_triggerer_jobs,
    heartbeat_age,
    mapped_waits,
    rewrite_trigger_kwargs,
    triggers,
)
from scripts.e2e.scenarios.common import create_jobs
from scripts.e2e.task_logs import task_log_text

DAG_ID = "e2e_poison_row"
QUEUE = "e2e_poison"
GARBAGE = {"job_ids": "../etc", "poll_interval": -1}


def poison_row(dep: Deployment, result: Result, waits: int = 3, poisoned: int = 1) -> None:
    run, emu = dep.run, dep.emulators["poison"]
    job_ids = create_jobs(emu, waits, work_seconds=lambda i: 3.0)
    run_id = dep.api.trigger(DAG_ID, {"job_ids": job_ids})

    def deferred() -> list[Ti]:
        tis = mapped_waits(DAG_ID, run_id, waits)
        return tis if tis and all(ti.state == "deferred" and ti.trigger_id is not None for ti in tis) else []

    tis = run.wait_for("the waits deferred (no triggerer runs their queue yet)", deferred, 300)
    rewrite_trigger_kwargs(tis[poisoned].trigger_id or 0, GARBAGE)
    proc = dep.start_triggerer("poison", QUEUE)
    pid = proc.pid
    holders: set[int] = set()

    def held() -> bool:
        rows = triggers([ti.trigger_id for ti in tis if ti.trigger_id is not None])
        holders.update(h for h, _ in rows.values() if h is not None)
        return all(h is not None for h, _ in rows.values()) or not proc.alive()

    run.wait_for("the poison triggerer to take the rows", held, 120)
    emu.advance(60)

    def settled() -> bool:
        now = {ti.map_index: ti.state for ti in mapped_waits(DAG_ID, run_id, waits)}
        return all(state in TERMINAL for state in now.values()) or not proc.alive()

    try:
        run.wait_for("the good waits to succeed and the bad one to fail", settled, 120)
    except E2EError as exc:
        result.problems.append(str(exc))
    # Still up after everything settled: the same process, and the triggerer job that took the rows still beating.
    beats = alive_triggerer_jobs()
    beating = bool(holders) and all(h in beats and heartbeat_age(beats[h]) < TRIGGERER_HEALTH_SECONDS for h in holders)
    states = {ti.map_index: ti.state for ti in mapped_waits(DAG_ID, run_id, waits)}
    good = [states[i] for i in range(waits) if i != poisoned]
    bad_log = task_log_text(run.home, DAG_ID, run_id, "wait", poisoned)
    result.figures.update(
        garbage_kwargs=GARBAGE,
        good_waits=good,
        bad_wait=states[poisoned],
        triggerer_pid_alive=proc.alive(),
        triggerer_heartbeat=beating,
        triggerer_exit=proc.popen.returncode,
    )
    result.check(all(s == "success" for s in good), f"the good waits ended {good}")
    result.check(states[poisoned] == "failed", f"the poisoned wait ended {states[poisoned]}, not failed")
    named = "../etc" in bad_log or "poll_interval" in bad_log
    result.check(named, "the poisoned task's log does not name the bad value")
    result.check(proc.alive() and proc.pid == pid, f"the triggerer (pid {pid}) is gone, exit {proc.popen.returncode}")
    result.check(beating or not proc.alive(), "the triggerer process is up but its job no longer heartbeats")
    if not proc.alive():
        crash = re.findall(r"[A-Za-z]*Error: [^\n\"]{0,200}", proc.log.read_text(errors="replace"))
        result.figures["triggerer_last_error"] = crash[-1] if crash else "(none logged)"
