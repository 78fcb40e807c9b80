"""One request from first attempt to final answer, as a flow of steps both hooks carry out.

The flow yields :class:`Send` (answered with :class:`Answer` or :class:`NoAnswer`), :class:`Sleep`, :class:`Mask` (a
fresh token) and :class:`TokenFetch` (a token flow, one at a time per hook), and returns the decoded body or raises.
A 429 waits what Zendesk asked, 5xx and network errors back off with jitter; a longer pause than ``max_retry_after``
is raised at once, for the caller to wait out.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_zendesk_jobs.api.auth import ClientCredentialsAuth, OAuthTokenCache
from airflow_provider_zendesk_jobs.api.connection_settings import ConnectionSettings
from airflow_provider_zendesk_jobs.api.request_builders import ApiRequest, token_request
from airflow_provider_zendesk_jobs.api.responses import (
    ZENDESK_JOB_LIMIT,
    RetryableError,
    TransportFailure,
    describe_request,
    interpret_response,
    interpret_transport_error,
)
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskJobLimitError,
    ZendeskJobsError,
    ZendeskRateLimitError,
)

DEFAULT_RETRY_LIMIT = 5
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Send:
    request: ApiRequest
    authorization: str | None = field(repr=False)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Mask:
    secret: str = field(repr=False)


@dataclass(frozen=True)
class TokenFetch:
    #: A flow returning the Authorization header; the async hook runs one at a time, so one fetch serves all.
    flow: Flow


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class NoAnswer:
    failure: TransportFailure
    #: The HTTP library's exception name, for whoever debugs the network path.
    detail: str


Flow = Generator[Send | Sleep | Mask | TokenFetch, Any, Any]


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and how long between them; ``max_retry_after`` is the longest pause slept through."""

    max_attempts: int = DEFAULT_RETRY_LIMIT
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ZendeskInvalidInputError(
                f"retry_limit must be a whole number of attempts, 1 or more, got {self.max_attempts!r}."
            )

    def delay(self, attempt: int, requested: float | None, rand: float, *, cap: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``: doubling up to ``backoff_max`` (or ``cap``, the poller's
        interval), drawn from the upper half below it; ``rand`` in [0, 1) makes the jitter testable."""
        if requested is not None:
            return float(requested)
        ceiling = min(self.backoff_max if cap is None else cap, self.backoff_initial * 2.0 ** min(attempt - 1, 60))
        return ceiling * (0.5 + rand / 2)

    def gives_up(self, attempt: int, error: RetryableError) -> bool:
        waits = (error.delay, error.retry_in)
        return attempt >= self.max_attempts or any(wait is not None and wait > self.max_retry_after for wait in waits)


def _retry_warning(request: ApiRequest, cause: ZendeskJobsError, attempt: int, delay: float, limit: int) -> str:
    what, then = describe_request(request), f"attempt {attempt + 1} of {limit}"
    if isinstance(cause, ZendeskJobLimitError):
        return (
            f"Zendesk refused {what}: the account's job limit is reached ({ZENDESK_JOB_LIMIT} jobs queued or "
            f"working); nothing was started. Waiting {delay:.1f} s for jobs to finish before {then}"
        )
    if cause.status_code == 429:
        return f"Zendesk asked to slow down (429) on {what}; waiting {delay:.1f} s before {then}"
    reason = f"status {cause.status_code}" if cause.status_code else str(cause).split(" past the retry budget")[0]
    return f"Retrying {what} in {delay:.1f} s ({then}) after: {reason}"


class RequestFlow:
    """A hook's decisions and what they remember: the retry policy, the rate-limit gate, the OAuth token."""

    def __init__(
        self, policy: RetryPolicy, clock: Callable[[], float], rand: Callable[[], float] = random.random
    ) -> None:
        self.policy = policy
        #: Zendesk's last "slow down": no request to the account leaves before this epoch second.
        self.not_before = 0.0
        self.token = OAuthTokenCache()
        self._clock = clock
        self._rand = rand

    def wait_needed(self) -> float:
        return max(0.0, self.not_before - self._clock())

    def run(self, request: ApiRequest, settings: ConnectionSettings, *, attempts: int | None = None) -> Flow:
        """Send with retries; with client credentials, a 401 renews the token once and tries again.

        ``attempts`` replaces the policy's count for this request alone (a bulk operator sends each
        call once and keeps the retry in its own queue), while the gate and the token stay shared.
        """
        policy = self.policy if attempts is None else replace(self.policy, max_attempts=attempts)
        try:
            return (yield from self._attempts(request, settings, policy))
        except ZendeskAuthError as exc:
            renewable = request.authenticated and isinstance(settings.auth, ClientCredentialsAuth)
            if exc.status_code != 401 or not renewable:
                raise
            _log.info("Zendesk refused the cached OAuth token; fetching a new one and trying once more")
            self.token = OAuthTokenCache()
            return (yield from self._attempts(request, settings, policy))

    def _token(self, settings: ConnectionSettings, auth: ClientCredentialsAuth) -> Flow:
        if not self.token.valid(self._clock()):
            body = yield from self._attempts(token_request(settings.base_url, auth), settings, self.policy)
            yield Mask(self.token.store(body, self._clock()))
        return self.token.header()

    def _attempts(self, request: ApiRequest, settings: ConnectionSettings, policy: RetryPolicy) -> Flow:
        attempt = 1
        while True:
            if (wait := self.wait_needed()) > 0:
                _log.warning("Waiting %.1f s before %s: Zendesk asked to slow down", wait, describe_request(request))
                yield Sleep(wait)
            auth, authorization = settings.auth, None
            if request.authenticated and isinstance(auth, ClientCredentialsAuth):
                authorization = yield TokenFetch(self._token(settings, auth))
            elif request.authenticated and not isinstance(auth, ClientCredentialsAuth):
                authorization = auth.header()
            reply = yield Send(request, authorization)
            try:
                if isinstance(reply, NoAnswer):
                    raise interpret_transport_error(request, reply.failure, detail=reply.detail)
                return interpret_response(request, reply.status, reply.headers, reply.body, now=self._clock())
            except RetryableError as exc:
                if exc.delay is not None:
                    self.not_before = max(self.not_before, self._clock() + exc.delay)
                if policy.gives_up(attempt, exc):
                    raise self._final(request, exc, policy) from None
                delay = policy.delay(attempt, exc.delay if exc.delay is not None else exc.retry_in, self._rand())
                _log.warning("%s", _retry_warning(request, exc.error, attempt, delay, policy.max_attempts))
                _log.debug("The request retried: %s %s", request.method, request.path)
            yield Sleep(delay)
            attempt += 1

    def _final(self, request: ApiRequest, exc: RetryableError, policy: RetryPolicy) -> ZendeskJobsError:
        final = exc.error
        too_long = exc.delay is not None and exc.delay > policy.max_retry_after
        if isinstance(final, ZendeskRateLimitError) and too_long:
            said = f": {exc.said}" if exc.said else ""
            return ZendeskRateLimitError(
                f"Zendesk rate-limited {describe_request(request)} (429{said}) and asked to wait {exc.delay:g} s, "
                f"longer than the {policy.max_retry_after:g} s this call may block. Nothing is sent to the "
                "account before then; try again after it (waiting sensors and operators do so by themselves).",
                retry_after=exc.delay,
                path=final.path,
            )
        return final
