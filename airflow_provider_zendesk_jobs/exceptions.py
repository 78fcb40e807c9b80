"""The errors this provider raises, one class for each thing a caller does differently; every message says what
happened, to which job id or path, and what to do next, and none carries a credential."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum


class ErrorKind(str, Enum):
    """What a caller does about an error; its ``value`` crosses the trigger boundary as plain text."""

    PERMANENT = "permanent"  # refused credentials or permissions, unusable input: no retry fixes it
    TRANSIENT = "transient"  # 5xx, timeouts, a rate limit, a cut body: a wait checks again
    NOT_FOUND = "not_found"  # Zendesk does not know these job ids (yet, or any more)
    FAILED = "failed"  # a redirect, a refused request, an odd body, a failed job: a task failure, retries may repeat


def is_transient(error: BaseException) -> bool:
    """True for an error that only says "no answer yet" (an outage, a rate limit, a cut body): a wait asks again.

    The one place that decides it, from the error's :class:`ErrorKind`, for every waiter (a poke, a
    deferred wait, the job-event watcher, the bulk import).
    """
    return getattr(error, "kind", None) is ErrorKind.TRANSIENT


class ZendeskJobsError(Exception):
    """Base class: ``except ZendeskJobsError`` catches everything this provider raises on purpose."""

    kind: ErrorKind = ErrorKind.FAILED

    def __init__(
        self, message: str, *, status_code: int | None = None, path: str | None = None, kind: ErrorKind | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.path = path
        if kind is not None:
            self.kind = kind


class ZendeskInvalidInputError(ZendeskJobsError, ValueError):
    """A value given by the DAG or the connection cannot be used; raised before any request is sent."""

    kind = ErrorKind.PERMANENT


class ZendeskAuthError(ZendeskJobsError):
    """Zendesk refused the credentials (401) or the permission (403): retrying will not help."""

    kind = ErrorKind.PERMANENT


class ZendeskNotFoundError(ZendeskJobsError):
    """Zendesk does not know these job ids: never created here, or older than its retention (about a day)."""

    kind = ErrorKind.NOT_FOUND

    def __init__(
        self, message: str, *, job_ids: Sequence[str] = (), status_code: int | None = 404, path: str | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, path=path)
        self.job_ids: tuple[str, ...] = tuple(job_ids)


class ZendeskRateLimitError(ZendeskJobsError):
    """Zendesk kept answering 429 past the retry budget, or asked for a pause longer than we may block."""

    kind = ErrorKind.TRANSIENT

    def __init__(
        self, message: str, *, retry_after: float | None = None, status_code: int | None = 429, path: str | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, path=path)
        self.retry_after = retry_after


class ZendeskJobLimitError(ZendeskRateLimitError):
    """The account has its 30 background jobs queued or working, so a bulk call started nothing; catch it before
    :class:`ZendeskRateLimitError` to tell "too many jobs" from "too many requests"."""


class ZendeskUnavailableError(ZendeskJobsError):
    """5xx answers, timeouts or connection errors outlasted the retry budget: Zendesk is down or unreachable."""

    kind = ErrorKind.TRANSIENT

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        path: str | None = None,
        no_answer: str | None = None,
        never_sent: bool = False,
    ) -> None:
        super().__init__(message, status_code=status_code, path=path)
        #: How the request failed without an HTTP answer (``could not connect``...); None when Zendesk answered.
        self.no_answer = no_answer
        #: True when no connection opened, so the request never left: a call that starts a job started none.
        self.never_sent = never_sent


class ZendeskResponseError(ZendeskJobsError):
    """Zendesk answered with a status or a body its API does not send (``TRANSIENT`` for a body not JSON)."""


class ZendeskJobFailedError(ZendeskJobsError):
    """Kept so that code catching it still imports; nothing in this provider raises it.

    A job that ended ``failed`` or ``killed`` (or rejected items, with ``fail_on_item_errors``) fails
    the waiting task with ``AirflowFailException`` (see ``waiting/failures.py``), so no retry repeats
    a wait whose answer cannot change; the hooks return the job's status as they read it.
    """

    def __init__(self, message: str, *, job_ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.job_ids: tuple[str, ...] = tuple(job_ids)
