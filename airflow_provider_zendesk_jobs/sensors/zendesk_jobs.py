"""``ZendeskJobStatusSensor``: the gate a pipeline puts after a bulk call to Zendesk.

It waits until one job or many have finished, and fails loudly, naming the job, its status
and Zendesk's message, when one did not. It works in every sensor mode:

* ``poke`` / ``reschedule``: each poke reads the jobs (one ``show_many`` per 100 ids) and
  asks :func:`~airflow_provider_zendesk_jobs.waiting.evaluate_wait`. A rate limit or an
  outage past the hook's retry budget is logged and the poke says "not yet": a long wait
  does not fail on one bad minute. Wrong credentials and dead jobs fail at once.
* ``deferrable=True``: one check in the worker, then the wait moves to the triggerer
  (:class:`~airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger`),
  where thousands of waits share one poller per connection. The sensor's ``timeout`` still
  holds: the trigger gets the absolute deadline and ends the wait as a sensor timeout, so
  ``soft_fail`` skips the task.

The not-found grace (Zendesk answers 404 for a moment after a bulk call) counts from the
wait's first check, across reschedules and deferral.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    XComArg,
    conf,
)

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskJobsError
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.links import ZendeskJobLink
from airflow_provider_zendesk_jobs.sensors.wait_support import (
    TRANSIENT_ERRORS,
    ProgressLog,
    exception_for_error,
    exception_for_outcome,
    first_check_time,
    job_summaries,
    pause_asked,
    pause_still_ahead,
    read_job_statuses,
    resolve_job_ids,
    result_from_event,
)
from airflow_provider_zendesk_jobs.triggers.timing import Clock, current_time_source
from airflow_provider_zendesk_jobs.waiting import DEFAULT_NOT_FOUND_GRACE, WaitDecision, WaitOptions, evaluate_wait

if TYPE_CHECKING:
    from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

__all__ = ["ZendeskJobStatusSensor"]

#: How long after the sensor's own deadline Airflow's deferral timeout steps in, should the trigger not answer.
DEFERRAL_BACKSTOP_SECONDS = 60.0


def _seconds(value: Any, name: str, *, positive: bool) -> float:
    """Checked when the DAG is parsed, so a typo fails the import instead of a run hours later."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ZendeskInvalidInputError(f"{name} must be a finite number of seconds, got {value!r}.")
    if value < 0 or (positive and value == 0):
        raise ZendeskInvalidInputError(f"{name} must be {'above' if positive else 'at least'} 0, got {value!r}.")
    return float(value)


class ZendeskJobStatusSensor(BaseSensorOperator):
    """Wait until Zendesk has finished one background job or many.

    Succeeds when every job is ``completed`` (and, with ``fail_on_item_errors=True``, no
    item failed). Fails without retrying when a job ended ``failed`` or ``killed``, or Zendesk
    still does not know an id after ``not_found_grace``. Returns, as XCom, each job's
    ``{"id", "status", "total", "progress", "message"}`` (a list when ``job_id`` is a list).

    :param job_id: a job id or a list of them; templated, an ``XComArg`` works, and a list
        rendered as text (``"['V3-a', 'V3-b']"`` or ``"V3-a,V3-b"``) is read back as a list.
    :param zendesk_conn_id: the Airflow connection (templated).
    :param fail_on_item_errors: fail when a completed job rejected any item.
    :param not_found_grace: seconds from the first check during which an unknown id counts
        as "not visible yet".
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between reads in deferred mode; defaults to ``poke_interval``.

    Everything ``BaseSensorOperator`` takes works as usual: ``poke_interval``, ``timeout``,
    ``mode``, ``exponential_backoff``, ``soft_fail``...
    """

    template_fields: Sequence[str] = ("job_id", "zendesk_conn_id")
    ui_color = "#d4e8f1"
    operator_extra_links = (ZendeskJobLink(),)

    def __init__(
        self,
        *,
        job_id: str | Sequence[str] | XComArg,
        zendesk_conn_id: str = DEFAULT_CONN_ID,
        fail_on_item_errors: bool = False,
        not_found_grace: float = DEFAULT_NOT_FOUND_GRACE,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.zendesk_conn_id = zendesk_conn_id
        self.fail_on_item_errors = fail_on_item_errors
        self.not_found_grace = _seconds(not_found_grace, "not_found_grace", positive=False)
        self.deferrable = deferrable
        if poll_interval is not None:
            self.poll_interval = _seconds(poll_interval, "poll_interval", positive=True)
        elif deferrable and not self.poke_interval:
            raise ZendeskInvalidInputError(
                "A deferrable ZendeskJobStatusSensor needs poke_interval (or poll_interval) above 0."
            )
        else:
            self.poll_interval = float(self.poke_interval)
        #: The sensor's time; None = the current time source (tests run it on the emulator's clock).
        self._clock: Clock | None = None
        self._hook: ZendeskJobStatusHook | None = None
        self._job_ids: list[str] | None = None
        self._many = False
        self._started_at: float | None = None
        self._progress: ProgressLog | None = None
        #: When the last 429's Retry-After ends: no check, in this try or after it, starts before then.
        self._not_before: float | None = None

    # -- helpers ----------------------------------------------------------------------------------
    @property
    def hook(self) -> ZendeskJobStatusHook:
        if self._hook is None:
            from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

            self._hook = ZendeskJobStatusHook(zendesk_conn_id=self.zendesk_conn_id)
        return self._hook

    @property
    def wait_options(self) -> WaitOptions:
        return WaitOptions(fail_on_item_errors=self.fail_on_item_errors, not_found_grace=self.not_found_grace)

    def _now(self) -> float:
        return (self._clock or current_time_source().clock)()

    def _ids(self) -> list[str]:
        if self._job_ids is None:
            self._job_ids, self._many = resolve_job_ids(self.job_id)
        return self._job_ids

    # -- execution --------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        self._job_ids = None
        job_ids = self._ids()  # bad input fails here, before any request
        if not self.deferrable:
            self._started_at = first_check_time(context, clock=self._now, reschedule=self.reschedule)
            return super().execute(context)
        self._started_at = self._now()
        first = self.poke(context)
        if first:
            self.log.info("Zendesk had already finished; no need to defer.")
            return first.xcom_value if isinstance(first, PokeReturnValue) else None
        deadline = self._started_at + self.timeout
        now = self._now()
        remaining = max(0.0, deadline - now)
        self.log.info(
            "Deferring: the triggerer checks %d job%s every %g s until %s s from now",
            len(job_ids),
            "" if len(job_ids) == 1 else "s",
            self.poll_interval,
            f"{remaining:.0f}",
        )
        from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import (
            ZendeskJobStatusTrigger,  # the worker needs it only now
        )

        self.defer(
            trigger=ZendeskJobStatusTrigger(
                job_ids=job_ids,
                zendesk_conn_id=self.zendesk_conn_id,
                poll_interval=self.poll_interval,
                not_found_grace=self.not_found_grace,
                fail_on_item_errors=self.fail_on_item_errors,
                started_at=self._started_at,
                deadline=deadline,
                not_before=pause_still_ahead(self._not_before, now),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=remaining + DEFERRAL_BACKSTOP_SECONDS),
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        job_ids = self._ids()
        if self._started_at is None:
            self._started_at = self._now()
        if self._progress is None:
            self._progress = ProgressLog(self.log, not_found_grace=self.not_found_grace)
        try:
            found = read_job_statuses(self.hook, job_ids)
            # Inside the try: a finished job's items are read (and checked) only when the rule needs them.
            outcome = evaluate_wait(
                job_ids, found, options=self.wait_options, started_at=self._started_at, now=self._now()
            )
        except TRANSIENT_ERRORS as exc:
            self._not_before = pause_asked(exc, self._now()) or self._not_before
            self.log.warning("Zendesk did not answer normally; checking again at the next poke. %s", exc)
            return False
        except ZendeskJobsError as exc:
            raise exception_for_error(exc) from None
        self._progress.poll(job_ids, outcome)
        if outcome.decision is WaitDecision.FAILED:
            raise exception_for_outcome(outcome)
        if outcome.decision is WaitDecision.SUCCEEDED:
            self.log.info("%s", outcome.message)
            return PokeReturnValue(True, xcom_value=job_summaries(job_ids, outcome.statuses, many=self._many))
        return False

    def _get_next_poke_interval(self, started_at: Any, run_duration: Any, poke_count: int) -> float:
        """Never sooner than Zendesk's ``Retry-After``: a reschedule try starts with a hook that has not heard it."""
        interval = float(super()._get_next_poke_interval(started_at, run_duration, poke_count))
        if self._not_before is not None:
            interval = max(interval, self._not_before - self._now())
        return interval

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Back from the triggerer: the event becomes success, or the same failures as a poke."""
        job_ids = self._ids()
        payload = result_from_event(event)
        self.log.info("%s", payload.get("message") or "Zendesk finished the jobs")
        return job_summaries(job_ids, payload.get("jobs") or [], many=self._many)
