"""One wait on Zendesk jobs as a task runs it in a worker: ids, hook, clock, one check, the hand-over to the triggerer.

The task keeps how it loops, what it returns and which timeout it raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskInvalidInputError,
    ZendeskJobsError,
    ZendeskRateLimitError,
    is_transient,
)
from airflow_provider_zendesk_jobs.finite_numbers import finite_float
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.job_ids import normalize_job_ids, show_value
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.waiting.events import summaries
from airflow_provider_zendesk_jobs.waiting.failures import exception_for_error
from airflow_provider_zendesk_jobs.waiting.progress import Logger, ProgressLog
from airflow_provider_zendesk_jobs.waiting.rule import (
    DEFERRAL_BACKSTOP_SECONDS,
    WaitDecision,
    WaitOptions,
    WaitOutcome,
    evaluate_wait,
)

if TYPE_CHECKING:

    from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

__all__ = ["DEFERRAL_BACKSTOP_SECONDS", "JobWait", "seconds"]


def seconds(value: Any, name: str, *, positive: bool = False) -> float:
    """A task argument in seconds (a number or a ``timedelta``), checked at DAG parse time, not hours later."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    number = finite_float(value)
    if number is None:
        raise ZendeskInvalidInputError(
            f"{name} must be a finite number of seconds or a timedelta, got {show_value(value)}."
        )
    if number < 0 or (positive and number == 0):
        bound = "above" if positive else "at least"
        raise ZendeskInvalidInputError(f"{name} must be {bound} 0, got {show_value(value)}.")
    return number


class JobWait:
    """The wait on ``job_id`` (one id, a list, or a list rendered as text) that one task try runs.

    :param job_id: the task's rendered ``job_id`` field; bad input raises ``AirflowFailException`` here.
    :param options: what the DAG author chose (``fail_on_item_errors``, ``not_found_grace``).
    :param log: the task's ``self.log``: progress lines belong in the task's log.
    :param poll_interval: seconds between checks, handed to the trigger on :meth:`defer`.
    :param zendesk_conn_id: the Airflow connection the hook reads.
    :param clock: epoch seconds now; the wait, its not-found grace and the hook read it.
    :param sleep: how the hook (and a task polling in the worker) waits, on the same clock.
    :param hook: the hook to read through; by default one is built on ``clock`` and ``sleep``.
    """

    def __init__(
        self,
        job_id: Any,
        *,
        options: WaitOptions,
        log: Logger,
        poll_interval: float,
        zendesk_conn_id: str = DEFAULT_CONN_ID,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        hook: ZendeskJobStatusHook | None = None,
    ) -> None:
        try:  # ``many``: a list was given, so the task returns a list, in the same order
            self.job_ids, self.many = normalize_job_ids(job_id)
        except ZendeskInvalidInputError as exc:
            raise AirflowFailException(str(exc)) from None
        self.options = options
        self.log = log
        self.poll_interval = poll_interval
        self.zendesk_conn_id = zendesk_conn_id
        self.clock = clock
        self.sleep = sleep
        self._hook = hook
        self._progress = ProgressLog(log, not_found_grace=options.not_found_grace)
        #: When the wait began: the not-found grace counts from here (a rescheduled sensor moves it to its first try).
        self.started_at = clock()
        #: When the last 429's Retry-After ends: no check, in this try or after it, starts before then.
        self.not_before: float | None = None

    @property
    def hook(self) -> ZendeskJobStatusHook:
        if self._hook is None:
            from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook  # not at DAG parse time

            self._hook = ZendeskJobStatusHook(self.zendesk_conn_id, clock=self.clock, sleep=self.sleep)
        return self._hook

    def read(self) -> dict[str, JobStatus]:
        """The jobs Zendesk knows among the ids, keyed by id (one ``show_many`` per 100 ids); unknown ids are absent."""
        return self.hook.get_job_statuses_by_id(self.job_ids)

    def decide(self, statuses: Mapping[str, JobStatus]) -> WaitOutcome:
        """The rule's answer for ``statuses``, with a line per job; a failed one raises ``AirflowFailException``."""
        outcome = evaluate_wait(
            self.job_ids, statuses, options=self.options, started_at=self.started_at, now=self.clock()
        )
        self._progress.poll(self.job_ids, outcome)
        if outcome.decision is WaitDecision.FAILED:
            raise AirflowFailException(outcome.message)
        return outcome

    def check(self) -> WaitOutcome | None:
        """One read of every job, decided; None when a rate limit or an outage only cost this check.

        A ``Retry-After`` is kept in :attr:`not_before`; other errors raise their Airflow exception.
        """
        try:
            # Inside the try: a finished job's items are read (and checked) only when the rule needs them.
            return self.decide(self.read())
        except ZendeskJobsError as exc:
            if not is_transient(exc):
                raise exception_for_error(exc) from None
            if isinstance(exc, ZendeskRateLimitError) and exc.retry_after:
                self.not_before = self.clock() + exc.retry_after
            wait = max(self.poll_interval, self.pause_left())
            self.log.warning("Zendesk did not answer normally; checking again in %g s. %s", wait, exc)
            return None

    def pause_left(self) -> float:
        """Seconds until Zendesk's last ``Retry-After`` ends (0 when it asked for none or it has passed)."""
        return 0.0 if self.not_before is None else max(0.0, self.not_before - self.clock())

    def summaries(
        self, jobs: Mapping[str, JobStatus] | Sequence[Mapping[str, Any]]
    ) -> dict[str, Any] | list[dict[str, Any]] | None:
        """A summary per job (a list when ``job_id`` was one), from parsed statuses by id or an event's ``jobs``."""
        return summaries(jobs, self.job_ids, many=self.many)
