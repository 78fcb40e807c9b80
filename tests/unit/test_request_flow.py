"""The request flow on its own: answers fed in, the steps it yields read back (send, sleep, token fetch, mask).

Every retry, rate-limit and token rule of the hooks lives in :mod:`airflow_provider_zendesk_jobs.api.request_flow`;
the hooks only carry its steps out. Here a :class:`Driver` carries them out as a hook does, with no socket and
no sleep: each ``Send`` is answered from the case's script, each ``Sleep`` moves the driver's clock. A case
lists the answers, the steps the flow must yield for them, and what it returns or raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.api.auth import ApiTokenAuth, Auth, ClientCredentialsAuth, OAuthTokenAuth
from airflow_provider_zendesk_jobs.api.connection_settings import ConnectionSettings
from airflow_provider_zendesk_jobs.api.request_builders import ApiRequest, show_job_request, submit_request
from airflow_provider_zendesk_jobs.api.request_flow import (
    Answer,
    Flow,
    Mask,
    NoAnswer,
    RequestFlow,
    RetryPolicy,
    Send,
    Sleep,
    TokenFetch,
)
from airflow_provider_zendesk_jobs.api.responses import JOB_LIMIT_RETRY_SECONDS, TransportFailure
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskJobLimitError,
    ZendeskJobsError,
    ZendeskNotFoundError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)

BASE = "https://acme.zendesk.com"
START = 1_700_000_000.0
API_TOKEN = ApiTokenAuth("agent@example.com", "tok-SECRET-1234567890")
CLIENT = ClientCredentialsAuth("cid", "CLIENT-SECRET-xyz")
READ = show_job_request(BASE, "V3-abc")
IMPORT = submit_request(BASE, "POST", "/api/v2/imports/tickets/create_many", {"tickets": [{}]})
JOB = b'{"job_status": {"id": "V3-abc", "status": "completed"}}'

Step = tuple[Any, ...]


def send(request: ApiRequest = READ, authorization: str | None = API_TOKEN.header()) -> Step:
    return ("send", f"{request.method} {request.path}", authorization)


SEND = send()
TOKEN_FETCH: Step = ("token fetch",)
SEND_TOKEN = ("send", "POST /oauth/tokens", None)


def sleep(seconds: float) -> Step:
    return ("sleep", seconds)


def mask(secret: str) -> Step:
    return ("mask", secret)


def bearer(token: str) -> Step:
    return send(READ, f"Bearer {token}")


def answer(status: int = 200, body: bytes = JOB, **headers: str) -> Answer:
    return Answer(status, {key.replace("_", "-"): value for key, value in headers.items()}, body)


def token(value: str, expires_in: int = 7200) -> Answer:
    return answer(body=f'{{"access_token": "{value}", "expires_in": {expires_in}}}'.encode())


def no_answer(failure: TransportFailure) -> NoAnswer:
    return NoAnswer(failure, "SomeLibraryError")


def http_date(seconds_from_start: float) -> str:
    return format_datetime(datetime.fromtimestamp(START + seconds_from_start, tz=timezone.utc), usegmt=True)


@dataclass
class Driver:
    """Carries a flow out as a hook does, answering each ``Send`` from ``answers``; records every step."""

    answers: list[Answer | NoAnswer]
    now: float = START
    steps: list[Step] = field(default_factory=list)

    def carry_out(self, flow: Flow) -> Any:
        reply: Any = None
        while True:
            try:
                step = flow.send(reply)
            except StopIteration as done:
                return done.value
            reply = None
            if isinstance(step, Sleep):
                self.steps.append(sleep(step.seconds))
                self.now += step.seconds
            elif isinstance(step, Mask):
                self.steps.append(mask(step.secret))
            elif isinstance(step, TokenFetch):
                self.steps.append(TOKEN_FETCH)
                reply = self.carry_out(step.flow)
            else:
                assert isinstance(step, Send)
                self.steps.append(send(step.request, step.authorization))
                assert self.answers, f"the flow sent {step.request.path} after its last scripted answer"
                reply = self.answers.pop(0)

    def flow(self, policy: RetryPolicy | None = None) -> RequestFlow:
        """A flow on this driver's clock; jitter drawn at 0, so a backoff is half its ceiling."""
        return RequestFlow(policy or RetryPolicy(), lambda: self.now, rand=lambda: 0.0)


def run(
    answers: list[Answer | NoAnswer],
    request: ApiRequest = READ,
    auth: Auth = API_TOKEN,
    policy: RetryPolicy | None = None,
    **options: Any,
) -> tuple[Driver, Any]:
    """The steps of one request through a fresh flow, and what it returned (or the error it raised)."""
    driver = Driver(list(answers))
    try:
        outcome = driver.carry_out(driver.flow(policy).run(request, ConnectionSettings(BASE, auth), **options))
    except ZendeskJobsError as exc:
        outcome = exc
    assert driver.answers == [], "answers left unused"
    return driver, outcome


@dataclass(frozen=True)
class Case:
    answers: list[Answer | NoAnswer]
    steps: list[Step]
    #: The body returned, or the error class raised once the flow gives up.
    outcome: Any
    request: ApiRequest = READ
    auth: Auth = API_TOKEN
    #: The retry budget (the policy's ``max_attempts``) when not the default five.
    attempts: int | None = None
    #: Words the give-up message must hold.
    says: str = ""


COMPLETED = {"job_status": {"id": "V3-abc", "status": "completed"}}
CASES = {
    "200 at once": Case([answer()], [SEND], COMPLETED),
    # -- 429: what Zendesk asked, exactly, and nothing on top --
    "429 with Retry-After in seconds": Case(
        [answer(429, Retry_After="7"), answer()], [SEND, sleep(7.0), SEND], COMPLETED
    ),
    "429 with Retry-After as an HTTP date": Case(
        [answer(429, Retry_After=http_date(20)), answer()], [SEND, sleep(20.0), SEND], COMPLETED
    ),
    "429 without Retry-After backs off": Case(
        [answer(429), answer(429), answer()], [SEND, sleep(0.5), SEND, sleep(1.0), SEND], COMPLETED
    ),
    "429 with an unreadable Retry-After backs off": Case(
        [answer(429, Retry_After="soon"), answer()], [SEND, sleep(0.5), SEND], COMPLETED
    ),
    "429 past the budget": Case(
        [answer(429, Retry_After="2", body=b'{"error": "APIRateLimitExceeded"}')] * 3,
        [SEND, sleep(2.0), SEND, sleep(2.0), SEND],
        ZendeskRateLimitError,
        attempts=3,
        says='rate-limited GET /api/v2/job_statuses/V3-abc (429: {"error": "APIRateLimitExceeded"}) and kept',
    ),
    "Retry-After longer than a call may block gives up at once": Case(
        [answer(429, Retry_After="3600")],
        [SEND],
        ZendeskRateLimitError,
        says="asked to wait 3600 s, longer than the 300 s this call may block",
    ),
    # -- 5xx and the network: backoff doubling from 1 s, jitter in its upper half --
    "5xx backs off doubling": Case(
        [answer(502, b"bad gateway"), answer(500, b""), answer(504, b""), answer()],
        [SEND, sleep(0.5), SEND, sleep(1.0), SEND, sleep(2.0), SEND],
        COMPLETED,
    ),
    "503 with Retry-After waits it": Case(
        [answer(503, b"", Retry_After="9"), answer()], [SEND, sleep(9.0), SEND], COMPLETED
    ),
    "5xx past the budget, with an excerpt of the page": Case(
        [answer(502, b"<html><style>x{}</style><h1>502 Bad Gateway</h1>" + b"x" * 50_000 + b"</html>")] * 2,
        [SEND, sleep(0.5), SEND],
        ZendeskUnavailableError,
        attempts=2,
        says="with 502 past the retry budget: 502 Bad Gateway xxx",
    ),
    "timeouts and broken connections are retried": Case(
        [no_answer(TransportFailure.CONNECT), no_answer(TransportFailure.READ_TIMEOUT), answer()],
        [SEND, sleep(0.5), SEND, sleep(1.0), SEND],
        COMPLETED,
    ),
    "timeouts past the budget": Case(
        [no_answer(TransportFailure.READ_TIMEOUT)] * 2,
        [SEND, sleep(0.5), SEND],
        ZendeskUnavailableError,
        attempts=2,
        says="No answer from Zendesk for GET /api/v2/job_statuses/V3-abc past the retry budget (no answer within",
    ),
    "a body that is not JSON is retried, then given up": Case(
        [answer(body=b'{"job_status": {"id": "V3-a')] * 2,
        [SEND, sleep(0.5), SEND],
        ZendeskResponseError,
        attempts=2,
        says="with status 200 but a body that is not JSON",
    ),
    # -- answers that are final --
    **{
        f"{status} is not retried": Case([answer(status, b'{"error": "X"}')], [SEND], error)
        for status, error in [
            (400, ZendeskResponseError),
            (401, ZendeskAuthError),
            (403, ZendeskAuthError),
            (422, ZendeskResponseError),
            (302, ZendeskResponseError),
        ]
    },
    "404 names the job and how long Zendesk keeps it": Case(
        [answer(404, b'{"error": "RecordNotFound"}')], [SEND], ZendeskNotFoundError, says="job V3-abc (404 on GET"
    ),
    "a ready OAuth token refused is final": Case(
        [answer(401)], [send(READ, "Bearer OAUTH-1")], ZendeskAuthError, auth=OAuthTokenAuth("OAUTH-1")
    ),
    # -- a bulk call: sent again only when Zendesk proved it started nothing --
    "a bulk call's 5xx is not sent again": Case(
        [answer(502, b"bad gateway")], [send(IMPORT)], ZendeskUnavailableError, request=IMPORT, says="not sent again"
    ),
    "a bulk call's lost answer is not sent again": Case(
        [no_answer(TransportFailure.READ_TIMEOUT)],
        [send(IMPORT)],
        ZendeskUnavailableError,
        request=IMPORT,
        says="broke after POST /api/v2/imports/tickets/create_many was sent",
    ),
    "a bulk call never received is sent again": Case(
        [no_answer(TransportFailure.CONNECT_TIMEOUT), answer()],
        [send(IMPORT), sleep(0.5), send(IMPORT)],
        COMPLETED,
        request=IMPORT,
    ),
    "a bulk call's 429 proves nothing started: sent again": Case(
        [answer(429, Retry_After="1"), answer()], [send(IMPORT), sleep(1.0), send(IMPORT)], COMPLETED, request=IMPORT
    ),
    "a bulk call at the job limit waits for jobs to finish": Case(
        [answer(429, b'{"error": "TooManyJobs"}'), answer()],
        [send(IMPORT), sleep(JOB_LIMIT_RETRY_SECONDS), send(IMPORT)],
        COMPLETED,
        request=IMPORT,
    ),
    "a bulk call at the job limit past its budget": Case(
        [answer(429, b'{"error": "TooManyJobs"}')],
        [send(IMPORT)],
        ZendeskJobLimitError,
        request=IMPORT,
        attempts=1,
        says="the account has 30 jobs queued or working",
    ),
    # -- client credentials: a token fetched, masked before use, renewed once on 401 --
    "a token is fetched and masked before its first use": Case(
        [token("T1"), answer()], [TOKEN_FETCH, SEND_TOKEN, mask("T1"), bearer("T1")], COMPLETED, auth=CLIENT
    ),
    "a 401 renews the token once and tries again": Case(
        [token("OLD"), answer(401), token("NEW"), answer()],
        [TOKEN_FETCH, SEND_TOKEN, mask("OLD"), bearer("OLD"), TOKEN_FETCH, SEND_TOKEN, mask("NEW"), bearer("NEW")],
        COMPLETED,
        auth=CLIENT,
    ),
    "a second 401 is final": Case(
        [token("OLD"), answer(401), token("NEW"), answer(401)],
        [TOKEN_FETCH, SEND_TOKEN, mask("OLD"), bearer("OLD"), TOKEN_FETCH, SEND_TOKEN, mask("NEW"), bearer("NEW")],
        ZendeskAuthError,
        auth=CLIENT,
    ),
    "a refused client is final, the token request not renewed": Case(
        [answer(401, b'{"error": "invalid_client"}')],
        [TOKEN_FETCH, SEND_TOKEN],
        ZendeskAuthError,
        auth=CLIENT,
        says="POST /oauth/tokens",
    ),
    "a token request is retried through a 5xx": Case(
        [answer(503, b""), token("T1"), answer()],
        [TOKEN_FETCH, SEND_TOKEN, sleep(0.5), SEND_TOKEN, mask("T1"), bearer("T1")],
        COMPLETED,
        auth=CLIENT,
    ),
    "a token answer without access_token": Case(
        [answer(body=b'{"token_type": "bearer"}')],
        [TOKEN_FETCH, SEND_TOKEN],
        ZendeskResponseError,
        auth=CLIENT,
        says="has no access_token",
    ),
    "a token answer that is not JSON is never quoted": Case(
        [answer(body=b'{"access_token": "LEAKED-T')],
        [TOKEN_FETCH, SEND_TOKEN],
        ZendeskResponseError,
        auth=CLIENT,
        attempts=1,
        says="(body not shown: the answer to a token request may hold credentials)",
    ),
}


@pytest.mark.parametrize("case", [pytest.param(case, id=name) for name, case in CASES.items()])
def test_the_steps_for_each_answer(case: Case) -> None:
    policy = RetryPolicy() if case.attempts is None else RetryPolicy(max_attempts=case.attempts)
    driver, outcome = run(case.answers, case.request, case.auth, policy)
    assert driver.steps == case.steps
    if isinstance(case.outcome, type):
        assert type(outcome) is case.outcome, outcome
        assert case.says in str(outcome)
    else:
        assert outcome == case.outcome
    secrets = [API_TOKEN.token, API_TOKEN.header(), CLIENT.client_secret, "OLD", "NEW", "T1", "LEAKED"]
    assert not any(secret in str(outcome) for secret in secrets)


def test_the_give_up_carries_what_zendesk_asked(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        _, error = run([answer(429, Retry_After="2")] * 3, policy=RetryPolicy(max_attempts=3))
    assert isinstance(error, ZendeskRateLimitError) and error.retry_after == 2.0
    assert error.status_code == 429 and error.path == READ.path
    assert "slow down (429) on GET /api/v2/job_statuses/V3-abc; waiting 2.0 s before attempt 2 of 3" in caplog.text
    _, too_long = run([answer(429, Retry_After="3600")])
    assert isinstance(too_long, ZendeskRateLimitError) and too_long.retry_after == 3600.0


def test_a_retry_after_holds_back_every_later_request_of_the_flow() -> None:
    """The gate: after a Retry-After too long to sleep through, the next request waits it out first."""
    driver = Driver([answer(429, Retry_After="900"), answer()])
    flow = driver.flow()
    settings = ConnectionSettings(BASE, API_TOKEN)
    with pytest.raises(ZendeskRateLimitError):
        driver.carry_out(flow.run(READ, settings))
    assert flow.wait_needed() == 900.0
    driver.now += 100
    assert driver.carry_out(flow.run(READ, settings)) == COMPLETED
    assert driver.steps == [SEND, sleep(800.0), SEND]
    assert flow.wait_needed() == 0.0


def test_the_budget_counts_every_attempt_whatever_failed() -> None:
    """Five attempts by default: a 429, a 5xx and network failures all spend the same budget."""
    failures: list[Answer | NoAnswer] = [
        answer(429),
        answer(502, b""),
        no_answer(TransportFailure.CLOSED),
        answer(503, b""),
    ]
    driver, outcome = run([*failures, no_answer(TransportFailure.CONNECT)])
    assert isinstance(outcome, ZendeskUnavailableError)
    assert [step[0] for step in driver.steps].count("send") == 5
    assert [step for step in driver.steps if step[0] == "sleep"] == [sleep(0.5), sleep(1.0), sleep(2.0), sleep(4.0)]


def test_attempts_replaces_the_budget_for_one_request_only() -> None:
    """A bulk operator sends each call once and keeps the retry in its own queue; the flow's reads keep five."""
    driver = Driver([answer(429), answer(502, b""), answer()])
    flow, settings = driver.flow(), ConnectionSettings(BASE, API_TOKEN)
    with pytest.raises(ZendeskRateLimitError):
        driver.carry_out(flow.run(IMPORT, settings, attempts=1))
    assert driver.carry_out(flow.run(READ, settings)) == COMPLETED
    assert driver.steps == [send(IMPORT), SEND, sleep(0.5), SEND]


def test_a_cached_token_serves_until_its_renewal_margin() -> None:
    driver = Driver([token("T1", expires_in=3600), answer(), answer(), token("T2"), answer()])
    flow, settings = driver.flow(), ConnectionSettings(BASE, CLIENT)
    for _ in range(2):
        driver.carry_out(flow.run(READ, settings))
    driver.now += 3600 - 59  # inside the 60 s renewal margin
    driver.carry_out(flow.run(READ, settings))
    assert driver.steps == [
        TOKEN_FETCH, SEND_TOKEN, mask("T1"), bearer("T1"),
        TOKEN_FETCH, bearer("T1"),
        TOKEN_FETCH, SEND_TOKEN, mask("T2"), bearer("T2"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "step",
    [
        Send(READ, API_TOKEN.header()),
        Mask("T-SECRET"),
        Answer(200, {}, b'{"access_token": "T-SECRET"}'),
        TokenFetch(RequestFlow(RetryPolicy(), lambda: START).run(READ, ConnectionSettings(BASE, CLIENT))),
        ConnectionSettings(BASE, CLIENT),
        ConnectionSettings(BASE, API_TOKEN),
    ],
    ids=lambda step: type(step).__name__,
)
def test_no_step_shows_a_secret_in_its_repr(step: object) -> None:
    shown = repr(step)
    for secret in ("T-SECRET", API_TOKEN.token, API_TOKEN.header().removeprefix("Basic "), CLIENT.client_secret):
        assert secret not in shown


# -- the policy's arithmetic --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("attempt", "rand", "cap", "expected"),
    [
        (1, 0.0, None, 0.5),
        (1, 0.999, None, 0.9995),
        (3, 0.0, None, 2.0),
        (6, 0.0, None, 15.0),  # 32 s capped at backoff_max 30 s
        (200, 0.999, None, 29.985),  # no overflow on a long outage
        (4, 0.0, 5.0, 2.5),  # the poller's interval caps it instead
    ],
)
def test_backoff_doubles_within_its_ceiling_and_jitters_in_the_upper_half(
    attempt: int, rand: float, cap: float | None, expected: float
) -> None:
    assert RetryPolicy().delay(attempt, None, rand, cap=cap) == pytest.approx(expected)


def test_what_zendesk_asked_replaces_the_backoff() -> None:
    assert RetryPolicy().delay(4, 7.0, 0.9) == 7.0


@pytest.mark.parametrize("attempts", [0, -1, 1.5, True, "5"])
def test_the_budget_is_a_whole_number_of_attempts(attempts: Any) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="retry_limit must be a whole number of attempts"):
        RetryPolicy(max_attempts=attempts)
