"""The trigger's stored arguments, checked when the wait starts, not when the trigger is built.

The triggerer builds each trigger from the kwargs in its database row and survives only a
``TypeError`` there: any other exception ends the runner and every deferred task it holds. A row
may come from an older or newer release, or a hand edit, so :func:`check_trigger_arguments` runs
in ``run()``, where a bad value ends that one wait with an error event naming it. It accepts all
that release 0.1.0 wrote and, for ``job_ids``, the text a template renders for a list (as the
sensor's ``job_id``: ``"V3-a,V3-b"``, ``"['V3-a', 'V3-b']"``, a JSON list).

A wait started in the triggerer (:mod:`.handoff`, Airflow 3.3's ``start_from_trigger``)
is stored with the sensor's ``job_id`` instead of ``job_ids`` (Airflow renders a task's template
only into a trigger argument of the same name), a ``timeout`` counted from its first run instead
of an absolute ``deadline`` (no worker computed one), and ``end_in_triggerer``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.finite_numbers import finite_float
from airflow_provider_zendesk_jobs.job_ids import normalize_job_ids, show_value

__all__ = ["TriggerArguments", "check_trigger_arguments"]

#: The latest epoch second a ``datetime`` can show (9999-12-31T23:59:59Z): deadlines end up in messages.
_LAST_EPOCH = 253_402_300_799.0


@dataclass(frozen=True)
class TriggerArguments:
    """The trigger's arguments once checked: what the wait runs on."""

    job_ids: list[str]
    zendesk_conn_id: str
    poll_interval: float
    not_found_grace: float
    fail_on_item_errors: bool
    started_at: float | None
    deadline: float | None
    not_before: float | None
    #: Seconds from the first check to the deadline, for a wait with no absolute ``deadline``.
    timeout: float | None = None
    #: Started in the triggerer: a success or a failed job ends the task there, with no worker.
    end_in_triggerer: bool = False
    #: The ids were given as a list (or a list's text), so the task's XCom is a list.
    many: bool = True

    @property
    def effective_deadline(self) -> float | None:
        """The absolute deadline, once ``started_at`` is known (``timeout`` counts from it)."""
        if self.deadline is not None or self.timeout is None or self.started_at is None:
            return self.deadline
        return min(self.started_at + self.timeout, _LAST_EPOCH)


def _seconds(value: object, *, positive: bool) -> float:
    number = finite_float(value)
    if number is None:
        raise ZendeskInvalidInputError(f"{show_value(value)} is not a finite number of seconds")
    if number < 0 or (positive and number == 0):
        raise ZendeskInvalidInputError(f"{show_value(value)} must be {'above' if positive else 'at least'} 0 seconds")
    return number


def _epoch(value: object) -> float | None:
    if value is None:
        return None
    number = finite_float(value)
    if number is None or not 0 <= number <= _LAST_EPOCH:
        raise ZendeskInvalidInputError(
            f"{show_value(value)} is not a time: it must be epoch seconds (UTC) between 1970 and 9999, or None"
        )
    return number


def _job_ids(value: object) -> tuple[list[str], bool]:
    if not isinstance(value, str | list | tuple):
        raise ZendeskInvalidInputError(
            f"{type(value).__name__} {show_value(value)} is not a Zendesk job id or a list of them"
        )
    ids, many = normalize_job_ids(value)
    return list(dict.fromkeys(ids)), many  # one read of each id, in the order given


def _optional_seconds(value: object) -> float | None:
    return None if value is None else _seconds(value, positive=False)


def _connection_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ZendeskInvalidInputError(f"{show_value(value)} is not an Airflow connection id")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ZendeskInvalidInputError(f"{show_value(value)} is not true or false")
    return value


def check_trigger_arguments(given: Mapping[str, Any], unknown: Mapping[str, Any]) -> TriggerArguments:
    """The checked arguments, or :class:`ZendeskInvalidInputError` naming every bad one.

    ``given`` holds the trigger's stored arguments by name; ``unknown`` the ones this release does
    not know (from a newer release, say), which are refused: ignoring an option that may change
    what the wait means (when it fails, how long it waits) could end it with the wrong answer.
    """
    problems: list[str] = []
    checked: dict[str, Any] = {}
    ids_name = "job_ids" if given.get("job_ids") is not None or given.get("job_id") is None else "job_id"
    try:
        checked["job_ids"], checked["many"] = _job_ids(given.get(ids_name))
    except ZendeskInvalidInputError as exc:
        problems.append(f"{ids_name}: {str(exc).rstrip('.')}")
    for name, check in _CHECKS.items():
        try:
            checked[name] = check(given.get(name))
        except ZendeskInvalidInputError as exc:
            problems.append(f"{name}: {str(exc).rstrip('.')}")
        except Exception as exc:  # a check tripping over a value must still end in a message, not a crash
            problems.append(f"{name}: could not be read ({type(exc).__name__}: {exc})")
    for name in sorted(unknown, key=str):
        problems.append(
            f"{show_value(name)}: not an argument of this release of the trigger (value {show_value(unknown[name])}); "
            "the row was probably written by a newer release of airflow-provider-zendesk-jobs. Install the same "
            "release on the workers and the triggerer"
        )
    if problems:
        raise ZendeskInvalidInputError(
            "The deferred Zendesk wait cannot start: " + "; ".join(problems) + ". No retry changes a stored argument: "
            "fix the DAG or the provider release, then clear the task."
        )
    return TriggerArguments(**checked)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "zendesk_conn_id": _connection_id,
    "poll_interval": lambda value: _seconds(value, positive=True),
    "not_found_grace": lambda value: _seconds(value, positive=False),
    "fail_on_item_errors": _flag,
    "started_at": _epoch,
    "deadline": _epoch,
    "not_before": _epoch,
    "timeout": _optional_seconds,
    "end_in_triggerer": lambda value: False if value is None else _flag(value),
}
