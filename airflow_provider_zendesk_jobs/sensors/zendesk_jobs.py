"""``ZendeskJobStatusSensor``: the gate a pipeline puts after a bulk call to Zendesk.

Each poke is one check of a :class:`~airflow_provider_zendesk_jobs.waiting.job_wait.JobWait`:
a rate limit or an outage past the hook's retry budget only says "not yet", so a long wait
does not fail on one bad minute. Deferred, the wait moves to the triggerer after one check,
where thousands of waits share one poller per connection. With ``start_from_trigger=True``
on Airflow 3.3+, the wait starts in the triggerer and a worker never runs it (see
:meth:`ZendeskJobStatusSensor.start_in_triggerer_refusal` for where it cannot).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, Context, PokeReturnValue, XComArg, conf

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.get_provider_info import DEFAULT_CONN_ID
from airflow_provider_zendesk_jobs.links import ZendeskJobLink
from airflow_provider_zendesk_jobs.triggers.handoff import defer_wait, start_trigger_args
from airflow_provider_zendesk_jobs.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_zendesk_jobs.waiting.failures import result_from_event
from airflow_provider_zendesk_jobs.waiting.job_wait import JobWait, seconds
from airflow_provider_zendesk_jobs.waiting.rule import DEFAULT_NOT_FOUND_GRACE, WaitOptions

__all__ = ["ZendeskJobStatusSensor", "ZendeskJobsDeprecationWarning"]


class ZendeskJobsDeprecationWarning(DeprecationWarning):
    """An argument of this provider that still works but goes away in a coming release."""


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
    :param not_found_grace: seconds (or a ``timedelta``) from the first check during which an
        unknown id counts as "not visible yet".
    :param deferrable: wait in the triggerer; defaults to ``[operators] default_deferrable``.
    :param start_from_trigger: on Airflow 3.3+, with ``deferrable=True``, start the wait in the
        triggerer: no worker runs the task, and a success (its XCom included) or a failed job ends
        the task there too; other outcomes (timeout, errors) resume on a worker as in deferred
        mode. ``job_id`` is rendered in the triggerer, as text. Where it cannot apply (an older
        Airflow, ``deferrable=False``, an ``XComArg`` job id, a mapped task) the task runs as
        without it, and its log says why.
    :param poll_interval: deprecated: the old name of ``poke_interval`` in deferred mode (it
        still sets the triggerer's interval, with a warning).

    Everything ``BaseSensorOperator`` takes works as usual. ``poke_interval`` is the time
    between checks in every mode, the triggerer's included. ``timeout`` (default 7 days) is a
    sensor timeout: it counts from the first check, across reschedules and deferral, and ends
    the wait with ``AirflowSensorTimeout``, which ``soft_fail=True`` turns into a skip.
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
        not_found_grace: float | timedelta = DEFAULT_NOT_FOUND_GRACE,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float | timedelta | None = None,
        start_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        #: Set by the deprecated ``poll_interval``: the triggerer's interval, as it was before the rename.
        self._deferred_interval: float | None = None
        if poll_interval is not None:
            warnings.warn(
                "ZendeskJobStatusSensor(poll_interval=...) is deprecated and will be removed in the next "
                "release: use poke_interval, the time between checks in every mode, the triggerer's included.",
                ZendeskJobsDeprecationWarning,
                stacklevel=2,
            )
            self._deferred_interval = seconds(poll_interval, "poll_interval", positive=True)
        self.job_id = job_id
        self.zendesk_conn_id = zendesk_conn_id
        self.fail_on_item_errors = fail_on_item_errors
        self.not_found_grace = seconds(not_found_grace, "not_found_grace")
        self.deferrable = deferrable
        if deferrable and not (self._deferred_interval or self.poke_interval):
            raise ZendeskInvalidInputError("A deferrable ZendeskJobStatusSensor needs poke_interval above 0.")
        self._job_wait: JobWait | None = None
        #: Why ``start_from_trigger=True`` could not apply (None when it does, or was not asked).
        self.start_in_triggerer_refusal: str | None = None
        if start_from_trigger:
            self.start_in_triggerer_refusal = self._refusal()
            if self.start_in_triggerer_refusal is None:
                self._start_in_triggerer()

    def _refusal(self) -> str | None:
        if not AIRFLOW_V_3_3_PLUS:
            from airflow import __version__

            return (
                f"Airflow {__version__} starts every task on a worker (starting in the triggerer, with "
                "templates rendered there, needs Airflow 3.3 or later)"
            )
        if not self.deferrable:
            return "the sensor is not deferrable (start_from_trigger needs deferrable=True)"
        if isinstance(self.job_id, XComArg):
            return "job_id is an XComArg, which only a worker resolves (a template string is rendered in the triggerer)"
        return None

    def _start_in_triggerer(self) -> None:
        """Airflow 3.3's scheduler creates the trigger from these arguments; the triggerer renders ``job_id``.

        ``start_trigger_args`` is replaced on this instance, never mutated: the class attribute
        is shared by every sensor.
        """
        self.start_from_trigger = True
        self.start_trigger_args = start_trigger_args(
            job_id=self.job_id,
            zendesk_conn_id=self.zendesk_conn_id,
            poll_interval=self._deferred_interval or float(self.poke_interval),
            not_found_grace=self.not_found_grace,
            fail_on_item_errors=self.fail_on_item_errors,
            timeout=float(self.timeout),
        )

    def build_wait(
        self, *, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> JobWait:
        """The wait one try runs, on ``clock`` and ``sleep``: a subclass may pass its own (tests use the emulator's)."""
        return JobWait(
            self.job_id,
            options=WaitOptions(fail_on_item_errors=self.fail_on_item_errors, not_found_grace=self.not_found_grace),
            log=self.log,
            poll_interval=self._deferred_interval or float(self.poke_interval),
            zendesk_conn_id=self.zendesk_conn_id,
            clock=clock,
            sleep=sleep,
        )

    def _wait(self) -> JobWait:
        if self._job_wait is None:
            self._job_wait = self.build_wait()
        return self._job_wait

    def execute(self, context: Context) -> Any:
        self._say_why_on_a_worker(context)
        self._job_wait = wait = self.build_wait()  # bad input fails here, before any request
        if not self.deferrable:
            first_try = getattr(context.get("ti"), "get_first_reschedule_date", None) if self.reschedule else None
            started = first_try(context) if first_try is not None else None
            if started is not None:  # where BaseSensorOperator measures timeout from, so grace and timeout agree
                wait.started_at = float(started.timestamp())
            return super().execute(context)
        first = self.poke(context)
        if first:
            self.log.info("Zendesk had already finished; no need to defer.")
            return first.xcom_value if isinstance(first, PokeReturnValue) else None
        defer_wait(self, wait, deadline=wait.started_at + self.timeout)

    def _say_why_on_a_worker(self, context: Context) -> None:
        """One INFO line when ``start_from_trigger=True`` was asked but the task runs on a worker."""
        reason = self.start_in_triggerer_refusal
        if reason is None and self.start_from_trigger and getattr(context.get("ti"), "map_index", -1) >= 0:
            reason = "a mapped task is started on a worker (Airflow starts only unmapped tasks in the triggerer)"
        if reason is not None:
            self.log.info("start_from_trigger does not apply, the wait runs as usual: %s.", reason)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        wait = self._wait()
        outcome = wait.check()
        if outcome is None or not outcome.done:
            return False
        self.log.info("%s", outcome.message)
        return PokeReturnValue(True, xcom_value=wait.summaries(outcome.statuses))

    def _get_next_poke_interval(self, started_at: Any, run_duration: Any, poke_count: int) -> float:
        """Never sooner than Zendesk's ``Retry-After``: a reschedule try starts with a hook that has not heard it."""
        interval = float(super()._get_next_poke_interval(started_at, run_duration, poke_count))
        return max(interval, self._wait().pause_left())

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Back from the triggerer: the event becomes success, or the same failures as a poke."""
        wait = self.build_wait()
        payload = result_from_event(event)
        self.log.info("%s", payload.get("message") or "Zendesk finished the jobs")
        return wait.summaries(payload.get("jobs") or [])
