"""The arguments Airflow 3.3's scheduler creates a sensor's trigger from (``StartTriggerArgs``).

With ``start_from_trigger``, no worker runs the task before it waits: the scheduler stores these
arguments as the trigger's row, and the triggerer renders the task's template fields into the
trigger attributes of the same names (``job_id``, ``zendesk_conn_id``) before ``run()``. Nothing
here imports the trigger: it is built while the DAG is parsed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_zendesk_jobs.waiting.rule import DEFERRAL_BACKSTOP_SECONDS

if TYPE_CHECKING:
    from airflow.triggers.base import StartTriggerArgs

__all__ = ["TRIGGER_CLASSPATH", "start_kwargs", "start_trigger_args"]

TRIGGER_CLASSPATH = "airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger"


def start_kwargs(
    *,
    job_id: object,
    zendesk_conn_id: str,
    poll_interval: float,
    not_found_grace: float,
    fail_on_item_errors: bool,
    timeout: float,
) -> dict[str, Any]:
    """The trigger's arguments: ``job_id`` and ``zendesk_conn_id`` are the task's raw template fields."""
    return {
        "job_ids": None,
        "job_id": job_id,
        "zendesk_conn_id": zendesk_conn_id,
        "poll_interval": poll_interval,
        "not_found_grace": not_found_grace,
        "fail_on_item_errors": fail_on_item_errors,
        "timeout": timeout,
        "end_in_triggerer": True,
    }


def start_trigger_args(*, timeout: float, **kwargs: Any) -> StartTriggerArgs:
    """A task's own ``StartTriggerArgs`` (Airflow 3.3+): the trigger's arguments, resuming in ``execute_complete``.

    ``timeout`` counts from the trigger's first run; Airflow's own trigger timeout, set
    :data:`DEFERRAL_BACKSTOP_SECONDS` later and counted from when the scheduler created the
    trigger, is the absolute backstop, past a triggerer restart too.
    """
    from airflow.triggers.base import StartTriggerArgs  # only Airflow 3.3+ starts a task in the triggerer

    return StartTriggerArgs(
        trigger_cls=TRIGGER_CLASSPATH,
        trigger_kwargs=start_kwargs(timeout=timeout, **kwargs),
        next_method="execute_complete",
        next_kwargs=None,
        timeout=timedelta(seconds=timeout + DEFERRAL_BACKSTOP_SECONDS),
    )
