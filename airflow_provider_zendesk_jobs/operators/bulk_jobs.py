"""``ZendeskBulkJobOperator``: thousands of records through Zendesk's bulk calls, never twice, each accounted for.

One task cuts the records into chunks of at most 100, keeps at most ``max_active_jobs`` of its
jobs queued or working at once (the account's limit of about 30 is shared with every other
integration), sends the next chunk as soon as a job finishes, and returns what happened to
each record. The parts that need neither Airflow nor HTTP live in :mod:`airflow_provider_zendesk_jobs.bulk`
and :mod:`airflow_provider_zendesk_jobs.api.bulk_actions`; this module composes them with the hook
and, in deferrable mode, with :class:`~airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger`.

The promise: the task ends ``success`` only when every record is created, updated or deleted, or
failed with Zendesk's reason, or (with ``allow_unresolved=True``) reported as unresolved; and a
chunk Zendesk answered with a job id is never sent again, by any try, on any worker. The ledger
(:mod:`~airflow_provider_zendesk_jobs.bulk.ledger`) writes a chunk down as ``sending`` before its
call and with its job id right after Zendesk answers, in the task state store on Airflow 3.3 (every
try shares it, wherever it runs) or in files under ``ledger_path``. A finished job's results are
mapped and kept in the ledger at once, since Zendesk forgets jobs after about a day.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TextIO

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
    Context,
    XComArg,
    conf,
)

from airflow_provider_zendesk_jobs.api.bulk_actions import MAX_CHUNK_SIZE, BulkAction, resolve_action
from airflow_provider_zendesk_jobs.bulk.ledger import (
    JOB_RETENTION_SECONDS,
    ChunkState,
    FileLedgerStore,
    ImportTakenOverError,
    Ledger,
    LedgerStore,
    LedgerStoreError,
    Outcome,
    Owner,
    TaskStateLedgerStore,
    ledger_key,
)
from airflow_provider_zendesk_jobs.bulk.progress import ProgressPace, error_table, job_line, running_total
from airflow_provider_zendesk_jobs.bulk.reconcile import Verdict, find_started_job
from airflow_provider_zendesk_jobs.bulk.records import ChunkReader, ReadPoint, RecordSource, chunk_fingerprint
from airflow_provider_zendesk_jobs.bulk.results import (
    ChunkResults,
    ImportSummary,
    map_chunk,
    refused_chunk,
    result_lines,
    unreported_chunk,
    unresolved_chunk,
)
from airflow_provider_zendesk_jobs.bulk.submission import Submission, classify_failure
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskInvalidInputError,
    ZendeskJobLimitError,
    ZendeskJobsError,
    ZendeskRateLimitError,
)
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.jobs import JobState, JobStatus
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
#: Executors that run every try on the scheduler's own machine: a local ledger file is safe there.
_ONE_MACHINE_EXECUTORS = ("LocalExecutor", "SequentialExecutor", "DebugExecutor")
#: A finished job's state as the ledger keeps it.
_OUTCOMES = {JobState.COMPLETED: Outcome.COMPLETED, JobState.FAILED: Outcome.FAILED}
#: How many failed or unresolved records a failure message names.
_NAMED_IN_MESSAGE = 5


class ZendeskImportInputChangedError(AirflowFailException):
    """The records changed under a running import: mapping results to them would name the wrong records."""


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


def default_ledger_path() -> str | None:
    """``[zendesk_jobs] bulk_ledger_path`` when set: the ledger goes there instead of the task state store."""
    configured = conf.get("zendesk_jobs", "bulk_ledger_path", fallback=None)
    return str(configured) if configured else None


def local_ledger_path() -> str:
    """Where the ledger goes on Airflow before 3.3 when nothing is set: ``$AIRFLOW_HOME/zendesk_bulk_ledgers``."""
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return os.path.join(home, "zendesk_bulk_ledgers")


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith(("file://", "local://"))


def _executors() -> str:
    return str(conf.get("core", "executor", fallback="") or "")


@dataclass
class _Import:
    """One run of the task (a try's start, or a resume from a deferral): the ledger and what this run noticed."""

    source: RecordSource
    ledger: Ledger
    started_at: float
    deadline: float | None
    #: The records of the chunks this run sends, settles or maps, read on from where the last round stopped.
    reader: ChunkReader
    pace: ProgressPace
    #: No bulk call before this time (a refusal asked for a pause).
    submit_not_before: float = 0.0
    #: Since when the account's job limit refused this import with nothing of its own active.
    full_since: float | None = None
    full_logged_at: float | None = None
    warned: set[str] = field(default_factory=set)


class ZendeskBulkJobOperator(BaseOperator):
    """Send records through one of Zendesk's bulk calls in chunks, within a job budget, and map every result back.

    Returns (the XCom value)::

        {"action": "tickets.import", "records": 5000, "jobs": ["V3-...", ...],
         "succeeded": 4987, "failed": 13, "unresolved": 0,
         "created": [{"record_index": 0, "id": 1000}, ...],     # "updated" / "deleted" for those calls
         "failures": [{"record_index": 3007, "job_id": "V3-...", "item_index": 7, "id": None,
                       "error": "TicketCreateFailed", "details": "Subject: is invalid"}, ...],
         "unmapped": [...],      # items no record can be matched to (never guessed)
         "unreported": [...],    # record indexes no item spoke of
         "uncertain": [...]}     # chunks whose call may or may not have started a job (never sent again)

    ``users.create_or_update_many`` returns both ``created`` and ``updated``. With ``results_path``
    the whole mapping goes there as JSON Lines and the XCom value keeps the counts and the first
    ``max_failures_in_xcom`` entries of each list (``failures_total``, ``jobs_total``... say how many).

    The task succeeds only when every record is accounted for: ``unreported`` and ``uncertain``
    records (``unresolved``) fail it unless ``allow_unresolved=True``, and count as failed records
    for ``fail_on_item_errors`` and ``max_failed_records``. A failing task still returns its value
    (XCom, and ``results_path``) first.

    :param action: a bulk call of the catalogue (:data:`~airflow_provider_zendesk_jobs.api.bulk_actions.BULK_ACTIONS`),
        e.g. ``"tickets.import"``; or leave it out and give ``method``, ``endpoint`` and ``payload_key``.
    :param records: the records (an ``XComArg`` or a template string for the whole list works): objects,
        or ids for the destroy calls. A list given here is sent as written: its text is never rendered
        as a template (ticket bodies often hold Zendesk's own ``{{ticket.id}}`` placeholders).
    :param records_path: instead, a JSON Lines or CSV file (a local path or an ``ObjectStoragePath``
        URI such as ``s3://bucket/tickets.jsonl``), read as a stream (templated).
    :param chunk_size: records per call, 1 to 100.
    :param max_active_jobs: the most of this task's jobs queued or working at once (1 to 30).
    :param deferrable: wait for jobs in the triggerer between rounds of submissions.
    :param poll_interval: seconds between reads of the active jobs.
    :param timeout: seconds this try may take; the ledger lets the next try go on where it stopped.
    :param fail_on_item_errors: fail the task (after the whole import) when any record failed.
    :param max_failed_records: fail the task when more records than this failed or are unresolved.
    :param allow_unresolved: let the task succeed with records nobody can name an outcome for
        (``unreported``, ``uncertain``); they are still returned.
    :param results_path: write the whole mapping here as JSON Lines (templated).
    :param ledger_path: a directory (local path or URI) for the ledger (templated). By default the
        ledger is in the task state store on Airflow 3.3+, else under ``[zendesk_jobs] bulk_ledger_path``
        or ``$AIRFLOW_HOME/zendesk_bulk_ledgers``. Use shared storage (``s3://...``) when a task's
        next try may run on another machine and the task state store is not there.
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
        records: Sequence[Any] | XComArg | str | None = None,
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
        allow_unresolved: bool = False,
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
        self.allow_unresolved = allow_unresolved
        self.results_path = results_path
        self.ledger_path = ledger_path
        self.max_failures_in_xcom = _whole(max_failures_in_xcom, "max_failures_in_xcom", 0, None)
        self.clock = clock
        self.sleep = sleep
        self._hook: ZendeskJobStatusHook | None = None

    def render_template(
        self, content: Any, context: Context, jinja_env: Any = None, seen_oids: set[int] | None = None
    ) -> Any:
        """Records given as a list are sent as written: only a whole template string or an ``XComArg`` is rendered."""
        if content is self.records and isinstance(content, (list, tuple)):
            return content
        return super().render_template(content, context, jinja_env, seen_oids)

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
        with self._airflow_errors():
            source = self._source()
            count, prints = source.scan(self.chunk_size)
            if count == 0:
                self.log.info("%s: %s holds no records; nothing to send.", self.bulk_action.name, source.describe())
                return ImportSummary(self.bulk_action, 0).xcom(path=self.results_path)
            run = self._start(context, source, count, prints)
            return self._drive(context, run)

    def execute_complete(
        self, context: Context, event: Any = None, resume: Mapping[str, Any] | None = None, **earlier: Any
    ) -> dict[str, Any]:
        """Back from the triggerer: one read of every active job, then the next chunks, then wait again."""
        _check_event(event)
        return self._resume(context, resume, earlier)

    def execute_after_pause(
        self, context: Context, event: Any = None, resume: Mapping[str, Any] | None = None, **earlier: Any
    ) -> dict[str, Any]:
        """Back from a timed pause (the account's job limit, or a chunk whose call is still unsettled)."""
        return self._resume(context, resume, earlier)

    def _resume(self, context: Context, resume: Mapping[str, Any] | None, earlier: Mapping[str, Any]) -> dict[str, Any]:
        if "ledger" in earlier:
            raise AirflowFailException(
                "This deferral was made by an earlier release of the provider (its ledger rode in the deferral). "
                "Clear the task to start a new try; it goes on from the ledger that release kept."
            )
        resume = resume if isinstance(resume, Mapping) else {}
        with self._airflow_errors():
            source = self._source()
            token = resume.get("token")
            ledger = Ledger.resume(
                self._ledger_store(context), _try_number(context), token if isinstance(token, str) else None
            )
            signature = source.signature()
            if signature != ledger.claim.get("signature"):
                raise ZendeskImportInputChangedError(
                    f"{source.describe()} changed while the task was deferred ({ledger.claim.get('signature')} -> "
                    f"{signature}); the rest of its records would be mapped against other records. Restore the "
                    "file, or clear the task: the next try checks every record against what was sent."
                )
            run = self._run(
                source, ledger, ledger.claim.get("started_at"), ReadPoint.from_dict(resume.get("read_point"))
            )
            run.pace.last_at = resume.get("progress_at")
            run.pace.last_share = int(resume.get("progress_share") or 0)
            run.full_since = resume.get("full_since")
            run.full_logged_at = resume.get("full_logged_at")
            return self._drive(context, run)

    @contextmanager
    def _airflow_errors(self) -> Iterator[None]:
        """The import's own errors as the Airflow exceptions they mean (retry, or fail for good)."""
        try:
            yield
        except ZendeskInvalidInputError as exc:
            raise AirflowFailException(str(exc)) from None
        except ImportTakenOverError as exc:
            raise AirflowFailException(str(exc)) from None
        except LedgerStoreError as exc:  # a retry may find the store answering again; nothing was sent meanwhile
            raise AirflowException(str(exc)) from None

    def _source(self) -> RecordSource:
        return RecordSource(
            self.bulk_action,
            records=None if self.records is None else self._rendered_records(),
            path=self.records_path,
        )

    def _ledger_store(self, context: Context) -> LedgerStore:
        """The task state store on Airflow 3.3+, unless a ``ledger_path`` was chosen; else a local directory."""
        key = _ledger_key(context, self)
        chosen = self.ledger_path or default_ledger_path()
        if chosen:
            return FileLedgerStore(chosen, key)
        accessor = context.get("task_state_store")
        if accessor is not None:
            return TaskStateLedgerStore(accessor)
        return FileLedgerStore(local_ledger_path(), key)

    def _start(self, context: Context, source: RecordSource, count: int, prints: list[str]) -> _Import:
        """A try's start: every record was checked; the import is taken, its ledger read or begun."""
        store = self._ledger_store(context)
        self._warn_if_local(store)
        owner = Owner.new(_try_number(context))
        ledger, corrected = Ledger.start(
            store,
            owner,
            action=self.bulk_action.name,
            records=count,
            chunk_size=self.chunk_size,
            chunk_fingerprints=prints,
            claim={"started_at": self._now(), "signature": source.signature()},
        )
        if ledger.resumed:
            self.log.info(
                "Going on with the import in %s: %s of %s records finished, %d jobs active (%s)",
                store.where(),
                f"{ledger.totals.records:,}",
                f"{count:,}",
                len(ledger.active()),
                owner,
            )
        else:
            self.log.info(
                "%s: %s records in %d chunks of up to %d, at most %d jobs at once; ledger in %s",
                self.bulk_action.name,
                f"{count:,}",
                ledger.total_chunks,
                self.chunk_size,
                self.max_active_jobs,
                store.where(),
            )
        if isinstance(store, TaskStateLedgerStore) and conf.getboolean(
            "state_store", "clear_on_success", fallback=False
        ):
            self.log.info(
                "[state_store] clear_on_success is on: the ledger is deleted when this task succeeds, so clearing "
                "the task after that starts the import anew and sends every record again."
            )
        if corrected:
            self.log.info(
                "Chunks %s: Zendesk refused them before and their records were corrected since; they are sent again",
                ", ".join(str(number) for number in corrected),
            )
        return self._run(source, ledger, ledger.claim["started_at"], None)

    def _warn_if_local(self, store: LedgerStore) -> None:
        """One warning per try where a retry on another machine would not find the ledger."""
        if not isinstance(store, FileLedgerStore) or not _is_local(store.base):
            return
        executors = _executors()
        if executors and all(name.strip().split(".")[-1] in _ONE_MACHINE_EXECUTORS for name in executors.split(",")):
            return
        self.log.warning(
            "The ledger is a local directory (%s) under the executor %s, which can run the next try on another "
            "machine, where this ledger is not: that try would send every record again. Set ledger_path (or "
            "[zendesk_jobs] bulk_ledger_path) to shared storage such as s3://bucket/zendesk-ledgers, or run on "
            "Airflow 3.3+, where the ledger is in the task state store.",
            store.where(),
            executors or "(not set)",
        )

    def _run(self, source: RecordSource, ledger: Ledger, started_at: Any, read_point: ReadPoint | None) -> _Import:
        now = self._now()
        started = now if not isinstance(started_at, (int, float)) else float(started_at)
        deadline = started + self.timeout if self.timeout is not None else None
        reader = ChunkReader(source, ledger.chunk_size, read_point)
        return _Import(source, ledger, started, deadline, reader, ProgressPace())

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

    def _drive(self, context: Context, run: _Import) -> dict[str, Any]:
        """Rounds of read, settle, submit, until every chunk is done; deferring between rounds when asked."""
        try:
            with self._airflow_errors():
                return self._rounds(context, run)
        finally:
            run.reader.close()

    def _rounds(self, context: Context, run: _Import) -> dict[str, Any]:
        while True:
            self._round(run)
            if run.ledger.finished:
                return self._finish(context, run)
            now = self._now()
            if run.deadline is not None and now >= run.deadline:
                raise AirflowTaskTimeout(
                    f"The import did not finish within timeout={self.timeout:g} s; the ledger in "
                    f"{run.ledger.store.where()} lets the next try go on where this one stopped."
                )
            active = run.ledger.active()
            wait = max(self.poll_interval, run.submit_not_before - now)
            if run.deadline is not None:
                wait = min(wait, run.deadline - now)
            if self.deferrable:
                run.ledger.save()
                if active:
                    self._defer_on_job(run, active[0])
                self._defer_for(run, max(1.0, wait))
            self._pause(max(0.0, wait))

    def _resume_kwargs(self, run: _Import) -> dict[str, Any]:
        """What a deferral carries: who owns the import and where the read stands, never the ledger itself."""
        point = run.reader.point()
        return {
            "resume": {
                "token": run.ledger.owner.token,
                "read_point": None if point is None else point.to_dict(),
                "progress_at": run.pace.last_at,
                "progress_share": run.pace.last_share,
                "full_since": run.full_since,
                "full_logged_at": run.full_logged_at,
            }
        }

    def _defer_on_job(self, run: _Import, oldest: int) -> None:
        entry = run.ledger.entry(oldest)
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
        wait.defer(self, deadline=run.deadline, kwargs=self._resume_kwargs(run))

    def _defer_for(self, run: _Import, wait: float) -> None:
        """Nothing of its own active (the account is full, or a lost answer not yet settled): a timed pause."""
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        moment = datetime.fromtimestamp(self._now() + wait, tz=timezone.utc)
        self.defer(
            trigger=DateTimeTrigger(moment=moment),
            method_name="execute_after_pause",
            kwargs=self._resume_kwargs(run),
            timeout=timedelta(seconds=wait + 600),
        )

    # -- one round ----------------------------------------------------------------------------------
    def _round(self, run: _Import) -> None:
        self._collect(run)
        if run.ledger.in_state(ChunkState.UNCERTAIN):
            self._settle(run)
        self._submit(run)
        run.ledger.save()
        self._progress(run)

    def _progress(self, run: _Import) -> None:
        ledger = run.ledger
        if not run.pace.due(self._now(), ledger.totals.records, ledger.records):
            return
        to_go = ledger.total_chunks - ledger.totals.chunks - len(ledger.active())
        self.log.info(
            "%s",
            running_total(
                ledger.totals.records,
                ledger.records,
                ledger.totals.succeeded,
                ledger.totals.failed,
                len(ledger.active()),
                to_go,
                ledger.totals.unresolved,
            ),
        )

    def _records_of(self, run: _Import, numbers: Sequence[int]) -> Iterator[tuple[int, list[Any], ReadPoint | None]]:
        """The records of ``numbers``, checked against what the ledger says was sent for each."""
        ledger = run.ledger
        starts = {n: ReadPoint.from_dict(e.point) for n, e in ledger.open.items() if e.point is not None}
        got: set[int] = set()
        for number, records, begins in run.reader.chunks(numbers, keep=ledger.open.__contains__, starts=starts):
            got.add(number)
            entry = ledger.open.get(number)
            sent = entry.fingerprint if entry is not None else None
            if len(records) != ledger.chunk_length(number) or (
                sent is not None and chunk_fingerprint(records, self.bulk_action) != sent
            ):
                raise self._changed(run, number)
            yield number, records, begins
        missing = [number for number in numbers if number not in got]
        if missing:
            raise self._changed(run, missing[0])

    def _changed(self, run: _Import, number: int) -> ZendeskImportInputChangedError:
        first = run.ledger.first_record(number)
        return ZendeskImportInputChangedError(
            f"{run.source.describe()} changed while the import ran: chunk {number} (records {first:,} to "
            f"{first + run.ledger.chunk_length(number) - 1:,}) no longer holds the records that were checked or "
            "sent. Restore the records; the ledger keeps what was sent, so clearing the task goes on from there."
        )

    def _collect(self, run: _Import) -> None:
        """One read of every active job; each finished one is mapped to its records and kept in the ledger."""
        ledger = run.ledger
        active = ledger.active()
        if not active:
            return
        ids = [ledger.entry(number).job_id or "" for number in active]
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
        finished: dict[int, JobStatus | None] = {}
        for number in active:
            entry = ledger.entry(number)
            job = found.get(entry.job_id or "")
            if job is None and now - (entry.sent_at or now) >= NOT_VISIBLE_GRACE:
                finished[number] = None
            elif job is not None and job.is_terminal:
                finished[number] = job
        if finished:
            for number, records, _ in self._records_of(run, sorted(finished)):
                self._job_done(run, number, records, finished[number])

    def _job_done(self, run: _Import, number: int, records: list[Any], job: JobStatus | None) -> None:
        ledger = run.ledger
        entry = ledger.entry(number)
        first, length = ledger.first_record(number), ledger.chunk_length(number)
        if job is None:
            self.log.warning(
                "%s (chunk %d, records %s to %s) is unknown to Zendesk %g s after it started; its records are "
                "unresolved (look them up in Zendesk).",
                entry.job_id,
                number,
                f"{first:,}",
                f"{first + length - 1:,}",
                NOT_VISIBLE_GRACE,
            )
            self._record(ledger, number, Outcome.EXPIRED, unreported_chunk(first, length), "Zendesk forgot the job")
            return
        part = map_chunk(self.bulk_action, first, records, job)
        outcome = _OUTCOMES.get(job.state, Outcome.KILLED)
        self._record(ledger, number, outcome, part, job.message)
        self.log.debug("%s", job_line(job.id, job.status, number, first, length, part.succeeded, len(part.failures)))

    @staticmethod
    def _record(ledger: Ledger, number: int, outcome: Outcome, part: ChunkResults, note: str | None = None) -> None:
        ledger.done(
            number,
            outcome,
            part.to_dict(),
            succeeded=part.succeeded,
            failed=len(part.failures),
            unresolved=part.unresolved,
            note=note,
        )

    def _settle(self, run: _Import) -> None:
        """Uncertain chunks: what another try wrote down, else Zendesk's job list: found, not started, or reported."""
        ledger = run.ledger
        for number in ledger.in_state(ChunkState.UNCERTAIN):
            self._adopt(ledger, number)
        uncertain = ledger.in_state(ChunkState.UNCERTAIN)
        if not uncertain:
            return
        try:
            listed = list(self.hook.list_job_statuses(limit=100))
        except ZendeskJobsError as exc:
            if not isinstance(exc, TRANSIENT_ERRORS):
                raise exception_for_error(exc) from None
            self._warn_once(run, "list", "Zendesk did not answer the job list; checking again. %s", exc)
            return
        now = self._now()
        known = set(ledger.job_ids()) | {ledger.watermark or ""}
        for number, records, _ in self._records_of(run, uncertain):
            entry = ledger.entry(number)
            sent_at = entry.sent_at or 0.0
            verdict, job = find_started_job(
                self.bulk_action,
                records,
                listed,
                known,
                settled=now - sent_at >= NOT_VISIBLE_GRACE,
                after=entry.after,
                complete=len(listed) < 100,
                expired=now - sent_at >= JOB_RETENTION_SECONDS,
            )
            if verdict is Verdict.FOUND and job is not None:
                ledger.accepted(number, job.id)
                self.log.info(
                    "Chunk %d: its call did start %s (found in the job list); it is not sent again", number, job.id
                )
            elif verdict is Verdict.NOT_STARTED:
                ledger.requeue(number)
                self.log.info("Chunk %d: Zendesk's job list proves no job started for it; it is sent again", number)
            elif verdict is Verdict.UNPROVABLE:
                first = ledger.first_record(number)
                note = (
                    f"{entry.note}; Zendesk's job list cannot tell whether a job started for it (a job of another "
                    "client could be its, or its call is older than the list reaches), so it is not sent again. "
                    "Look for these records in Zendesk before sending them again."
                )
                self._record(ledger, number, Outcome.UNRESOLVED, unresolved_chunk(number, first, len(records), note))
                self.log.warning(
                    "Chunk %d (records %s to %s): %s", number, f"{first:,}", f"{first + len(records) - 1:,}", note
                )

    def _adopt(self, ledger: Ledger, number: int) -> None:
        """A chunk another try was sending: what that try wrote down since, if anything."""
        written = ledger.read_done(number)
        if written is None or written.state in (ChunkState.SENDING, ChunkState.UNCERTAIN):
            return
        if written.state is ChunkState.ACTIVE and written.job_id:
            ledger.accepted(number, written.job_id)
            self.log.info("Chunk %d: the try that sent it wrote down %s; it is not sent again", number, written.job_id)
        elif written.state is ChunkState.PENDING:
            ledger.requeue(number)
        elif written.state is ChunkState.DONE:
            ledger.open[number] = written
            ledger.done(
                number,
                written.outcome or Outcome.UNRESOLVED,
                written.results or {},
                succeeded=written.succeeded,
                failed=written.failed,
                unresolved=written.unresolved,
            )

    def _submit(self, run: _Import) -> None:
        """The next chunks, while this task has fewer than ``max_active_jobs`` jobs queued or working."""
        ledger = run.ledger
        if self._now() < run.submit_not_before:
            return
        free = self.max_active_jobs - len(ledger.active()) - len(ledger.in_state(ChunkState.UNCERTAIN))
        numbers = ledger.pending(max(0, free))
        if not numbers:
            return
        for number, records, begins in self._records_of(run, numbers):
            ledger.begin(
                number,
                self._now(),
                chunk_fingerprint(records, self.bulk_action),
                None if begins is None else begins.to_dict(),
            )
            method, endpoint, payload = self.bulk_action.request(records)
            try:
                job = self.hook.submit_job(method, endpoint, payload, attempts=1, announce=False)
            except ZendeskJobsError as exc:
                if not self._refused(run, number, records, exc):
                    break
                continue
            ledger.accepted(number, job.id)
            run.full_since = None
        else:
            run.warned.discard("refused")

    def _refused(self, run: _Import, number: int, records: list[Any], exc: ZendeskJobsError) -> bool:
        """A bulk call Zendesk did not take: True when the next chunk may still go out in this round."""
        ledger = run.ledger
        outcome = classify_failure(exc)
        first = ledger.first_record(number)
        if outcome is Submission.REFUSED:  # the chunk's records themselves: they fail, the rest goes on
            error = f"HTTP {exc.status_code}" if exc.status_code else type(exc).__name__
            self._record(ledger, number, Outcome.REFUSED, refused_chunk(first, records, error, str(exc)), str(exc))
            self.log.warning(
                "Chunk %d (records %s to %s) was refused by Zendesk, nothing started; its records are failed and "
                "the import goes on. Correct them and clear the task to send this chunk alone. %s",
                number,
                f"{first:,}",
                f"{first + len(records) - 1:,}",
                exc,
            )
            return True
        if outcome is Submission.STOP:  # the credentials or the call: no chunk can go through
            ledger.requeue(number)
            raise exception_for_error(exc) from None
        if outcome is Submission.NOT_STARTED:
            ledger.requeue(number)
            retry_after = exc.retry_after if isinstance(exc, ZendeskRateLimitError) else None
            pause = retry_after if retry_after is not None else self.poll_interval
            now = self._now()
            run.submit_not_before = now + pause
            if isinstance(exc, ZendeskJobLimitError) and not ledger.active():
                self._account_full(run, now)
            else:
                self._warn_once(
                    run,
                    "refused",
                    "Chunk %d was refused and nothing started; it is sent in %g s. %s",
                    number,
                    pause,
                    exc,
                )
            return False
        ledger.ambiguous(number, str(exc))
        self.log.warning(
            "Chunk %d: Zendesk's answer was lost, so whether a job started is not known; the job list is searched "
            "for it before anything is sent again. %s",
            number,
            exc,
        )
        return False

    def _account_full(self, run: _Import, now: float) -> None:
        """The account's job limit, with none of this import's jobs active: one line a minute at most."""
        if run.full_since is None:
            run.full_since = now
        if run.full_logged_at is None or now - run.full_logged_at >= 60:
            run.full_logged_at = now
            self.log.warning(
                "The Zendesk account is at its job limit with none of this import's jobs active; waited %.0f s so "
                "far, the next chunk is tried in %g s.",
                now - run.full_since,
                max(0.0, run.submit_not_before - now),
            )

    # -- the end ------------------------------------------------------------------------------------
    def _finish(self, context: Context, run: _Import) -> dict[str, Any]:
        ledger = run.ledger
        summary = ImportSummary(
            self.bulk_action, ledger.records, cap=self.max_failures_in_xcom if self.results_path else None
        )
        with self._results_file() as out:
            for _, entry in ledger.done_chunks():
                part = ChunkResults.from_dict(entry.results)
                summary.add(entry.job_id, part)
                if out is not None:
                    for line in result_lines(self.bulk_action, part):
                        out.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
        value = summary.xcom(path=self.results_path)
        self.log.info(
            "%s finished: %s records, %s succeeded, %s failed, %s unresolved (%d unmapped items, %d unreported, "
            "%d uncertain chunks)",
            self.bulk_action.name,
            f"{ledger.records:,}",
            f"{value['succeeded']:,}",
            f"{value['failed']:,}",
            f"{summary.unresolved:,}",
            summary.totals["unmapped"],
            summary.totals["unreported"],
            summary.totals["uncertain"],
        )
        table = error_table(summary.errors_by_code())
        if table:
            self.log.info("Failed records by error:\n%s", table)
        problem = self._problem(summary)
        if problem:
            _push_return_value(context, value)
            raise AirflowFailException(f"{problem} {_named(summary)} The records were not sent again.")
        return value

    def _problem(self, summary: ImportSummary) -> str | None:
        """Why the task fails, if it does: unresolved records, or more failures than allowed."""
        counted = summary.failed + summary.unresolved
        if summary.unresolved and not self.allow_unresolved:
            return (
                f"{summary.unresolved} records have no outcome anyone can name (unreported or uncertain); look them "
                "up in Zendesk (allow_unresolved=True lets the task succeed with them)."
            )
        if self.max_failed_records is not None and counted > self.max_failed_records:
            limit = self.max_failed_records
            return f"{counted} records failed or are unresolved, more than max_failed_records={limit}."
        if self.fail_on_item_errors and counted:
            return f"{counted} records failed or are unresolved (fail_on_item_errors=True)."
        return None

    @contextmanager
    def _results_file(self) -> Iterator[TextIO | None]:
        if not self.results_path:
            yield None
            return
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        path = ObjectStoragePath(self.results_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:  # type: ignore[no-untyped-call]
            yield out
        self.log.info("Wrote the mapping of every record to %s", self.results_path)


def _named(summary: ImportSummary) -> str:
    """The first failed and unresolved records, for the failure message: where to look."""
    parts = [
        f"record {failure['record_index']} ({failure.get('error')}: {failure.get('details') or '-'})"
        for failure in summary.lists["failures"][:_NAMED_IN_MESSAGE]
    ]
    parts += [f"record {index} (unreported)" for index in summary.lists["unreported"][:_NAMED_IN_MESSAGE]]
    parts += [
        f"records {chunk['first_record']} to {chunk['last_record']} (chunk {chunk['chunk']}, uncertain)"
        for chunk in summary.lists["uncertain"][:_NAMED_IN_MESSAGE]
    ]
    total = summary.failed + summary.totals["unreported"] + summary.totals["uncertain"]
    more = f", and {total - len(parts)} more" if total > len(parts) else ""
    return f"First: {'; '.join(parts)}{more}." if parts else ""


def _push_return_value(context: Context, value: Mapping[str, Any]) -> None:
    """A failing import still hands its result to XCom: what was created, what failed, what nobody knows."""
    ti = context.get("ti")
    if ti is not None and hasattr(ti, "xcom_push"):
        ti.xcom_push(key="return_value", value=dict(value))


def _try_number(context: Context) -> int:
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
