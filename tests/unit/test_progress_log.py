"""ProgressLog: which line each poll writes, and at which level.

A recording logger stands in for the task's logger so that every call and its level is seen,
including the DEBUG lines Airflow drops at its default level.
"""

from __future__ import annotations

import itertools
import random
import zlib
from collections import Counter
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.exceptions import ZendeskUnavailableError
from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.waiting import WaitOptions, evaluate_wait
from airflow_provider_zendesk_jobs.waiting.progress import (
    REMINDER_SECONDS,
    ProgressLog,
    describe_duration,
    reminder_for,
)
from tests.support.logs import RecordingLogger

INTERVAL = 5.0


def job(job_id: str, status: str = "queued", progress: int | None = None, total: int | None = 100) -> JobStatus:
    return JobStatus.from_api({"id": job_id, "status": status, "total": total, "progress": progress})


def poll(progress: ProgressLog, jobs: list[JobStatus], now: float, job_ids: list[str] | None = None) -> None:
    statuses = {j.id: j for j in jobs}
    ids = job_ids if job_ids is not None else list(statuses)
    outcome = evaluate_wait(ids, statuses, options=WaitOptions(), started_at=0.0, now=now)
    progress.poll(ids, outcome, now=now)


@pytest.mark.parametrize(
    ("interval", "every"),
    [(1, 60), (5, 60), (7, 60), (20, 60), (30, 60), (39, 60), (40, None), (60, None), (600, None)],
)
def test_an_unchanged_job_is_recalled_about_once_a_minute(interval: float, every: float | None) -> None:
    assert reminder_for(interval) == every
    assert REMINDER_SECONDS == 60.0


def test_every_poll_at_info_when_asked_as_the_sensor_does() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60)
    for n in range(4):
        poll(progress, [job("V3-a")], now=n * INTERVAL)
    assert log.lines == [("info", "V3-a: queued 0/100")] * 4


def first_reminder(job_id: str) -> float:
    """Seconds after a change before the job's first reminder: its own moment from 30 to 90 s."""
    return 60 * (0.5 + (zlib.crc32(job_id.encode()) % 1000) / 1000)


def reminder_times(log: RecordingLogger, polled: list[float]) -> list[float]:
    """The clock times of the polls whose line was a reminder (the logger records one line per poll)."""
    lines = log.lines[: len(polled)]
    return [when for when, (_, text) in zip(polled, lines, strict=True) if "(unchanged for " in text]


def test_changes_at_info_unchanged_polls_at_debug_and_a_reminder_by_the_clock() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, remind_every=60)
    polled = [100 + n * INTERVAL for n in range(30)]
    for now in polled:
        poll(progress, [job("V3-a")], now=now)
    poll(progress, [job("V3-a", "working", 31)], now=250)
    poll(progress, [job("V3-a", "completed", 100)], now=255)
    first = 100 + first_reminder("V3-a")
    reminders = reminder_times(log, polled)
    assert reminders[0] == min(t for t in polled if t >= first)  # the job's own moment, 30 to 90 s in
    assert [b - a for a, b in itertools.pairwise(reminders)] == [60] * (len(reminders) - 1)
    assert log.at("info") == [
        "V3-a: queued 0/100",
        *(f"V3-a: queued 0/100 (unchanged for {t - 100:.0f} s)" for t in reminders),
        "V3-a: working 31/100",
        "V3-a: completed 100/100",
    ]
    assert len(log.at("debug")) == 29 - len(reminders)
    assert log.at("warning") == []


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_reminders_keep_to_the_clock_when_polls_come_unevenly(seed: int) -> None:
    """The poller's polls come early by up to half an interval (a ride-along) or by a cycle's lead."""
    rng = random.Random(seed)
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, remind_every=60)
    now, polled = 0.0, []
    while now < 1800:
        polled.append(now)
        poll(progress, [job("V3-a")], now=now)
        now += rng.choice([INTERVAL, INTERVAL, INTERVAL * rng.uniform(0.5, 1.0), INTERVAL * rng.uniform(0.9, 1.0)])
    reminders = reminder_times(log, polled)
    assert first_reminder("V3-a") <= reminders[0] <= first_reminder("V3-a") + INTERVAL
    gaps = [b - a for a, b in itertools.pairwise(reminders)]
    assert len(gaps) >= 25
    assert all(60 <= gap <= 60 + INTERVAL for gap in gaps), gaps


def test_one_warning_per_outage_and_one_line_when_zendesk_answers_again() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, remind_every=60)
    error = ZendeskUnavailableError("Zendesk answered GET /api/v2/job_statuses/show_many with 503", status_code=503)
    for now, next_check in [(10, 11), (11, 13), (13, 17), (17, 25), (25, 35), (35, 45), (45, 55)]:
        progress.unanswered(error, now=now, since=10, next_check=next_check, warn_after=10)
    progress.answered_again(45)
    assert log.at("warning") == ["Zendesk unavailable for 15 s: 503; still waiting, next check in 10 s"]
    assert log.at("info") == ["Zendesk answered again after 45 s"]
    assert len(log.at("debug")) == 6
    progress.unanswered(error, now=100, since=100, next_check=101, warn_after=10)  # a blip: DEBUG only
    progress.answered_again(1)
    assert len(log.at("warning")) == 1 and len(log.at("info")) == 1


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0 s"), (40.4, "40 s"), (60, "1 min"), (130, "2 min 10 s"), (3900, "1 h 5 min")]
)
def test_durations_read_as_a_person_says_them(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text


def test_a_change_of_message_alone_is_a_change() -> None:
    """A failed job's line carries Zendesk's message: a new message is news even at the same counts."""
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, remind_every=60)
    for message in ("first", "first", "second"):
        failed = JobStatus.from_api({"id": "V3-a", "status": "failed", "total": 2, "progress": 1, "message": message})
        progress.poll(["V3-a"], evaluate_wait(["V3-a"], {"V3-a": failed}, options=WaitOptions(), started_at=0, now=1))
    assert log.at("info") == ["V3-a: failed 1/2 - first", "V3-a: failed 1/2 - second"]
    assert log.at("debug") == ["V3-a: failed 1/2 - first"]


def test_a_job_not_visible_yet_follows_the_same_rule() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, remind_every=60)
    for n in range(3):
        poll(progress, [], now=n * INTERVAL, job_ids=["V3-a"])
    text = (
        "V3-a: not visible yet (Zendesk answers 404 for a moment after a bulk call; waiting up to 60 s from the "
        "first check)"
    )
    assert log.lines[0] == ("info", text)
    assert [line.split(" (unchanged for ")[0] for _, line in log.lines] == [text] * 3
    assert len(log.at("info")) < 3  # unchanged: at DEBUG, bar a reminder


def test_each_job_of_a_wait_keeps_its_own_line() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, remind_every=60)
    poll(progress, [job("V3-a"), job("V3-b")], now=0)
    poll(progress, [job("V3-a"), job("V3-b", "working", 5)], now=5)
    assert log.at("info") == ["V3-a: queued 0/100", "V3-b: queued 0/100", "V3-b: working 5/100"]
    assert log.at("debug") == ["V3-a: queued 0/100"]


def test_an_unknown_status_is_warned_about_once_and_its_line_deduplicated() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, remind_every=60)
    for n in range(3):
        poll(progress, [job("V3-a", "paused")], now=n * INTERVAL)
    assert len(log.at("warning")) == 1
    assert "'paused'" in log.at("warning")[0]
    assert len(log.at("info")) == 1
    assert len(log.at("debug")) == 2


@pytest.mark.slow
def test_a_thousand_queued_waits_spread_their_reminders_over_the_polls() -> None:
    """Waits that started together must not all write their reminder in the same cycle."""
    every = reminder_for(INTERVAL)
    loggers = [RecordingLogger() for _ in range(1000)]
    waits = [
        (ProgressLog(log, not_found_grace=60, remind_every=every), job(f"V3-{n:032x}")) for n, log in enumerate(loggers)
    ]
    per_poll: Counter[int] = Counter()
    for n in range(1, 121):  # ten minutes at 5 s
        before = sum(len(log.at("info")) for log in loggers)
        for progress, queued in waits:
            poll(progress, [queued], now=n * INTERVAL)
        per_poll[n] = sum(len(log.at("info")) for log in loggers) - before
    assert per_poll[1] == 1000  # the first line of every wait
    later = [per_poll[n] for n in range(2, 121)]
    assert max(later) < 1000 / 12 * 1.5  # about 83 a poll; all aligned would be 1,000 every 12th poll
    # 595 s unchanged: the first reminder 30 to 90 s in, then one a minute: 9 or 10 for each wait.
    assert 9 * 1000 <= sum(later) <= 10 * 1000
    for log in loggers:
        assert len(log.at("info")) in (10, 11)


@pytest.mark.parametrize("bad", [0, -1, True, "12", float("nan")])
def test_remind_every_must_be_a_number_of_seconds(bad: Any) -> None:
    with pytest.raises(ValueError, match="remind_every must be a number of seconds"):
        ProgressLog(RecordingLogger(), not_found_grace=60, remind_every=bad)
