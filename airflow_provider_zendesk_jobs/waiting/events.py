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

__all__ = ["EVENT_ERROR", "EVENT_FAILED", "EVENT_SUCCESS", "EVENT_TIMEOUT", "event_payload", "job_summary"]

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
