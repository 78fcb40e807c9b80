"""What an answer (or a transport failure) means: a JSON value, "try again (after N seconds)", or which error; a
retryable outcome is raised as :class:`RetryableError`, carrying the error to raise once the budget is spent."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

from airflow_provider_zendesk_jobs.api.request_builders import ApiRequest
from airflow_provider_zendesk_jobs.exceptions import (
    ErrorKind,
    ZendeskAuthError,
    ZendeskJobLimitError,
    ZendeskJobsError,
    ZendeskNotFoundError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.job_ids import show_ids

#: Statuses after which a non-idempotent request is known not to have been carried out.
_REFUSED_BEFORE_WORK = frozenset({429, 503})
_NOT_SENT_AGAIN = "It is not sent again because Zendesk may have started the job. Look for it in the job status list."
#: Background jobs queued or working at once per account, across every integration on it
#: (https://developer.zendesk.com/api-reference/introduction/rate-limits/). Past it a bulk call is refused
#: with 429 ``{"error": "TooManyJobs"}`` and nothing is started.
ZENDESK_JOB_LIMIT = 30
#: Seconds between attempts of a bulk call refused at the job limit without Retry-After: jobs finish quickly.
JOB_LIMIT_RETRY_SECONDS = 30.0


@dataclass(eq=False)
class RetryableError(Exception):
    """An outcome worth another attempt: ``delay`` is Zendesk's Retry-After, which holds every request to the account;
    ``retry_in`` holds only this one (the job limit refuses new jobs, not reads); ``said`` is the body's excerpt."""

    error: ZendeskJobsError
    delay: float | None = field(default=None, kw_only=True)
    said: str | None = field(default=None, kw_only=True)
    retry_in: float | None = field(default=None, kw_only=True)


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds, or an HTTP date."""
    value = next((value for key, value in headers.items() if key.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        return None if when is None else max(0.0, when.timestamp() - now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]*>", re.IGNORECASE | re.DOTALL)


def excerpt(body: bytes | str | None, limit: int = 200) -> str:
    """The first ``limit`` characters of ``body`` as one line, without HTML tags: a proxy's 50 KB page, cut."""
    if not body:
        return "(empty body)"
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if "<" in text and ">" in text:
        text = _TAGS.sub(" ", text)
    text = " ".join(text.split())
    if not text:
        return "(no text in body)"
    return text if len(text) <= limit else text[:limit] + "..."


def _shown(request: ApiRequest, body: bytes) -> str:
    """An excerpt for an error message; never of an answer that may hold an access token."""
    if request.answer_holds_credentials:
        return "(body not shown: the answer to a token request may hold credentials)"
    return excerpt(body)


def describe_request(request: ApiRequest) -> str:
    """``GET /api/v2/job_statuses/show_many``: without the ids, which in the poller belong to many tasks."""
    path = request.path.split("?", 1)[0] if request.job_ids else request.path
    return f"{request.method} {path}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _decode_json(request: ApiRequest, status: int, body: bytes) -> Any:
    """Strict JSON: ``NaN``/``Infinity`` would later break the JSON XCom form, deep nesting the parser."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        advice = "This is usually a proxy or a cut connection; if it persists, check the host."
        error = ZendeskResponseError(
            f"Zendesk answered {describe_request(request)} with status {status} but a body that is not JSON: "
            f"{_shown(request, body)}. {advice if request.idempotent else _NOT_SENT_AGAIN}",
            status_code=status,
            path=request.path,
            kind=ErrorKind.TRANSIENT,
        )
        if request.idempotent:
            raise RetryableError(error) from None
        raise error from None


def _is_job_limit(body: bytes) -> bool:
    """True when a 429 says the account's job limit is reached (``TooManyJobs``, or in words), not the rate."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        decoded = None
    if isinstance(decoded, dict):
        code = decoded.get("error")
        if isinstance(code, str) and code.replace("_", "").replace(" ", "").lower() == "toomanyjobs":
            return True
        text = " ".join(str(decoded.get(key) or "") for key in ("error", "description", "message")).lower()
    else:
        text = body[:2000].decode("utf-8", "replace").lower()
    return "too many jobs" in text or "job limit" in text or "toomanyjobs" in text


def interpret_response(request: ApiRequest, status: int, headers: Mapping[str, str], body: bytes, *, now: float) -> Any:
    """Return the decoded JSON of a successful answer, or raise what the answer means."""
    where = describe_request(request)
    at: dict[str, Any] = {"status_code": status, "path": request.path}
    if 200 <= status < 300:
        return _decode_json(request, status, body)
    if 300 <= status < 400:
        raise ZendeskResponseError(
            f"Zendesk redirected {where} (status {status}) elsewhere; credentials are never sent to another "
            "address. Set the connection's host to the account's own https://<subdomain>.zendesk.com.",
            **at,
        )
    if status == 401:
        raise ZendeskAuthError(
            f"Zendesk refused the credentials for {where} (401): {_shown(request, body)}. Check the connection's "
            "email and API token, or its OAuth token or client; API tokens stop working on 2027-04-30.",
            **at,
        )
    if status == 403:
        raise ZendeskAuthError(
            f"Zendesk forbade {where} (403): {_shown(request, body)}. The user or OAuth client needs the agent "
            "role or the 'read' scope for job statuses (and 'write' for bulk calls).",
            **at,
        )
    if status == 404:
        ids = show_ids(request.job_ids)
        what = f"job {ids}" if ids else where
        raise ZendeskNotFoundError(
            f"Zendesk does not know {what} (404 on {where}): the id is wrong, or the job is older than "
            "Zendesk keeps job statuses (about a day).",
            job_ids=request.job_ids,
            path=request.path,
        )
    if status == 429:
        delay = parse_retry_after(headers, now)
        said = _shown(request, body)
        if not request.idempotent and _is_job_limit(body):
            raise RetryableError(
                ZendeskJobLimitError(
                    f"Zendesk refused {where} (429: {said}) past the retry budget: the account has "
                    f"{ZENDESK_JOB_LIMIT} jobs queued or working (the limit counts every integration on the "
                    "account); nothing was started. Wait for jobs to finish, or lower concurrency (a pool with "
                    "include_deferred=True).",
                    retry_after=delay,
                    path=request.path,
                ),
                said=said,
                retry_in=JOB_LIMIT_RETRY_SECONDS if delay is None else delay,
            )
        error: ZendeskJobsError = ZendeskRateLimitError(
            f"Zendesk rate-limited {where} (429: {said}) and kept doing so past the retry budget"
            + (f"; it asked to wait {delay:g} s" if delay is not None else "")
            + ". Lower the number of tasks reading this account at once, or raise the plan's limit.",
            retry_after=delay,
            path=request.path,
        )
        raise RetryableError(error, delay=delay, said=said)
    if status >= 500:
        if request.idempotent or status in _REFUSED_BEFORE_WORK:
            delay = parse_retry_after(headers, now) if status == 503 else None
            error = ZendeskUnavailableError(
                f"Zendesk answered {where} with {status} past the retry budget: {_shown(request, body)}. "
                "Zendesk is under load or down (https://status.zendesk.com lists incidents); try again once it "
                "answers. Waiting sensors and operators check again by themselves until their timeout.",
                **at,
            )
            raise RetryableError(error, delay=delay)
        raise ZendeskUnavailableError(
            f"Zendesk answered {where} with {status}: {_shown(request, body)}. {_NOT_SENT_AGAIN}", **at
        )
    raise ZendeskResponseError(
        f"Zendesk answered {where} with {status}: {_shown(request, body)}. Check the request's parameters.", **at
    )


class TransportFailure(Enum):
    """How a request failed without an HTTP answer, in the same words whichever HTTP library sent it."""

    CONNECT = "could not connect"
    CONNECT_TIMEOUT = "timed out connecting"
    READ_TIMEOUT = "no answer within the read timeout"
    CLOSED = "the connection closed before the whole answer arrived"
    OTHER = "the connection failed"


def interpret_transport_error(request: ApiRequest, failure: TransportFailure, *, detail: str) -> RetryableError:
    """A timeout or a broken connection (``detail``: the library's exception): retryable unless a bulk call
    may already have been received."""
    what = f"{failure.value}, {detail}"
    never_received = failure in (TransportFailure.CONNECT, TransportFailure.CONNECT_TIMEOUT)  # safe to repeat
    if not never_received and not request.idempotent:
        raise ZendeskUnavailableError(
            f"The connection broke after {describe_request(request)} was sent ({what}). {_NOT_SENT_AGAIN}",
            path=request.path,
            no_answer=failure.value,
        )
    return RetryableError(
        ZendeskUnavailableError(
            f"No answer from Zendesk for {describe_request(request)} past the retry budget ({what}). "
            "Check the network path to the host and the connection's timeout extra.",
            path=request.path,
            no_answer=failure.value,
            never_sent=never_received,
        )
    )
