"""The one retry policy, and the tenacity settings that carry it out in both shells.

A 429 waits exactly what Zendesk asked (``Retry-After``); 5xx, timeouts and broken
connections back off exponentially with jitter; everything is bounded by ``max_attempts``.
A pause longer than ``max_retry_after`` is not slept through inside a call: the error is
raised at once, and the caller waits it out (a sensor checks again after it, the triggerer's
poller pauses every wait on the connection).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from airflow_provider_zendesk_jobs.api.request_builders import ApiRequest
from airflow_provider_zendesk_jobs.api.responses import ZENDESK_JOB_LIMIT, RetryableError, describe_request
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskInvalidInputError,
    ZendeskJobLimitError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)

DEFAULT_RETRY_LIMIT = 5


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and how long between them."""

    max_attempts: int = DEFAULT_RETRY_LIMIT
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    #: The longest Retry-After a call sleeps through before giving up with ZendeskRateLimitError.
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ZendeskInvalidInputError(
                f"retry_limit must be a whole number of attempts, 1 or more, got {self.max_attempts!r}."
            )

    def delay(self, attempt: int, requested: float | None, rand: float, *, cap: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``; ``rand`` in [0, 1) makes the jitter testable.

        The backoff doubles from ``backoff_initial`` up to ``backoff_max`` (or ``cap`` in its
        place: the triggerer's poller caps it at the waits' poll interval), drawn from the upper
        half below that ceiling.
        """
        if requested is not None:
            return float(requested)
        highest = self.backoff_max if cap is None else cap
        ceiling = min(highest, self.backoff_initial * 2.0 ** min(attempt - 1, 60))
        return ceiling * (0.5 + rand / 2)

    def gives_up(self, attempt: int, error: BaseException | None) -> bool:
        if isinstance(error, RetryableError):
            for wait in (error.delay, error.retry_in):
                if wait is not None and wait > self.max_retry_after:
                    return True
        return attempt >= self.max_attempts


def is_no_answer_yet(error: BaseException) -> bool:
    """True when waiting can fix what ``error`` reports: a wait reads it as "no answer this time".

    5xx answers, timeouts, broken connections, a rate limit, and a body that is not JSON
    (a proxy's page, a cut answer) only say Zendesk could not answer now. Refused credentials
    (401, 403), a request Zendesk refuses (400, 422), a redirect, a body in a form Zendesk does
    not send and bad input stay what they are whatever the wait does.
    """
    if isinstance(error, ZendeskUnavailableError | ZendeskRateLimitError):
        return True
    code = error.status_code if isinstance(error, ZendeskResponseError) else None
    return code is not None and 200 <= code < 300


class RateLimitGate:
    """Remembers Zendesk's last "slow down" so no request to the account leaves before it has passed."""

    def __init__(self) -> None:
        self.not_before = 0.0

    def hold(self, delay: float, now: float) -> None:
        self.not_before = max(self.not_before, now + delay)

    def wait_needed(self, now: float) -> float:
        return max(0.0, self.not_before - now)


def _describe_retry(state: tenacity.RetryCallState, delay: float, max_attempts: int) -> str:
    """The retry warning: the request by method and path, never the job ids a shared request carries."""
    error = state.outcome.exception() if state.outcome else None
    cause = error.error if isinstance(error, RetryableError) else error
    code = getattr(cause, "status_code", None)
    request = state.args[0] if state.args and isinstance(state.args[0], ApiRequest) else None
    what = describe_request(request) if request is not None else "the request"
    attempt = state.attempt_number
    if isinstance(cause, ZendeskJobLimitError):
        return (
            f"Zendesk refused {what}: the account's job limit is reached ({ZENDESK_JOB_LIMIT} jobs queued or "
            f"working); nothing was started. Waiting {delay:.1f} s for jobs to finish before attempt "
            f"{attempt + 1} of {max_attempts}"
        )
    if code == 429:
        return (
            f"Zendesk asked to slow down (429) on {what}; waiting {delay:.1f} s before attempt "
            f"{attempt + 1} of {max_attempts}"
        )
    reason = f"status {code}" if code else str(cause).split(" past the retry budget")[0]
    return f"Retrying {what} in {delay:.1f} s (attempt {attempt + 1} of {max_attempts}) after: {reason}"


def tenacity_arguments(
    policy: RetryPolicy,
    *,
    log: logging.Logger,
    rand: Callable[[], float] = random.random,
    on_wait: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``tenacity.Retrying`` or ``AsyncRetrying``: identical for both shells."""

    def stop(state: tenacity.RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        return policy.gives_up(state.attempt_number, error)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        requested = None
        if isinstance(error, RetryableError):
            requested = error.delay if error.delay is not None else error.retry_in
        delay = policy.delay(state.attempt_number, requested, rand())
        if on_wait is not None:
            on_wait(delay)
        return delay

    def before_sleep(state: tenacity.RetryCallState) -> None:
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s", _describe_retry(state, delay, policy.max_attempts))
        if state.args and isinstance(state.args[0], ApiRequest):
            log.debug("The request retried: %s %s", state.args[0].method, state.args[0].path)

    def give_up(state: tenacity.RetryCallState) -> Any:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableError):
            final = error.error
            if (
                isinstance(final, ZendeskRateLimitError)
                and error.delay is not None
                and error.delay > policy.max_retry_after
            ):
                said = f": {error.said}" if error.said else ""
                request = state.args[0] if state.args and isinstance(state.args[0], ApiRequest) else None
                what = describe_request(request) if request is not None else "a request"
                final = ZendeskRateLimitError(
                    f"Zendesk rate-limited {what} (429{said}) and asked to wait {error.delay:g} s, longer than "
                    f"the {policy.max_retry_after:g} s this call may block. Nothing is sent to the account before "
                    "then; try again after it (waiting sensors and operators do so by themselves).",
                    retry_after=error.delay,
                    path=final.path,
                )
            raise final from None
        if error is not None:  # pragma: no cover - non-retryable errors are re-raised by tenacity itself
            raise error
        return None

    return {
        "stop": stop,
        "wait": wait,
        "retry": tenacity.retry_if_exception_type(RetryableError),
        "before_sleep": before_sleep,
        "retry_error_callback": give_up,
        "reraise": False,
    }


def sync_retrying(
    policy: RetryPolicy, *, log: logging.Logger, sleep: Callable[[float], None], **kwargs: Any
) -> tenacity.Retrying:
    return tenacity.Retrying(sleep=sleep, **tenacity_arguments(policy, log=log, **kwargs))


def async_retrying(
    policy: RetryPolicy, *, log: logging.Logger, sleep: Callable[[float], Awaitable[None]], **kwargs: Any
) -> tenacity.AsyncRetrying:
    return tenacity.AsyncRetrying(sleep=sleep, **tenacity_arguments(policy, log=log, **kwargs))
