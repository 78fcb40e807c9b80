"""The Airflow exception for each bad end of a wait, the same from every waiting task."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_zendesk_jobs.exceptions import (
    ErrorKind,
)
from airflow_provider_zendesk_jobs.waiting.events import EVENT_ERROR, EVENT_FAILED, EVENT_SUCCESS, EVENT_TIMEOUT

__all__ = ["ZendeskWaitError", "exception_for_error", "result_from_event"]


class ZendeskWaitError(AirflowException):
    """The wait stopped on an answer it could not get past: a plain failure, the task's ``retries`` apply."""


#: The kind of the errors named by class in events of releases that sent no ``error_kind``.
_KIND_OF_OLD_EVENT_NAMES = {"ZendeskAuthError": ErrorKind.PERMANENT, "ZendeskInvalidInputError": ErrorKind.PERMANENT}


def exception_for_error(error: BaseException | ErrorKind, message: str | None = None) -> AirflowException:
    """``AirflowFailException`` for a permanent error or kind, else :class:`ZendeskWaitError`."""
    kind = error if isinstance(error, ErrorKind) else getattr(error, "kind", ErrorKind.FAILED)
    text = (message if message is not None else str(error)) or f"The Zendesk wait stopped on {type(error).__name__}."
    return (AirflowFailException if kind is ErrorKind.PERMANENT else ZendeskWaitError)(text)


def result_from_event(
    event: Any, *, timeout_exception: Callable[[str], BaseException] = AirflowSensorTimeout
) -> dict[str, Any]:
    """The trigger's event, back in the task: the success payload, or the exception it means.

    ``timeout`` raises ``timeout_exception`` (``AirflowSensorTimeout`` by default, so ``soft_fail`` skips a sensor).
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
        try:
            kind = ErrorKind(event.get("error_kind"))
        except ValueError:
            kind = _KIND_OF_OLD_EVENT_NAMES.get(str(event.get("error_type")), ErrorKind.FAILED)
        raise exception_for_error(kind, message or "The Zendesk wait stopped on an error.")
    raise ZendeskWaitError(f"The Zendesk trigger sent an event with an unknown status {status!r}.")
