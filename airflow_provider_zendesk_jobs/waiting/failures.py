"""The Airflow exception for each bad end of a wait, the same from every waiting task.

Fail for good (``AirflowFailException``: wrong credentials, bad input), time out (the
``timeout_exception`` a task chooses), or :class:`ZendeskWaitError`, a plain failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskJobsError,
    ZendeskRateLimitError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.waiting.events import EVENT_ERROR, EVENT_FAILED, EVENT_SUCCESS, EVENT_TIMEOUT

__all__ = ["PERMANENT_ERRORS", "TRANSIENT_ERRORS", "ZendeskWaitError", "exception_for_error", "result_from_event"]


class ZendeskWaitError(AirflowException):
    """The wait stopped on an answer from Zendesk it could not get past (not a dead job, not refused credentials).

    A plain task failure: the task's ``retries``, if it has any, apply to it.
    """


#: Errors no retry of the task can fix: wrong credentials or permissions, unusable input.
PERMANENT_ERRORS: tuple[type[ZendeskJobsError], ...] = (ZendeskAuthError, ZendeskInvalidInputError)
_PERMANENT_ERROR_NAMES = frozenset(cls.__name__ for cls in PERMANENT_ERRORS)
#: Errors that only say "not now": a long wait checks again later instead of failing on them.
TRANSIENT_ERRORS: tuple[type[ZendeskJobsError], ...] = (ZendeskRateLimitError, ZendeskUnavailableError)


def exception_for_error(error: BaseException | str, message: str | None = None) -> AirflowException:
    """The Airflow exception for a provider error, or for an error named in a trigger event.

    Auth and input errors fail the task for good (``AirflowFailException``); anything else
    becomes :class:`ZendeskWaitError`, a plain failure (the task's retries, if any, apply).
    ``error`` is an exception or its class name; ``message`` overrides the text (never a traceback).
    """
    name = error if isinstance(error, str) else type(error).__name__
    text = (message if message is not None else str(error)) or f"The Zendesk wait stopped on {name}."
    if isinstance(error, PERMANENT_ERRORS) or name in _PERMANENT_ERROR_NAMES:
        return AirflowFailException(text)
    return ZendeskWaitError(text)


def result_from_event(
    event: Any, *, timeout_exception: Callable[[str], BaseException] = AirflowSensorTimeout
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
