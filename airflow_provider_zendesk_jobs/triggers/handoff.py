"""The hand-off from a task to the triggerer: a worker's deferral of a wait, and Airflow 3.3's start there.

The tasks (sensor, results operator, bulk operator) build a :class:`~..waiting.job_wait.JobWait` and
hand it over here; the waiting component knows nothing of the trigger. This module imports the
trigger only when a task defers, so a DAG file that uses the tasks stays cheap to parse. With
``start_from_trigger`` no worker runs the task before it waits: the scheduler stores
:func:`start_trigger_args` as the trigger's row, and the triggerer renders the task's template
fields into the trigger attributes of the same names (``job_id``, ``zendesk_conn_id``) before ``run()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_zendesk_jobs.waiting.rule import DEFERRAL_BACKSTOP_SECONDS

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator
    from airflow.triggers.base import StartTriggerArgs

    from airflow_provider_zendesk_jobs.waiting.job_wait import JobWait

__all__ = ["TRIGGER_CLASSPATH", "defer_wait", "start_kwargs", "start_trigger_args"]

TRIGGER_CLASSPATH = "airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger"


def defer_wait(
    task: BaseOperator, wait: JobWait, *, deadline: float | None, kwargs: Mapping[str, Any] | None = None
) -> NoReturn:
    """Hand ``wait``, its start, ``deadline`` (epoch seconds or None) and any pause ahead to the triggerer.

    ``kwargs`` come back to the task's ``execute_complete``. Airflow's deferral timeout is set
    :data:`DEFERRAL_BACKSTOP_SECONDS` past the deadline.
    """
    from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger  # only when deferring

    remaining = None if deadline is None else max(0.0, deadline - wait.clock())
    jobs = f"{len(wait.job_ids)} job{'' if len(wait.job_ids) == 1 else 's'}"
    until = "" if remaining is None else f" for up to {remaining:.0f} s"
    wait.log.info("Deferring: the triggerer checks %s every %g s%s", jobs, wait.poll_interval, until)
    task.defer(
        trigger=ZendeskJobStatusTrigger(
            job_ids=list(wait.job_ids),
            zendesk_conn_id=wait.zendesk_conn_id,
            poll_interval=wait.poll_interval,
            not_found_grace=wait.options.not_found_grace,
            fail_on_item_errors=wait.options.fail_on_item_errors,
            started_at=wait.started_at,
            deadline=deadline,
            not_before=wait.not_before if wait.pause_left() > 0 else None,
        ),
        method_name="execute_complete",
        kwargs=None if kwargs is None else dict(kwargs),
        timeout=None if remaining is None else timedelta(seconds=remaining + DEFERRAL_BACKSTOP_SECONDS),
    )


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
