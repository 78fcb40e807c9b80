"""ProgressLog: which line each poll writes, and at which level.

A recording logger stands in for the task's logger so that every call and its level is seen,
including the DEBUG lines Airflow drops at its default level.
"""

from __future__ import annotations

import zlib
from collections import Counter
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.jobs import JobStatus
from airflow_provider_zendesk_jobs.triggers.progress import REMINDER_SECONDS, ProgressLog, info_every_for
from airflow_provider_zendesk_jobs.waiting import WaitOptions, evaluate_wait

INTERVAL = 5.0


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def _record(self, level: str, msg: str, *args: Any) -> None:
        self.lines.append((level, msg % args if args else msg))

    def debug(self, msg: str, /, *args: Any) -> None:
        self._record("debug", msg, *args)

    def info(self, msg: str, /, *args: Any) -> None:
        self._record("info", msg, *args)

    def warning(self, msg: str, /, *args: Any) -> None:
        self._record("warning", msg, *args)

    def at(self, level: str) -> list[str]:
        return [text for lvl, text in self.lines if lvl == level]


def job(job_id: str, status: str = "queued", progress: int | None = None, total: int | None = 100) -> JobStatus:
    return JobStatus.from_api({"id": job_id, "status": status, "total": total, "progress": progress})


def poll(progress: ProgressLog, jobs: list[JobStatus], now: float, job_ids: list[str] | None = None) -> None:
    statuses = {j.id: j for j in jobs}
    ids = job_ids if job_ids is not None else list(statuses)
    outcome = evaluate_wait(ids, statuses, options=WaitOptions(), started_at=0.0, now=now)
    progress.poll(ids, outcome, now=now)


@pytest.mark.parametrize(
    ("interval", "every"), [(1, 60), (5, 12), (7, 9), (20, 3), (30, 2), (45, 1), (60, 1), (600, 1)]
)
def test_an_unchanged_job_is_recalled_about_once_a_minute(interval: float, every: int) -> None:
    assert info_every_for(interval) == every
    assert REMINDER_SECONDS == 60.0


def test_every_poll_at_info_when_asked_as_the_sensor_does() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60)
    for n in range(4):
        poll(progress, [job("V3-a")], now=n * INTERVAL)
    assert log.lines == [("info", "V3-a: queued 0/100")] * 4


def test_changes_at_info_unchanged_polls_at_debug_and_a_reminder_on_the_job_s_own_poll() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, info_every=12)
    phase = zlib.crc32(b"V3-a") % 12
    for n in range(30):
        poll(progress, [job("V3-a")], now=100 + n * INTERVAL)
    poll(progress, [job("V3-a", "working", 31)], now=250)
    poll(progress, [job("V3-a", "completed", 100)], now=255)
    reminders = [n for n in range(6, 30) if (n + phase) % 12 == 0]  # not before half a minute
    assert log.at("info") == [
        "V3-a: queued 0/100",
        *(f"V3-a: queued 0/100 (unchanged for {n * INTERVAL:.0f} s)" for n in reminders),
        "V3-a: working 31/100",
        "V3-a: completed 100/100",
    ]
    assert len(reminders) == 2  # 29 unchanged polls: one reminder per 12 polls, the first after 6 to 17
    assert log.at("debug") == ["V3-a: queued 0/100"] * (29 - len(reminders))
    assert log.at("warning") == []


def test_a_change_of_message_alone_is_a_change() -> None:
    """A failed job's line carries Zendesk's message: a new message is news even at the same counts."""
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, info_every=12)
    for message in ("first", "first", "second"):
        failed = JobStatus.from_api({"id": "V3-a", "status": "failed", "total": 2, "progress": 1, "message": message})
        progress.poll(["V3-a"], evaluate_wait(["V3-a"], {"V3-a": failed}, options=WaitOptions(), started_at=0, now=1))
    assert log.at("info") == ["V3-a: failed 1/2 - first", "V3-a: failed 1/2 - second"]
    assert log.at("debug") == ["V3-a: failed 1/2 - first"]


def test_a_job_not_visible_yet_follows_the_same_rule() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, info_every=12)
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
    progress = ProgressLog(log, not_found_grace=60, info_every=12)
    poll(progress, [job("V3-a"), job("V3-b")], now=0)
    poll(progress, [job("V3-a"), job("V3-b", "working", 5)], now=5)
    assert log.at("info") == ["V3-a: queued 0/100", "V3-b: queued 0/100", "V3-b: working 5/100"]
    assert log.at("debug") == ["V3-a: queued 0/100"]


def test_an_unknown_status_is_warned_about_once_and_its_line_deduplicated() -> None:
    log = RecordingLogger()
    progress = ProgressLog(log, not_found_grace=60, info_every=12)
    for n in range(3):
        poll(progress, [job("V3-a", "paused")], now=n * INTERVAL)
    assert len(log.at("warning")) == 1
    assert "'paused'" in log.at("warning")[0]
    assert len(log.at("info")) == 1
    assert len(log.at("debug")) == 2


def test_a_thousand_queued_waits_spread_their_reminders_over_the_polls() -> None:
    """Waits that started together must not all write their reminder in the same cycle."""
    every = info_every_for(INTERVAL)
    loggers = [RecordingLogger() for _ in range(1000)]
    waits = [
        (ProgressLog(log, not_found_grace=60, info_every=every), job(f"V3-{n:032x}"))
        for n, log in enumerate(loggers)
    ]
    per_poll: Counter[int] = Counter()
    for n in range(1, 121):  # ten minutes at 5 s
        before = sum(len(log.at("info")) for log in loggers)
        for progress, queued in waits:
            poll(progress, [queued], now=n * INTERVAL)
        per_poll[n] = sum(len(log.at("info")) for log in loggers) - before
    assert per_poll[1] == 1000  # the first line of every wait
    later = [per_poll[n] for n in range(2, 121)]
    assert max(later) < 1000 / every * 1.5  # about 83 a poll; all aligned would be 1,000 every 12th poll
    # 119 unchanged polls: one reminder every 12 polls once 6 have passed, so 9 or 10 for each wait.
    assert 9 * 1000 <= sum(later) <= 10 * 1000
    for log in loggers:
        assert len(log.at("info")) in (10, 11)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "12"])
def test_info_every_must_be_a_whole_number_of_polls(bad: Any) -> None:
    with pytest.raises(ValueError, match="info_every must be a whole number of polls"):
        ProgressLog(RecordingLogger(), not_found_grace=60, info_every=bad)
