"""The Airflow side of waiting on Zendesk jobs, shared by the sensor and the results operator.

The rule for "is the wait over?" is :func:`~airflow_provider_zendesk_jobs.waiting.evaluate_wait`;
this module holds what every *task* that waits does around it, so the sensor and the
operator fail with the same exceptions and messages:

* :func:`resolve_job_ids` reads the templated ``job_id`` field before any request.
* :func:`read_job_statuses` reads the jobs, one ``show_many`` per 100 ids.
* :class:`ProgressLog` writes a line per job per poll (at INFO every poll here; the trigger
  writes changes at INFO and the rest at DEBUG).
* :func:`exception_for_outcome`, :func:`exception_for_error` and :func:`result_from_event`
  turn a failed outcome, a provider error or the trigger's event into the Airflow
  exception that makes the task do the right thing: fail for good (a dead job, wrong
  credentials, bad input), time out as a sensor (so ``soft_fail`` skips), or fail with
  :class:`ZendeskWaitError` (an answer no wait can get past, such as a request Zendesk
  refuses; the task's ``retries``, if it has any, apply as to any failure). An outage never
  ends a deferred wait: the triggerer's poller waits it out until the task's own deadline.
* :func:`first_check_time` finds when the wait began, across reschedules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    Context,
)

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskJobsError,
    ZendeskRateLimitError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.job_ids import normalize_job_ids
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.triggers.events import (
    EVENT_ERROR,
    EVENT_FAILED,
    EVENT_SUCCESS,
    EVENT_TIMEOUT,
    job_summary,
)
from airflow_provider_zendesk_jobs.triggers.progress import ProgressLog
from airflow_provider_zendesk_jobs.waiting import WaitDecision, WaitOutcome

if TYPE_CHECKING:
    from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook

__all__ = [
    "PERMANENT_ERRORS",
    "PERMANENT_ERROR_NAMES",
    "TRANSIENT_ERRORS",
    "ProgressLog",
    "ZendeskWaitError",
    "exception_for_error",
    "exception_for_outcome",
    "first_check_time",
    "job_summaries",
    "pause_asked",
    "pause_still_ahead",
    "read_job_statuses",
    "resolve_job_ids",
    "result_from_event",
]


class ZendeskWaitError(AirflowException):
    """The wait stopped on an answer from Zendesk it could not get past (not a dead job, not refused credentials).

    A plain task failure: the task's ``retries``, if it has any, apply to it.
    """


#: Errors no retry of the task can fix: wrong credentials or permissions, unusable input.
PERMANENT_ERRORS: tuple[type[ZendeskJobsError], ...] = (ZendeskAuthError, ZendeskInvalidInputError)
PERMANENT_ERROR_NAMES: frozenset[str] = frozenset(cls.__name__ for cls in PERMANENT_ERRORS)
#: Errors that only say "not now": a long wait checks again later instead of failing on them.
TRANSIENT_ERRORS: tuple[type[ZendeskJobsError], ...] = (ZendeskRateLimitError, ZendeskUnavailableError)


def resolve_job_ids(value: Any) -> tuple[list[str], bool]:
    """The rendered ``job_id`` field as ``(ids, many)``; bad input fails the task before any request.

    ``many`` is True when a list was given (the task then returns a list, in the same order).
    """
    try:
        return normalize_job_ids(value)
    except ZendeskInvalidInputError as exc:
        raise AirflowFailException(str(exc)) from None


def pause_asked(error: BaseException, now: float) -> float | None:
    """Epoch seconds before which Zendesk asked for no request (a 429 with ``Retry-After``), if it did.

    The hook remembers the pause only while it lives; a reschedule try or the triggerer starts
    with a new one, so the waiting task carries the pause over itself.
    """
    if isinstance(error, ZendeskRateLimitError) and error.retry_after:
        return now + error.retry_after
    return None


def pause_still_ahead(not_before: float | None, now: float) -> float | None:
    """The carried-over pause while it has not passed yet: what a deferral hands to the trigger."""
    return not_before if not_before is not None and not_before > now else None


def read_job_statuses(hook: ZendeskJobStatusHook, job_ids: Sequence[str]) -> dict[str, JobStatus]:
    """The jobs Zendesk knows among ``job_ids``, keyed by id: one ``show_many`` per 100 ids."""
    return hook.get_job_statuses_by_id(job_ids)


def exception_for_outcome(outcome: WaitOutcome) -> AirflowFailException:
    """A failed outcome (a dead job, failed items when asked, an unknown id): no retry revives it."""
    if outcome.decision is not WaitDecision.FAILED:
        raise ValueError(f"only a failed outcome becomes an exception, not {outcome.decision.value!r}")
    return AirflowFailException(outcome.message)


def exception_for_error(error: BaseException | str, message: str | None = None) -> AirflowException:
    """The Airflow exception for a provider error, or for an error named in a trigger event.

    Auth and input errors fail the task for good (``AirflowFailException``); anything else
    becomes :class:`ZendeskWaitError`, a plain failure (the task's retries, if any, apply).
    ``error`` is an exception or its class name; ``message`` overrides the text (never a traceback).
    """
    name = error if isinstance(error, str) else type(error).__name__
    text = message if message is not None else str(error)
    if not text:
        text = f"The Zendesk wait stopped on {name}."
    if isinstance(error, PERMANENT_ERRORS) or name in PERMANENT_ERROR_NAMES:
        return AirflowFailException(text)
    return ZendeskWaitError(text)


def result_from_event(
    event: Any,
    *,
    timeout_exception: Callable[[str], BaseException] = AirflowSensorTimeout,
) -> dict[str, Any]:
    """The trigger's event, back in the task: return the success payload, or raise what it means.

    ``failed`` raises ``AirflowFailException(message)``; ``timeout`` raises
    ``timeout_exception(message)`` (``AirflowSensorTimeout`` by default, so ``soft_fail``
    skips a sensor); ``error`` raises :func:`exception_for_error` for its ``error_type``.
    """
    if not isinstance(event, Mapping):
        raise ZendeskWaitError(f"The Zendesk trigger sent no usable event ({type(event).__name__}); cannot go on.")
    status = event.get("status")
    message = str(event.get("message") or "")
    if status == EVENT_SUCCESS:
        return dict(event)
    if status == EVENT_FAILED:
        raise AirflowFailException(message or "A Zendesk job failed.")
    if status == EVENT_TIMEOUT:
        raise timeout_exception(message or "The Zendesk jobs did not finish before the timeout.")
    if status == EVENT_ERROR:
        raise exception_for_error(str(event.get("error_type") or "Exception"), message or None)
    raise ZendeskWaitError(f"The Zendesk trigger sent an event with an unknown status {status!r}.")


def job_summaries(
    job_ids: Sequence[str], jobs: Mapping[str, JobStatus] | Sequence[Mapping[str, Any]], *, many: bool
) -> dict[str, Any] | list[dict[str, Any]] | None:
    """The waiting task's XCom value: ``{"id", "status", "total", "progress", "message"}`` per job.

    A list (in the order of ``job_ids``) when the task was given a list, else the one job's
    dict. ``jobs`` is either parsed statuses keyed by id or the ``jobs`` list of a trigger event.
    """
    if isinstance(jobs, Mapping):
        by_id: dict[str, dict[str, Any]] = {job_id: job_summary(job) for job_id, job in jobs.items()}
    else:
        by_id = {str(item.get("id")): dict(item) for item in jobs}
    summaries = [by_id[job_id] for job_id in job_ids if job_id in by_id]
    if many:
        return summaries
    return summaries[0] if summaries else None


def first_check_time(context: Context, *, clock: Callable[[], float], reschedule: bool) -> float:
    """Epoch seconds of the wait's first check: now, or, in reschedule mode, the first reschedule.

    The same start Airflow's ``BaseSensorOperator`` measures ``timeout`` from, so the
    not-found grace and the timeout agree about when the wait began.
    """
    if reschedule:
        ti = context.get("ti")
        first = getattr(ti, "get_first_reschedule_date", None)
        if first is not None:
            started = first(context)
            if started is not None:
                return float(started.timestamp())
    return clock()
