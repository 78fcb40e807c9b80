"""The log lines of a wait, the same from the sensor's poke and from the trigger.

People read these in the task log: a line per job with its progress
(``V3-abc: working 31/100``), a warning once per job whose status this provider does not
know, and a warning when Zendesk asks to slow down. Nothing here decides anything; the
decision is the outcome's.

How often a job's line is written at INFO is the caller's choice (``info_every``):

* every poll (``1``): the sensor's poke and the operator, whose polls are the task's own
  steps and seldom closer than a minute apart;
* the trigger, at an interval under a minute (:func:`info_every_for`): a short interval would
  fill a task log with the same line (a job queued for an hour at 5 s is 720 lines that all
  read ``queued 0/100``) and cost the triggerer's one event loop a log write per wait per
  cycle. A line is written at INFO when it reads differently from the last one; an unchanged
  job is recalled every ``info_every``-th poll with how long it has not moved (the first
  time after half as many polls at least); the unchanged polls in between are written at
  DEBUG. The reminders of different jobs fall on different polls (the offset is derived
  from the job id), so a thousand queued waits do not all write theirs in the same cycle.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from airflow_provider_zendesk_jobs.jobs import JobState
from airflow_provider_zendesk_jobs.waiting import WaitOutcome

__all__ = ["REMINDER_SECONDS", "ProgressLog", "info_every_for"]

#: In the triggerer, an unchanged job is recalled at INFO about this often.
REMINDER_SECONDS = 60.0


def info_every_for(poll_interval: float, reminder_seconds: float = REMINDER_SECONDS) -> int:
    """Every how many polls an unchanged job is recalled: 1 (every poll) from a minute's interval up."""
    return max(1, round(reminder_seconds / poll_interval))


class _Logger(Protocol):
    def debug(self, msg: str, /, *args: Any) -> Any: ...

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


class _Line:
    """What one job's line read last, since when, and how many polls it has read the same."""

    __slots__ = ("changed_at", "phase", "text", "unchanged_polls")

    def __init__(self, text: str, now: float, phase: int) -> None:
        self.text = text
        self.changed_at = now
        self.unchanged_polls = 0
        self.phase = phase


class ProgressLog:
    """Logs each poll of one wait; remembers what each job's line read, and which unknown statuses it warned about.

    :param info_every: 1 writes every poll's line at INFO. Above 1, a line is written at INFO
        when it changed, and an unchanged job every ``info_every``-th poll; see the module's docstring.
    """

    def __init__(self, log: _Logger, *, not_found_grace: float, info_every: int = 1) -> None:
        if isinstance(info_every, bool) or not isinstance(info_every, int) or info_every < 1:
            raise ValueError(f"info_every must be a whole number of polls from 1 up, got {info_every!r}")
        # A structlog proxy resolves itself on every call; its bound logger does not (a triggerer
        # logs for thousands of jobs per cycle).
        bind = getattr(log, "bind", None)
        self._log: _Logger = bind() if callable(bind) else log
        self._grace = not_found_grace
        self._info_every = info_every
        self._lines: dict[str, _Line] = {}
        self._warned_unknown: set[str] = set()

    def poll(self, job_ids: Sequence[str], outcome: WaitOutcome, *, now: float = 0.0) -> None:
        """A line per job: its progress, or that Zendesk does not show it yet. ``now`` dates the reminders."""
        log = self._log
        hidden = outcome.not_visible_yet
        not_visible: Collection[str] = hidden if len(hidden) <= 8 else frozenset(hidden)
        statuses = outcome.statuses
        for job_id in job_ids:
            job = statuses.get(job_id)
            if job is None:
                if job_id in not_visible:
                    self._write(
                        job_id,
                        f"{job_id}: not visible yet (Zendesk answers 404 for a moment after a bulk call; "
                        f"waiting up to {self._grace:g} s from the first check)",
                        now,
                    )
                continue
            if job.state is JobState.UNKNOWN and job_id not in self._warned_unknown:
                self._warned_unknown.add(job_id)
                log.warning(
                    "%s: Zendesk reports status %r, which this provider does not know; the job counts as not "
                    "finished until it is completed, failed or killed",
                    job_id,
                    job.status,
                )
            self._write(job_id, job.describe_progress(), now)

    def _write(self, job_id: str, text: str, now: float) -> None:
        # Already text: no %-formatting pass (a triggerer writes thousands of these per cycle).
        every = self._info_every
        if every == 1:
            self._log.info(text)
            return
        line = self._lines.get(job_id)
        if line is None:
            self._lines[job_id] = _Line(text, now, zlib.crc32(job_id.encode()) % every)
            self._log.info(text)
        elif line.text != text:
            line.text = text
            line.changed_at = now
            line.unchanged_polls = 0
            self._log.info(text)
        else:
            unchanged = line.unchanged_polls = line.unchanged_polls + 1
            # Half a minute at least before the first reminder, then about a minute apart.
            if unchanged * 2 >= every and (unchanged + line.phase) % every == 0:
                self._log.info(f"{text} (unchanged for {now - line.changed_at:.0f} s)")
            else:
                self._log.debug(text)

    def paused(self, job_ids: Sequence[str], seconds: float) -> None:
        shown = ", ".join(job_ids[:5]) + (f" and {len(job_ids) - 5} more" if len(job_ids) > 5 else "")
        self._log.warning(
            "Zendesk asked to slow down (429): the next check of %s waits %.1f s", shown, max(0.0, seconds)
        )
