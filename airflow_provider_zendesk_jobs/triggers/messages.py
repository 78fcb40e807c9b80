"""What the shared poller hands each wait: an answer, no answer yet, a failure, a pause, the deadline.

Apart from :mod:`.poller` so the trigger module, which the triggerer imports on its event loop,
reads them without importing the poller, the hooks and their HTTP libraries. ``at`` is clock time.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_zendesk_jobs.jobs import JobStatus

__all__ = ["DeadlineReached", "PollAnswer", "PollFailure", "PollMessage", "PollPaused", "PollUnanswered"]


@dataclass(frozen=True, slots=True)
class PollAnswer:
    """Zendesk's answer for every id of one wait, read at ``at``: the jobs it knows (absent = not found).

    ``unanswered_since``: when the outage these ids were in began, if Zendesk answers again now.
    """

    at: float
    statuses: dict[str, JobStatus]
    unanswered_since: float | None = None


@dataclass(frozen=True, slots=True)
class PollUnanswered:
    """No answer for this wait's ids this time (down, slow, garbage) since ``since``; next try at ``next_check``.

    The error's text names no job id.
    """

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
