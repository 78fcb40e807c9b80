"""What the shared poller hands each wait (``at`` is clock time); the trigger reads them without the hooks."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_zendesk_jobs.jobs import JobStatus

__all__ = ["DeadlineReached", "PollAnswer", "PollFailure", "PollMessage", "PollPaused", "PollUnanswered"]


@dataclass(frozen=True, slots=True)
class PollAnswer:
    """The jobs Zendesk knows among one wait's ids (absent = not found); ``unanswered_since`` ends an outage."""

    at: float
    statuses: dict[str, JobStatus]
    unanswered_since: float | None = None


@dataclass(frozen=True, slots=True)
class PollUnanswered:
    """No answer for this wait's ids since ``since``; next try at ``next_check``. The error names no job id."""

    at: float
    since: float
    error: Exception
    next_check: float


@dataclass(frozen=True, slots=True)
class PollFailure:
    """A request carrying this wait's ids failed for good (credentials refused, a request Zendesk refuses...)."""

    at: float
    error: Exception


@dataclass(frozen=True, slots=True)
class PollPaused:
    """Zendesk asked to slow down: no request leaves the poller before ``until``."""

    at: float
    until: float


@dataclass(frozen=True, slots=True)
class DeadlineReached:
    """The wait's deadline came while requests were paused, so no final answer could be read."""

    at: float


PollMessage = PollAnswer | PollUnanswered | PollFailure | PollPaused | DeadlineReached
