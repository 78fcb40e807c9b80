"""Zendesk's job limit: a bulk call refused because the account has 30 jobs queued or working.

Zendesk answers it with 429 and ``{"error": "TooManyJobs", ...}``; nothing was started. The hook
says so in its own words (not "slow down"), waits for jobs to finish without holding the account's
reads, and in the end raises :class:`ZendeskJobLimitError`, which a caller can tell from a rate
limit and which ``except ZendeskRateLimitError`` still catches. First with requests-mock on the
exact answer, then against the emulator, whose default limit is 30.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_zendesk_jobs.exceptions import ZendeskJobLimitError, ZendeskRateLimitError
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.waiting.failures import ZendeskWaitError, exception_for_error
from tests.support.hooks import API_TOKEN, BASE, EMAIL, FakeClock, job, make_hook, set_connection

CREATE_MANY = f"{BASE}/api/v2/tickets/create_many"
SHOW = f"{BASE}/api/v2/job_statuses/V3-abc"
#: The answer past the job limit: status 429 and the error code TooManyJobs (the description's
#: wording is not documented; this is the emulator's).
TOO_MANY_JOBS: dict[str, Any] = {
    "status_code": 429,
    "json": {
        "error": "TooManyJobs",
        "description": "Number of allowed background jobs exceeded: 30 jobs are queued or working; the limit is 30. "
        "Wait for some to finish before starting more.",
    },
}
RATE_LIMITED: dict[str, Any] = {
    "status_code": 429,
    "headers": {"Retry-After": "45"},
    "json": {"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"},
}
WHAT_TO_DO = (
    "the account has 30 jobs queued or working (the limit counts every integration on the account); nothing was "
    "started. Wait for jobs to finish, or lower concurrency (a pool with include_deferred=True)."
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def token_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login=EMAIL, password=API_TOKEN)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.name.startswith("airflow_provider_zendesk_jobs")
    ]


def test_the_job_limit_is_waited_out_in_its_own_words_then_raised_as_what_it_is(
    clock: FakeClock, requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.post(CREATE_MANY, [TOO_MANY_JOBS] * 5)
    with caplog.at_level(logging.WARNING), pytest.raises(ZendeskJobLimitError) as info:
        make_hook(clock).submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{"subject": "a"}]})
    assert requests_mock.call_count == 5
    assert clock.sleeps == [30.0] * 4  # no Retry-After: half a minute for jobs to finish, each time
    assert str(info.value) == (
        "Zendesk refused POST /api/v2/tickets/create_many (429: "
        '{"error": "TooManyJobs", "description": "Number of allowed background jobs exceeded: 30 jobs are queued or '
        'working; the limit is 30. Wait for some to finish before starting more."}) past the retry budget: '
        + WHAT_TO_DO
    )
    assert isinstance(info.value, ZendeskRateLimitError)  # `except ZendeskRateLimitError` still catches it
    assert info.value.status_code == 429
    assert warnings_of(caplog) == [
        "Zendesk refused POST /api/v2/tickets/create_many: the account's job limit is reached "
        "(30 jobs queued or working); "
        f"nothing was started. Waiting 30.0 s for jobs to finish before attempt {n} of 5"
        for n in range(2, 6)
    ]
    assert "slow down" not in caplog.text


def test_one_attempt_for_one_bulk_call_leaves_the_hook_s_reads_their_retries(
    clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    """A caller that queues refused calls itself sends each once, through a hook whose reads still retry."""
    requests_mock.post(CREATE_MANY, [TOO_MANY_JOBS] * 5)
    requests_mock.get(SHOW, [{"status_code": 500, "json": {}}, {"json": {"job_status": job()}}])
    hook = make_hook(clock)
    with pytest.raises(ZendeskJobLimitError):
        hook.submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}]}, attempts=1)
    assert requests_mock.call_count == 1 and clock.sleeps == []
    assert hook.get_job_status("V3-abc").status == "completed"
    assert requests_mock.call_count == 3 and len(clock.sleeps) == 1


def test_a_job_that_finishes_meanwhile_lets_the_next_attempt_in(clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.post(CREATE_MANY, [TOO_MANY_JOBS, TOO_MANY_JOBS, {"json": {"job_status": job("V3-new", "queued")}}])
    started = make_hook(clock).submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}]})
    assert started.id == "V3-new"
    assert clock.sleeps == [30.0, 30.0]


def test_a_retry_after_sent_with_it_is_waited_but_holds_no_read(clock: FakeClock, requests_mock: rm.Mocker) -> None:
    requests_mock.post(CREATE_MANY, [{**TOO_MANY_JOBS, "headers": {"Retry-After": "45"}}])
    requests_mock.get(SHOW, json={"job_status": job()})
    hook = make_hook(clock, retry_limit=2)
    with pytest.raises(ZendeskJobLimitError) as info:
        hook.submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}]})
    assert clock.sleeps == [45.0]
    assert info.value.retry_after == 45.0
    hook.get_job_status("V3-abc")  # the job limit refuses new jobs, not reads: no pause before this one
    assert clock.sleeps == [45.0]


def test_a_rate_limit_on_a_bulk_call_is_still_a_rate_limit(
    clock: FakeClock, requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    requests_mock.post(CREATE_MANY, [RATE_LIMITED])
    requests_mock.get(SHOW, json={"job_status": job()})
    hook = make_hook(clock, retry_limit=1)
    with caplog.at_level(logging.WARNING), pytest.raises(ZendeskRateLimitError) as info:
        hook.submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}]})
    assert not isinstance(info.value, ZendeskJobLimitError)
    assert "job limit" not in str(info.value)
    hook.get_job_status("V3-abc")  # a rate limit holds every request to the account
    assert clock.sleeps == [45.0]


def test_a_retry_after_longer_than_the_hook_may_block_gives_up_at_once(
    clock: FakeClock, requests_mock: rm.Mocker
) -> None:
    requests_mock.post(CREATE_MANY, [{**TOO_MANY_JOBS, "headers": {"Retry-After": "900"}}])
    with pytest.raises(ZendeskJobLimitError, match="the account has 30 jobs queued or working"):
        make_hook(clock).submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}]})
    assert requests_mock.call_count == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "body",
    [
        {"error": "TooManyJobs"},
        {"error": "too_many_jobs", "description": "x"},
        {"error": "RecordInvalid", "description": "Too many jobs queued for this account"},
        {"error": {"title": "Job limit reached"}},
    ],
)
def test_the_refusal_is_recognised_however_it_is_worded(
    clock: FakeClock, requests_mock: rm.Mocker, body: dict[str, Any]
) -> None:
    requests_mock.post(CREATE_MANY, status_code=429, json=body)
    with pytest.raises(ZendeskJobLimitError):
        make_hook(clock, retry_limit=1).submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}]})


def test_a_task_that_meets_the_job_limit_may_be_retried_by_airflow() -> None:
    error = ZendeskJobLimitError("Zendesk refused it: " + WHAT_TO_DO)
    assert isinstance(exception_for_error(error), ZendeskWaitError)
    assert isinstance(exception_for_error(error.kind, str(error)), ZendeskWaitError)


# -- against the emulator -------------------------------------------------------------------------------
def emulator_hook(emu: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> ZendeskJobStatusHook:
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_DEFAULT", emu.connection_extra_json())
    return ZendeskJobStatusHook(clock=emu.clock.now, sleep=emu.advance)  # the hook's waits move the emulator's clock


def test_the_31st_job_is_refused_naming_the_limit(
    zendesk_emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    emu = zendesk_emulator  # the default limit: 30
    hook = emulator_hook(emu, monkeypatch)
    started = [hook.submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}]}).id for _ in range(30)]
    for job_id in started:
        emu.set_job_status(job_id, "working")  # stuck: no place frees up
    with caplog.at_level(logging.WARNING), pytest.raises(ZendeskJobLimitError) as info:
        hook.submit_job("POST", "/api/v2/imports/tickets/create_many", {"tickets": [{}]})
    refused = emu.request_count("/api/v2/imports/tickets/create_many")
    served = len(emu.requests)
    assert "30 jobs are queued or working; the limit is 30" in str(info.value)  # Zendesk's answer, quoted
    assert str(info.value).endswith(WHAT_TO_DO)
    assert refused == 5
    assert sum("job limit is reached" in line for line in warnings_of(caplog)) == 4
    assert served == 35  # 30 started, 5 refused: nothing else


def test_a_bulk_call_at_the_limit_goes_through_once_a_job_finishes(
    zendesk_emulator_factory: Callable[..., ZendeskEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = zendesk_emulator_factory(max_active_jobs=2)
    hook = emulator_hook(emu, monkeypatch)
    for _ in range(2):
        hook.submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}] * 50})  # about 6 s of work each
    third = hook.submit_job("POST", "/api/v2/tickets/create_many", {"tickets": [{}]})
    statuses = [r.status for r in emu.requests]
    assert third.status == "queued"
    assert statuses == [200, 200, 429, 200]
