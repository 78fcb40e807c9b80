"""The sync and async hooks under every fault, against the emulator over loopback.

A fault the retry budget absorbs changes nothing in what the hook returns; past the budget the
hook raises the provider error, with the status and a short excerpt of what Zendesk sent. Every
wait is on the emulator's clock, so "no request before Retry-After has passed" is read exactly
from the emulator's request log.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskJobsError,
    ZendeskNotFoundError,
    ZendeskRateLimitError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook, ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from tests.support.faults import (
    FAULTS_BY_NAME,
    RATE_LIMITS,
    SHOW_MANY,
    TOKENS,
    FaultCase,
    Schedule,
    api_reads,
    assert_per_minute_limit_honoured,
    assert_retry_after_honoured,
    async_hook,
    clock_at_real_time,
    connect,
    connect_for,
    faults,
    sync_hook,
)

pytestmark = pytest.mark.timeout(60)
SHELLS = ("sync", "async")
IMPORT = "/api/v2/imports/tickets/create_many"


def with_hook(schedule: Schedule, shell: str, use: Callable[[Any], Any], **hook_kwargs: Any) -> Any:
    """``use(hook)`` with a fresh hook of that shell on the schedule; for the async one, awaited on a new loop."""
    if shell == "sync":
        return use(sync_hook(schedule, **hook_kwargs))

    async def run() -> Any:
        hook = async_hook(schedule, **hook_kwargs)
        try:
            return await use(hook)
        finally:
            await hook.aclose()

    return asyncio.run(run())


def read_many(schedule: Schedule, shell: str, job_ids: list[str], **hook_kwargs: Any) -> list[dict[str, Any]]:
    jobs = with_hook(schedule, shell, lambda hook: hook.get_job_statuses(job_ids), **hook_kwargs)
    return [job.to_dict() for job in jobs]


def finished_jobs(emu: ZendeskEmulator) -> list[str]:
    """Two finished jobs, one with a rejected item: results worth comparing after a fault."""
    ids = [
        emu.create_job("tickets_import", records=[{"subject": "a"}, {"subject": "FAIL b"}, {"subject": "c"}]),
        emu.create_job("users_create_or_update", count=4),
    ]
    emu.advance(max(emu.finish_time(job_id) for job_id in ids) - emu.clock.now())
    return ids


# -- within the retry budget ----------------------------------------------------------------------------
@pytest.mark.parametrize("case", faults())
@pytest.mark.parametrize("shell", SHELLS)
def test_a_fault_within_the_retry_budget_loses_nothing(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, shell: str, case: FaultCase
) -> None:
    connect_for(case, emulator_at_real_time, monkeypatch)
    ids = finished_jobs(emulator_at_real_time)
    schedule = Schedule(emulator_at_real_time)
    clean = read_many(schedule, shell, ids)
    emulator_at_real_time.reset_requests()
    emulator_at_real_time.add_fault(case.fault(count=case.burst))
    assert read_many(schedule, shell, ids) == clean
    assert clean[0]["counts"] == {"succeeded": 2, "failed": 1} and clean[1]["counts"]["succeeded"] == 4
    records = api_reads(emulator_at_real_time)
    assert [record.fault for record in records] == [case.kind] * case.burst + [None]
    assert records[-1].status == 200
    if case.retry_after is not None:
        assert_retry_after_honoured(records, case.retry_after)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in RATE_LIMITS])
@pytest.mark.parametrize("shell", SHELLS)
def test_a_429_storm_sends_nothing_before_retry_after_has_passed(
    emulator_at_real_time: ZendeskEmulator, shell: str, case: FaultCase
) -> None:
    ids = finished_jobs(emulator_at_real_time)
    schedule = Schedule(emulator_at_real_time)
    emulator_at_real_time.add_fault(case.fault(count=4))
    read_many(schedule, shell, ids)
    times = [record.time for record in api_reads(emulator_at_real_time)]
    assert [later - earlier for earlier, later in itertools.pairwise(times)] == [case.retry_after] * 4
    assert schedule.slept == [case.retry_after] * 4  # exactly what was asked, not a backoff on top


@pytest.mark.parametrize("shell", SHELLS)
def test_a_retry_after_longer_than_a_call_may_block_still_holds_back_the_next_call(
    emulator_at_real_time: ZendeskEmulator, shell: str
) -> None:
    ids = finished_jobs(emulator_at_real_time)
    schedule = Schedule(emulator_at_real_time)
    emulator_at_real_time.add_fault(Fault("rate_limit", count=1, retry_after=900, path_prefix=SHOW_MANY))

    async def twice_async(hook: ZendeskJobStatusAsyncHook) -> tuple[BaseException, Any]:
        with pytest.raises(ZendeskRateLimitError) as first:
            await hook.get_job_statuses(ids)
        assert hook.rate_limit_wait() == 900
        return first.value, await hook.get_job_statuses(ids)

    def twice_sync(hook: ZendeskJobStatusHook) -> tuple[BaseException, Any]:
        with pytest.raises(ZendeskRateLimitError) as first:
            hook.get_job_statuses(ids)
        return first.value, hook.get_job_statuses(ids)

    error, second = with_hook(schedule, shell, twice_sync if shell == "sync" else twice_async)
    assert isinstance(error, ZendeskRateLimitError) and error.retry_after == 900
    assert "asked to wait 900 s, longer than the 300 s this call may block" in str(error)
    assert [job.id for job in second] == ids
    first_request, second_request = api_reads(emulator_at_real_time)
    assert second_request.time - first_request.time == 900


@pytest.mark.parametrize("shell", SHELLS)
def test_a_requests_per_minute_limit_is_never_exceeded(emulator_at_real_time: ZendeskEmulator, shell: str) -> None:
    ids = finished_jobs(emulator_at_real_time)
    schedule = Schedule(emulator_at_real_time)
    emulator_at_real_time.set_rate_limit(5)

    def sync_reads(hook: ZendeskJobStatusHook) -> list[int]:
        return [len(hook.get_job_statuses(ids)) for _ in range(12)]

    async def async_reads(hook: ZendeskJobStatusAsyncHook) -> list[int]:
        return [len(await hook.get_job_statuses(ids)) for _ in range(12)]

    assert with_hook(schedule, shell, sync_reads if shell == "sync" else async_reads) == [2] * 12
    records = api_reads(emulator_at_real_time)
    assert sum(record.status == 200 for record in records) == 12
    assert sum(record.status == 429 for record in records) == 2  # one per minute of budget spent
    assert_per_minute_limit_honoured(records, 5)


# -- past the retry budget ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", faults())
@pytest.mark.parametrize("shell", SHELLS)
def test_past_the_retry_budget_the_provider_error_carries_the_status_and_an_excerpt(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, shell: str, case: FaultCase
) -> None:
    connect_for(case, emulator_at_real_time, monkeypatch)
    ids = finished_jobs(emulator_at_real_time)
    emulator_at_real_time.add_fault(case.fault())
    with pytest.raises(ZendeskJobsError) as info:
        read_many(Schedule(emulator_at_real_time), shell, ids, retry_limit=3)
    error = info.value
    assert type(error) is case.error
    assert error.status_code == case.status
    assert error.path is not None and error.path.startswith(SHOW_MANY)
    message = str(error)
    assert case.says in message
    assert f"GET {SHOW_MANY} " in message and "ids=" not in message  # the full path only at DEBUG (error.path)
    assert len(message) < 600 and "<" not in message  # an excerpt, never the whole page
    assert [record.fault for record in api_reads(emulator_at_real_time)] == [case.kind] * 3


# -- jobs not there (yet, or any more) -------------------------------------------------------------------
@pytest.mark.parametrize("shell", SHELLS)
def test_a_new_job_answers_404_until_it_is_visible(emulator_at_real_time: ZendeskEmulator, shell: str) -> None:
    emulator_at_real_time.store_settings.not_visible_seconds = 20
    job_id = emulator_at_real_time.create_job(count=2)
    schedule = Schedule(emulator_at_real_time)
    with pytest.raises(ZendeskNotFoundError) as info:
        with_hook(schedule, shell, lambda hook: hook.get_job_status(job_id))
    assert info.value.job_ids == (job_id,) and info.value.status_code == 404
    assert with_hook(schedule, shell, lambda hook: hook.get_job_statuses_by_id([job_id])) == {}
    assert [record.status for record in api_reads(emulator_at_real_time)] == [404, 200]  # a 404 is not retried
    emulator_at_real_time.advance(20)
    assert with_hook(schedule, shell, lambda hook: hook.get_job_status(job_id)).id == job_id


@pytest.mark.parametrize("shell", SHELLS)
def test_a_job_expiring_mid_wait_is_reported_gone_by_id(emulator_at_real_time: ZendeskEmulator, shell: str) -> None:
    job_id, other = finished_jobs(emulator_at_real_time)
    schedule = Schedule(emulator_at_real_time)
    assert len(read_many(schedule, shell, [job_id, other])) == 2
    emulator_at_real_time.expire_job(job_id)
    with pytest.raises(ZendeskNotFoundError) as one:
        with_hook(schedule, shell, lambda hook: hook.get_job_status(job_id))
    with pytest.raises(ZendeskNotFoundError) as many:
        read_many(schedule, shell, [job_id, other])
    assert one.value.job_ids == many.value.job_ids == (job_id,)
    assert f"Zendesk does not know job {job_id}" in str(one.value)
    assert f"Zendesk does not know job id {job_id}: " in str(many.value)
    assert "older than Zendesk keeps job statuses (about a day)" in str(many.value)
    found = with_hook(schedule, shell, lambda hook: hook.get_job_statuses_by_id([job_id, other]))
    assert list(found) == [other]


# -- OAuth tokens ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shell", SHELLS)
def test_a_token_revoked_mid_wait_is_renewed_once_and_the_reads_go_on(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, shell: str
) -> None:
    connect(emulator_at_real_time, monkeypatch, "client_credentials")
    ids = finished_jobs(emulator_at_real_time)
    schedule = Schedule(emulator_at_real_time)

    def sync_reads(hook: ZendeskJobStatusHook) -> list[int]:
        first = len(hook.get_job_statuses(ids))
        emulator_at_real_time.expire_tokens()
        return [first, len(hook.get_job_statuses(ids)), len(hook.get_job_statuses(ids))]

    async def async_reads(hook: ZendeskJobStatusAsyncHook) -> list[int]:
        first = len(await hook.get_job_statuses(ids))
        emulator_at_real_time.expire_tokens()
        return [first, len(await hook.get_job_statuses(ids)), len(await hook.get_job_statuses(ids))]

    assert with_hook(schedule, shell, sync_reads if shell == "sync" else async_reads) == [2, 2, 2]
    assert emulator_at_real_time.tokens_issued == 2
    assert [(record.path[:13], record.status) for record in emulator_at_real_time.requests] == [
        (TOKENS, 200),
        (SHOW_MANY[:13], 200),
        (SHOW_MANY[:13], 401),
        (TOKENS, 200),
        (SHOW_MANY[:13], 200),
        (SHOW_MANY[:13], 200),
    ]


@pytest.mark.parametrize("shell", SHELLS)
def test_a_renewed_token_refused_too_is_not_renewed_again(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, shell: str
) -> None:
    connect(emulator_at_real_time, monkeypatch, "client_credentials")
    ids = finished_jobs(emulator_at_real_time)
    emulator_at_real_time.add_fault(Fault("server_error", status=401, path_prefix=SHOW_MANY))
    with pytest.raises(ZendeskAuthError) as info:
        read_many(Schedule(emulator_at_real_time), shell, ids)
    assert info.value.status_code == 401
    assert emulator_at_real_time.tokens_issued == 2
    assert [record.status for record in api_reads(emulator_at_real_time)] == [401, 401]
    assert emulator_at_real_time.credentials.client_secret not in str(info.value)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_token_is_renewed_before_its_lifetime_ends(
    zendesk_emulator_factory: Callable[..., ZendeskEmulator], monkeypatch: pytest.MonkeyPatch, shell: str
) -> None:
    emu = zendesk_emulator_factory(clock=clock_at_real_time(), oauth_token_ttl=600)
    connect(emu, monkeypatch, "client_credentials")
    ids = finished_jobs(emu)
    schedule = Schedule(emu)

    def sync_reads(hook: ZendeskJobStatusHook) -> None:
        for _ in range(4):
            hook.get_job_statuses(ids)
            emu.advance(190)

    async def async_reads(hook: ZendeskJobStatusAsyncHook) -> None:
        for _ in range(4):
            await hook.get_job_statuses(ids)
            emu.advance(190)

    with_hook(schedule, shell, sync_reads if shell == "sync" else async_reads)
    assert emu.tokens_issued == 2  # renewed at +570 s, a minute before the token's 600 s ran out
    assert all(record.status == 200 for record in emu.requests)


# -- bulk calls: sent again only when Zendesk surely did not start the job ----------------------------------
@pytest.mark.parametrize(
    ("case", "sent_again", "started"),
    [
        pytest.param(FAULTS_BY_NAME["429-retry-after-seconds"], True, 1, id="429"),
        pytest.param(FaultCase("503", "server_error", ZendeskUnavailableError, 503, ""), True, 1, id="503"),
        pytest.param(FAULTS_BY_NAME["html-error-page"], False, 0, id="html-error-page"),
        pytest.param(FAULTS_BY_NAME["malformed-body"], False, 0, id="malformed-body"),
        pytest.param(FAULTS_BY_NAME["truncated-body"], False, 1, id="truncated-body"),
        pytest.param(FAULTS_BY_NAME["closed-connection"], False, 0, id="closed-connection"),
        pytest.param(FAULTS_BY_NAME["hang"], False, 0, id="hang"),
    ],
)
def test_a_bulk_call_is_sent_again_only_when_zendesk_did_not_start_the_job(
    emulator_at_real_time: ZendeskEmulator,
    monkeypatch: pytest.MonkeyPatch,
    case: FaultCase,
    sent_again: bool,
    started: int,
) -> None:
    connect_for(case, emulator_at_real_time, monkeypatch)
    schedule = Schedule(emulator_at_real_time)
    emulator_at_real_time.add_fault(case.fault(count=1, path_prefix=IMPORT))
    hook = sync_hook(schedule)
    tickets = {"tickets": [{"subject": "one"}, {"subject": "two"}]}
    if sent_again:
        job = hook.submit_job("POST", IMPORT, tickets)
        assert [record.status for record in api_reads(emulator_at_real_time)] == [case.status, 200]
        assert [listed.id for listed in hook.list_job_statuses()] == [job.id]
        return
    with pytest.raises((ZendeskUnavailableError, ZendeskResponseError)) as info:
        hook.submit_job("POST", IMPORT, tickets)
    assert len(api_reads(emulator_at_real_time)) == 1
    assert "may have started the job" in str(info.value)
    assert "Look for it in the job status list" in str(info.value)
    assert len(list(hook.list_job_statuses())) == started


# -- cancellation ---------------------------------------------------------------------------------------------
# (a sync call killed during a Retry-After pause: test_faults_waiting.py, with the tasks)
@pytest.mark.parametrize("where", ["retry-after", "hang"])
async def test_an_async_call_cancelled_mid_wait_sends_nothing_more(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    ids = finished_jobs(emulator_at_real_time)
    if where == "hang":
        connect(emulator_at_real_time, monkeypatch, read_timeout=30)  # only the cancellation can end it
        emulator_at_real_time.add_fault(Fault("hang", count=1, path_prefix=SHOW_MANY))
    else:
        emulator_at_real_time.add_fault(Fault("rate_limit", count=1, retry_after=30, path_prefix=SHOW_MANY))
    asleep = asyncio.Event()

    async def forever(seconds: float) -> None:
        asleep.set()
        await asyncio.Event().wait()

    hook = ZendeskJobStatusAsyncHook(clock=emulator_at_real_time.clock.now, sleep=forever)
    task = asyncio.create_task(hook.get_job_statuses(ids))
    for _ in range(500):  # until the request is in the emulator's log (a hang) or the hook is asleep
        if asleep.is_set() or api_reads(emulator_at_real_time):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await hook.aclose()
    assert [record.fault for record in api_reads(emulator_at_real_time)] == [
        "rate_limit" if where != "hang" else "hang"
    ]


@pytest.mark.parametrize("case", faults("5xx", "html-error-page", "truncated-body", "closed-connection", "hang"))
@pytest.mark.parametrize("shell", SHELLS)
def test_a_fault_on_the_token_endpoint_is_retried_like_a_read(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, shell: str, case: FaultCase
) -> None:
    connect_for(case, emulator_at_real_time, monkeypatch, "client_credentials")
    ids = finished_jobs(emulator_at_real_time)
    emulator_at_real_time.add_fault(case.fault(count=case.burst, path_prefix=TOKENS))
    assert len(read_many(Schedule(emulator_at_real_time), shell, ids)) == 2
    tokens = [record for record in emulator_at_real_time.requests if record.path == TOKENS]
    assert [record.fault for record in tokens] == [case.kind] * case.burst + [None]
    assert [record.status for record in api_reads(emulator_at_real_time)] == [200]
