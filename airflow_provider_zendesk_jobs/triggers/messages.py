"""The messages the shared poller hands each wait: an answer, no answer yet, a failure, a pause, the deadline.

Kept apart from :mod:`.poller` so the trigger module, which Airflow's triggerer imports on its
event loop, can read them without importing the poller, the hooks and their HTTP libraries.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_zendesk_jobs.jobs import JobStatus

__all__ = ["DeadlineReached", "PollAnswer", "PollFailure", "PollMessage", "PollPaused", "PollUnanswered"]


@dataclass(frozen=True, slots=True)
class PollAnswer:
    """Zendesk's answer for every id of one wait: the jobs it knows, keyed by id (absent = not found)."""

    #: Clock time the (first) request carrying these ids was sent: when the statuses were observed.
    at: float
    statuses: dict[str, JobStatus]
    #: When a request for these ids first went unanswered, if the last ones did: Zendesk answers again.
    unanswered_since: float | None = None


@dataclass(frozen=True, slots=True)
class PollUnanswered:
    """Zendesk gave no answer for this wait's ids this time (down, slow, or answering garbage): still waiting.

    ``since`` is when the first unanswered request of this outage was sent; ``next_check`` when
    the poller tries again (clock time). The error's text names no job id.
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
    """Zendesk asked to slow down: no request leaves this poller before ``until``."""

    at: float
    until: float


@dataclass(frozen=True, slots=True)
class DeadlineReached:
    """The wait's deadline came while requests were paused, so no final answer could be read."""

    at: float


PollMessage = PollAnswer | PollUnanswered | PollFailure | PollPaused | DeadlineReached
