"""ZendeskJobEventTrigger against the emulator: which jobs fire, each once, with and without a state store.

The trigger reads the emulator's job list over real HTTP. In ``run()`` its sleeps move the
emulator's clock and play the next step of a script (a job is killed, a fault starts), so
each read sees a known state; the shared-stream tests run Airflow's own ``SharedStreamManager``
on real time, with a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError, ZendeskUnavailableError
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.triggers.job_events import (
    JobListStream,
    ReportedJobs,
    ZendeskJobEventTrigger,
    cursor_key,
    list_jobs,
)
from tests.airflow_compat import AIRFLOW_V_3_3_PLUS

pytestmark = pytest.mark.timeout(60)
LIST = "/api/v2/job_statuses"
INTERVAL = 30.0


class ScriptEnded(Exception):
    """Raised by the scripted sleep after its last step: ends the trigger's generator."""


class Script:
    """A trigger's sleep: moves the emulator's clock by the interval, then plays the next step."""

    def __init__(self, emu: ZendeskEmulator, steps: Sequence[Callable[[], Any]]) -> None:
        self.emu, self.steps = emu, list(steps)

    async def __call__(self, seconds: float) -> None:
        self.emu.advance(seconds)
        if not self.steps:
            raise ScriptEnded
        self.steps.pop(0)()


class MemoryStore:
    """An asset state store accessor as Airflow 3.3 gives a watcher (``aget``/``aset``), in memory."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value
        self.writes += 1


async def fired(trigger: ZendeskJobEventTrigger, emu: ZendeskEmulator) -> list[tuple[str, str, float]]:
    """(job id, status, emulator time) of every event, until the script ends."""
    events = []

    async def read_all() -> None:
        async for event in trigger.run():
            events.append((event.payload["job_id"], event.payload["status"], emu.clock.now()))

    with pytest.raises(ScriptEnded):
        await read_all()
    return events


def working_job(emu: ZendeskEmulator, kind: str = "tickets_import") -> str:
    return emu.create_job(kind, count=2, queued_seconds=0, work_seconds=10_000)


def kill(emu: ZendeskEmulator, job_id: str) -> Callable[[], None]:
    return lambda: emu.set_job_status(job_id, "killed")


def nothing() -> None:
    pass


def list_reads(emu: ZendeskEmulator) -> list[float]:
    return [record.time for record in emu.requests if record.path == LIST]


async def test_a_killed_job_fires_once_at_the_next_read(emulator: ZendeskEmulator) -> None:
    first, second = working_job(emulator), working_job(emulator)
    script = Script(emulator, [kill(emulator, first), nothing, kill(emulator, second), nothing, nothing])
    trigger = ZendeskJobEventTrigger(poll_interval=INTERVAL, sleep=script)
    start = emulator.clock.now()

    events = await fired(trigger, emulator)

    assert events == [(first, "killed", start + INTERVAL), (second, "killed", start + 3 * INTERVAL)]
    assert list_reads(emulator) == [start + INTERVAL * n for n in range(6)]  # one list read per interval


async def test_without_a_state_store_the_first_read_is_the_baseline(emulator: ZendeskEmulator) -> None:
    already = working_job(emulator)
    emulator.set_job_status(already, "failed")
    later = working_job(emulator)
    script = Script(emulator, [kill(emulator, later), nothing])

    events = await fired(ZendeskJobEventTrigger(poll_interval=INTERVAL, sleep=script), emulator)

    assert [job_id for job_id, _, _ in events] == [later]  # the job failed before the start is not reported


async def test_with_a_state_store_a_restart_goes_on_from_the_cursor(emulator: ZendeskEmulator) -> None:
    already = working_job(emulator)
    emulator.set_job_status(already, "failed")
    later = working_job(emulator)
    store = MemoryStore()

    first = ZendeskJobEventTrigger(poll_interval=INTERVAL, sleep=Script(emulator, [kill(emulator, later), nothing]))
    first.asset_state_store = store  # what Airflow 3.3's triggerer does for a watcher
    assert [job_id for job_id, _, _ in await fired(first, emulator)] == [already, later]  # nothing lost at the start
    key = cursor_key("zendesk_default", ["failed", "killed"], [])
    assert sorted(store.values[key]) == sorted([already, later])

    restarted = ZendeskJobEventTrigger(poll_interval=INTERVAL, sleep=Script(emulator, [nothing, nothing]))
    restarted.asset_state_store = store
    assert await fired(restarted, emulator) == []  # nothing twice after the restart


async def test_a_store_shared_by_several_assets_falls_back_to_memory(emulator: ZendeskEmulator) -> None:
    class Ambiguous(MemoryStore):
        async def aget(self, key: str, default: Any = None) -> Any:
            raise ValueError("Task has 2 concrete inlets and outlets")

    already = working_job(emulator)
    emulator.set_job_status(already, "killed")
    trigger = ZendeskJobEventTrigger(poll_interval=INTERVAL, sleep=Script(emulator, [nothing]))
    trigger.asset_state_store = store = Ambiguous()
    assert await fired(trigger, emulator) == []
    assert store.writes == 0


async def test_statuses_and_job_types_choose_the_jobs(emulator: ZendeskEmulator) -> None:
    imported, updated = working_job(emulator, "tickets_import"), working_job(emulator, "tickets_update")
    done = emulator.create_job("tickets_import", count=1, queued_seconds=0, work_seconds=INTERVAL / 2)
    steps = [lambda: (emulator.set_job_status(imported, "failed"), emulator.set_job_status(updated, "failed")), nothing]
    trigger = ZendeskJobEventTrigger(
        statuses=["completed", "FAILED"],
        job_types="bulk import ticket",
        poll_interval=INTERVAL,
        sleep=Script(emulator, steps),
    )
    events = await fired(trigger, emulator)
    assert sorted(job_id for job_id, _, _ in events) == sorted([imported, done])


async def test_bad_arguments_fail_before_any_request(emulator: ZendeskEmulator) -> None:
    trigger = ZendeskJobEventTrigger(statuses=["fialed"], job_types=[3], poll_interval=0)  # type: ignore[list-item]
    with pytest.raises(ZendeskInvalidInputError) as info:
        await anext(trigger.run())
    assert "statuses ['fialed']" in str(info.value)
    assert "job_types" in str(info.value) and "poll_interval 0.0" in str(info.value)
    assert emulator.requests == []
    assert trigger.shared_stream_key() is None  # Airflow 3.3 then runs run(), which says the above


async def test_an_interval_too_large_for_a_float_is_named_by_run_not_raised_by_the_constructor() -> None:
    """The triggerer survives only a TypeError from a trigger's constructor."""
    trigger = ZendeskJobEventTrigger(poll_interval=10**400)
    with pytest.raises(ZendeskInvalidInputError, match=r"poll_interval 1000+\.\.\. \(401 characters\) is not a number"):
        await anext(trigger.run())


def test_equal_arguments_make_equal_kwargs() -> None:
    from airflow.triggers.base import BaseEventTrigger

    one = ZendeskJobEventTrigger(statuses=["killed", "failed", "failed"], poll_interval=60)
    two = ZendeskJobEventTrigger(statuses=("failed", "killed"), poll_interval=60.0, sleep=asyncio.sleep)
    assert one.serialize() == two.serialize()
    assert one.serialize()[1] == {
        "zendesk_conn_id": "zendesk_default",
        "statuses": ["failed", "killed"],
        "job_types": [],
        "poll_interval": 60.0,
    }
    assert BaseEventTrigger.hash(*one.serialize()) == BaseEventTrigger.hash(*two.serialize())
    ZendeskJobEventTrigger(statuses=object(), poll_interval="soon")  # type: ignore[arg-type]  # stored, checked in run()


def test_an_asset_watcher_takes_the_trigger() -> None:
    from airflow.sdk import Asset, AssetWatcher

    asset = Asset("zendesk_failed_jobs", watchers=[AssetWatcher(name="zd", trigger=ZendeskJobEventTrigger())])
    assert isinstance(asset.watchers[0].trigger, ZendeskJobEventTrigger)


# -- the job list stream ---------------------------------------------------------------------------
class Lister:
    """A hook whose list (an async iterator, as the async hook's) answers as scripted: jobs, or an error."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers

    def list_job_statuses(self, limit: int | None = None) -> AsyncIterator[JobStatus]:
        return self._listed(self.answers.pop(0))

    async def _listed(self, answer: list[JobStatus] | Exception) -> AsyncIterator[JobStatus]:
        if isinstance(answer, Exception):
            raise answer
        for listed in answer:
            yield listed


def job(job_id: str, status: str) -> JobStatus:
    return JobStatus.from_api({"id": job_id, "status": status})


async def test_the_stream_reads_the_list_again_and_warns_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    down = ZendeskUnavailableError("503 from Zendesk")
    killed = [job("V3-b", "killed")]
    lister = Lister([[job("V3-a", "working")], down, down, killed, ZendeskInvalidInputError("no host")])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    reads = []

    async def read_all() -> None:
        async for read in JobListStream(lister, 5.0, sleep=sleep).reads():
            reads.append([j.id for j in read])

    with caplog.at_level("INFO"), pytest.raises(ZendeskInvalidInputError):
        await read_all()
    assert reads == [["V3-a"], ["V3-b"]]
    assert slept == [5.0] * 4
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "503 from Zendesk" in warnings[0]
    assert await list_jobs(Lister([killed])) == killed


async def test_the_cursor_forgets_jobs_zendesk_no_longer_lists() -> None:
    store = MemoryStore()
    cursor = await ReportedJobs.load(store, "k", None)
    await cursor.add("V3-a")
    cursor.keep_only(["V3-b"])
    await cursor.add("V3-b")
    assert store.values == {"k": ["V3-b"]}
    assert not (await ReportedJobs.load(store, "k", None)).baseline


# -- Airflow 3.3: one read for every watcher of the connection --------------------------------------
@pytest.fixture
def real_time_emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    """The plugin's emulator on its default running clock (``clock=None``: a ScaledClock), not a manual one."""
    emulator: ZendeskEmulator = zendesk_emulator_factory(conn_id="zendesk_default", clock=None)
    return emulator


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="shared streams came with Airflow 3.3")
async def test_watchers_of_one_connection_share_one_read(real_time_emulator: ZendeskEmulator) -> None:
    from airflow.triggers.shared_stream import SharedStreamManager

    emu = real_time_emulator
    failed_job, killed_job = working_job(emu), working_job(emu)
    on_failed = ZendeskJobEventTrigger(statuses="failed", poll_interval=1)
    on_either = ZendeskJobEventTrigger(statuses=["failed", "killed"], poll_interval=1)
    assert on_failed.shared_stream_key() == on_either.shared_stream_key()
    manager = SharedStreamManager()
    streams = {
        trigger_id: trigger.filter_shared_stream(manager.subscribe(trigger_id=trigger_id, trigger=trigger, key=key))
        for trigger_id, trigger in ((1, on_failed), (2, on_either))
        if (key := trigger.shared_stream_key()) is not None
    }

    async def first_reads_done() -> None:
        while len([r for r in emu.requests if r.path == LIST]) < 1:
            await asyncio.sleep(0.05)

    async def events(trigger_id: int, count: int) -> list[str]:
        return [(await anext(streams[trigger_id])).payload["job_id"] for _ in range(count)]

    got = asyncio.gather(events(1, 1), events(2, 2))
    await asyncio.wait_for(first_reads_done(), 10)
    emu.set_job_status(failed_job, "failed")
    emu.set_job_status(killed_job, "killed")
    only_failed, both = await asyncio.wait_for(got, 20)
    reads = len([r for r in emu.requests if r.path == LIST])
    for trigger_id in streams:
        await manager.unsubscribe(trigger_id, on_failed.shared_stream_key())

    assert only_failed == [failed_job]
    assert sorted(both) == sorted([failed_job, killed_job])
    assert reads == 2  # the baseline read and the one that saw both jobs end, for both watchers
