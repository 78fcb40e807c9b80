"""``ZendeskBulkJobOperator``: thousands of records through Zendesk's bulk calls, never twice, each accounted for.

One task cuts the records into chunks of at most 100, keeps at most ``max_active_jobs`` of its
jobs queued or working at once (the account's limit of about 30 is shared with every other
integration), sends the next chunk as soon as a job finishes, and returns what happened to
each record. The engine, with neither Airflow nor HTTP inside, lives in :mod:`airflow_provider_zendesk_jobs.bulk`
(its rounds in :mod:`~airflow_provider_zendesk_jobs.bulk.runner`, what it reports in
:mod:`~airflow_provider_zendesk_jobs.bulk.summary`, the checks of its arguments in
:mod:`~airflow_provider_zendesk_jobs.bulk.arguments`) and :mod:`airflow_provider_zendesk_jobs.api.bulk_actions`;
this module keeps the parameters, templating, deferral and the mapping to Airflow's exceptions.
Its clock, sleep and hook come from :meth:`ZendeskBulkJobOperator.build_wait`, the seam every waiting task offers.

The promise: the task ends ``success`` only when every record is created, updated or deleted, or
failed with Zendesk's reason, or (with ``allow_unresolved=True``) reported as unresolved; and a
chunk Zendesk answered with a job id is never sent again, by any try, on any worker. The ledger
(:mod:`~airflow_provider_zendesk_jobs.bulk.ledger`) writes a chunk down as ``sending`` before its
call and with its job id right after Zendesk answers, in the task state store on Airflow 3.3 (every
try shares it, wherever it runs) or in files under ``ledger_path``. A finished job's results are
mapped and kept in the ledger at once, since Zendesk forgets jobs after about a day.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
    Context,
    XComArg,
    conf,
)

from airflow_provider_zendesk_jobs.api.bulk_actions import (
    MAX_CHUNK_SIZE,
    BulkAction,
    check_call_arguments,
    resolve_action,
)
from airflow_provider_zendesk_jobs.bulk.arguments import (
    call_arguments,
    check_records_given,
    rendered_records,
    whole_number,
)
from airflow_provider_zendesk_jobs.bulk.ledger import ImportTakenOverError, Ledger
from airflow_provider_zendesk_jobs.bulk.ledger_store import LedgerStoreError
from airflow_provider_zendesk_jobs.bulk.records import RecordSource
from airflow_provider_zendesk_jobs.bulk.runner import ImportRun, ImportTimeoutError, PauseUntil, WaitOnJob
from airflow_provider_zendesk_jobs.bulk.summary import ImportSummary, error_table, failure_reason, summarize
from airflow_provider_zendesk_jobs.bulk.tries import Engine, ImportPlan, resume_run, start_run
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskJobsError
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.links import ZendeskCreatedTicketLink, ZendeskJobLink
from airflow_provider_zendesk_jobs.operators.bulk_ledger import ledger_store_for, try_number
from airflow_provider_zendesk_jobs.operators.bulk_wait import ImportWait
from airflow_provider_zendesk_jobs.triggers.handoff import defer_wait
from airflow_provider_zendesk_jobs.waiting.failures import exception_for_error, result_from_event
from airflow_provider_zendesk_jobs.waiting.job_wait import seconds

if TYPE_CHECKING:
    from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

__all__ = ["DEFAULT_MAX_ACTIVE_JOBS", "ZendeskBulkJobOperator"]

#: Well under the account's 30, which every integration on the account shares.
DEFAULT_MAX_ACTIVE_JOBS = 10


def _check_event(event: Any) -> None:
    """The trigger's event: a finished job (even a failed one: the import reports it) goes on; the rest raise.

    No event at all (a task resumed without one, as when a deferred try is run again by hand) also
    goes on: the event only wakes the task, and the next read of the active jobs tells what is true.
    """
    if event is None or (isinstance(event, Mapping) and event.get("status") == "failed"):
        return
    result_from_event(event, timeout_exception=AirflowTaskTimeout)


class ZendeskBulkJobOperator(BaseOperator):
    """Send records through one of Zendesk's bulk calls in chunks, within a job budget, and map every result back.

    Returns the XCom value the README describes: ``records``, ``jobs``, ``succeeded``, ``failed``,
    ``unresolved``, the successes under ``created`` / ``updated`` / ``deleted`` (each
    ``{"record_index", "id"}``), ``failures`` (with Zendesk's ``error`` and ``details``), and the
    records no one can name an outcome for: ``unmapped`` items, ``unreported`` records, ``uncertain``
    chunks. With ``results_path`` the whole mapping goes there as JSON Lines and each list keeps its
    first ``max_failures_in_xcom`` entries and a total.

    The task succeeds only when every record is accounted for: unresolved records fail it unless
    ``allow_unresolved=True``, and count as failed for ``fail_on_item_errors`` and
    ``max_failed_records``. A failing task pushes its value (and writes ``results_path``) first.

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

    Its clock and sleep (the hook's too: ``Retry-After``, token expiry) come from :meth:`build_wait`,
    which a test overrides to run the import on an emulator's clock.
    """

    template_fields: Sequence[str] = (
        "records",
        "records_path",
        "change",
        "query_params",
        "custom_object_key",
        "results_path",
        "ledger_path",
        "zendesk_conn_id",
    )
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
        change: Mapping[str, Any] | str | None = None,
        query_params: Mapping[str, Any] | str | None = None,
        custom_object_key: str | None = None,
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bulk_action: BulkAction = resolve_action(action, method, endpoint, payload_key)
        check_call_arguments(
            self.bulk_action, change=change, params=query_params, custom_object_key=custom_object_key, rendered=False
        )
        self.change = change
        self.query_params = query_params
        self.custom_object_key = custom_object_key
        self.action = action
        check_records_given(records, records_path)
        self.records = records
        self.records_path = records_path
        self.chunk_size = whole_number(chunk_size, "chunk_size", 1, MAX_CHUNK_SIZE)
        self.max_active_jobs = whole_number(max_active_jobs, "max_active_jobs", 1, 30)
        self.zendesk_conn_id = zendesk_conn_id
        self.deferrable = deferrable
        self.poll_interval = seconds(poll_interval, "poll_interval", positive=True)
        self.timeout = None if timeout is None else seconds(timeout, "timeout")
        self.fail_on_item_errors = fail_on_item_errors
        self.max_failed_records = (
            None if max_failed_records is None else whole_number(max_failed_records, "max_failed_records", 0, None)
        )
        self.allow_unresolved = allow_unresolved
        self.results_path = results_path
        self.ledger_path = ledger_path
        self.max_failures_in_xcom = whole_number(max_failures_in_xcom, "max_failures_in_xcom", 0, None)
        self._wait: ImportWait | None = None

    def render_template(
        self, content: Any, context: Context, jinja_env: Any = None, seen_oids: set[int] | None = None
    ) -> Any:
        """Records given as a list are sent as written: only a whole template string or an ``XComArg`` is rendered."""
        if content is self.records and isinstance(content, (list, tuple)):
            return content
        return super().render_template(content, context, jinja_env, seen_oids)

    # -- the clock, the sleep and the hook ----------------------------------------------------------
    def build_wait(
        self, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> ImportWait:
        """What this task waits with, on ``clock`` and ``sleep``: a subclass may pass its own (tests: an emulator's)."""
        return ImportWait(self.zendesk_conn_id, clock=clock, sleep=sleep)

    def _waits(self) -> ImportWait:
        """This task's :meth:`build_wait`, built once, when the task first needs its clock or hook."""
        if self._wait is None:
            self._wait = self.build_wait()
        return self._wait

    @property
    def hook(self) -> ZendeskJobStatusHook:
        """The task's one hook: one read of the connection, one OAuth token, one Retry-After gate, on the task's clock.

        Reads keep the hook's usual retries; bulk calls are sent once each (``attempts=1``), since a
        refused chunk goes back to this task's own queue.
        """
        return self._waits().hook

    # -- execution --------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        with self._airflow_errors():
            source = self._source()
            scanned = source.scan(self.chunk_size)
            if scanned[0] == 0:
                self.log.info("%s: %s holds no records; nothing to send.", self.bulk_action.name, source.describe())
                self.import_summary = ImportSummary(self.bulk_action, 0).xcom(path=self.results_path)
                return self.import_summary
            store = ledger_store_for(context, self, self.ledger_path)
            run = start_run(self._plan(), source, store, try_number(context), scanned, self._engine())
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
        with self._airflow_errors():
            source = self._source()
            store = ledger_store_for(context, self, self.ledger_path)
            carried = resume if isinstance(resume, Mapping) else {}
            run = resume_run(self._plan(), source, store, try_number(context), carried, self._engine())
            return self._drive(context, run)

    @contextmanager
    def _airflow_errors(self) -> Iterator[None]:
        """The import's own errors as the Airflow exceptions they mean (retry, or fail for good)."""
        try:
            yield
        except (ZendeskInvalidInputError, ImportTakenOverError) as exc:
            raise AirflowFailException(str(exc)) from None
        except ImportTimeoutError as exc:
            raise AirflowTaskTimeout(f"timeout={self.timeout:g} s: {exc}") from None
        except LedgerStoreError as exc:  # a retry may find the store answering again; nothing was sent meanwhile
            raise AirflowException(str(exc)) from None
        except ZendeskJobsError as exc:
            raise exception_for_error(exc) from None

    def _plan(self) -> ImportPlan:
        """What this task asks of its import; the call's arguments checked again now that templates are rendered."""
        arguments = call_arguments(
            self.bulk_action,
            change=self.change,
            query_params=self.query_params,
            custom_object_key=self.custom_object_key,
        )
        return ImportPlan(
            self.bulk_action,
            chunk_size=self.chunk_size,
            max_active_jobs=self.max_active_jobs,
            poll_interval=self.poll_interval,
            deferrable=self.deferrable,
            timeout=self.timeout,
            call_arguments=arguments,
        )

    def _engine(self) -> Engine:
        waits = self._waits()
        return Engine(waits.hook, self.log, waits.clock, waits.sleep)

    def _source(self) -> RecordSource:
        records = None if self.records is None else rendered_records(self.records)
        return RecordSource(self.bulk_action, records=records, path=self.records_path)

    def _drive(self, context: Context, run: ImportRun) -> dict[str, Any]:
        """The run's rounds; then the result, or a deferral until what it waits for."""
        with self._airflow_errors():
            wait = run.run()
            if wait is None:
                return self._finish(context, run.ledger)
        if isinstance(wait, WaitOnJob):
            self._defer_on_job(run, wait)
        self._defer_until(run, wait)

    def _defer_on_job(self, run: ImportRun, wait: WaitOnJob) -> NoReturn:
        # One line before JobWait's own "Deferring: ..." line: why this job, and what comes after it.
        self.log.info("The next chunks go out when %s, the oldest of %d active jobs, is done", wait.job_id, wait.active)
        job_wait = self._waits().on_job(wait, log=self.log, poll_interval=self.poll_interval)
        defer_wait(self, job_wait, deadline=run.deadline, kwargs={"resume": run.carried()})

    def _defer_until(self, run: ImportRun, wait: PauseUntil) -> NoReturn:
        """None of its own jobs active (the account is full, or a lost answer not yet settled): a timed pause."""
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        self.defer(
            trigger=DateTimeTrigger(moment=datetime.fromtimestamp(wait.until, tz=timezone.utc)),
            method_name="execute_after_pause",
            kwargs={"resume": run.carried()},
            timeout=timedelta(seconds=max(0.0, wait.until - self._waits().clock()) + 600),
        )

    def _finish(self, context: Context, ledger: Ledger) -> dict[str, Any]:
        """Every record's result, from the ledger: returned, or (with a reason to fail) pushed, then raised."""
        summary = summarize(self.bulk_action, ledger, results_path=self.results_path, cap=self.max_failures_in_xcom)
        if self.results_path:
            self.log.info("Wrote the mapping of every record to %s", self.results_path)
        value = self.import_summary = summary.xcom(path=self.results_path)
        self.log.info("%s", summary.report())
        table = error_table(summary.errors_by_code())
        if table:
            self.log.info("Failed records by error:\n%s", table)
        reason = failure_reason(
            summary,
            allow_unresolved=self.allow_unresolved,
            max_failed_records=self.max_failed_records,
            fail_on_item_errors=self.fail_on_item_errors,
        )
        if reason:
            ti = context.get("ti")  # a failing import still hands over what was created, failed and unknown
            if ti is not None and hasattr(ti, "xcom_push"):
                ti.xcom_push(key="return_value", value=value)
            raise AirflowFailException(reason)
        return value

    # -- lineage and assets (lineage/) ------------------------------------------------------------
    #: The return value once the import finished (kept when it fails too): what lineage and asset events report.
    import_summary: dict[str, Any] | None = None

    def post_execute(self, context: Context, result: Any = None) -> None:
        """The finished import's counts go into the asset event of an outlet that is its Zendesk object's asset.

        A subclass that overrides this calls ``super().post_execute(context, result)``.
        """
        super().post_execute(context, result)
        from airflow_provider_zendesk_jobs.lineage.assets import fill_asset_events

        fill_asset_events(self, context["outlet_events"], self.log)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: the file read, the Zendesk object written, the counts and the jobs."""
        from airflow_provider_zendesk_jobs.lineage.facets import bulk_import_lineage

        return bulk_import_lineage(self)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As on completion; the counts are there when the import finished and failed on its results."""
        return self.get_openlineage_facets_on_complete(task_instance)

