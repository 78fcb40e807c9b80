"""What several scenarios do the same way: make jobs, wait for every task to end, count requests per interval,
and check that every wait ended once."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from airflow_provider_zendesk_jobs.testing import RemoteEmulator, RequestRecord
from scripts.e2e.config import POLL_SECONDS, SHOW_MANY, STATUS_READS
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import E2ERun, Result
from scripts.e2e.metadata import TERMINAL, Ti, task_instances
from scripts.e2e.task_logs import FIRED, STARTED, task_log_text


def create_jobs(
    emu: RemoteEmulator, count: int, *, work_seconds: Callable[[int], float], records: int = 3
) -> list[str]:
    """``count`` ticket jobs, each queued 2 s and then working ``work_seconds(index)`` on the emulator's clock."""
    return [
        emu.create_job("tickets_create", count=records, queued_seconds=2, work_seconds=work_seconds(index))
        for index in range(count)
    ]


def final_states(run: E2ERun, dag_id: str, run_id: str, timeout: float, expected: int | None = None) -> list[Ti]:
    """Every task instance of the run once all have ended (at least ``expected`` of them, mapped or not)."""

    def finished() -> list[Ti]:
        tis = task_instances(dag_id, run_id)
        if expected is not None and len([ti for ti in tis if ti.map_index >= 0 or ti.task_id != "wait"]) < expected:
            return []
        return tis if tis and all(ti.state in TERMINAL for ti in tis) else []

    return list(run.wait_for(f"every task of {dag_id} to finish", finished, timeout))


def per_interval(records: Sequence[RequestRecord], start: float, intervals: int) -> list[int]:
    """Requests per poll interval from ``start`` (wall time), for ``intervals`` intervals."""
    counts = [0] * intervals
    for record in records:
        slot = int((record.wall_time - start) // POLL_SECONDS)
        if 0 <= slot < intervals:
            counts[slot] += 1
    return counts


def show_many_per_interval(
    run: E2ERun, emu: RemoteEmulator, intervals: int = 3
) -> tuple[list[RequestRecord], list[int]]:
    """One interval to settle, then ``intervals`` measured: the show_many requests in them, and their count per
    interval."""
    start = time.time() + POLL_SECONDS
    end = start + intervals * POLL_SECONDS
    run.wait_for("the measured intervals to pass", lambda: time.time() >= end, 60, 0.5)
    measured = [r for r in emu.request_records(SHOW_MANY, "GET") if start <= r.wall_time < end]
    return measured, per_interval(measured, start, intervals)


def wait_for_a_poll(run: E2ERun, emu: RemoteEmulator) -> None:
    """Until the emulator serves a job-status read from now on."""
    since = time.time()

    def polled() -> bool:
        return any(r.wall_time >= since for r in emu.request_records(STATUS_READS, "GET"))

    run.wait_for("the triggerer to poll", polled, 60, 0.5)


def ends_once(dep: Deployment, dag_id: str, run_id: str, tis: list[Ti], job_ids: list[str], result: Result) -> None:
    """Every wait succeeded in its first try and its task came back from the triggerer once (no event fired twice)."""
    home = dep.run.home
    states = [ti.state for ti in tis]
    tries = [ti.try_number for ti in tis]
    fired, returns = [], []
    for ti in tis:
        fired.append(task_log_text(home, dag_id, run_id, "wait", ti.map_index, "trigger").count(FIRED))
        # Each run of the task on a worker opens a "Pre Execute" group: the first run, then one per return.
        returns.append(task_log_text(home, dag_id, run_id, "wait", ti.map_index, "worker").count(STARTED) - 1)
    result.figures.update(waits=f"{states.count('success')}/{len(job_ids)} succeeded", events=fired, returns=returns)
    result.check(states.count("success") == len(job_ids), f"wait states {states}")
    result.check(all(n == 1 for n in tries), f"tries per wait {tries}, expected 1 each")
    # The triggerer may cut the last lines of a trigger's log when it ends, so its "fired" line can be missing.
    result.check(all(n <= 1 for n in fired), f"trigger events per wait {fired}, expected at most 1 each")
    result.check(all(n == 1 for n in returns), f"returns from the triggerer per wait {returns}, expected 1 each")
