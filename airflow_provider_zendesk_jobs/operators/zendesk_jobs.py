"""Operators that hand Zendesk job results to downstream tasks, and audit recent jobs every day.

``ZendeskJobResultsOperator`` is what a pipeline reads after a bulk call: the ids Zendesk
created and the items it rejected, in the XCom form of ``JobStatus.to_dict``. It can wait on
its own (polling, or deferred to the same trigger as the sensor), but whether a wait is
over is always decided by :func:`~airflow_provider_zendesk_jobs.waiting.evaluate_wait`, and
its failures are the sensor's (:mod:`~airflow_provider_zendesk_jobs.sensors.wait_support`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowTaskTimeout,
    BaseOperator,
    Context,
    XComArg,
    conf,
)

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskJobsError, ZendeskNotFoundError
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.links import ZendeskCreatedTicketLink, ZendeskJobLink
from airflow_provider_zendesk_jobs.operators.audit_summary import (
    AuditFilter,
    failure_message,
    format_summary,
    summarise_jobs,
)
from airflow_provider_zendesk_jobs.sensors.wait_support import (
    TRANSIENT_ERRORS,
    ProgressLog,
    exception_for_error,
    exception_for_outcome,
    pause_asked,
    pause_still_ahead,
    read_job_statuses,
    resolve_job_ids,
    result_from_event,
)
from airflow_provider_zendesk_jobs.triggers.timing import current_time_source
from airflow_provider_zendesk_jobs.waiting import (
    DEFAULT_NOT_FOUND_GRACE,
    WaitDecision,
    WaitOptions,
    WaitOutcome,
    evaluate_wait,
)

if TYPE_CHECKING:
    from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

__all__ = ["ZendeskJobResultsOperator", "ZendeskJobStatusAuditOperator"]

XComValue = dict[str, Any] | list[dict[str, Any]]
#: Seconds after the wait's own deadline at which Airflow's deferral timeout steps in, should the trigger not answer.
_BACKSTOP = 60.0


def _seconds(value: Any, name: str, *, positive: bool) -> float:
    """Checked at DAG parse time, so a typo fails the DAG import instead of a run hours later."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ZendeskInvalidInputError(f"{name} must be a finite number of seconds, got {value!r}.")
    if value < 0 or (positive and value == 0):
        raise ZendeskInvalidInputError(f"{name} must be {'above' if positive else 'at least'} 0, got {value!r}.")
    return float(value)


class ZendeskJobResultsOperator(BaseOperator):
    """Wait for one Zendesk job or many (optionally), then return their results as the task's XCom value.

    The return value is ``JobStatus.to_dict(include_results=...)`` for a single ``job_id``,
    and a list of those, in the same order, for a list of ids::

        {"job_id": "V3-...", "status": "completed", "job_type": "Bulk Import Ticket",
         "total": 3, "progress": 3, "message": "...",
         "succeeded_ids": [1000, 1002],
         "failed": [{"index": 1, "id": None, "error": "TicketCreateFailed", "details": "..."}],
         "counts": {"succeeded": 2, "failed": 1},
         "results": [...every item, normalised...]}

    A permanent deletion (whose ``results`` is an object) adds ``"success": true|false``.
    A job that ended ``failed`` or ``killed`` (or rejected items, with ``fail_on_item_errors``)
    fails the task without retries, with Zendesk's message.

    :param job_id: a job id, or a list of them (templated; a list rendered as text is read back).
    :param zendesk_conn_id: the Airflow connection (templated).
    :param wait_for_completion: wait until every job is finished; ``False`` reads the current state once.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between reads while waiting.
    :param timeout: seconds to wait at most (then ``AirflowTaskTimeout``, which the task's
        retries may try again); ``None`` waits as long as the task is allowed to run.
    :param fail_on_item_errors: fail the task when a completed job rejected any item.
    :param include_results: ``False`` leaves out the per-item ``results`` list (keeps
        ``succeeded_ids``, ``failed`` and ``counts``), for jobs too large for XCom.
    :param not_found_grace: seconds during which an unknown id counts as "not visible yet"
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
        poll_interval: float = 30.0,
        timeout: float | None = None,
        fail_on_item_errors: bool = False,
        include_results: bool = True,
        not_found_grace: float = DEFAULT_NOT_FOUND_GRACE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.zendesk_conn_id = zendesk_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = _seconds(poll_interval, "poll_interval", positive=True)
        self.timeout = None if timeout is None else _seconds(timeout, "timeout", positive=False)
        self.fail_on_item_errors = fail_on_item_errors
        self.include_results = include_results
        self.not_found_grace = _seconds(not_found_grace, "not_found_grace", positive=False)
        #: The wait's time and sleep; None = the current time source (tests use the emulator's clock).
        self._clock: Callable[[], float] | None = None
        self._sleep: Callable[[float], Any] | None = None
        self._hook: ZendeskJobStatusHook | None = None
        #: When the last 429's Retry-After ends: the triggerer must not check before then either.
        self._not_before: float | None = None

    # -- helpers ----------------------------------------------------------------------------------
    @property
    def hook(self) -> ZendeskJobStatusHook:
        if self._hook is None:
            from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

            hook = ZendeskJobStatusHook(zendesk_conn_id=self.zendesk_conn_id)
            if self._clock is not None:
                hook._clock = self._clock
            if self._sleep is not None:
                hook._sleep = self._sleep
            self._hook = hook
        return self._hook

    @property
    def wait_options(self) -> WaitOptions:
        return WaitOptions(fail_on_item_errors=self.fail_on_item_errors, not_found_grace=self.not_found_grace)

    def _now(self) -> float:
        return (self._clock or current_time_source().clock)()

    def _pause(self, seconds: float) -> None:
        """Sleep on the same clock the wait reads, so a test's manual clock drives the whole loop."""
        if self._sleep is not None:
            self._sleep(seconds)
            return
        sleep = current_time_source().sleep
        if sleep is asyncio.sleep:
            time.sleep(seconds)
        else:
            asyncio.run(sleep(seconds))  # type: ignore[arg-type]

    def _xcom_value(self, jobs: Sequence[JobStatus], many: bool) -> XComValue:
        for job in jobs:
            if isinstance(job.results, dict):
                self.log.info("%s: %s, results %s", job.id, job.status, job.results)
            else:
                self.log.info(
                    "%s: %s, %d items succeeded, %d failed",
                    job.id,
                    job.status,
                    len(job.items) - len(job.failed_items),
                    len(job.failed_items),
                )
        values = [job.to_dict(include_results=self.include_results) for job in jobs]
        return values if many else values[0]

    def _timeout_message(self, job_ids: Sequence[str]) -> str:
        return (
            f"Zendesk job{'s' if len(job_ids) > 1 else ''} {', '.join(job_ids)} did not finish within "
            f"timeout={self.timeout or 0:g} s. Raise the timeout or look at the job in Zendesk."
        )

    # -- execution ------------------------------------------------------------------------------
    def execute(self, context: Context) -> XComValue:
        try:
            return self._execute()
        except ZendeskJobsError as exc:  # e.g. a finished job's items not in Zendesk's form, read only now
            raise exception_for_error(exc) from None

    def _execute(self) -> XComValue:
        job_ids, many = resolve_job_ids(self.job_id)  # bad input fails here, before any request
        if not self.wait_for_completion:
            return self._read_now(job_ids, many)
        started_at = self._now()
        deadline = started_at + self.timeout if self.timeout is not None else None
        progress = ProgressLog(self.log, not_found_grace=self.not_found_grace)
        outcome = self._check(job_ids, started_at, progress)
        if outcome is not None and outcome.done:
            return self._finish(job_ids, outcome, many)
        if self.deferrable:
            self._defer(job_ids, started_at, deadline)
        return self._poll(job_ids, many, started_at, deadline, progress)

    def _check(self, job_ids: Sequence[str], started_at: float, progress: ProgressLog) -> WaitOutcome | None:
        """One read of every job, decided by the shared rule; None when Zendesk did not answer normally.

        Like the sensor's poke, a rate limit or an outage past the hook's retry budget only
        costs a poll; wrong credentials and dead jobs end the wait at once.
        """
        try:
            found = read_job_statuses(self.hook, job_ids)
        except TRANSIENT_ERRORS as exc:
            self._not_before = pause_asked(exc, self._now()) or self._not_before
            self.log.warning("Zendesk did not answer normally; checking again in %g s. %s", self.poll_interval, exc)
            return None
        except ZendeskJobsError as exc:
            raise exception_for_error(exc) from None
        outcome = evaluate_wait(job_ids, found, options=self.wait_options, started_at=started_at, now=self._now())
        progress.poll(job_ids, outcome)
        return outcome

    def _finish(self, job_ids: Sequence[str], outcome: WaitOutcome, many: bool) -> XComValue:
        if outcome.decision is WaitDecision.FAILED:
            raise exception_for_outcome(outcome)
        return self._xcom_value([outcome.statuses[job_id] for job_id in job_ids], many)

    def _read_now(self, job_ids: Sequence[str], many: bool) -> XComValue:
        """The state right now: dead jobs and unknown ids still fail; running jobs are returned as they are."""
        try:
            found = read_job_statuses(self.hook, job_ids)
        except ZendeskJobsError as exc:
            raise exception_for_error(exc) from None
        missing = [job_id for job_id in job_ids if job_id not in found]
        if missing:
            raise AirflowFailException(
                f"Zendesk does not know job {'ids' if len(missing) > 1 else 'id'} {', '.join(missing)}: the id is "
                "wrong, the job is older than Zendesk keeps job statuses (about a day), or it was started a moment "
                "ago (wait_for_completion=True allows for that)."
            )
        now = self._now()
        outcome = evaluate_wait(job_ids, found, options=self.wait_options, started_at=now, now=now)
        ProgressLog(self.log, not_found_grace=self.not_found_grace).poll(job_ids, outcome)
        if outcome.decision is WaitDecision.FAILED:
            raise exception_for_outcome(outcome)
        return self._xcom_value([found[job_id] for job_id in job_ids], many)

    def _poll(
        self, job_ids: Sequence[str], many: bool, started_at: float, deadline: float | None, progress: ProgressLog
    ) -> XComValue:
        """The worker-side wait: one read of every job per ``poll_interval``, decided by the shared rule."""
        while True:
            now = self._now()
            if deadline is not None and now >= deadline:
                raise AirflowTaskTimeout(self._timeout_message(job_ids))
            self._pause(self.poll_interval if deadline is None else min(self.poll_interval, deadline - now))
            outcome = self._check(job_ids, started_at, progress)
            if outcome is not None and outcome.done:
                return self._finish(job_ids, outcome, many)

    def _defer(self, job_ids: Sequence[str], started_at: float, deadline: float | None) -> None:
        self.log.info(
            "Deferring: the triggerer checks %d job%s every %g s%s",
            len(job_ids),
            "" if len(job_ids) == 1 else "s",
            self.poll_interval,
            f" for up to {self.timeout:g} s" if self.timeout is not None else "",
        )
        from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger

        self.defer(
            trigger=ZendeskJobStatusTrigger(
                job_ids=list(job_ids),
                zendesk_conn_id=self.zendesk_conn_id,
                poll_interval=self.poll_interval,
                not_found_grace=self.not_found_grace,
                fail_on_item_errors=self.fail_on_item_errors,
                started_at=started_at,
                deadline=deadline,
                not_before=pause_still_ahead(self._not_before, self._now()),
            ),
            method_name="execute_complete",
            timeout=None if deadline is None else timedelta(seconds=max(0.0, deadline - self._now()) + _BACKSTOP),
        )

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> XComValue:
        """Back from the triggerer: read every job's results once (one ``show_many`` per 100 ids)."""
        try:
            return self._results_after_deferral(event)
        except ZendeskJobsError as exc:  # e.g. a finished job's items not in Zendesk's form, read only now
            raise exception_for_error(exc) from None

    def _results_after_deferral(self, event: Mapping[str, Any] | None) -> XComValue:
        job_ids, many = resolve_job_ids(self.job_id)
        result_from_event(event, timeout_exception=AirflowTaskTimeout)
        try:
            jobs = self.hook.get_job_statuses(job_ids)
        except ZendeskNotFoundError as exc:  # expired since the trigger saw it: no retry brings it back
            raise AirflowFailException(str(exc)) from None
        except ZendeskJobsError as exc:
            raise exception_for_error(exc) from None
        now = self._now()
        outcome = evaluate_wait(
            job_ids, {job.id: job for job in jobs}, options=self.wait_options, started_at=now, now=now
        )
        if outcome.decision is WaitDecision.FAILED:
            raise exception_for_outcome(outcome)
        return self._xcom_value(jobs, many)


class ZendeskJobStatusAuditOperator(BaseOperator):
    """List the jobs Zendesk still keeps (about the last 100), count them, and flag the failed ones.

    Returns ``{"checked": n, "counts_by_status": {...}, "counts_by_type": {...},
    "failed_jobs": [{"id", "job_type", "status", "message"}], "unfinished": [ids]}``.
    ``killed`` counts as failed; a job without a ``job_type`` is counted under ``"(none)"``.

    :param zendesk_conn_id: the Airflow connection (templated).
    :param statuses: audit only jobs in these statuses (queued, working, completed, failed, killed).
    :param job_types: audit only these job types, e.g. ``["Bulk Import Ticket"]``; ``"(none)"``
        selects jobs without one.
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
        self.audit_filter = AuditFilter.build(statuses, job_types)
        self.statuses = statuses
        self.job_types = job_types
        self.fail_on_failed_jobs = fail_on_failed_jobs
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ZendeskInvalidInputError(f"limit must be a whole number of jobs, 1 or more, or None; got {limit!r}.")
        self.limit = limit

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

        hook = ZendeskJobStatusHook(zendesk_conn_id=self.zendesk_conn_id)
        try:
            summary = summarise_jobs(hook.list_job_statuses(limit=self.limit), self.audit_filter)
        except ZendeskJobsError as exc:
            raise exception_for_error(exc) from None
        self.log.info("%s", format_summary(summary))
        if self.fail_on_failed_jobs and summary["failed_jobs"]:
            raise AirflowFailException(failure_message(summary))
        return summary
