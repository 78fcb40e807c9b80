"""Was an uncertain chunk started? Zendesk's job list decides, when it can. A pure function.

A bulk call whose answer was lost (a 5xx other than 503, a timeout after the request was sent,
a worker killed before the job id was written down) may or may not have started a job.
Zendesk's ``Idempotency-Key`` would settle it, but Zendesk documents it for creating single
tickets only, not for the bulk calls; so the job list (Zendesk keeps about the last 100 jobs)
is searched for a job the call could have started: one this import does not know yet, with as
many records as the chunk, listed above the newest of this import's jobs that had finished before
the call (the list is newest first, so a job below it is older than the call). Its items prove it
is the chunk's when they name the chunk's own records by id, email or external_id. An item's
``index`` proves nothing (every call's items count from 0), so for ticket creates and imports a
candidate cannot be proven.

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
from airflow_provider_zendesk_jobs.jobs import JobStatus

__all__ = ["Verdict", "find_started_job"]


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
