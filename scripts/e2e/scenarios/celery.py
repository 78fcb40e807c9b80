"""10. ``celery``: a bulk import of 3,000 tickets on the CeleryExecutor, whose worker dies mid-import.

The import runs on one of two Celery workers that each have their own ``AIRFLOW_HOME`` (their
own disk); that worker gets ``kill -9``, with the task under it, while five of its jobs are
active. The scheduler fails the dead try once its heartbeat is ``TASK_HEARTBEAT_TIMEOUT`` old; the
next try runs on the other worker and succeeds: 3,000 records received, none twice, and its
result counts all 3,000. Needs Redis (the broker).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from airflow_provider_zendesk_jobs.testing import ClockRunner
from scripts.e2e.config import CELERY_DAG, CELERY_POOL, CELERY_RECORDS, CLOCK_TICK, TASK_HEARTBEAT_TIMEOUT
from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import E2EError, Result
from scripts.e2e.metadata import TryOn, earlier_tries, task_try, xcom
from scripts.e2e.processes import descendants, parent_pids, pid_alive
from scripts.e2e.scenarios.common import final_states

TASK_ID = "import_tickets"


def celery(dep: Deployment, result: Result) -> None:
    """A bulk import on two Celery workers with their own disks: the one running it dies, the other finishes it."""
    run, emu = dep.run, dep.emulators["bulk_celery"]  # its clock stands still: the first jobs stay active
    logs = ", ".join(f"logs_e2e/{name}.log" for name in dep.celery_workers)

    def hint() -> str:
        return "".join(f"\n  {proc.log}:\n{run.tail(proc, 8)}" for proc in dep.celery_workers.values())

    def now() -> TryOn:
        return task_try(CELERY_DAG, run_id, TASK_ID)

    dep.api.create_pool(CELERY_POOL, slots=1)
    run_id = dep.api.trigger(CELERY_DAG, {})

    def five_active() -> TryOn | None:
        at = now()
        if at.try_number != 1 or at.state != "running" or not at.pid or at.hostname not in dep.celery_workers:
            return None
        return at if emu.records_received() == 500 else None

    try:
        first = run.wait_for("the import to run on a Celery worker with 5 jobs active", five_active, 240)
    except E2EError as exc:
        raise E2EError(f"{exc} (the task is {now()}); the workers' logs:{hint()}") from None
    worker = dep.celery_workers[first.hostname]
    parents = parent_pids()
    lineage, pid = [], first.pid
    while pid and pid not in lineage:
        lineage.append(pid)
        pid = parents.get(pid, 0)
    result.check(
        worker.pid in lineage, f"the TI says {first.hostname}, but its task (pid {first.pid}) is not under that worker"
    )
    # The whole worker, as when its machine dies: its process group, and what left it (the task's own group).
    victims = [worker.pid, *descendants(worker.pid, parents)]
    dep.kill(worker)
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    run.wait_for("every process of the killed worker to be gone", lambda: not any(map(pid_alive, victims)), 30, 0.2)
    at_kill = emu.records_received()
    other = next(name for name in dep.celery_workers if name != first.hostname)
    retried: list[float] = []

    def next_try_started() -> bool:
        if not retried and now().try_number >= 2:
            retried.append(time.monotonic() - killed_at)
        return bool(retried)

    with ClockRunner(emu, speed=1.0, tick=CLOCK_TICK):
        try:
            run.wait_for("the scheduler to start the next try", next_try_started, TASK_HEARTBEAT_TIMEOUT + 150)
            final_states(run, CELERY_DAG, run_id, 300)
        except E2EError as exc:
            raise E2EError(f"{exc} (the task is {now()}; see {logs}):{hint()}") from None
    last = now()
    history = earlier_tries(CELERY_DAG, run_id, TASK_ID)
    records = emu.record_summary()
    received, duplicates = records["total"], records["duplicates"]
    value = xcom(CELERY_DAG, run_id, TASK_ID) or {}
    result.figures.update(
        workers=list(dep.celery_workers),
        killed_worker=first.hostname,
        killed_pids=len(victims),
        records_at_kill=at_kill,
        next_try_after_kill_s=round(retried[0], 1) if retried else None,
        tries={t.try_number: f"{t.hostname or '?'}: {t.state}" for t in [*history, last]},
        task_state=last.state,
        records_received=received,
        duplicates=len(duplicates),
        result={key: value.get(key) for key in ("records", "succeeded", "failed")},
    )
    result.check(last.state == "success", f"the import ended {last.state} after {last.try_number} tries")
    result.check(
        last.hostname == other, f"its last try (try {last.try_number}) ran on {last.hostname!r}, not on {other}"
    )
    result.check(
        received == CELERY_RECORDS and not duplicates,
        f"{received} records received, {len(duplicates)} of them more than once "
        f"(expected {CELERY_RECORDS}, none twice)",
    )
    counted = (value.get("succeeded") or 0) + (value.get("failed") or 0)
    result.check(
        value.get("records") == CELERY_RECORDS and counted == CELERY_RECORDS,
        f"the result counts {value.get('records')} records, {counted} succeeded or failed (expected {CELERY_RECORDS})",
    )
