"""The trigger's one event, in the form the sensor and the results operator both read.

``{"status": "success" | "failed" | "timeout" | "error", "job_ids", "message", "jobs": [summaries]}``,
plus ``error_type`` (for people) and ``error_kind`` (an ``ErrorKind`` value, which decides) for
``error``. Only primitives: the triggerer stores the event in the metadata database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_zendesk_jobs.exceptions import ErrorKind
from airflow_provider_zendesk_jobs.jobs import JobStatus

__all__ = ["EVENT_ERROR", "EVENT_FAILED", "EVENT_SUCCESS", "EVENT_TIMEOUT", "event_payload", "job_summary", "summaries"]

EVENT_SUCCESS = "success"
EVENT_FAILED = "failed"
EVENT_TIMEOUT = "timeout"
EVENT_ERROR = "error"


def job_summary(job: JobStatus) -> dict[str, Any]:
    """What a waiting task needs to know about a job, without its (possibly large) results."""
    return {"id": job.id, "status": job.status, "total": job.total, "progress": job.progress, "message": job.message}


def event_payload(
    status: str,
    job_ids: Sequence[str],
    message: str,
    statuses: Mapping[str, JobStatus],
    error: BaseException | None = None,
) -> dict[str, Any]:
    """The event for ``job_ids``; ``jobs`` lists the jobs seen last, in the order of ``job_ids``."""
    payload: dict[str, Any] = {
        "status": status,
        "job_ids": list(job_ids),
        "message": message,
        "jobs": [job_summary(statuses[job_id]) for job_id in job_ids if job_id in statuses],
    }
    if status == EVENT_ERROR:
        payload["error_type"] = type(error).__name__ if error is not None else "Exception"
        payload["error_kind"] = getattr(error, "kind", ErrorKind.FAILED).value
    return payload


def summaries(
    jobs: Mapping[str, JobStatus] | Sequence[Mapping[str, Any]], job_ids: Sequence[str], *, many: bool
) -> dict[str, Any] | list[dict[str, Any]] | None:
    """A waiting task's XCom: ``{"id", "status", "total", "progress", "message"}`` per job, in the order of ``job_ids``.

    A list when the task was given a list (``many``), else the one job's summary. ``jobs`` is
    either parsed statuses keyed by id or the ``jobs`` list of a trigger event.
    """
    by_id = (
        {job_id: job_summary(job) for job_id, job in jobs.items()}
        if isinstance(jobs, Mapping)
        else {str(item.get("id")): dict(item) for item in jobs}
    )
    found = [by_id[job_id] for job_id in job_ids if job_id in by_id]
    return found if many else (found[0] if found else None)
