"""Reading Airflow's metadata database with Airflow's own models: task instances, tries, triggers, XCom.

Imported by the harness process only after the deployment's settings are in ``os.environ``
(Airflow reads its database URL once, on its first import).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scripts.e2e.harness import E2EError

TERMINAL = {"success", "failed", "skipped", "upstream_failed", "removed"}


@dataclass(frozen=True)
class Ti:
    """A task instance as the scenarios look at it."""

    task_id: str
    map_index: int
    state: str
    try_number: int
    trigger_id: int | None
    end_date: datetime | None


@dataclass(frozen=True)
class TryOn:
    """Where a task instance's try runs or ran: its try, state, pid and hostname (a Celery worker's name)."""

    try_number: int
    state: str
    pid: int | None
    hostname: str


def _text(state: Any) -> str:
    return str(getattr(state, "value", state))


def task_instances(dag_id: str, run_id: str) -> list[Ti]:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TI.task_id, TI.map_index, TI.state, TI.try_number, TI.trigger_id, TI.end_date).where(
                TI.dag_id == dag_id, TI.run_id == run_id
            )
        ).all()
    return [Ti(t, int(m), _text(s), int(n or 0), g, e) for t, m, s, n, g, e in rows]


def mapped_waits(dag_id: str, run_id: str, count: int, task_id: str = "wait") -> list[Ti]:
    """The ``count`` mapped instances of ``task_id`` in map order, or [] while there are not that many yet."""
    tis = [ti for ti in task_instances(dag_id, run_id) if ti.task_id == task_id and ti.map_index >= 0]
    return sorted(tis, key=lambda ti: ti.map_index) if len(tis) == count else []


def all_deferred_and_held(dag_id: str, run_id: str, count: int, task_ids: Sequence[str] = ("wait",)) -> list[Ti]:
    """Every wait deferred and its trigger held by a triggerer; the waits then, else []."""
    tis = [ti for ti in task_instances(dag_id, run_id) if ti.task_id in task_ids]
    if len(tis) != count or any(ti.state != "deferred" or ti.trigger_id is None for ti in tis):
        return []
    rows = triggers([ti.trigger_id for ti in tis if ti.trigger_id is not None])
    return tis if len(rows) == count and all(holder is not None for holder, _ in rows.values()) else []


def task_try(dag_id: str, run_id: str, task_id: str) -> TryOn:
    """The current try of an unmapped task instance (try 0, state "none" before it exists)."""
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.execute(
            select(TI.try_number, TI.state, TI.pid, TI.hostname).where(
                TI.dag_id == dag_id, TI.run_id == run_id, TI.task_id == task_id
            )
        ).first()
    if row is None:
        return TryOn(0, "none", None, "")
    return TryOn(int(row[0] or 0), _text(row[1]), row[2], str(row[3] or ""))


def earlier_tries(dag_id: str, run_id: str, task_id: str) -> list[TryOn]:
    """The tries Airflow moved to its history table when it made the next one."""
    from airflow.models.taskinstancehistory import TaskInstanceHistory as TIH
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TIH.try_number, TIH.state, TIH.pid, TIH.hostname)
            .where(TIH.dag_id == dag_id, TIH.run_id == run_id, TIH.task_id == task_id)
            .order_by(TIH.try_number)
        ).all()
    return [TryOn(int(n or 0), _text(st), pid, str(host or "")) for n, st, pid, host in rows]


def run_state(dag_id: str, run_id: str) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return _text(state)


def xcom(dag_id: str, run_id: str, task_id: str) -> Any:
    """A task's return value, or None."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=task_id, key="return_value")
        ).all()
        return XComModel.deserialize_value(rows[0]) if rows else None


# -- triggers and triggerers -------------------------------------------------------------------------
def triggers(trigger_ids: Sequence[int]) -> dict[int, tuple[int | None, dict[str, Any]]]:
    """Trigger id -> (the triggerer job holding it, its kwargs)."""
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Trigger).where(Trigger.id.in_(list(trigger_ids)))).all()
        return {row.id: (row.triggerer_id, dict(row.kwargs)) for row in rows}


def rewrite_trigger_kwargs(trigger_id: int, changes: dict[str, Any]) -> None:
    """What an older or newer release of this provider could have left in a row: written by Airflow's own model."""
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.get(Trigger, trigger_id)
        if row is None:
            raise E2EError(f"trigger row {trigger_id} is gone")
        row.kwargs = {**row.kwargs, **changes}


def alive_triggerer_jobs() -> dict[int, datetime]:
    """Running TriggererJob ids and their latest heartbeat."""
    from airflow.jobs.job import Job
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(Job.id, Job.latest_heartbeat).where(Job.job_type == "TriggererJob", Job.state == "running")
        ).all()
    return {int(job_id): beat for job_id, beat in rows if beat is not None}


def heartbeat_age(beat: datetime) -> float:
    return time.time() - beat.timestamp()


def watcher_cursor() -> list[str]:
    """The job ids the watcher keeps in its asset's state store (Airflow 3.3+)."""
    from airflow.models.asset_state_store import AssetStateStoreModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        values = session.scalars(
            select(AssetStateStoreModel.value).where(AssetStateStoreModel.key.startswith("zendesk_jobs.reported."))
        ).all()
    return sorted(job_id for value in values for job_id in json.loads(value))
