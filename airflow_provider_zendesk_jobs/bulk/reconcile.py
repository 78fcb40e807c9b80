"""Did a bulk call start a job? What its failure says, and for a lost answer what Zendesk's job list says. Pure.

What a failed bulk call means for its chunk (:func:`classify_failure`):

* **not started**: the job limit (429 ``TooManyJobs``), the request rate (429) or 503: Zendesk
  says it did nothing; or no connection opened (refused, a connect timeout, a name that does not
  resolve), so the request never left. The chunk goes back to the queue and is sent later.
* **unknown**: the answer was lost after the request left (another 5xx, a timeout or a cut
  connection, a 2xx whose body is not a job status): a job may have started. The chunk is
  never simply sent again; Zendesk's job list settles it (below).
* **refused**: Zendesk refused the chunk itself (400, 413, 422): its records fail with Zendesk's
  answer, nothing started, and the import goes on. A later try sends it again only if its
  records were corrected.
* **stop**: the credentials, the permission or the call itself (401, 403, 404, a redirect, any
  other answer): no chunk can go through, so the import stops, naming the reason.

A lost answer (or a worker killed before the job id was written down) is settled here. Zendesk's
``Idempotency-Key`` would settle it, but Zendesk documents it for creating single tickets only,
not for the bulk calls; so the job list (Zendesk keeps about the last 100 jobs) is searched for
a job the call could have started: one this import does not know yet, with as many records as
the chunk, listed above the newest of this import's jobs that had finished before the call (the
list is newest first, so a job below it is older than the call). Its items prove it is the
chunk's when they name the chunk's own records by id, email or external_id. An item's ``index``
proves nothing (every call's items count from 0), so for ticket creates and imports a candidate
cannot be proven.

"No job started" needs proof too: the list must reach back past the call, either to that
finished job of this import or to its own end (fewer than 100 jobs). A chunk whose call is
older than the list can show (100 newer jobs, or Zendesk's retention of about a day) is
reported, never sent again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from enum import Enum
from typing import Any

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.bulk.results import map_chunk
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskJobsError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.jobs import JobStatus

__all__ = ["CHUNK_REFUSALS", "Submission", "Verdict", "classify_failure", "find_started_job"]

#: Answers that refuse the chunk's records themselves, not the call: the next chunk may go through.
CHUNK_REFUSALS = frozenset({400, 413, 422})


class Submission(Enum):
    NOT_STARTED = "not started"
    UNKNOWN = "unknown"
    REFUSED = "refused"
    STOP = "stop"


def classify_failure(error: ZendeskJobsError) -> Submission:
    """What a bulk call that failed with ``error`` means for its chunk (see the module's docstring)."""
    if isinstance(error, ZendeskRateLimitError):
        return Submission.NOT_STARTED
    if isinstance(error, ZendeskUnavailableError):
        return Submission.NOT_STARTED if error.status_code == 503 or error.never_sent else Submission.UNKNOWN
    if isinstance(error, ZendeskResponseError) and (error.status_code is None or 200 <= error.status_code < 300):
        return Submission.UNKNOWN
    if error.status_code in CHUNK_REFUSALS:
        return Submission.REFUSED
    return Submission.STOP


class Verdict(Enum):
    FOUND = "found"  # the chunk's job: record it, never send the chunk again
    NOT_STARTED = "not started"  # no job can be the chunk's: send it again
    WAIT = "wait"  # a candidate is still running, or the call is too recent to be listed: look again later
    UNPROVABLE = "unprovable"  # a candidate no item ties to the chunk, or a list too short to prove: never resent


def _proven(action: BulkAction, records: Sequence[Any], job: JobStatus) -> bool:
    if action.match_by == ("index",) or not job.items:
        return False
    keyed = replace(action, match_by=tuple(key for key in action.match_by if key != "index"))
    mapped = map_chunk(keyed, 0, records, job)
    return not mapped.unmapped and not mapped.unreported


def find_started_job(
    action: BulkAction,
    records: Sequence[Any],
    listed: Sequence[JobStatus],
    known_job_ids: Collection[str],
    *,
    settled: bool,
    after: str | None = None,
    complete: bool = False,
    expired: bool = False,
) -> tuple[Verdict, JobStatus | None]:
    """What the job list says of one uncertain chunk.

    :param listed: the jobs of the list, newest first.
    :param known_job_ids: the jobs this import already recorded (never a candidate).
    :param settled: True once long enough has passed since the call for its job to be listed.
    :param after: the newest of this import's jobs that had finished before the call.
    :param complete: True when the list is all Zendesk keeps (it ended before 100 jobs).
    :param expired: True when the call is older than Zendesk keeps jobs.
    """
    ids = [job.id for job in listed]
    below = ids.index(after) if after is not None and after in ids else None
    newer = listed if below is None else listed[:below]
    candidates = [
        job for job in newer if job.id not in known_job_ids and (job.total is None or job.total == len(records))
    ]
    proven = [job for job in candidates if job.is_terminal and _proven(action, records, job)]
    if len(proven) == 1:
        return Verdict.FOUND, proven[0]
    if not candidates:
        if not settled:
            return Verdict.WAIT, None
        covered = (below is not None or complete) and not expired
        return (Verdict.NOT_STARTED, None) if covered else (Verdict.UNPROVABLE, None)
    if any(not job.is_terminal for job in candidates):
        return Verdict.WAIT, None
    return Verdict.UNPROVABLE, None
