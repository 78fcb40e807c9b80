"""What an answer from Zendesk means: a JSON value, "try again (after N seconds)", or which error.

The shells hand every answer, and every transport failure, to these functions; they never
decide on their own whether to retry. A retryable outcome is raised as
:class:`RetryableError`, which carries the error to raise once the retry budget is spent.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
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
#: Zendesk's job limit: background jobs queued or working at once, per account, across every
#: integration on it (https://developer.zendesk.com/api-reference/introduction/rate-limits/). Past it
#: a bulk call is refused with 429 and ``{"error": "TooManyJobs", ...}`` and nothing is started; a
#: Retry-After, if one comes with it, is honoured, and not relied on.
ZENDESK_JOB_LIMIT = 30
_JOB_LIMIT_CODE = "toomanyjobs"
#: Seconds between attempts of a refused bulk call when Zendesk names no Retry-After: jobs of at
#: most 100 records finish in seconds to minutes, so a short wait often finds a free place.
JOB_LIMIT_RETRY_SECONDS = 30.0


class RetryableError(Exception):
    """An outcome worth another attempt; ``delay`` is Zendesk's own wish (Retry-After) when it said one.

    ``said`` is the excerpt of the body, for a give-up message written later (a Retry-After too long to wait).
    """

    def __init__(
        self,
        error: ZendeskJobsError,
        *,
        delay: float | None = None,
        said: str | None = None,
        retry_in: float | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay
        self.said = said
        #: A wait before this request's next attempt that, unlike ``delay``, holds no other request
        #: to the account (the job limit refuses new jobs, not reads).
        self.retry_in = retry_in


def header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds, or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, when.timestamp() - now)
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
    """``GET /api/v2/job_statuses/show_many``: the request as messages name it, without the job ids it carried.

    A ``show_many`` from the triggerer's shared poller carries the ids of many tasks (about 4 KB
    at 100 ids); each task's own message names its own ids. The full path is only logged at DEBUG.
    """
    path = request.path
    if request.job_ids and "?" in path:
        path = path.split("?", 1)[0]
    return f"{request.method} {path}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _decode_json(request: ApiRequest, status: int, body: bytes) -> Any:
    """Strict JSON: ``NaN``/``Infinity`` would later break the JSON XCom form, deep nesting the parser."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        not_json = (
            f"Zendesk answered {describe_request(request)} with status {status} but a body that is not "
            f"JSON: {_shown(request, body)}."
        )
        if request.idempotent:
            raise RetryableError(
                ZendeskResponseError(
                    f"{not_json} This is usually a proxy or a cut connection; if it persists, check the host.",
                    status_code=status,
                    path=request.path,
                    kind=ErrorKind.TRANSIENT,
                )
            ) from None
        raise ZendeskResponseError(
            f"{not_json} {_NOT_SENT_AGAIN}", status_code=status, path=request.path, kind=ErrorKind.TRANSIENT
        ) from None


def _is_job_limit(body: bytes) -> bool:
    """True when a 429 says the account's job limit is reached, not the request rate.

    Zendesk's error code is ``TooManyJobs``; the text is read too, in case an account words it
    differently ("too many jobs", "job limit").
    """
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        decoded = None
    if isinstance(decoded, dict):
        code = decoded.get("error")
        if isinstance(code, str) and code.replace("_", "").replace(" ", "").lower() == _JOB_LIMIT_CODE:
            return True
        text = " ".join(str(decoded.get(key) or "") for key in ("error", "description", "message")).lower()
    else:
        text = body[:2000].decode("utf-8", "replace").lower()
    return "too many jobs" in text or "job limit" in text or "toomanyjobs" in text


def interpret_response(request: ApiRequest, status: int, headers: Mapping[str, str], body: bytes, *, now: float) -> Any:
    """Return the decoded JSON of a successful answer, or raise what the answer means."""
    where = describe_request(request)
    if 200 <= status < 300:
        return _decode_json(request, status, body)
    if 300 <= status < 400:
        raise ZendeskResponseError(
            f"Zendesk redirected {where} (status {status}) elsewhere; credentials are never sent to another "
            "address. Set the connection's host to the account's own https://<subdomain>.zendesk.com.",
            status_code=status,
            path=request.path,
        )
    if status == 401:
        raise ZendeskAuthError(
            f"Zendesk refused the credentials for {where} (401): {_shown(request, body)}. Check the connection's "
            "email and API token, or its OAuth token or client; API tokens stop working on 2027-04-30.",
            status_code=status,
            path=request.path,
        )
    if status == 403:
        raise ZendeskAuthError(
            f"Zendesk forbade {where} (403): {_shown(request, body)}. The user or OAuth client needs the agent "
            "role or the 'read' scope for job statuses (and 'write' for bulk calls).",
            status_code=status,
            path=request.path,
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
        delay = parse_retry_after(header(headers, "Retry-After"), now)
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
            delay = parse_retry_after(header(headers, "Retry-After"), now) if status == 503 else None
            error = ZendeskUnavailableError(
                f"Zendesk answered {where} with {status} past the retry budget: {_shown(request, body)}. "
                "Zendesk is under load or down (https://status.zendesk.com lists incidents); try again once it "
                "answers. Waiting sensors and operators check again by themselves until their timeout.",
                status_code=status,
                path=request.path,
            )
            raise RetryableError(error, delay=delay)
        raise ZendeskUnavailableError(
            f"Zendesk answered {where} with {status}: {_shown(request, body)}. {_NOT_SENT_AGAIN}",
            status_code=status,
            path=request.path,
        )
    raise ZendeskResponseError(
        f"Zendesk answered {where} with {status}: {_shown(request, body)}. Check the request's parameters.",
        status_code=status,
        path=request.path,
    )


class TransportFailure(Enum):
    """How a request failed without an HTTP answer, in the same words whichever HTTP library sent it."""

    CONNECT = "could not connect"
    CONNECT_TIMEOUT = "timed out connecting"
    READ_TIMEOUT = "no answer within the read timeout"
    CLOSED = "the connection closed before the whole answer arrived"
    OTHER = "the connection failed"

    @property
    def reached_zendesk(self) -> bool:
        """False when the request cannot have been received (then even a bulk call is safe to repeat)."""
        return self not in (TransportFailure.CONNECT, TransportFailure.CONNECT_TIMEOUT)


def interpret_transport_error(request: ApiRequest, failure: TransportFailure, *, detail: str) -> RetryableError:
    """A timeout or a broken connection: retryable unless a bulk call may already have been received.

    ``detail`` names the library's exception, for whoever debugs the network path.
    """
    what = f"{failure.value}, {detail}"
    error = ZendeskUnavailableError(
        f"No answer from Zendesk for {describe_request(request)} past the retry budget ({what}). "
        "Check the network path to the host and the connection's timeout extra.",
        path=request.path,
        no_answer=failure.value,
    )
    if failure.reached_zendesk and not request.idempotent:
        raise ZendeskUnavailableError(
            f"The connection broke after {describe_request(request)} was sent ({what}); it is not "
            "sent again because Zendesk may have started the job. Look for it in the job status list.",
            path=request.path,
            no_answer=failure.value,
        )
    return RetryableError(error)
