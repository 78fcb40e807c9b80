"""A poison trigger row beside good waits, in Airflow's own ``TriggerRunner``, in process.

The triggerer's runner builds each trigger from its stored row in ``create_triggers`` and catches
only ``TypeError``: anything else escapes and ends the runner's main loop, and with it every
deferred task on that triggerer. Here the real runner is fed workloads the way its supervisor
feeds them (classpath and the stored kwargs, encoded as Airflow stores them), runs the good waits
against the emulator, and is checked to stay up while the garbage row ends in an error event that
fails its task with the message. A control trigger that raises ``ValueError`` in its constructor
(as this provider's did up to 0.1.0) shows the runner really does not survive that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from airflow.jobs.triggerer_job_runner import TriggerRunner
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.version_compat import AIRFLOW_V_3_1_PLUS
from airflow_provider_zendesk_jobs.waiting.failures import result_from_event
from tests.airflow_compat import RunTrigger, stored_trigger_kwargs_text
from tests.support.pollers import (
    on_emulator_time,
)

pytestmark = pytest.mark.timeout(60)

CLASSPATH = "airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger"
#: A row no release of this provider would write: an id that climbs the path, a negative interval,
#: and an argument this release does not know.
POISON_KWARGS: dict[str, Any] = {
    "job_ids": ["V3-a/../x"],
    "zendesk_conn_id": "zendesk_default",
    "poll_interval": -5,
    "not_found_grace": 60.0,
    "fail_on_item_errors": False,
    "started_at": None,
    "deadline": None,
    "max_wait": 5,
}
POISON_MESSAGE = (
    "The deferred Zendesk wait cannot start: job_ids: 'V3-a/../x' is not a valid Zendesk job id (it contains "
    "'/'): it must be 1 to 128 characters from A-Z, a-z, 0-9, '-' and '_'. Pass the 'id' of the job status a "
    "bulk call returned, not its URL or a list rendered as text with other separators; poll_interval: -5 must "
    "be above 0 seconds; 'max_wait': not an argument of this release of the trigger (value 5); the row was "
    "probably written by a newer release of airflow-provider-zendesk-jobs. Install the same release on the "
    "workers and the triggerer. No retry changes a stored argument: fix the DAG or the provider release, then "
    "clear the task."
)


class ValueErrorTrigger(BaseTrigger):
    """The control: a constructor that checks its kwargs and raises ValueError, as 0.1.0's did."""

    def __init__(self, job_ids: list[str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        raise ValueError(f"{job_ids!r} is not a valid Zendesk job id")

    def serialize(self) -> tuple[str, dict[str, Any]]:  # pragma: no cover - never built
        return f"{__name__}.ValueErrorTrigger", {}

    async def run(self) -> AsyncIterator[TriggerEvent]:  # pragma: no cover - never built
        yield TriggerEvent({})  # type: ignore[no-untyped-call]


def workload(trigger_id: int, kwargs: dict[str, Any], classpath: str = CLASSPATH) -> RunTrigger:
    """What the supervisor sends the runner for a trigger row (kwargs stored unencrypted, as Airflow reads them)."""
    return RunTrigger(id=trigger_id, ti=None, classpath=classpath, encrypted_kwargs=stored_trigger_kwargs_text(kwargs))


@pytest.fixture
def runner(emulator: ZendeskEmulator) -> Iterator[TriggerRunner]:
    with on_emulator_time(emulator):
        yield TriggerRunner()


async def run_to_the_end(runner: TriggerRunner) -> list[int]:
    """Let every created trigger finish, then collect them as the runner's main loop does."""
    tasks = [details["task"] for details in runner.triggers.values()]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    return await runner.cleanup_finished_triggers()


async def test_a_constructor_raising_value_error_takes_the_runner_down(runner: TriggerRunner) -> None:
    """The premise: anything but TypeError from a constructor escapes create_triggers."""
    runner.to_create.extend(
        [workload(1, {"job_ids": ["V3-a/../x"]}, classpath=f"{__name__}.ValueErrorTrigger"), workload(2, {})]
    )
    with pytest.raises(ValueError, match="is not a valid Zendesk job id"):
        await runner.create_triggers()
    assert 2 not in runner.triggers  # the row after it was never reached


async def test_a_poison_row_fails_its_own_task_and_the_runner_serves_the_good_waits(
    emulator: ZendeskEmulator, runner: TriggerRunner
) -> None:
    good = [emulator.create_job(count=3, work_seconds=work) for work in (6, 14)]
    now = emulator.clock.now()
    runner.to_create.extend(
        [
            workload(1, {"job_ids": [good[0]], "poll_interval": 5.0, "started_at": now}),
            workload(2, POISON_KWARGS),
            workload(3, {"job_ids": [good[1]], "poll_interval": 5.0, "started_at": now, "deadline": now + 600}),
        ]
    )
    await runner.create_triggers()  # raises nothing: the runner's loop goes on
    assert sorted(runner.triggers) == [1, 2, 3]
    assert list(runner.failed_triggers) == []

    finished = await run_to_the_end(runner)
    assert sorted(finished) == [1, 2, 3]
    assert list(runner.failed_triggers) == []  # every trigger sent its event; none "exited without one"
    # Airflow 3.1+ queues (trigger_id, event) as a message object; 3.0 as a plain pair.
    pairs = [(entry.trigger_id, entry.event) if hasattr(entry, "trigger_id") else entry for entry in runner.events]
    events = {trigger_id: event.payload for trigger_id, event in pairs}
    assert events[1]["status"] == events[3]["status"] == "success"
    assert events[2] == {
        "status": "error",
        "job_ids": [],
        "message": POISON_MESSAGE,
        "jobs": [],
        "error_type": "ZendeskInvalidInputError",
        "error_kind": "permanent",
    }
    if AIRFLOW_V_3_1_PLUS:  # the runner's report to its supervisor, as 3.1 added it
        changes = runner.process_trigger_events(finished)
        assert runner.sanitize_trigger_events(changes) == changes  # every event can be stored
        assert changes.failures is None

    # Back in the task: the poison row fails it for good, with that message; the good ones succeed.
    with pytest.raises(AirflowFailException) as info:
        result_from_event(events[2])
    assert str(info.value) == POISON_MESSAGE
    assert result_from_event(events[1])["job_ids"] == [good[0]]
