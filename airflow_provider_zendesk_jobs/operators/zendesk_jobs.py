"""Operators that hand Zendesk job results to downstream tasks (waiting as the sensor does), and audit jobs."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
    Context,
    XComArg,
    conf,
)

from airflow_provider_zendesk_jobs.api.operations import validate_limit
from airflow_provider_zendesk_jobs.exceptions import ZendeskJobsError, ZendeskNotFoundError
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.job_ids import show_ids
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.links import ZendeskCreatedTicketLink, ZendeskJobLink
from airflow_provider_zendesk_jobs.operators import audit_summary
from airflow_provider_zendesk_jobs.triggers.handoff import defer_wait
from airflow_provider_zendesk_jobs.waiting.failures import exception_for_error, result_from_event
from airflow_provider_zendesk_jobs.waiting.job_wait import JobWait, seconds
from airflow_provider_zendesk_jobs.waiting.rule import DEFAULT_NOT_FOUND_GRACE, WaitOptions

__all__ = ["ZendeskJobResultsOperator", "ZendeskJobStatusAuditOperator"]

XComValue = dict[str, Any] | list[dict[str, Any]]


class ZendeskJobResultsOperator(BaseOperator):
    """Wait for one Zendesk job or many (optionally), then return their results as the task's XCom value.

    The return value is ``JobStatus.to_dict(include_results=...)`` for a single ``job_id``, a list of those
    (in the same order) for a list of ids::

        {"job_id": "V3-...", "status": "completed", "job_type": "Bulk Import Ticket", "total": 3, "progress": 3,
         "message": "...", "succeeded_ids": [1000, 1002], "counts": {"succeeded": 2, "failed": 1},
         "failed": [{"index": 1, "id": None, "error": "TicketCreateFailed", "details": "..."}],
         "results": [...every item, normalised...]}

    A permanent deletion (whose ``results`` is an object) adds ``"success": true|false``. A job that ended
    ``failed`` or ``killed`` (or rejected items, with ``fail_on_item_errors``) fails the task without retries.

    :param job_id: a job id, or a list of them (templated; a list rendered as text is read back).
    :param zendesk_conn_id: the Airflow connection (templated).
    :param wait_for_completion: wait until every job is finished; ``False`` reads the current state once.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds (or a ``timedelta``) between reads while waiting.
    :param timeout: seconds (or a ``timedelta``) this try's wait may last; then ``AirflowTaskTimeout``, a plain
        failure the task's ``retries`` may try again (not a sensor timeout: ``soft_fail`` does not apply).
        ``None``, the default, waits as long as the task may run (``execution_timeout``).
    :param fail_on_item_errors: fail the task when a completed job rejected any item.
    :param include_results: ``False`` leaves out the per-item ``results`` list (keeps ``succeeded_ids``,
        ``failed`` and ``counts``), for jobs too large for XCom.
    :param not_found_grace: seconds (or a ``timedelta``) during which an unknown id counts as "not visible yet"
        (Zendesk answers 404 for a moment after a bulk call).
    """

    template_fields: Sequence[str] = ("job_id", "zendesk_conn_id")
    ui_color = "#d4f1e4"
    operator_extra_links = (ZendeskJobLink(), ZendeskCreatedTicketLink())

    def __init__(
        self,
        *,
        job_id: str | Sequence[str] | XComArg,
        zendesk_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | timedelta = 30.0,
        timeout: float | timedelta | None = None,
        fail_on_item_errors: bool = False,
        include_results: bool = True,
        not_found_grace: float | timedelta = DEFAULT_NOT_FOUND_GRACE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.zendesk_conn_id = zendesk_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = seconds(poll_interval, "poll_interval", positive=True)
        self.timeout = None if timeout is None else seconds(timeout, "timeout")
        self.fail_on_item_errors = fail_on_item_errors
        self.include_results = include_results
        self.not_found_grace = seconds(not_found_grace, "not_found_grace")

    def build_wait(
        self, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> JobWait:
        """The wait one try runs, on ``clock`` and ``sleep`` (tests pass the emulator's)."""
        return JobWait(
            self.job_id,
            options=WaitOptions(fail_on_item_errors=self.fail_on_item_errors, not_found_grace=self.not_found_grace),
            log=self.log,
            poll_interval=self.poll_interval,
            zendesk_conn_id=self.zendesk_conn_id,
            clock=clock,
            sleep=sleep,
        )

    def execute(self, context: Context) -> XComValue:
        wait = self.build_wait()  # bad input fails here, before any request
        try:
            if not self.wait_for_completion:
                return self._read_now(wait)
            deadline = None if self.timeout is None else wait.started_at + self.timeout
            outcome = wait.check()
            while outcome is None or not outcome.done:
                if self.deferrable:
                    defer_wait(self, wait, deadline=deadline)
                now = wait.clock()
                if deadline is not None and now >= deadline:
                    raise AirflowTaskTimeout(
                        f"Zendesk job{'s' if len(wait.job_ids) > 1 else ''} {show_ids(wait.job_ids)} did not finish "
                        f"within timeout={self.timeout or 0:g} s. Raise the timeout or look at the job in Zendesk."
                    )
                wait.sleep(self.poll_interval if deadline is None else min(self.poll_interval, deadline - now))
                outcome = wait.check()
            return self._xcom_value(wait, outcome.statuses)
        except ZendeskJobsError as exc:  # e.g. a finished job's items not in Zendesk's form, read only now
            raise exception_for_error(exc) from None

    def _read_now(self, wait: JobWait) -> XComValue:
        """The state right now: dead jobs and unknown ids still fail; running jobs are returned as they are."""
        found = wait.read()
        missing = [job_id for job_id in wait.job_ids if job_id not in found]
        if missing:
            raise AirflowFailException(
                f"Zendesk does not know job {'ids' if len(missing) > 1 else 'id'} {show_ids(missing)}: the id is "
                "wrong, the job is older than Zendesk keeps job statuses (about a day), or it was started a moment "
                "ago (wait_for_completion=True allows for that)."
            )
        return self._xcom_value(wait, wait.decide(found).statuses)

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> XComValue:
        """Back from the triggerer: read every job's results once (one ``show_many`` per 100 ids)."""
        wait = self.build_wait()
        result_from_event(event, timeout_exception=AirflowTaskTimeout)
        try:
            jobs = wait.hook.get_job_statuses(wait.job_ids)
            return self._xcom_value(wait, wait.decide({job.id: job for job in jobs}).statuses)
        except ZendeskNotFoundError as exc:  # expired since the trigger saw it: no retry brings it back
            raise AirflowFailException(str(exc)) from None
        except ZendeskJobsError as exc:  # e.g. a finished job's items not in Zendesk's form, read only now
            raise exception_for_error(exc) from None

    def _xcom_value(self, wait: JobWait, statuses: Mapping[str, JobStatus]) -> XComValue:
        jobs = [statuses[job_id] for job_id in wait.job_ids]
        for job in jobs:
            if isinstance(job.results, dict):
                self.log.info("%s: %s, results %s", job.id, job.status, job.results)
            else:
                failed = len(job.failed_items)
                self.log.info(
                    "%s: %s, %d items succeeded, %d failed", job.id, job.status, len(job.items) - failed, failed
                )
        values = [job.to_dict(include_results=self.include_results) for job in jobs]
        return values if wait.many else values[0]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: the Zendesk jobs read, one input each (``job_statuses/<id>``)."""
        from airflow_provider_zendesk_jobs.lineage.facets import job_results_lineage

        return job_results_lineage(self, self.job_id)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self.get_openlineage_facets_on_complete(task_instance)


class ZendeskJobStatusAuditOperator(BaseOperator):
    """List the jobs Zendesk still keeps (about the last 100), count them, and flag the failed ones.

    Returns ``{"checked": n, "counts_by_status": {...}, "counts_by_type": {...}, "failed_jobs": [{"id",
    "job_type", "status", "message"}], "unfinished": [ids]}``; ``killed`` counts as failed, a job without a
    ``job_type`` under ``"(none)"``.

    :param zendesk_conn_id: the Airflow connection (templated).
    :param statuses: audit only jobs in these statuses (queued, working, completed, failed, killed).
    :param job_types: audit only these job types, e.g. ``["Bulk Import Ticket"]``; ``"(none)"`` selects those without.
    :param fail_on_failed_jobs: fail the task, naming the failed job ids, when any job failed.
    :param limit: read at most this many jobs (newest first) before filtering; ``None`` reads every page.
    """

    template_fields: Sequence[str] = ("zendesk_conn_id",)
    ui_color = "#f1e4d4"

    def __init__(
        self,
        *,
        zendesk_conn_id: str = DEFAULT_CONN_ID,
        statuses: str | Sequence[str] | None = None,
        job_types: str | Sequence[str] | None = None,
        fail_on_failed_jobs: bool = False,
        limit: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.zendesk_conn_id = zendesk_conn_id
        self.audit_filter = audit_summary.AuditFilter.build(statuses, job_types)
        self.statuses = statuses
        self.job_types = job_types
        self.fail_on_failed_jobs = fail_on_failed_jobs
        validate_limit(limit)  # the hook's own rule, at DAG parse time instead of at the first request
        self.limit = limit

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

        hook = ZendeskJobStatusHook(zendesk_conn_id=self.zendesk_conn_id)
        try:
            summary = audit_summary.summarise_jobs(hook.list_job_statuses(limit=self.limit), self.audit_filter)
        except ZendeskJobsError as exc:
            raise exception_for_error(exc) from None
        self.log.info("%s", audit_summary.format_summary(summary))
        if self.fail_on_failed_jobs and summary["failed_jobs"]:
            raise AirflowFailException(audit_summary.failure_message(summary))
        return summary

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """For the OpenLineage provider: Zendesk's job list, the one input the audit reads."""
        from airflow_provider_zendesk_jobs.lineage.facets import job_audit_lineage

        return job_audit_lineage(self)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self.get_openlineage_facets_on_complete(task_instance)
