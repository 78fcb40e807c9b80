"""Where ``ZendeskBulkJobOperator`` keeps its ledger: what the Airflow version and the settings give.

On Airflow 3.3 the task state store (``context["task_state_store"]``), which every try of the
task instance shares, on any executor; files where ``ledger_path`` or ``[zendesk_jobs]
bulk_ledger_path`` say so, and before 3.3 under ``$AIRFLOW_HOME/zendesk_bulk_ledgers``. What only
a person can fix is said once per try: a local ledger where the next try may run on another
machine, and ``[state_store] clear_on_success``, which deletes a succeeded import's ledger.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.providers.common.compat.sdk import BaseOperator, Context, conf

from airflow_provider_zendesk_jobs.bulk.ledger_store import (
    FileLedgerStore,
    LedgerStore,
    TaskStateLedgerStore,
    ledger_key,
)

__all__ = ["ledger_store_for", "try_number"]

#: Executors that run every try on the scheduler's own machine: a local ledger file is safe there.
_ONE_MACHINE_EXECUTORS = ("LocalExecutor", "SequentialExecutor", "DebugExecutor")


def ledger_store_for(context: Context, task: BaseOperator, ledger_path: str | None) -> LedgerStore:
    """The task state store on Airflow 3.3+, unless a ledger path was chosen; else a local directory."""
    key = _ledger_key(context, task)
    chosen = ledger_path or conf.get("zendesk_jobs", "bulk_ledger_path", fallback=None)
    if chosen:
        store: LedgerStore = FileLedgerStore(str(chosen), key)
    elif (accessor := context.get("task_state_store")) is not None:
        store = TaskStateLedgerStore(accessor)
        if conf.getboolean("state_store", "clear_on_success", fallback=False):
            task.log.info(
                "[state_store] clear_on_success is on: the ledger is deleted when this task succeeds, so clearing "
                "the task after that starts the import anew and sends every record again."
            )
    else:
        home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
        store = FileLedgerStore(os.path.join(home, "zendesk_bulk_ledgers"), key)
    if isinstance(store, FileLedgerStore):
        _warn_if_local(store, task.log)
    return store


def _warn_if_local(store: FileLedgerStore, log: Any) -> None:
    """One warning per try where a retry on another machine would not find the ledger."""
    if "://" in store.base and not store.base.startswith(("file://", "local://")):
        return
    executors = str(conf.get("core", "executor", fallback="") or "")
    if executors and all(name.strip().split(".")[-1] in _ONE_MACHINE_EXECUTORS for name in executors.split(",")):
        return
    log.warning(
        "The ledger is a local directory (%s) under the executor %s, which can run the next try on another "
        "machine, where this ledger is not: that try would send every record again. Set ledger_path (or "
        "[zendesk_jobs] bulk_ledger_path) to shared storage such as s3://bucket/zendesk-ledgers, or run on "
        "Airflow 3.3+, where the ledger is in the task state store.",
        store.where(),
        executors or "(not set)",
    )


def try_number(context: Context) -> int:
    number = getattr(context.get("ti"), "try_number", None)
    return number if isinstance(number, int) and not isinstance(number, bool) else 1


def _ledger_key(context: Context, task: BaseOperator) -> str:
    """One ledger per task instance (DAG, run, task, map index), whatever its try."""
    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or getattr(task, "dag_id", None) or "no-dag"
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or "no-run"
    task_id = getattr(ti, "task_id", None) or task.task_id
    map_index = getattr(ti, "map_index", -1)
    return ledger_key(str(dag_id), str(run_id), str(task_id), map_index if isinstance(map_index, int) else -1)
