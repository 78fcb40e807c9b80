"""The one retry policy, and the tenacity settings that carry it out in both shells.

A 429 waits exactly what Zendesk asked (``Retry-After``); 5xx, timeouts and broken
connections back off exponentially with jitter; everything is bounded by ``max_attempts``.
A pause longer than ``max_retry_after`` is not slept through inside a task: the error is
raised at once so the sensor can give the slot back and come back later.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from airflow_provider_zendesk_jobs.api.responses import ZENDESK_JOB_LIMIT, RetryableError
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskInvalidInputError,
    ZendeskJobLimitError,
    ZendeskRateLimitError,
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

    def delay(self, attempt: int, requested: float | None, rand: float) -> float:
        """Seconds before attempt ``attempt + 1``; ``rand`` in [0, 1) makes the jitter testable."""
        if requested is not None:
            return float(requested)
        ceiling = min(self.backoff_max, self.backoff_initial * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + rand / 2)

    def gives_up(self, attempt: int, error: BaseException | None) -> bool:
        if isinstance(error, RetryableError):
            for wait in (error.delay, error.retry_in):
                if wait is not None and wait > self.max_retry_after:
                    return True
        return attempt >= self.max_attempts


class RateLimitGate:
    """Remembers Zendesk's last "slow down" so no request to the account leaves before it has passed."""

    def __init__(self) -> None:
        self.not_before = 0.0

    def hold(self, delay: float, now: float) -> None:
        self.not_before = max(self.not_before, now + delay)

    def wait_needed(self, now: float) -> float:
        return max(0.0, self.not_before - now)


def _describe_retry(state: tenacity.RetryCallState, delay: float, max_attempts: int) -> str:
    error = state.outcome.exception() if state.outcome else None
    cause = error.error if isinstance(error, RetryableError) else error
    code = getattr(cause, "status_code", None)
    path = getattr(cause, "path", None) or "the request"
    attempt = state.attempt_number
    if isinstance(cause, ZendeskJobLimitError):
        return (
            f"Zendesk refused {path}: the account's job limit is reached ({ZENDESK_JOB_LIMIT} jobs queued or "
            f"working); nothing was started. Waiting {delay:.1f} s for jobs to finish before attempt "
            f"{attempt + 1} of {max_attempts}"
        )
    if code == 429:
        return (
            f"Zendesk asked to slow down (429) on {path}; waiting {delay:.1f} s before attempt "
            f"{attempt + 1} of {max_attempts}"
        )
    reason = f"status {code}" if code else str(cause).split(" past the retry budget")[0]
    return f"Retrying {path} in {delay:.1f} s (attempt {attempt + 1} of {max_attempts}) after: {reason}"


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
                final = ZendeskRateLimitError(
                    f"Zendesk rate-limited {final.path} (429{said}) and asked to wait {error.delay:g} s, longer than "
                    f"the {policy.max_retry_after:g} s this call may block. The task will be retried later.",
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
