"""How one try of a bulk import begins: it takes the import, reads or begins its ledger, and builds its run.

At a try's start (:func:`start_run`) every record has been checked; the try writes itself down as
the import's owner and goes on from what an earlier try left, or begins the ledger. After a
deferral (:func:`resume_run`) the same try reads its ledger back with what the run before the
deferral carried, and refuses a records file changed meanwhile. Either way the try's ``timeout``
counts from when it first began, across its deferrals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.bulk.arguments import import_identity
from airflow_provider_zendesk_jobs.bulk.ledger import Ledger
from airflow_provider_zendesk_jobs.bulk.ledger_entries import Owner
from airflow_provider_zendesk_jobs.bulk.ledger_store import LedgerStore
from airflow_provider_zendesk_jobs.bulk.records import RecordSource
from airflow_provider_zendesk_jobs.bulk.runner import BulkClient, ImportRun
from airflow_provider_zendesk_jobs.bulk.sender import Log

__all__ = ["Engine", "ImportPlan", "resume_run", "start_run"]


@dataclass(frozen=True)
class ImportPlan:
    """What the task asks of its import, checked: the call and its arguments, the chunks, the budget, the pace."""

    action: BulkAction
    chunk_size: int
    max_active_jobs: int
    poll_interval: float
    #: True: the run returns what to wait for instead of sleeping in the worker.
    deferrable: bool = False
    #: Seconds a try may take, from when it began.
    timeout: float | None = None
    #: What the call takes beside its records: ``change``, ``params``, ``custom_object_key``.
    call_arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Engine:
    """What a run works through: the client (the task's hook), the task's log, and the try's clock and sleep."""

    client: BulkClient
    log: Log
    clock: Callable[[], float]
    sleep: Callable[[float], Any]


def start_run(
    plan: ImportPlan,
    source: RecordSource,
    store: LedgerStore,
    try_number: int,
    scanned: tuple[int, list[str]],
    engine: Engine,
) -> ImportRun:
    """A try's start, after every record was checked (``scanned``: their count and each chunk's fingerprint)."""
    owner = Owner.new(try_number)
    count, prints = scanned
    ledger, corrected = Ledger.start(
        store,
        owner,
        action=import_identity(plan.action, plan.call_arguments),
        records=count,
        chunk_size=plan.chunk_size,
        chunk_fingerprints=prints,
        claim={"started_at": engine.clock(), "signature": source.signature()},
    )
    log = engine.log
    if ledger.resumed:
        log.info(
            "Going on with the import in %s: %s of %s records finished, %d jobs active (%s)",
            store.where(),
            f"{ledger.totals.records:,}",
            f"{count:,}",
            len(ledger.active()),
            owner,
        )
    else:
        log.info(
            "%s: %s records in %d chunks of up to %d, at most %d jobs at once; ledger in %s",
            plan.action.name,
            f"{count:,}",
            ledger.total_chunks,
            plan.chunk_size,
            plan.max_active_jobs,
            store.where(),
        )
    if corrected:
        log.info(
            "Chunks %s: Zendesk refused them before and their records were corrected since; they are sent again",
            ", ".join(str(number) for number in corrected),
        )
    return _run(plan, source, ledger, engine, {}, scanned=prints)


def resume_run(
    plan: ImportPlan,
    source: RecordSource,
    store: LedgerStore,
    try_number: int,
    carried: Mapping[str, Any],
    engine: Engine,
) -> ImportRun:
    """The same try after a deferral: its ledger (the owner's token was carried), the rest of what was carried."""
    token = carried.get("token")
    ledger = Ledger.resume(store, try_number, token if isinstance(token, str) else None)
    source.check_unchanged(ledger.claim.get("signature"))
    return _run(plan, source, ledger, engine, carried)


def _run(
    plan: ImportPlan,
    source: RecordSource,
    ledger: Ledger,
    engine: Engine,
    carried: Mapping[str, Any],
    scanned: Sequence[str] | None = None,
) -> ImportRun:
    started_at = ledger.claim.get("started_at")
    started = float(started_at) if isinstance(started_at, (int, float)) else engine.clock()
    return ImportRun(
        plan.action,
        source,
        ledger,
        engine.client,
        engine.log,
        clock=engine.clock,
        sleep=engine.sleep,
        max_active_jobs=plan.max_active_jobs,
        poll_interval=plan.poll_interval,
        deferrable=plan.deferrable,
        deadline=started + plan.timeout if plan.timeout is not None else None,
        call_arguments=plan.call_arguments,
        resume=carried,
        scanned=scanned,
    )
