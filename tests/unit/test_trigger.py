"""ZendeskJobStatusTrigger: its event for every outcome, its serialised form, its logs.

Each trigger runs its real ``run()`` with the real async hook against the emulator; the poller's
sleeps move the emulator's clock (``on_emulator_time``, through the registry's poller factory), so a wait of minutes
takes milliseconds and the clock time of every event is exact.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import triggers_on_clock
from airflow_provider_zendesk_jobs.triggers.handoff import TRIGGER_CLASSPATH
from airflow_provider_zendesk_jobs.triggers.registry import pollers_on_running_loop
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from tests.airflow_compat import capture_airflow_logs
from tests.support.pollers import (
    SHOW_MANY,
    RecordingHook,
    on_emulator_time,
    show_many_requests,
)
from tests.support.triggers import event_of

pytestmark = pytest.mark.timeout(60)
CLASSPATH = "airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger"


@pytest.fixture
def trigger_logs() -> Iterator[list[dict[str, Any]]]:
    """What triggers log through Airflow's structlog loggers, as formatted events."""
    with capture_airflow_logs() as logs:
        yield logs


@pytest.fixture(autouse=True)
def emulator_time(emulator: ZendeskEmulator) -> Iterator[None]:
    with on_emulator_time(emulator):
        yield


def trigger_for(emu: ZendeskEmulator, job_ids: list[str], **kwargs: Any) -> ZendeskJobStatusTrigger:
    kwargs.setdefault("poll_interval", 5)
    kwargs.setdefault("started_at", emu.clock.now())
    return ZendeskJobStatusTrigger(job_ids, **kwargs)


# -- the serialised form ----------------------------------------------------------------------------
def test_serialize_holds_only_primitives_and_rebuilds_the_same_trigger() -> None:
    trigger = ZendeskJobStatusTrigger(
        ["V3-a", "V3-b"],
        zendesk_conn_id="zendesk_eu",
        poll_interval=15,
        not_found_grace=90,
        fail_on_item_errors=True,
        started_at=1_700_000_000.5,
        deadline=1_700_003_600,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH == TRIGGER_CLASSPATH  # the hand-off defers to the class the trigger stores
    assert kwargs == {  # as given: the constructor stores, run() checks
        "job_ids": ["V3-a", "V3-b"],
        "zendesk_conn_id": "zendesk_eu",
        "poll_interval": 15,
        "not_found_grace": 90,
        "fail_on_item_errors": True,
        "started_at": 1_700_000_000.5,
        "deadline": 1_700_003_600,
    }
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert ZendeskJobStatusTrigger(**kwargs).serialize() == (classpath, kwargs)
    checked = trigger.check_arguments()
    assert (checked.poll_interval, checked.not_found_grace, checked.deadline) == (15.0, 90.0, 1_700_003_600.0)


def test_serialized_form_survives_airflow_serde() -> None:
    from tests.airflow_compat import deserialize, serialize

    _, kwargs = ZendeskJobStatusTrigger(["V3-a"], deadline=1_700_000_000.0).serialize()
    rebuilt = ZendeskJobStatusTrigger(**deserialize(serialize(kwargs)))
    assert rebuilt.serialize()[1] == kwargs


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"job_ids": []}, "job_ids: The list of Zendesk job ids is empty"),
        ({"job_ids": ["V3-a/../x"]}, "job_ids: 'V3-a/../x' is not a valid Zendesk job id (it contains '/')"),
        ({"job_ids": 12}, "job_ids: int 12 is not a Zendesk job id or a list of them"),
        ({"job_ids": ["V3-a"], "poll_interval": 0}, "poll_interval: 0 must be above 0 seconds"),
        ({"job_ids": ["V3-a"], "not_found_grace": -1}, "not_found_grace: -1 must be at least 0 seconds"),
        ({"job_ids": ["V3-a"], "deadline": "tomorrow"}, "deadline: 'tomorrow' is not a time"),
        ({"job_ids": ["V3-a"], "started_at": float("nan")}, "started_at: nan is not a time"),
        ({"job_ids": ["V3-a"], "zendesk_conn_id": ""}, "zendesk_conn_id: '' is not an Airflow connection id"),
        ({"job_ids": ["V3-a"], "fail_on_item_errors": "yes"}, "fail_on_item_errors: 'yes' is not true or false"),
        ({"job_ids": ["V3-a"], "max_wait": 5}, "'max_wait': not an argument of this release of the trigger (value 5)"),
    ],
)
async def test_bad_arguments_end_the_wait_at_once_with_a_message(
    emulator: ZendeskEmulator, trigger_logs: list[dict[str, Any]], kwargs: dict[str, Any], fragment: str
) -> None:
    trigger = ZendeskJobStatusTrigger(**kwargs)  # the constructor stores; only run() checks
    assert trigger.serialize()[1]["job_ids"] == kwargs["job_ids"]
    event = await event_of(trigger)
    assert event["status"] == "error"
    assert event["error_type"] == "ZendeskInvalidInputError"
    assert event["message"].startswith("The deferred Zendesk wait cannot start: ")
    assert fragment in event["message"]
    assert event["message"].endswith(
        "No retry changes a stored argument: fix the DAG or the provider release, then clear the task."
    )
    assert [e["event"] for e in trigger_logs if e["log_level"] == "warning"] == [event["message"]]
    assert emulator.requests == []  # no request, no poller
    assert pollers_on_running_loop() == {}
    with pytest.raises(ZendeskInvalidInputError, match=re.escape(fragment)):
        trigger.check_arguments()


async def test_a_rebuilt_trigger_keeps_the_original_grace_and_deadline(emulator: ZendeskEmulator) -> None:
    """A triggerer restart rebuilds the trigger from its kwargs: the wait's clock does not restart."""
    first_check = emulator.clock.now() - 100  # the sensor checked 100 s ago
    _, kwargs = trigger_for(emulator, ["V3-unknown"], started_at=first_check, not_found_grace=60).serialize()
    event = await event_of(ZendeskJobStatusTrigger(**kwargs))
    assert event["status"] == "failed"
    assert "does not know job id V3-unknown after 60 s" in event["message"]
    assert "about a day" in event["message"]


# -- outcomes -------------------------------------------------------------------------------------------
async def test_success_when_every_job_completes(emulator: ZendeskEmulator, trigger_logs: list[dict[str, Any]]) -> None:
    ids = [emulator.create_job(count=4, work_seconds=work) for work in (3, 12)]
    start = emulator.clock.now()
    event = await event_of(trigger_for(emulator, ids))
    assert event["status"] == "success"
    assert event["job_ids"] == ids
    assert event["message"] == f"Zendesk finished {ids[0]}, {ids[1]}"
    assert [(job["id"], job["status"], job["total"], job["progress"]) for job in event["jobs"]] == [
        (ids[0], "completed", 4, 4),
        (ids[1], "completed", 4, 4),
    ]
    assert "error_type" not in event
    assert emulator.clock.now() - start == 15  # polls at +5, +10, +15; the second job ends at +13
    lines = [entry["event"] for entry in trigger_logs if entry["log_level"] == "info"]
    assert f"{ids[1]}: working 1/4" in lines
    assert f"{ids[1]}: completed 4/4" in lines
    # Seen completed at +5, +10 and +15, but at a 5 s interval a line that reads the same is not
    # repeated at INFO: only as a reminder, not before half a minute.
    assert lines.count(f"{ids[0]}: completed 4/4") == 1
    assert not [line for line in lines if "unchanged for" in line]


async def test_a_long_queue_writes_reminders_not_a_line_per_poll(
    emulator: ZendeskEmulator, trigger_logs: list[dict[str, Any]]
) -> None:
    job_id = emulator.create_job(count=2, queued_seconds=118, work_seconds=1)
    event = await event_of(trigger_for(emulator, [job_id]))
    assert event["status"] == "success"
    info = [e["event"] for e in trigger_logs if e["log_level"] == "info" and e["event"].startswith(job_id)]
    reminders = [line for line in info if "(unchanged for " in line]
    assert info[0] == f"{job_id}: queued 0/2"
    assert info[-1] == f"{job_id}: completed 2/2"
    # 23 polls in the queue, 5 s apart: a reminder a minute, the first after half a minute at least.
    assert len(reminders) in (1, 2)
    assert all(line.startswith(f"{job_id}: queued 0/2 (unchanged for ") for line in reminders)
    assert all(int(line.split("unchanged for ")[1].split(" ")[0]) >= 30 for line in reminders)
    assert len(info) == 2 + len(reminders)


@pytest.mark.parametrize("outcome", ["failed", "killed"])
async def test_a_dead_job_fails_the_wait_naming_it(emulator: ZendeskEmulator, outcome: str) -> None:
    ok = emulator.create_job(count=2, work_seconds=100)
    dead = emulator.create_job(count=2, work_seconds=7, outcome=outcome)
    event = await event_of(trigger_for(emulator, [ok, dead]))
    assert event["status"] == "failed"
    assert event["message"].startswith(f"Zendesk job {dead} ended {outcome}: ")
    assert event["message"] == f"Zendesk job {dead} ended {outcome}: {emulator.job(dead)['message']}"
    assert {job["id"]: job["status"] for job in event["jobs"]} == {ok: "working", dead: outcome}


async def test_item_errors_fail_the_wait_only_when_asked(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job("tickets_import", count=3, fail_indexes=[1], work_seconds=2)
    lenient = await event_of(trigger_for(emulator, [job_id]))
    strict = await event_of(trigger_for(emulator, [job_id], fail_on_item_errors=True))
    assert lenient["status"] == "success"
    assert strict["status"] == "failed"
    assert strict["message"].startswith(f"Zendesk job {job_id} completed but 1 of 3 items failed")
    assert "item 1: " in strict["message"]


async def test_a_job_not_visible_yet_is_waited_for_within_the_grace(
    emulator: ZendeskEmulator, trigger_logs: list[dict[str, Any]]
) -> None:
    emulator.store_settings.not_visible_seconds = 12
    job_id = emulator.create_job(count=2, work_seconds=20)
    with on_emulator_time(emulator):
        event = await event_of(trigger_for(emulator, [job_id], not_found_grace=60))
    statuses = [r.status for r in show_many_requests(emulator)]
    assert event["status"] == "success"
    assert (
        f"{job_id}: not visible yet (Zendesk answers 404 for a moment after a bulk call; waiting up to 60 s "
        "from the first check)"
    ) in [entry["event"] for entry in trigger_logs]
    assert statuses == [200] * 5  # ids left out of the answer at +5 and +10, then seen


async def test_an_unknown_id_fails_after_the_grace(emulator: ZendeskEmulator) -> None:
    start = emulator.clock.now()
    event = await event_of(trigger_for(emulator, ["V3-nosuchjob"], not_found_grace=30))
    assert event["status"] == "failed"
    assert event["message"] == (
        "Zendesk does not know job id V3-nosuchjob after 30 s of waiting: the id is wrong, or the job is older "
        "than Zendesk keeps job statuses (about a day). Check the id the bulk call returned."
    )
    assert event["jobs"] == []
    assert emulator.clock.now() == start + 30


async def test_an_unknown_status_keeps_waiting_and_is_warned_about_once(
    emulator: ZendeskEmulator, trigger_logs: list[dict[str, Any]]
) -> None:
    job_id = emulator.create_job(count=2, work_seconds=1)
    emulator.set_job_status(job_id, "paused")
    trigger = trigger_for(emulator, [job_id], deadline=emulator.clock.now() + 20)
    event = await event_of(trigger)
    assert event["status"] == "timeout"
    warnings = [e["event"] for e in trigger_logs if e["log_level"] == "warning" and "'paused'" in e["event"]]
    assert warnings == [
        f"{job_id}: Zendesk reports status 'paused', which this provider does not know; the job counts as not "
        "finished until it is completed, failed or killed"
    ]
    progress = [(e["log_level"], e["event"]) for e in trigger_logs if e["event"].startswith(f"{job_id}: paused")]
    # Polled 4 times in 20 s; the line reads the same each time, so it is written once at INFO.
    assert [level for level, _ in progress if level == "info"] == ["info"]
    assert len({text for _, text in progress}) == 1


async def test_the_deadline_ends_the_wait_as_a_timeout(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=2, work_seconds=600)
    start = emulator.clock.now()
    event = await event_of(trigger_for(emulator, [job_id], poll_interval=30, deadline=start + 45))
    assert emulator.clock.now() == start + 45  # one last read at the deadline, not a poll interval later
    assert event["status"] == "timeout"
    assert event["message"].startswith(f"Zendesk job {job_id} did not finish by the sensor's deadline (2023-11-14T")
    assert "45 s after the first check" in event["message"]
    assert f"last seen: {job_id}: working" in event["message"]
    assert event["jobs"][0]["status"] == "working"


async def test_a_job_finishing_at_the_deadline_still_succeeds(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=2, work_seconds=10)
    deadline = emulator.finish_time(job_id) + 1
    event = await event_of(trigger_for(emulator, [job_id], poll_interval=300, deadline=deadline))
    assert event["status"] == "success"


async def test_a_deadline_already_past_reads_once_then_times_out(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=2, work_seconds=600)
    start = emulator.clock.now()
    event = await event_of(trigger_for(emulator, [job_id], deadline=start - 10))
    assert event["status"] == "timeout"
    assert [r.time for r in show_many_requests(emulator)] == [start]


async def test_refused_credentials_end_the_wait_with_an_error_event(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(emulator.connection_extra_json())
    conn["password"] = "nope-SECRET"
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_DEFAULT", json.dumps(conn))
    event = await event_of(trigger_for(emulator, ["V3-a"]))
    assert event["status"] == "error"
    assert event["error_type"] == "ZendeskAuthError"
    assert event["message"].startswith(
        "While checking V3-a: Zendesk refused the credentials for GET /api/v2/job_statuses/show_many (401)"
    )
    assert "nope-SECRET" not in json.dumps(event)
    assert "Traceback" not in event["message"]


async def test_an_outage_that_outlasts_the_deadline_ends_the_wait_as_a_timeout_on_time(
    emulator: ZendeskEmulator, trigger_logs: list[dict[str, Any]]
) -> None:
    job_id = emulator.create_job(count=2, work_seconds=3600)
    start = emulator.clock.now()
    emulator.add_fault(Fault("html_error", path_prefix=SHOW_MANY))  # every read, until the end
    event = await event_of(trigger_for(emulator, [job_id], deadline=start + 120))
    assert event["status"] == "timeout"
    assert emulator.clock.now() == start + 120
    assert "did not finish by the sensor's deadline" in event["message"]
    assert "Zendesk gave no answer for the last 1 min 55 s (502)" in event["message"]
    records = show_many_requests(emulator)
    assert {record.status for record in records} == {502}
    assert records[-1].time <= start + 120
    assert 10 <= len(records) <= 120 / 2.5 + 6  # backing off: at most two tries a 5 s interval, once grown
    warnings = [e["event"] for e in trigger_logs if e["log_level"] == "warning" and "unavailable" in e["event"]]
    assert len(warnings) == 1 and warnings[0].startswith("Zendesk unavailable for ")
    assert ": 502; still waiting, next check in " in warnings[0]


async def test_a_missing_connection_ends_the_wait_with_an_error_event(emulator: ZendeskEmulator) -> None:
    event = await event_of(trigger_for(emulator, ["V3-a"], zendesk_conn_id="no_such_connection"))
    assert event["status"] == "error"
    assert "no_such_connection" in event["message"]


async def test_429_is_announced_in_each_wait_s_log(
    emulator: ZendeskEmulator, trigger_logs: list[dict[str, Any]]
) -> None:
    job_id = emulator.create_job(count=2, work_seconds=12)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=20, path_prefix=SHOW_MANY))
    event = await event_of(trigger_for(emulator, [job_id]))
    assert event["status"] == "success"
    assert [e["event"] for e in trigger_logs if "slow down" in e["event"]] == [
        f"Zendesk asked to slow down (429): the next check of {job_id} waits 20.0 s"
    ]


# -- the shared poller, from the trigger's side ------------------------------------------------------
async def test_triggers_on_one_connection_share_one_poller_and_leave_nothing_running(
    emulator: ZendeskEmulator,
) -> None:
    ids = [emulator.create_job(count=2, work_seconds=4 * n) for n in range(1, 4)]
    hook = RecordingHook(emulator)
    with triggers_on_clock(emulator.clock.now, emulator.advance, hook=hook):
        tasks = [asyncio.create_task(event_of(trigger_for(emulator, [job_id]))) for job_id in ids]
        await asyncio.sleep(0)
        (poller,) = pollers_on_running_loop().values()
        assert poller.waits == 3
        events = await asyncio.gather(*tasks)
    assert [event["status"] for event in events] == ["success"] * 3
    assert poller.closed and pollers_on_running_loop() == {}
    await asyncio.gather(poller.task, return_exceptions=True)  # type: ignore[arg-type]
    assert hook.closings == 1  # the HTTP client was closed
    # Every cycle asked for all the ids still waited on, in one request.
    assert [len(r.query.split(",")) for r in show_many_requests(emulator)] == [3, 2, 1]


async def test_the_poller_logs_outside_of_any_one_trigger_s_context(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=2, work_seconds=3)
    hook = RecordingHook(emulator)

    async def run_as_task_one() -> dict[str, Any]:
        RecordingHook.marker.set("task-one")  # like the triggerer binding a trigger's ids for its log lines
        return await event_of(trigger_for(emulator, [job_id]))

    with triggers_on_clock(emulator.clock.now, emulator.advance, hook=hook):
        assert (await asyncio.create_task(run_as_task_one()))["status"] == "success"
    assert hook.read_in and set(hook.read_in) == {"none"}


async def test_a_cancelled_trigger_leaves_the_poller_and_no_request_follows(emulator: ZendeskEmulator) -> None:
    stays, leaves = (emulator.create_job(count=2, work_seconds=30) for _ in range(2))
    staying = asyncio.create_task(event_of(trigger_for(emulator, [stays])))
    leaving = asyncio.create_task(event_of(trigger_for(emulator, [leaves])))
    while len(show_many_requests(emulator)) < 1:
        await asyncio.sleep(0)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    cancelled_at = emulator.clock.now()
    assert (await staying)["status"] == "success"
    later = [r for r in show_many_requests(emulator) if r.time > cancelled_at]
    assert later and all(leaves not in r.query for r in later)


async def test_cancelling_the_last_trigger_stops_all_traffic(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=2, work_seconds=3600)
    task = asyncio.create_task(event_of(trigger_for(emulator, [job_id])))
    while len(show_many_requests(emulator)) < 2:
        await asyncio.sleep(0)
    (poller,) = pollers_on_running_loop().values()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.gather(poller.task, return_exceptions=True)  # type: ignore[arg-type]
    assert poller.closed and pollers_on_running_loop() == {}
    count, now = len(emulator.requests), emulator.clock.now()
    for _ in range(50):
        await asyncio.sleep(0)
    assert (len(emulator.requests), emulator.clock.now()) == (count, now)


async def test_pollers_are_per_connection(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_OTHER", emulator.connection_extra_json(auth="oauth"))
    job_id = emulator.create_job(count=2, work_seconds=3)
    tasks = [
        asyncio.create_task(event_of(trigger_for(emulator, [job_id]))),
        asyncio.create_task(event_of(trigger_for(emulator, [job_id], zendesk_conn_id="zendesk_other"))),
    ]
    await asyncio.sleep(0)
    assert set(pollers_on_running_loop()) == {"zendesk_default", "zendesk_other"}
    assert [event["status"] for event in await asyncio.gather(*tasks)] == ["success", "success"]
    assert {r.auth for r in show_many_requests(emulator)} == {"basic", "bearer"}


def test_pollers_are_per_event_loop(emulator: ZendeskEmulator) -> None:
    job_id = emulator.create_job(count=2, work_seconds=3)
    seen = []

    async def one_wait() -> str:
        task = asyncio.create_task(event_of(trigger_for(emulator, [job_id])))
        await asyncio.sleep(0)
        seen.append(pollers_on_running_loop()["zendesk_default"])
        return str((await task)["status"])

    assert [asyncio.run(one_wait()), asyncio.run(one_wait())] == ["success", "success"]
    assert seen[0] is not seen[1]
