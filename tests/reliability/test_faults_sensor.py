"""ZendeskJobStatusSensor under every fault, in poke, reschedule and deferrable mode, against the emulator.

Each test runs the whole task as Airflow would (the poke loop, one fresh sensor per reschedule
try, or execute / the trigger rebuilt from its serialised form / execute_complete on a fresh
sensor), all on the emulator's clock, while the account misbehaves from a scheduled clock time on.
"""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.waiting.failures import ZendeskWaitError
from tests.airflow_compat import AirflowTaskTerminated
from tests.reliability.fault_support import (
    SENSOR_MODES,
    SHOW_MANY,
    FaultCase,
    Schedule,
    api_reads,
    assert_retry_after_honoured,
    assert_token_renewed_once_per_refusal,
    connect,
    connect_for,
    faults,
    job_summary_now,
    kill_at_next_sleep,
    run_sensor,
)

pytestmark = pytest.mark.timeout(60)
FINISH = 30.0  # the job ends 30 s after the wait begins; the sensor checks every 10 s


def job_finishing(emu: ZendeskEmulator, seconds: float = FINISH) -> str:
    records = [{"subject": "one"}, {"subject": "FAIL two"}, {"subject": "three"}]
    return emu.create_job("tickets_import", records=records, queued_seconds=0, work_seconds=seconds)


@pytest.mark.parametrize("case", faults())
@pytest.mark.parametrize("mode", SENSOR_MODES)
def test_a_fault_mid_wait_within_the_retry_budget_changes_nothing(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str, case: FaultCase
) -> None:
    connect_for(case, emulator, monkeypatch)
    job_id = job_finishing(emulator)
    schedule = Schedule(emulator)
    schedule.at(15, lambda: emulator.add_fault(case.fault(count=case.burst)))
    outcome = run_sensor(schedule, job_id, mode, monkeypatch)
    assert outcome.error is None
    assert outcome.value == job_summary_now(emulator, job_id)
    assert outcome.deferred is (mode == "deferrable")
    records = api_reads(emulator)
    assert [record.fault for record in records].count(case.kind) == case.burst
    assert records[-1].status == 200 and records[-1].time >= emulator.finish_time(job_id)
    if case.retry_after is not None:
        assert_retry_after_honoured(records, case.retry_after)


@pytest.mark.parametrize("case", faults())
@pytest.mark.parametrize("mode", SENSOR_MODES)
def test_an_outage_past_the_retry_budget(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str, case: FaultCase
) -> None:
    """A poke says "not yet" to a rate limit or an outage; a deferred wait waits out any answer waiting can fix."""
    connect_for(case, emulator, monkeypatch)
    job_id = job_finishing(emulator)
    schedule = Schedule(emulator)
    schedule.at(15, lambda: emulator.add_fault(case.fault(count=5)))  # one check's whole retry budget
    outcome = run_sensor(schedule, job_id, mode, monkeypatch)
    if case.transient or mode == "deferrable":
        assert outcome.error is None
        assert outcome.value == job_summary_now(emulator, job_id)
        assert [record.fault for record in api_reads(emulator)].count(case.kind) == 5
        return
    error = outcome.raised(ZendeskWaitError)  # a poke meeting a body that is not JSON, past the budget
    assert not isinstance(error, AirflowFailException)
    assert case.says in str(error)
    if case.status is not None:
        assert str(case.status) in str(error)


@pytest.mark.parametrize("mode", SENSOR_MODES)
def test_a_retry_after_longer_than_a_check_may_block_is_still_honoured(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    job_id = job_finishing(emulator)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=900, path_prefix=SHOW_MANY))
    outcome = run_sensor(Schedule(emulator), job_id, mode, monkeypatch)
    assert outcome.value == job_summary_now(emulator, job_id)
    records = api_reads(emulator)
    assert_retry_after_honoured(records, 900)
    assert len(records) == 2  # the job had long finished once the pause was over


@pytest.mark.parametrize("mode", SENSOR_MODES)
def test_a_requests_per_minute_limit_is_never_exceeded(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    job_id = job_finishing(emulator, seconds=300)
    emulator.set_rate_limit(3)
    outcome = run_sensor(Schedule(emulator), job_id, mode, monkeypatch, poke_interval=5)
    assert outcome.value == job_summary_now(emulator, job_id)
    records = api_reads(emulator)
    served = [record.time for record in records if record.status == 200]
    for first in served:
        assert sum(first <= when < first + 60 for when in served) <= 3
    for index, record in enumerate(records):
        if record.status == 429:
            assert records[index + 1].status == 200  # it waited out exactly what was asked


@pytest.mark.parametrize("mode", SENSOR_MODES)
def test_a_new_job_not_visible_yet_is_waited_for(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    emulator.store_settings.not_visible_seconds = 25
    job_id = job_finishing(emulator)
    outcome = run_sensor(Schedule(emulator), job_id, mode, monkeypatch, not_found_grace=60)
    assert outcome.value == job_summary_now(emulator, job_id)
    assert [record.status for record in api_reads(emulator)] == [200] * 4  # +0, +10, +20: not in the answer yet


@pytest.mark.parametrize("mode", SENSOR_MODES)
def test_a_job_expiring_mid_wait_fails_the_task_naming_it(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    job_id = job_finishing(emulator, seconds=300)
    schedule = Schedule(emulator)
    schedule.at(35, lambda: emulator.expire_job(job_id))
    outcome = run_sensor(schedule, job_id, mode, monkeypatch, not_found_grace=30)
    error = outcome.raised(AirflowFailException)
    assert str(error) == (
        f"Zendesk does not know job id {job_id} after 30 s of waiting: the id is wrong, or the job is older than "
        "Zendesk keeps job statuses (about a day). Check the id the bulk call returned."
    )
    assert schedule.elapsed() == 40  # the first check after it vanished


@pytest.mark.parametrize(("mode", "tokens", "refused"), [("poke", 2, 1), ("reschedule", 4, 0), ("deferrable", 3, 1)])
def test_an_oauth_token_revoked_mid_wait_is_renewed_once_and_the_wait_goes_on(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str, tokens: int, refused: int
) -> None:
    """Each reschedule try and the triggerer fetch their own token; a revoked one is renewed once."""
    connect(emulator, monkeypatch, "client_credentials")
    job_id = job_finishing(emulator)
    schedule = Schedule(emulator)
    schedule.at(15, emulator.expire_tokens)
    outcome = run_sensor(schedule, job_id, mode, monkeypatch)
    assert outcome.value == job_summary_now(emulator, job_id)
    assert emulator.tokens_issued == tokens
    assert_token_renewed_once_per_refusal(emulator, refused)


@pytest.mark.parametrize("mode", SENSOR_MODES)
def test_a_task_killed_during_a_retry_after_pause_sends_nothing_more(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    job_id = job_finishing(emulator)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=30, path_prefix=SHOW_MANY))
    schedule = Schedule(emulator)
    kill_at_next_sleep(schedule, monkeypatch)
    with pytest.raises(AirflowTaskTerminated):
        run_sensor(schedule, job_id, mode, monkeypatch)
    assert [record.status for record in api_reads(emulator)] == [429]
