"""A finished job whose items are not in Zendesk's form, met when the items are first read.

A job's items are parsed only when something reads them (the rule, with
``fail_on_item_errors=True``, or the results operator's XCom form). The error raised then is
the same ``ZendeskResponseError`` a parse would have raised, and every waiting task turns it
into the same Airflow failure as any other provider error: never a bare provider exception,
and no stack trace in the triggerer's log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing.timeline import on_clock
from airflow_provider_zendesk_jobs.triggers import zendesk_jobs as trigger_module
from airflow_provider_zendesk_jobs.triggers.messages import PollAnswer
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from airflow_provider_zendesk_jobs.waiting.failures import ZendeskWaitError
from tests.airflow_compat import capture_airflow_logs
from tests.support.hooks import API_TOKEN, EMAIL, SHOW_MANY_URL, FakeClock, job, set_connection

#: ``index`` must be a whole number: the item is not in the documented form.
BAD_ITEMS = [{"index": "first", "id": 1000}]
NEEDLE = "results[0].'index' should be a whole number or null, got str"


@pytest.fixture(autouse=True)
def token_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login=EMAIL, password=API_TOKEN)


def completed_with_bad_items() -> dict[str, Any]:
    return {"job_statuses": [job("V3-abc", "completed", total=1, progress=1, results=BAD_ITEMS)]}


def test_a_poke_that_reads_bad_items_fails_the_try_as_a_wait_error(requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, json=completed_with_bad_items())
    clock = FakeClock()
    sensor = on_clock(ZendeskJobStatusSensor, clock.time, clock.sleep)(
        task_id="wait", job_id="V3-abc", fail_on_item_errors=True, poke_interval=5
    )
    with pytest.raises(ZendeskWaitError, match=r"results\[0\]\.'index'"):
        sensor.poke({})  # type: ignore[arg-type]


def test_a_poke_that_needs_no_items_succeeds_without_reading_them(requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, json=completed_with_bad_items())
    clock = FakeClock()
    sensor = on_clock(ZendeskJobStatusSensor, clock.time, clock.sleep)(task_id="wait", job_id="V3-abc", poke_interval=5)
    assert sensor.poke({})  # type: ignore[arg-type]


@pytest.mark.parametrize("wait_for_completion", [True, False])
def test_the_results_operator_fails_as_a_wait_error_naming_the_bad_item(
    wait_for_completion: bool, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(SHOW_MANY_URL, json=completed_with_bad_items())
    clock = FakeClock()
    operator = on_clock(ZendeskJobResultsOperator, clock.time, clock.sleep)(
        task_id="read", job_id="V3-abc", wait_for_completion=wait_for_completion
    )
    with pytest.raises(ZendeskWaitError) as info:
        operator.execute({})  # type: ignore[arg-type]
    assert NEEDLE in str(info.value)


def test_the_results_operator_after_a_deferral_fails_the_same_way(requests_mock: rm.Mocker) -> None:
    requests_mock.get(SHOW_MANY_URL, json=completed_with_bad_items())
    clock = FakeClock()
    operator = on_clock(ZendeskJobResultsOperator, clock.time, clock.sleep)(task_id="read", job_id="V3-abc")
    event = {"status": "success", "job_ids": ["V3-abc"], "message": "done", "jobs": []}
    with pytest.raises(ZendeskWaitError) as info:
        operator.execute_complete({}, event)  # type: ignore[arg-type]
    assert NEEDLE in str(info.value)


class _OneAnswerPoller:
    """Hands the trigger one answer as the shared poller would: through its callback, at once."""

    def __init__(self, statuses: dict[str, JobStatus]) -> None:
        self.statuses = statuses

    def clock(self) -> float:
        return 1_700_000_000.0

    def hold_until(self, until: float) -> None:
        raise AssertionError("no pause was asked for")

    def register(self, job_ids: list[str], *, on_message: Any, **_: Any) -> contextlib.AbstractContextManager[None]:
        on_message(PollAnswer(self.clock(), {job_id: self.statuses[job_id] for job_id in job_ids}))
        return contextlib.nullcontext()


@pytest.fixture
def trigger_logs() -> Iterator[list[dict[str, Any]]]:
    with capture_airflow_logs() as captured:
        yield captured


async def test_the_trigger_ends_with_an_error_event_and_a_warning_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, trigger_logs: list[dict[str, Any]]
) -> None:
    bad = JobStatus.from_api(job("V3-abc", "completed", total=1, progress=1, results=BAD_ITEMS))
    poller = _OneAnswerPoller({"V3-abc": bad})

    async def shared_poller(zendesk_conn_id: str) -> _OneAnswerPoller:
        return poller

    monkeypatch.setattr(trigger_module, "_shared_poller", shared_poller)
    trigger = ZendeskJobStatusTrigger(job_ids=["V3-abc"], fail_on_item_errors=True, poll_interval=5)
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    payload = events[0].payload
    assert (payload["status"], payload["error_type"]) == ("error", "ZendeskResponseError")
    assert NEEDLE in payload["message"]
    about_it = [entry for entry in trigger_logs if NEEDLE in str(entry["event"])]
    assert [entry["log_level"] for entry in about_it] == ["warning"]
    assert not any(entry.get("exc_info") for entry in trigger_logs)
