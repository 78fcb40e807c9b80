"""The daily audit's arithmetic (filters, counts, the table people read), with no Airflow and no HTTP inside."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.job_ids import show_ids
from airflow_provider_zendesk_jobs.jobs import FAILED_STATES, JOB_STATUSES, JobStatus

#: The statuses a filter may name: Zendesk's documented ones, in lifecycle order.
VALID_STATUSES: tuple[str, ...] = JOB_STATUSES
#: How a job without a ``job_type`` (Zendesk sometimes leaves it out) is counted and filtered.
NO_JOB_TYPE = "(none)"
_STATUS_ORDER = {status: position for position, status in enumerate(VALID_STATUSES)}
_MESSAGE_WIDTH = 80


def _as_names(value: str | Sequence[str] | None, what: str) -> list[str] | None:
    """Accept one name or a list of names; an empty list would silently audit nothing, so it is refused."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if isinstance(names, bytes) or not isinstance(names, Sequence):
        raise ZendeskInvalidInputError(f"{what} must be a name or a list of names, got {type(value).__name__}.")
    cleaned: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ZendeskInvalidInputError(f"{what} must hold non-empty text, got {name!r}.")
        cleaned.append(name.strip())
    if not cleaned:
        raise ZendeskInvalidInputError(f"{what} is an empty list, so no job would be audited. Pass None for all jobs.")
    return cleaned


def validate_statuses(statuses: str | Sequence[str] | None) -> frozenset[str] | None:
    """The status filter in canonical form; an unknown name is a typo that would hide every job, so it fails."""
    names = _as_names(statuses, "statuses")
    if names is None:
        return None
    wanted = {name.lower() for name in names}
    unknown = sorted(wanted - set(VALID_STATUSES))
    if unknown:
        raise ZendeskInvalidInputError(
            f"Unknown Zendesk job status {', '.join(repr(name) for name in unknown)} in statuses. "
            f"Valid statuses are: {', '.join(VALID_STATUSES)}."
        )
    return frozenset(wanted)


@dataclass(frozen=True)
class AuditFilter:
    statuses: frozenset[str] | None = None
    job_types: frozenset[str] | None = None

    @classmethod
    def build(
        cls, statuses: str | Sequence[str] | None = None, job_types: str | Sequence[str] | None = None
    ) -> AuditFilter:
        """Job types are free text in Zendesk (e.g. "Bulk Import Ticket"); compared without case."""
        types = _as_names(job_types, "job_types")
        return cls(validate_statuses(statuses), None if types is None else frozenset(name.casefold() for name in types))

    def accepts(self, job: JobStatus) -> bool:
        if self.statuses is not None and job.status.strip().lower() not in self.statuses:
            return False
        return self.job_types is None or (job.job_type or NO_JOB_TYPE).casefold() in self.job_types


def summarise_jobs(jobs: Iterable[JobStatus], audit_filter: AuditFilter | None = None) -> dict[str, Any]:
    """The audit's XCom value: counts by status and type, the failed jobs, and the ids still running.

    ``killed`` counts as failed: either way Zendesk did not do the work. Jobs with a status
    this provider does not know count as unfinished, because nobody can say they are over.
    """
    chosen = audit_filter or AuditFilter()
    by_status: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    failed: list[dict[str, Any]] = []
    unfinished: list[str] = []
    checked = 0
    for job in jobs:
        if not chosen.accepts(job):
            continue
        checked += 1
        by_status[job.status.strip().lower()] += 1
        by_type[job.job_type or NO_JOB_TYPE] += 1
        if job.state in FAILED_STATES:
            failed.append({"id": job.id, "job_type": job.job_type, "status": job.status, "message": job.message})
        elif not job.is_terminal:
            unfinished.append(job.id)
    return {
        "checked": checked,
        "counts_by_status": dict(sorted(by_status.items(), key=lambda item: (_STATUS_ORDER.get(item[0], 99), item[0]))),
        "counts_by_type": dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))),
        "failed_jobs": failed,
        "unfinished": unfinished,
    }


def _short(text: str | None) -> str:
    if not text:
        return "-"
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_WIDTH else line[: _MESSAGE_WIDTH - 3] + "..."


def _rows(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def format_summary(summary: dict[str, Any]) -> str:
    """A few lines for the task log: counts first, then what needs someone's attention."""
    checked = summary["checked"]
    lines = [f"Zendesk job audit: {checked} job{'s' if checked != 1 else ''} checked"]
    if not checked:
        return lines[0] + " (none matched)"
    lines += _rows(("status", "jobs"), [(name, str(n)) for name, n in summary["counts_by_status"].items()])
    lines += _rows(("job type", "jobs"), [(name, str(n)) for name, n in summary["counts_by_type"].items()])
    failed = summary["failed_jobs"]
    if failed:
        lines.append(f"Failed jobs ({len(failed)}):")
        lines += _rows(
            ("id", "job type", "status", "message"),
            [(job["id"], job["job_type"] or NO_JOB_TYPE, job["status"], _short(job["message"])) for job in failed],
        )
    else:
        lines.append("Failed jobs: none")
    unfinished = summary["unfinished"]
    if unfinished:
        lines.append(f"Unfinished jobs ({len(unfinished)}): {show_ids(unfinished, 10)}")
    else:
        lines.append("Unfinished: none")
    return "\n".join(lines)


def failure_message(summary: dict[str, Any]) -> str:
    """Why ``fail_on_failed_jobs`` fails the task: every failed job id, with its status and message."""
    failed = summary["failed_jobs"]
    parts = [f"{job['id']} ({job['status']}: {_short(job['message'])})" for job in failed]
    return (
        f"{len(failed)} of {summary['checked']} Zendesk jobs ended failed or killed: {'; '.join(parts)}. "
        "Look the jobs up in Zendesk or re-run the bulk calls that started them."
    )
