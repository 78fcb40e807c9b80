"""The shared poller against the emulator, on a manual clock the test drives.

Every request count and every time below comes from the emulator's own request log or from
the messages the poller delivered, so each assertion is about what went over the wire.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import math
import random
import time

import pytest

from airflow_provider_zendesk_jobs import job_ids as job_ids_module
from airflow_provider_zendesk_jobs.api import operations as operations_module
from airflow_provider_zendesk_jobs.api import request_builders as request_builders_module
from airflow_provider_zendesk_jobs.exceptions import (
    ZendeskAuthError,
    ZendeskInvalidInputError,
    ZendeskResponseError,
    ZendeskUnavailableError,
)
from airflow_provider_zendesk_jobs.testing import Fault, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import advancing_sleep
from airflow_provider_zendesk_jobs.triggers import poller as poller_module
from airflow_provider_zendesk_jobs.triggers.messages import (
    DeadlineReached,
    PollAnswer,
    PollFailure,
    PollPaused,
    PollUnanswered,
)
from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller, Subscription
from airflow_provider_zendesk_jobs.triggers.registry import pollers_on_running_loop, shared_poller, use_poller_factory
from tests.support.pollers import (
    SHOW_MANY,
    Driven,
    Watched,
    asked_ids,
    requests_per_time,
    show_many_requests,
)

pytestmark = pytest.mark.timeout(60)


def running_jobs(emu: ZendeskEmulator, count: int) -> list[str]:
    """Jobs that stay 'working' for an hour of clock time."""
    return [emu.create_job(count=2, work_seconds=3600) for _ in range(count)]


def answer_times(messages: list[object]) -> list[float]:
    return [message.at for message in messages if isinstance(message, PollAnswer)]


async def test_waits_share_show_many_requests_of_at_most_100_ids(emulator: ZendeskEmulator) -> None:
    ids = running_jobs(emulator, 250)
    driven = Driven(emulator)
    start = emulator.clock.now()
    subs = [driven.watch([job_id], poll_interval=5) for job_id in ids]
    await driven.run_for(20)

    records = show_many_requests(emulator)
    assert requests_per_time(records) == {start + 5: 3, start + 10: 3, start + 15: 3, start + 20: 3}
    assert [len(asked_ids(r)) for r in records[:3]] == [100, 100, 50]
    assert sorted(job_id for r in records[:3] for job_id in asked_ids(r)) == sorted(ids)
    for sub in subs:
        messages = sub.take()
        assert answer_times(messages) == [start + 5, start + 10, start + 15, start + 20]
        assert messages[-1].statuses[sub.job_ids[0]].status == "working"
    for sub in subs:
        sub.close()


async def test_ids_are_checked_once_when_a_wait_registers_not_every_cycle(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of deferred waits send the same ids every cycle, on the triggerer's event loop."""
    ids = running_jobs(emulator, 150)
    checked: list[int] = []

    def counting(job_ids: list[str]) -> list[str]:
        checked.append(len(job_ids))
        return job_ids_module.validate_job_ids(job_ids)

    for module in (poller_module, operations_module, request_builders_module):
        monkeypatch.setattr(module, "validate_job_ids", counting)
    driven = Driven(emulator)
    sub = driven.watch(ids, poll_interval=5)
    assert checked == [150]
    await driven.run_for(20)
    assert len(show_many_requests(emulator)) == 4 * 2
    assert answer_times(sub.take())[-1] == emulator.clock.now()
    assert checked == [150]  # no cycle checked them again
    sub.close()


async def test_ids_shared_by_several_waits_are_asked_once(emulator: ZendeskEmulator) -> None:
    a, b, c = running_jobs(emulator, 3)
    driven = Driven(emulator)
    subs = [driven.watch(ids, poll_interval=5) for ids in ([a, b], [b, c], [a], [a, a])]
    await driven.run_for(5)
    (record,) = show_many_requests(emulator)
    assert sorted(asked_ids(record)) == sorted([a, b, c])
    assert set(subs[0].take()[0].statuses) == {a, b}
    assert set(subs[1].take()[0].statuses) == {b, c}
    assert set(subs[3].take()[0].statuses) == {a}
    for sub in subs:
        sub.close()


async def test_a_short_interval_is_not_starved_by_many_long_ones(emulator: ZendeskEmulator) -> None:
    fast_id, *slow_ids = running_jobs(emulator, 301)
    driven = Driven(emulator)
    start = emulator.clock.now()
    fast = driven.watch([fast_id], poll_interval=2)
    slow = [driven.watch([job_id], poll_interval=30) for job_id in slow_ids]
    await driven.run_for(60)

    assert answer_times(fast.take()) == [start + 2 * n for n in range(1, 31)]
    for sub in slow:
        times = answer_times(sub.take())
        gaps = [later - earlier for earlier, later in zip([start, *times], times, strict=False)]
        assert times and max(gaps) <= 30
    # One request per fast cycle (the slow waits ride in its spare room) plus their own cycles.
    assert len(show_many_requests(emulator)) <= 30 + 3 * 2
    for sub in [fast, *slow]:
        sub.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_no_wait_is_polled_later_than_its_interval(emulator: ZendeskEmulator, seed: int) -> None:
    rng = random.Random(seed)
    ids = running_jobs(emulator, 150)
    driven = Driven(emulator)
    start = emulator.clock.now()
    plan = sorted((rng.uniform(0, 30), rng.choice([1, 2, 5, 7, 10, 30]), job_id) for job_id in ids)
    subs = []
    for offset, interval, job_id in plan:
        await driven.run_for(start + offset - emulator.clock.now())
        subs.append((emulator.clock.now(), interval, driven.watch([job_id], poll_interval=interval)))
    await driven.run_for(start + 120 - emulator.clock.now())

    naive = 0
    for registered, interval, sub in subs:
        times = answer_times(sub.take())
        gaps = [later - earlier for earlier, later in zip([registered, *times], times, strict=False)]
        assert gaps and max(gaps) <= interval + 1e-9, (interval, gaps)
        naive += math.floor((start + 120 - registered) / interval)
    # Sharing: far fewer requests than one per wait per interval.
    assert len(show_many_requests(emulator)) * 3 < naive
    for _, _, sub in subs:
        sub.close()


async def test_waits_registered_at_different_moments_fall_into_one_rhythm(emulator: ZendeskEmulator) -> None:
    ids = running_jobs(emulator, 5)
    driven = Driven(emulator)
    start = emulator.clock.now()
    subs = []
    for job_id in ids:
        subs.append(driven.watch([job_id], poll_interval=5))
        await driven.run_for(1)
    await driven.run_for(start + 40 - emulator.clock.now())
    late = [r for r in show_many_requests(emulator) if r.time >= start + 12]
    assert all(sorted(asked_ids(r)) == sorted(ids) for r in late)
    assert len(late) == len({r.time for r in late}) <= 6
    for sub in subs:
        gaps = answer_times(sub.take())
        assert all(later - earlier <= 5 for earlier, later in itertools.pairwise(gaps))
        sub.close()


async def test_a_new_short_wait_wakes_a_sleeping_poller(emulator: ZendeskEmulator) -> None:
    slow_id, fast_id = running_jobs(emulator, 2)
    driven = Driven(emulator)
    start = emulator.clock.now()
    slow = driven.watch([slow_id], poll_interval=60)
    await driven.run_for(5)
    fast = driven.watch([fast_id], poll_interval=2)
    await driven.run_for(5)
    assert answer_times(fast.take()) == [start + 7, start + 9]
    assert slow.take() == []  # not due yet
    assert [asked_ids(r) for r in show_many_requests(emulator)] == [[fast_id], [fast_id]]
    await driven.run_for(50)
    # Each wait on its own interval: the slow one is read once its minute has passed.
    assert answer_times(slow.take()) == [start + 60]
    assert answer_times(fast.take()) == [start + 7 + 2 * n for n in range(2, 27)]
    slow.close()
    fast.close()


async def test_a_wait_registering_before_the_next_cycle_joins_it(emulator: ZendeskEmulator) -> None:
    first_id, second_id, third_id = running_jobs(emulator, 3)
    driven = Driven(emulator)
    start = emulator.clock.now()
    first = driven.watch([first_id], poll_interval=10)
    await driven.run_for(4)
    second = driven.watch([second_id], poll_interval=10)  # the cycle at +10 is within its interval
    third = driven.watch([third_id], poll_interval=5)  # it is not: the poller wakes sooner for this one
    await driven.run_for(6)
    assert [(r.time - start, sorted(asked_ids(r))) for r in show_many_requests(emulator)] == [
        (9, [third_id]),
        (10, sorted([first_id, second_id])),
    ]
    assert answer_times(second.take()) == [start + 10]
    for watched in (first, second, third):
        watched.close()


async def test_a_deadline_gets_one_answer_read_at_the_deadline(emulator: ZendeskEmulator) -> None:
    (job_id,) = running_jobs(emulator, 1)
    driven = Driven(emulator)
    start = emulator.clock.now()
    sub = driven.watch([job_id], poll_interval=30, deadline=start + 10)
    await driven.run_for(40)
    assert answer_times(sub.take()) == [start + 10, start + 40]
    sub.close()


async def test_a_refused_request_fails_only_the_waits_whose_ids_it_carried(emulator: ZendeskEmulator) -> None:
    ids = running_jobs(emulator, 150)
    driven = Driven(emulator)
    subs = [driven.watch([job_id], poll_interval=5) for job_id in ids]
    emulator.add_fault(Fault("server_error", count=1, status=400, path_prefix=SHOW_MANY))  # waiting cannot fix it
    await driven.run_for(30)

    first_chunk = set(asked_ids(show_many_requests(emulator)[0]))
    assert len(first_chunk) == 100
    for sub in subs:
        message = sub.take()[0]
        if sub.job_ids[0] in first_chunk:
            assert isinstance(message, PollFailure)
            assert isinstance(message.error, ZendeskResponseError)
            assert "400" in str(message.error)
        else:
            assert isinstance(message, PollAnswer)
    assert [r.status for r in show_many_requests(emulator)][:3] == [400, 200, 200]
    for sub in subs:
        sub.close()


async def test_an_outage_keeps_every_wait_and_backs_off_until_zendesk_answers(emulator: ZendeskEmulator) -> None:
    """Three 503s: one request per try, the waits not asked yet go first, every wait is answered once it ends."""
    ids = running_jobs(emulator, 150)
    driven = Driven(emulator, rand=lambda: 0.0)  # the backoff at the bottom of its jitter: 0.5, 1, 2 s
    start = emulator.clock.now()
    subs = [driven.watch([job_id], poll_interval=5) for job_id in ids]
    emulator.add_fault(Fault("server_error", count=3, path_prefix=SHOW_MANY))
    await driven.run_for(9)

    records = show_many_requests(emulator)
    assert [(r.time - start, r.status) for r in records] == [(5, 503), (5.5, 503), (6.5, 503), (8.5, 200), (8.5, 200)]
    assert set(asked_ids(records[1])) >= set(ids) - set(asked_ids(records[0]))  # the 50 not asked yet, first
    for sub in subs:
        messages = sub.take()
        assert not any(isinstance(m, PollFailure) for m in messages)
        unanswered = [m for m in messages if isinstance(m, PollUnanswered)]
        assert 1 <= len(unanswered) <= 3
        assert all(isinstance(m.error, ZendeskUnavailableError) and "503" in str(m.error) for m in unanswered)
        assert all(m.next_check > m.at for m in unanswered)
        (answer,) = [m for m in messages if isinstance(m, PollAnswer)]
        assert answer.at == start + 8.5 and answer.unanswered_since == unanswered[0].since
        assert answer.statuses[sub.job_ids[0]].status == "working"
    await driven.run_for(10)  # back on the 5 s rhythm, from the answer on
    assert [(r.time - start) for r in show_many_requests(emulator)[5:]] == [13.5] * 2 + [18.5] * 2
    for sub in subs:
        sub.close()


async def test_an_endless_outage_backs_off_up_to_the_interval_and_keeps_the_deadline(
    emulator: ZendeskEmulator,
) -> None:
    ids = running_jobs(emulator, 2)
    driven = Driven(emulator, rand=lambda: 0.999)  # the top of the jitter: the longest backoff
    start = emulator.clock.now()
    patient = driven.watch([ids[0]], poll_interval=10)
    hurried = driven.watch([ids[1]], poll_interval=10, deadline=start + 33)
    emulator.add_fault(Fault("close", path_prefix=SHOW_MANY))
    await driven.run_for(120)

    times = [r.time - start for r in show_many_requests(emulator)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps[:4] == pytest.approx([1, 2, 4, 8], abs=0.01)  # doubling...
    assert max(gaps) <= 10 and gaps[-3:] == pytest.approx([10, 10, 10], abs=0.01)  # ...up to the interval
    assert len(times) <= 4 + 120 / 10
    deadline = [m for m in hurried.take() if isinstance(m, DeadlineReached)]
    assert deadline == [DeadlineReached(start + 33)]  # on time, in the middle of a backoff
    assert start + 33 not in times
    messages = patient.take()
    assert all(isinstance(m, PollUnanswered) for m in messages)
    assert {m.since for m in messages} == {start + 10}
    assert "the connection closed" in str(messages[0].error)
    patient.close()
    hurried.close()


async def test_refused_credentials_reach_every_wait_without_the_secret(
    emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(emulator.connection_extra_json())
    conn["password"] = "wrong-SECRET-token"
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_DEFAULT", json.dumps(conn))
    ids = running_jobs(emulator, 2)
    driven = Driven(emulator)
    subs = [driven.watch([job_id], poll_interval=5) for job_id in ids]
    await driven.run_for(5)
    for sub in subs:
        (message,) = sub.take()
        assert isinstance(message, PollFailure)
        assert isinstance(message.error, ZendeskAuthError)
        assert "401" in str(message.error)
        assert "wrong-SECRET-token" not in str(message.error)
        sub.close()


async def test_429_pauses_every_request_of_the_poller_for_retry_after(emulator: ZendeskEmulator) -> None:
    ids = running_jobs(emulator, 250)
    driven = Driven(emulator)
    start = emulator.clock.now()
    subs = [driven.watch([job_id], poll_interval=5) for job_id in ids]
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=30, path_prefix=SHOW_MANY))
    await driven.run_for(40)

    records = show_many_requests(emulator)
    assert (records[0].time, records[0].status) == (start + 5, 429)
    # Nothing at all left the poller before Retry-After had passed on the clock.
    assert [r.time for r in emulator.requests if start + 5 < r.time < start + 35] == []
    assert [(r.time, r.status) for r in records[1:4]] == [(start + 35, 200)] * 3
    assert requests_per_time(records[4:]) == {start + 40: 3}
    for sub in subs:
        messages = sub.take()
        assert [m for m in messages if isinstance(m, PollPaused)] == [PollPaused(start + 5, start + 35)]
        assert answer_times(messages) == [start + 35, start + 40]
        sub.close()


async def test_a_retry_after_longer_than_a_request_may_wait_pauses_between_cycles(
    emulator: ZendeskEmulator,
) -> None:
    ids = running_jobs(emulator, 2)
    driven = Driven(emulator)
    start = emulator.clock.now()
    patient = driven.watch([ids[0]], poll_interval=5)
    hurried = driven.watch([ids[1]], poll_interval=5, deadline=start + 100)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=600, path_prefix=SHOW_MANY))
    await driven.run_for(610)

    assert [(r.time, r.status) for r in show_many_requests(emulator)] == [
        (start + 5, 429),
        (start + 605, 200),
        (start + 610, 200),
    ]
    assert hurried.take()[:2] == [PollPaused(start + 5, start + 605), DeadlineReached(start + 100)]
    messages = patient.take()
    assert messages[0] == PollPaused(start + 5, start + 605)
    assert answer_times(messages) == [start + 605, start + 610]
    patient.close()
    hurried.close()


async def test_show_many_answering_404_means_no_id_is_known_yet(emulator: ZendeskEmulator) -> None:
    (job_id,) = running_jobs(emulator, 1)
    driven = Driven(emulator)
    sub = driven.watch([job_id], poll_interval=5)
    emulator.add_fault(Fault("not_found", count=1, path_prefix=SHOW_MANY))
    await driven.run_for(10)
    first, second = sub.take()
    assert first.statuses == {}
    assert set(second.statuses) == {job_id}
    sub.close()


async def test_a_wait_that_leaves_is_no_longer_asked_for(emulator: ZendeskEmulator) -> None:
    stay_id, leave_id = running_jobs(emulator, 2)
    driven = Driven(emulator)
    stay = driven.watch([stay_id], poll_interval=5)
    leave = driven.watch([leave_id], poll_interval=5)
    await driven.run_for(5)
    leave.close()
    leave.close()  # twice is harmless
    await driven.run_for(10)
    assert [sorted(asked_ids(r)) for r in show_many_requests(emulator)] == [
        sorted([stay_id, leave_id]),
        [stay_id],
        [stay_id],
    ]
    assert driven.poller.waits == 1
    stay.close()


async def test_the_last_wait_leaving_stops_the_poller_even_mid_pause(emulator: ZendeskEmulator) -> None:
    (job_id,) = running_jobs(emulator, 1)
    driven = Driven(emulator)
    start = emulator.clock.now()
    sub = driven.watch([job_id], poll_interval=5)
    emulator.add_fault(Fault("rate_limit", count=1, retry_after=30, path_prefix=SHOW_MANY))
    await driven.run_for(10)  # the poller now sleeps out Retry-After
    assert driven.timeline.pending == 1
    sub.close()
    await driven.settle()
    task = driven.poller.task
    assert task is not None and task.done() and task.cancelled()
    assert driven.poller.closed
    await driven.run_for(120)
    assert [(r.time, r.status) for r in emulator.requests] == [(start + 5, 429)]
    assert driven.timeline.pending == 0
    with pytest.raises(RuntimeError, match="stopped"):
        driven.poller.register([job_id], poll_interval=5, on_message=lambda message: False)


async def test_a_refused_request_is_told_and_the_wait_is_answered_again_after(emulator: ZendeskEmulator) -> None:
    (job_id,) = running_jobs(emulator, 1)
    driven = Driven(emulator)
    start = emulator.clock.now()
    watched = driven.watch([job_id], poll_interval=5)
    await driven.run_for(15)
    assert answer_times(watched.take()) == [start + 5, start + 10, start + 15]
    emulator.add_fault(Fault("server_error", count=1, status=400, path_prefix=SHOW_MANY))  # fails the next cycle
    await driven.run_for(10)
    failure, answer = watched.take()
    assert isinstance(failure, PollFailure) and failure.at == start + 20
    assert isinstance(answer, PollAnswer)
    assert answer.at == max(r.time for r in show_many_requests(emulator)) == start + 25
    watched.close()


async def test_registration_is_checked_before_any_request(emulator: ZendeskEmulator) -> None:
    poller = Driven(emulator).poller
    with pytest.raises(ZendeskInvalidInputError, match="not a valid Zendesk job id"):
        Watched(poller, ["../admin"], poll_interval=5)
    with pytest.raises(ZendeskInvalidInputError, match="poll_interval"):
        Watched(poller, ["V3-a"], poll_interval=0)
    with pytest.raises(ZendeskInvalidInputError, match="deadline"):
        Watched(poller, ["V3-a"], poll_interval=5, deadline="soon")
    assert poller.task is None
    assert emulator.requests == []


async def test_callbacks_run_in_the_registering_context_and_a_faulty_one_harms_no_other(
    emulator: ZendeskEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    ok_id, bad_id = running_jobs(emulator, 2)
    driven = Driven(emulator)
    owner: contextvars.ContextVar[str] = contextvars.ContextVar("owner", default="poller")
    seen: list[tuple[str, float]] = []

    def healthy(message: object) -> bool:
        seen.append((owner.get(), message.at))  # type: ignore[attr-defined]
        return len(seen) == 2  # done after two answers: leaves the poller

    def faulty(message: object) -> bool:
        raise ValueError("a bug in one wait")

    owner.set("trigger-7")
    driven.poller.register([ok_id], poll_interval=5, on_message=healthy)
    owner.set("trigger-8")
    faulty_sub = driven.poller.register([bad_id], poll_interval=5, on_message=faulty)
    owner.set("test")
    start = emulator.clock.now()
    await driven.run_for(30)
    assert seen == [("trigger-7", start + 5), ("trigger-7", start + 10)]
    assert faulty_sub.closed
    assert "failed to handle" in caplog.text
    assert [sorted(asked_ids(r)) for r in show_many_requests(emulator)] == [sorted([ok_id, bad_id]), [ok_id]]
    assert driven.poller.closed  # both left: the poller ended


async def test_the_registry_makes_pollers_with_the_factory_installed(emulator: ZendeskEmulator) -> None:
    made: list[str] = []

    def on_emulator_time(zendesk_conn_id: str) -> SharedJobStatusPoller:
        made.append(zendesk_conn_id)
        return SharedJobStatusPoller(zendesk_conn_id, clock=emulator.clock.now, sleep=advancing_sleep(emulator.advance))

    (job_id,) = running_jobs(emulator, 1)
    start = emulator.clock.now()
    with use_poller_factory(on_emulator_time):
        poller = shared_poller("zendesk_default")
        assert shared_poller("zendesk_default") is poller and made == ["zendesk_default"]
        seen: list[float] = []
        poller.register([job_id], poll_interval=300, on_message=lambda message: seen.append(message.at) or True)
        assert pollers_on_running_loop() == {"zendesk_default": poller}
        assert poller.task is not None
        await poller.task  # five minutes on the emulator's clock, no real time
    assert seen == [start + 300] and pollers_on_running_loop() == {}
    default = shared_poller("zendesk_default")  # outside the block: the production poller, on real time
    assert made == ["zendesk_default"] and default is not poller and default.clock is time.time


def test_a_faulty_wait_on_5000_ids_is_logged_naming_five_of_them(caplog: pytest.LogCaptureFixture) -> None:
    ids = tuple(f"V3-{number:032x}" for number in range(5000))

    class Poller:
        def _forget(self, wait: Subscription) -> None:
            pass

    def faulty(message: object) -> bool:
        raise ValueError("a bug in one wait")

    wait = Subscription(Poller(), ids, 5.0, math.inf, 0.0, faulty)  # type: ignore[arg-type]
    wait.deliver(DeadlineReached(0.0))
    assert f"A wait on Zendesk jobs {', '.join(ids[:5])} and 4995 more failed to handle" in caplog.text
    assert wait.closed
