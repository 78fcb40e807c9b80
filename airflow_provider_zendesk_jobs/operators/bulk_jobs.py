"""``ZendeskBulkJobOperator``: thousands of records through Zendesk's bulk calls, never twice, every result mapped back.

One task cuts the records into chunks of at most 100, keeps at most ``max_active_jobs`` of its
jobs queued or working at once (the account's limit of about 30 is shared with every other
integration), sends the next chunk as soon as a job finishes, and returns what happened to
each record. The parts that need neither Airflow nor HTTP live in :mod:`airflow_provider_zendesk_jobs.bulk`
and :mod:`airflow_provider_zendesk_jobs.api.bulk_actions`; this module composes them with the hook
and, in deferrable mode, with :class:`~airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger`.

Never twice: the ledger (:mod:`~airflow_provider_zendesk_jobs.bulk.ledger`) writes a chunk down as
``sending`` before its call and with its job id right after Zendesk answers; it rides in the
deferral's ``next_kwargs`` and is kept in a file for the task's next try. A refusal that proves
nothing started (the job limit, 429, 503, a connection that never opened) puts the chunk back
in the queue; an answer that proves nothing either way makes the chunk ``uncertain``, settled
from Zendesk's job list (:mod:`~airflow_provider_zendesk_jobs.bulk.reconcile`) and never simply
sent again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
    Context,
    XComArg,
    conf,
)

from airflow_provider_zendesk_jobs.api.bulk_actions import MAX_CHUNK_SIZE, BulkAction, resolve_action
from airflow_provider_zendesk_jobs.bulk.ledger import (
    DONE,
    NOT_FOUND,
    SENDING,
    UNCERTAIN,
    Ledger,
    LedgerStore,
    ledger_key,
)
from airflow_provider_zendesk_jobs.bulk.progress import error_table, job_line, running_total
from airflow_provider_zendesk_jobs.bulk.reconcile import Verdict, find_started_job
from airflow_provider_zendesk_jobs.bulk.records import ChunkReader, ReadPoint, RecordSource
from airflow_provider_zendesk_jobs.bulk.results import ChunkResults, ImportResults, job_counts, map_chunk
from airflow_provider_zendesk_jobs.bulk.submission import Submission, classify_failure
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskInvalidInputError,
    ZendeskJobsError,
    ZendeskRateLimitError,
)
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.links import ZendeskCreatedTicketLink, ZendeskJobLink
from airflow_provider_zendesk_jobs.waiting.failures import TRANSIENT_ERRORS, exception_for_error, result_from_event
from airflow_provider_zendesk_jobs.waiting.job_wait import JobWait, seconds
from airflow_provider_zendesk_jobs.waiting.rule import WaitOptions

if TYPE_CHECKING:
    from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

__all__ = ["DEFAULT_MAX_ACTIVE_JOBS", "ZendeskBulkJobOperator"]

#: Well under the account's 30, which every integration on the account shares.
DEFAULT_MAX_ACTIVE_JOBS = 10
#: Seconds after its call during which a job missing from Zendesk's answers is "not visible yet".
NOT_VISIBLE_GRACE = 60.0


def _check_event(event: Any) -> None:
    """The trigger's event: a finished job (even a failed one: the import reports it) goes on; the rest raise.

    No event at all (a task resumed without one, as when a deferred try is run again by hand) also
    goes on: the event only wakes the task, and the next read of the active jobs tells what is true.
    """
    if event is None or (isinstance(event, Mapping) and event.get("status") == "failed"):
        return
    result_from_event(event, timeout_exception=AirflowTaskTimeout)


def _whole(value: Any, name: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"{low} to {high}" if high is not None else f"{low} or more"
        raise ZendeskInvalidInputError(f"{name} must be a whole number, {bounds}; got {value!r}.")
    return value


def default_ledger_path() -> str:
    """``[zendesk_jobs] bulk_ledger_path``, else ``$AIRFLOW_HOME/zendesk_bulk_ledgers`` (one machine only)."""
    configured = conf.get("zendesk_jobs", "bulk_ledger_path", fallback=None)
    if configured:
        return str(configured)
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return os.path.join(home, "zendesk_bulk_ledgers")


@dataclass
class _Import:
    """One try's view of the import: the ledger, where it is kept, and what this try noticed."""

    source: RecordSource
    ledger: Ledger
    store: LedgerStore
    started_at: float
    deadline: float | None
    #: The records of the chunks this run sends or settles, read on from where the last round stopped.
    reader: ChunkReader
    #: No bulk call before this time (a refusal asked for a pause).
    submit_not_before: float = 0.0
    warned: set[str] = field(default_factory=set)


class ZendeskBulkJobOperator(BaseOperator):
    """Send records through one of Zendesk's bulk calls in chunks, within a job budget, and map every result back.

    Returns (the XCom value)::

        {"action": "tickets.import", "records": 5000, "jobs": ["V3-...", ...],
         "succeeded": 4987, "failed": 13,
         "created": [{"record_index": 0, "id": 1000}, ...],     # "updated" / "deleted" for those calls
         "failures": [{"record_index": 3007, "job_id": "V3-...", "item_index": 7, "id": None,
                       "error": "TicketCreateFailed", "details": "Subject: is invalid"}, ...],
         "unmapped": [...],      # items no record can be matched to (never guessed)
         "unreported": [...],    # record indexes no item spoke of
         "uncertain": [...]}     # chunks whose call may or may not have started a job (never sent again)

    With ``results_path`` the whole mapping goes there as JSON Lines and the XCom value keeps the
    counts, the first ``max_failures_in_xcom`` failures (``failures_total`` says how many) and the path.

    :param action: a bulk call of the catalogue (:data:`~airflow_provider_zendesk_jobs.api.bulk_actions.BULK_ACTIONS`),
        e.g. ``"tickets.import"``; or leave it out and give ``method``, ``endpoint`` and ``payload_key``.
    :param records: the records (templated; an ``XComArg`` works): objects, or ids for the destroy calls.
    :param records_path: instead, a JSON Lines or CSV file (a local path or an ``ObjectStoragePath``
        URI such as ``s3://bucket/tickets.jsonl``), read as a stream (templated).
    :param chunk_size: records per call, 1 to 100.
    :param max_active_jobs: the most of this task's jobs queued or working at once (1 to 30).
    :param deferrable: wait for jobs in the triggerer between rounds of submissions.
    :param poll_interval: seconds between reads of the active jobs.
    :param timeout: seconds this try may take; the ledger lets the next try go on where it stopped.
    :param fail_on_item_errors: fail the task (after the whole import) when any record failed.
    :param max_failed_records: fail the task when more records than this failed.
    :param results_path: write the whole mapping here as JSON Lines (templated).
    :param ledger_path: a directory (local path or URI) for the ledgers (templated); default
        ``[zendesk_jobs] bulk_ledger_path`` or ``$AIRFLOW_HOME/zendesk_bulk_ledgers``. Use shared
        storage (``s3://...``) when a task's next try may run on another machine.
    :param clock: the time source (epoch seconds), the hook's too (Retry-After, token expiry); for tests
        on an emulator's clock.
    :param sleep: how the task waits between polls in the worker, and its hook between attempts; for
        tests on an emulator's clock.
    """

    template_fields: Sequence[str] = ("records", "records_path", "results_path", "ledger_path", "zendesk_conn_id")
    operator_extra_links = (ZendeskJobLink(), ZendeskCreatedTicketLink())
    ui_color = "#e4d4f1"

    def __init__(
        self,
        *,
        action: str | None = None,
        records: Sequence[Any] | XComArg | None = None,
        records_path: str | None = None,
        method: str | None = None,
        endpoint: str | None = None,
        payload_key: str | None = None,
        chunk_size: int = MAX_CHUNK_SIZE,
        max_active_jobs: int = DEFAULT_MAX_ACTIVE_JOBS,
        zendesk_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float | None = None,
        fail_on_item_errors: bool = False,
        max_failed_records: int | None = None,
        results_path: str | None = None,
        ledger_path: str | None = None,
        max_failures_in_xcom: int = 100,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bulk_action: BulkAction = resolve_action(action, method, endpoint, payload_key)
        self.action = action
        if (records is None) == (records_path is None):
            raise ZendeskInvalidInputError(
                "Give records= (a list, or an XComArg) or records_path= (a JSON Lines or CSV file), exactly one."
            )
        self.records = records
        self.records_path = records_path
        self.chunk_size = _whole(chunk_size, "chunk_size", 1, MAX_CHUNK_SIZE)
        self.max_active_jobs = _whole(max_active_jobs, "max_active_jobs", 1, 30)
        self.zendesk_conn_id = zendesk_conn_id
        self.deferrable = deferrable
        self.poll_interval = seconds(poll_interval, "poll_interval", positive=True)
        self.timeout = None if timeout is None else seconds(timeout, "timeout")
        self.fail_on_item_errors = fail_on_item_errors
        self.max_failed_records = (
            None if max_failed_records is None else _whole(max_failed_records, "max_failed_records", 0, None)
        )
        self.results_path = results_path
        self.ledger_path = ledger_path
        self.max_failures_in_xcom = _whole(max_failures_in_xcom, "max_failures_in_xcom", 0, None)
        self.clock = clock
        self.sleep = sleep
        self._hook: ZendeskJobStatusHook | None = None

    # -- hooks and time ---------------------------------------------------------------------------
    @property
    def hook(self) -> ZendeskJobStatusHook:
        """The task's one hook: one read of the connection, one OAuth token, one Retry-After gate, on the task's clock.

        Reads keep the hook's usual retries; bulk calls are sent once each (``attempts=1``), since a
        refused chunk goes back to this task's own queue.
        """
        if self._hook is None:
            from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

            self._hook = ZendeskJobStatusHook(zendesk_conn_id=self.zendesk_conn_id, clock=self._now, sleep=self._pause)
        return self._hook

    def _now(self) -> float:
        return (self.clock or time.time)()

    def _pause(self, seconds: float) -> None:
        (self.sleep or time.sleep)(seconds)

    def _warn_once(self, run: _Import, topic: str, message: str, *args: Any) -> None:
        if topic not in run.warned:
            run.warned.add(topic)
            self.log.warning(message, *args)

    # -- execution --------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        return self._drive(self._begin(context, carried=None, started_at=None))

    def execute_complete(
        self,
        context: Context,
        event: Any = None,
        ledger: Mapping[str, Any] | None = None,
        started_at: float | None = None,
        read_point: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Back from the triggerer: one read of every active job, then the next chunks, then wait again.

        ``read_point`` is where the records were read up to before the deferral, so the file is
        read on from there, not again from its first record.
        """
        _check_event(event)
        return self._drive(
            self._begin(context, carried=ledger, started_at=started_at, read_point=ReadPoint.from_dict(read_point))
        )

    def _begin(
        self,
        context: Context,
        carried: Mapping[str, Any] | None,
        started_at: float | None,
        read_point: ReadPoint | None = None,
    ) -> _Import:
        source = RecordSource(
            self.bulk_action,
            records=None if self.records is None else self._rendered_records(),
            path=self.records_path,
        )
        key = _ledger_key(context, self)
        store = LedgerStore(self.ledger_path or default_ledger_path())
        try:
            # Back from a deferral of this try: the records were checked when the try began.
            ledger = (
                Ledger.from_dict(dict(carried)) if carried is not None else self._ledger_for_try(source, key, store)
            )
        except (ValueError, ZendeskInvalidInputError) as exc:
            raise AirflowFailException(str(exc)) from None
        ledger.after_restart()
        now = self._now()
        started = now if started_at is None else float(started_at)
        deadline = started + self.timeout if self.timeout is not None else None
        reader = ChunkReader(source, ledger.chunk_size, read_point if carried is not None else None)
        return _Import(source, ledger, store, started, deadline, reader)

    def _ledger_for_try(self, source: RecordSource, key: str, store: LedgerStore) -> Ledger:
        """A try's start: every record checked (before anything is sent), then this import's ledger, or a new one."""
        count, fingerprint = source.scan()
        fresh = Ledger(key, self.bulk_action.name, fingerprint, count, self.chunk_size)
        ledger = store.load(key)
        if ledger is None:
            self.log.info(
                "%s: %s records in %d chunks of up to %d, at most %d jobs at once; ledger %s",
                self.bulk_action.name,
                f"{count:,}",
                fresh.total_chunks,
                self.chunk_size,
                self.max_active_jobs,
                store.where(key),
            )
            return fresh
        if not ledger.matches(fresh):
            raise ZendeskInvalidInputError(
                f"The ledger {store.where(key)} belongs to other records or another chunking ({ledger.action}, "
                f"{ledger.records} records, chunks of {ledger.chunk_size}) than this task's ({fresh.action}, "
                f"{count} records, chunks of {self.chunk_size}). Chunks of it were sent already; to send these "
                "records as a new import, run the task in a new DAG run or delete the ledger."
            )
        done, _, _ = ledger.counts()
        self.log.info(
            "Going on with the import in %s: %s of %s records finished, %d jobs active",
            store.where(key),
            f"{done:,}",
            f"{count:,}",
            len(ledger.active()),
        )
        return ledger

    def _rendered_records(self) -> Sequence[Any]:
        records = self.records
        if isinstance(records, str):  # a list rendered as text by a template
            try:
                records = json.loads(records)
            except ValueError:
                raise AirflowFailException("records rendered as text that is not a JSON list.") from None
        if isinstance(records, (dict, bytes)) or not isinstance(records, Sequence):
            raise AirflowFailException(f"records must be a list, got {type(records).__name__}.")
        return records

    def _drive(self, run: _Import) -> dict[str, Any]:
        """Rounds of read, settle, submit, until every chunk is done; deferring between rounds when asked."""
        try:
            return self._rounds(run)
        finally:
            run.reader.close()

    def _rounds(self, run: _Import) -> dict[str, Any]:
        while True:
            self._round(run)
            if run.ledger.finished:
                return self._finish(run)
            now = self._now()
            if run.deadline is not None and now >= run.deadline:
                raise AirflowTaskTimeout(
                    f"The import did not finish within timeout={self.timeout:g} s; the ledger "
                    f"{run.store.where(run.ledger.key)} lets the next try go on where this one stopped."
                )
            active = run.ledger.active()
            if self.deferrable and active:
                self._defer(run, active[0])
            wait = self.poll_interval if run.deadline is None else min(self.poll_interval, run.deadline - now)
            self._pause(max(0.0, wait))

    def _defer(self, run: _Import, oldest: int) -> None:
        entry = run.ledger.chunks[oldest]
        assert entry.job_id is not None
        # One line before JobWait's own "Deferring: ..." line: why this job, and what comes after it.
        self.log.info(
            "The next chunks go out when %s, the oldest of %d active jobs, is done",
            entry.job_id,
            len(run.ledger.active()),
        )
        wait = JobWait(
            entry.job_id,
            options=WaitOptions(not_found_grace=NOT_VISIBLE_GRACE),
            log=self.log,
            poll_interval=self.poll_interval,
            zendesk_conn_id=self.zendesk_conn_id,
            clock=self._now,
        )
        wait.started_at = entry.sent_at if entry.sent_at is not None else self._now()
        point = run.reader.point()
        kwargs: dict[str, Any] = {"ledger": run.ledger.to_dict(), "started_at": run.started_at}
        if point is not None:
            kwargs["read_point"] = point.to_dict()
        wait.defer(self, deadline=run.deadline, kwargs=kwargs)

    # -- one round ----------------------------------------------------------------------------------
    def _round(self, run: _Import) -> None:
        self._collect(run)
        if run.ledger.in_state(UNCERTAIN):
            self._settle(run)
        self._submit(run)
        run.store.save(run.ledger)

    def _collect(self, run: _Import) -> None:
        """One read of every active job; the finished ones are written down, one line each."""
        ledger = run.ledger
        active = ledger.active()
        if not active:
            return
        ids = [ledger.chunks[number].job_id or "" for number in active]
        try:
            found = self.hook.get_job_statuses_by_id(ids)
        except ZendeskJobsError as exc:
            if not isinstance(exc, TRANSIENT_ERRORS):
                raise exception_for_error(exc) from None
            self._warn_once(
                run, "reads", "Zendesk did not answer the read of %d jobs; checking again. %s", len(ids), exc
            )
            return
        run.warned.discard("reads")
        now = self._now()
        finished_any = False
        for number in active:
            entry = ledger.chunks[number]
            job = found.get(entry.job_id or "")
            length = ledger.chunk_length(number)
            first = number * ledger.chunk_size
            if job is None:
                if now - (entry.sent_at or now) >= NOT_VISIBLE_GRACE:
                    ledger.done(number, NOT_FOUND, 0, 0, note="Zendesk no longer knows the job")
                    self.log.warning(
                        "%s (chunk %d) is unknown to Zendesk %g s after it started; its records are reported as "
                        "unreported.",
                        entry.job_id,
                        number,
                        NOT_VISIBLE_GRACE,
                    )
                    finished_any = True
                continue
            if not job.is_terminal:
                continue
            succeeded, failed = job_counts(job, length)
            ledger.done(number, job.status, succeeded, failed, note=job.message)
            self.log.info("%s", job_line(job.id, job.status, number, first, length, succeeded, failed))
            finished_any = True
        if finished_any:
            self.log.info("%s", self._total_line(run))

    def _total_line(self, run: _Import) -> str:
        ledger = run.ledger
        finished, succeeded, failed = ledger.counts()
        to_go = ledger.total_chunks - len(ledger.chunks) + len(ledger.in_state(UNCERTAIN))
        return running_total(finished, ledger.records, succeeded, failed, len(ledger.active()), to_go)

    def _settle(self, run: _Import) -> None:
        """Uncertain chunks, decided from Zendesk's job list: found, not started, or never sent again."""
        ledger = run.ledger
        uncertain = ledger.in_state(UNCERTAIN)
        try:
            listed = list(self.hook.list_job_statuses(limit=100))
        except ZendeskJobsError as exc:
            if not isinstance(exc, TRANSIENT_ERRORS):
                raise exception_for_error(exc) from None
            self._warn_once(run, "list", "Zendesk did not answer the job list; checking again. %s", exc)
            return
        now = self._now()
        for number, records in run.reader.chunks(uncertain, keep=lambda number: _may_be_sent(ledger, number)):
            entry = ledger.chunks[number]
            settled = now - (entry.sent_at or 0.0) >= NOT_VISIBLE_GRACE
            verdict, job = find_started_job(self.bulk_action, records, listed, ledger.job_ids(), settled=settled)
            if verdict is Verdict.FOUND and job is not None:
                ledger.accepted(number, job.id)
                self.log.info(
                    "Chunk %d: its call did start %s (found in the job list); it is not sent again", number, job.id
                )
            elif verdict is Verdict.NOT_STARTED:
                ledger.refused(number)
                self.log.info("Chunk %d: no job in Zendesk's list can be its; it is sent again", number)
            elif verdict is Verdict.UNPROVABLE:
                note = (
                    f"{entry.note}; a job in Zendesk's list could be this chunk's, and none of its items names "
                    "the chunk's records, so it is not sent again. Look for it in Zendesk before sending these "
                    "records again."
                )
                ledger.done(number, "uncertain", 0, 0, note=note)
                self.log.warning(
                    "Chunk %d (records %s to %s): %s",
                    number,
                    f"{number * ledger.chunk_size:,}",
                    f"{number * ledger.chunk_size + len(records) - 1:,}",
                    note,
                )

    def _submit(self, run: _Import) -> None:
        """The next chunks, while this task has fewer than ``max_active_jobs`` jobs queued or working."""
        ledger = run.ledger
        now = self._now()
        if now < run.submit_not_before:
            return
        free = self.max_active_jobs - len(ledger.active()) - len(ledger.in_state(UNCERTAIN))
        pending = ledger.pending()[: max(0, free)]
        if not pending:
            return
        for number, records in run.reader.chunks(pending, keep=lambda number: _may_be_sent(ledger, number)):
            ledger.begin(number, self._now())
            run.store.save(ledger)  # "sending" is on record before the call leaves
            method, endpoint, payload = self.bulk_action.request(records)
            try:
                job = self.hook.submit_job(method, endpoint, payload, attempts=1)
            except ZendeskJobsError as exc:
                outcome = classify_failure(exc)
                if outcome is Submission.REFUSED:  # the chunk itself or the credentials: no retry helps
                    ledger.refused(number)
                    run.store.save(ledger)
                    raise exception_for_error(exc) from None
                if outcome is Submission.NOT_STARTED:
                    ledger.refused(number)
                    retry_after = exc.retry_after if isinstance(exc, ZendeskRateLimitError) else None
                    pause = retry_after if retry_after is not None else self.poll_interval
                    run.submit_not_before = self._now() + pause
                    self._warn_once(
                        run,
                        "refused",
                        "Chunk %d was refused and nothing started; it is sent in %g s. %s",
                        number,
                        pause,
                        exc,
                    )
                else:
                    ledger.ambiguous(number, str(exc))
                    self.log.warning(
                        "Chunk %d: Zendesk's answer was lost, so whether a job started is not known; the job list "
                        "is searched for it before anything is sent again. %s",
                        number,
                        exc,
                    )
                run.store.save(ledger)
                break
            ledger.accepted(number, job.id)
            run.store.save(ledger)
        else:
            run.warned.discard("refused")

    # -- the end ------------------------------------------------------------------------------------
    def _finish(self, run: _Import) -> dict[str, Any]:
        ledger = run.ledger
        with_jobs = {
            number: entry
            for number, entry in ledger.chunks.items()
            if entry.job_id and entry.status in ("completed", "failed", "killed")
        }
        found = self._read_all([entry.job_id or "" for entry in with_jobs.values()], run)
        results = ImportResults(self.bulk_action, ledger.records, ledger.job_ids())
        for number, records in run.source.chunks(ledger.chunk_size, wanted=set(with_jobs)):
            job = found.get(with_jobs[number].job_id or "")
            start = number * ledger.chunk_size
            if job is None:
                results.add(ChunkResults(unreported=list(range(start, start + len(records)))))
            else:
                results.add(map_chunk(self.bulk_action, start, records, job))
        # A job Zendesk forgot before it was seen finished: no item can be read, so its records are
        # unreported (look them up in Zendesk), never left out of the result.
        for number, entry in sorted(ledger.chunks.items()):
            if entry.state == DONE and entry.status == NOT_FOUND:
                start = number * ledger.chunk_size
                results.add(ChunkResults(unreported=list(range(start, start + ledger.chunk_length(number)))))
        uncertain = [
            {
                "chunk": number,
                "first_record": number * ledger.chunk_size,
                "last_record": number * ledger.chunk_size + ledger.chunk_length(number) - 1,
                "note": entry.note,
            }
            for number, entry in sorted(ledger.chunks.items())
            if entry.status == "uncertain"
        ]
        if self.results_path:
            self._write_results(results)
            value = results.xcom(uncertain=uncertain, cap=self.max_failures_in_xcom, path=self.results_path)
        else:
            value = results.xcom(uncertain=uncertain)
        self.log.info(
            "%s finished: %s records, %s succeeded, %s failed, %d unmapped items, %d unreported, %d uncertain chunks",
            self.bulk_action.name,
            f"{ledger.records:,}",
            f"{value['succeeded']:,}",
            f"{value['failed']:,}",
            len(value["unmapped"]),
            len(value["unreported"]),
            len(uncertain),
        )
        table = error_table(results.errors_by_code())
        if table:
            self.log.info("Failed records by error:\n%s", table)
        failed = value["failed"]
        if self.max_failed_records is not None and failed > self.max_failed_records:
            raise AirflowFailException(
                f"{failed} records failed, more than max_failed_records={self.max_failed_records}. "
                "The records were not sent again; the failures are in the log above."
            )
        if self.fail_on_item_errors and failed:
            raise AirflowFailException(f"{failed} records failed (fail_on_item_errors=True).")
        return value

    def _read_all(self, job_ids: Sequence[str], run: _Import) -> dict[str, JobStatus]:
        """Every finished job's results (one show_many per 100), patient with an outage until the deadline."""
        while True:
            try:
                return self.hook.get_job_statuses_by_id(job_ids) if job_ids else {}
            except ZendeskJobsError as exc:
                if not isinstance(exc, TRANSIENT_ERRORS):
                    raise exception_for_error(exc) from None
                if run.deadline is not None and self._now() >= run.deadline:
                    raise AirflowTaskTimeout(
                        f"Zendesk did not answer the read of the results before the timeout. {exc}"
                    ) from None
                self._warn_once(run, "results", "Zendesk did not answer the read of the results; trying again. %s", exc)
                self._pause(self.poll_interval)

    def _write_results(self, results: ImportResults) -> None:
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        assert self.results_path is not None
        path = ObjectStoragePath(self.results_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:  # type: ignore[no-untyped-call]
            for line in results.lines():
                out.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
        self.log.info("Wrote the mapping of every record to %s", self.results_path)


def _may_be_sent(ledger: Ledger, number: int) -> bool:
    """A chunk whose records a later round may send: not sent yet, refused, or not known to have started a job."""
    entry = ledger.chunks.get(number)
    return entry is None or entry.state in (SENDING, UNCERTAIN)


def _ledger_key(context: Context, task: BaseOperator) -> str:
    """One ledger per task instance (DAG, run, task, map index), whatever its try."""
    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or getattr(task, "dag_id", None) or "no-dag"
    run_id = getattr(ti, "run_id", None) or context.get("run_id") or "no-run"
    task_id = getattr(ti, "task_id", None) or task.task_id
    map_index = getattr(ti, "map_index", -1)
    return ledger_key(str(dag_id), str(run_id), str(task_id), map_index if isinstance(map_index, int) else -1)
