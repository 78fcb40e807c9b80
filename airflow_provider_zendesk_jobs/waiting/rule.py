"""The one rule for "is the wait over?": a pure function of Zendesk's last answer and the clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from airflow_provider_zendesk_jobs.job_ids import IDS_SHOWN, show_ids
from airflow_provider_zendesk_jobs.jobs import FAILED_STATES, NON_TERMINAL_STATES, JobState, JobStatus

DEFAULT_NOT_FOUND_GRACE = 60.0
#: How long after a deferred wait's own deadline Airflow's deferral timeout steps in, should the trigger not answer.
DEFERRAL_BACKSTOP_SECONDS = 60.0


class WaitDecision(str, Enum):
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class WaitOptions:
    """What the DAG author chose about the wait."""

    fail_on_item_errors: bool = False
    #: Seconds from the wait's first check during which an unknown id still counts as "not visible yet".
    not_found_grace: float = DEFAULT_NOT_FOUND_GRACE


@dataclass(frozen=True)
class WaitOutcome:
    """The answer for one check: the decision, and everything needed to explain it."""

    decision: WaitDecision
    statuses: Mapping[str, JobStatus] = field(default_factory=dict)
    #: Ids not found yet but still inside the grace period.
    not_visible_yet: tuple[str, ...] = ()
    message: str = ""

    @property
    def done(self) -> bool:
        return self.decision is not WaitDecision.WAITING


def describe_failed_job(job: JobStatus, *, fail_on_item_errors: bool) -> str:
    """Name the job, its status and Zendesk's message, plus the first failed items when they matter."""
    if job.state in FAILED_STATES:
        return f"Zendesk job {job.id} ended {job.status}: {job.message or 'Zendesk gave no message'}"
    failed_items = job.failed_items
    shown = "; ".join(
        f"item {item.index if item.index is not None else item.id}: {item.error_text}"
        + (f" ({item.details})" if item.details else "")
        for item in failed_items[:IDS_SHOWN]
    )
    more = f"; and {len(failed_items) - IDS_SHOWN} more" if len(failed_items) > IDS_SHOWN else ""
    return (
        f"Zendesk job {job.id} completed but {len(failed_items)} of {len(job.items)} items failed "
        f"(fail_on_item_errors=True): {shown}{more}"
    )


def evaluate_wait(
    job_ids: Sequence[str], statuses: Mapping[str, JobStatus], *, options: WaitOptions, started_at: float, now: float
) -> WaitOutcome:
    """Decide the wait for ``job_ids`` from the latest ``statuses`` (keyed by id; absent = not found).

    A dead job is not revived by waiting longer, so any failed job ends the wait at once
    even while others still run; the message names every failed job seen so far.
    """
    if len(job_ids) == 1:  # the common poll of a one-job wait still running, without the general bookkeeping
        job = statuses.get(job_ids[0])
        if job is not None and job.state in NON_TERMINAL_STATES:
            return WaitOutcome(WaitDecision.WAITING, {job_ids[0]: job})
    failed: list[JobStatus] = []
    missing: list[str] = []
    not_visible: list[str] = []
    pending = False
    in_grace = now - started_at < options.not_found_grace
    for job_id in job_ids:
        job = statuses.get(job_id)
        if job is None:
            (not_visible if in_grace else missing).append(job_id)
            continue
        item_errors = options.fail_on_item_errors and job.state is JobState.COMPLETED
        if job.state in FAILED_STATES or (item_errors and (bool(job.failed_items) or job.success is False)):
            failed.append(job)
        elif not job.is_terminal:
            pending = True
    known = {job_id: statuses[job_id] for job_id in job_ids if job_id in statuses}
    if failed or missing:
        parts = [describe_failed_job(job, fail_on_item_errors=options.fail_on_item_errors) for job in failed]
        if missing:
            parts.append(
                f"Zendesk does not know job {'ids' if len(missing) > 1 else 'id'} {show_ids(missing)} "
                f"after {options.not_found_grace:g} s of waiting: the id is wrong, or the job is older than "
                "Zendesk keeps job statuses (about a day). Check the id the bulk call returned."
            )
        return WaitOutcome(WaitDecision.FAILED, known, message="; ".join(parts))
    if pending or not_visible:
        return WaitOutcome(WaitDecision.WAITING, statuses=known, not_visible_yet=tuple(not_visible))
    return WaitOutcome(WaitDecision.SUCCEEDED, statuses=known, message=f"Zendesk finished {show_ids(job_ids)}")
