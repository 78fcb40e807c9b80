"""The log lines of a wait, the same from a task's check and from the trigger; nothing here decides anything.

A task writes every poll's line at INFO. The trigger, below a 40 s interval, writes a line at INFO when it
changed and recalls an unchanged job first 30 to 90 s after the change (a moment derived from the job id, so
a thousand waits do not all write theirs in one cycle), then every ``remind_every``; other polls go to DEBUG.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_zendesk_jobs.job_ids import show_ids
from airflow_provider_zendesk_jobs.jobs import JobState
from airflow_provider_zendesk_jobs.waiting.rule import WaitOutcome

__all__ = ["REMINDER_SECONDS", "Logger", "ProgressLog", "describe_duration", "describe_no_answer", "reminder_for"]

#: In the triggerer, an unchanged job is recalled at INFO about this often.
REMINDER_SECONDS = 60.0


def reminder_for(poll_interval: float) -> float | None:
    """Seconds between reminders of an unchanged job; None (every poll at INFO) from a 40 s interval up."""
    return None if poll_interval * 1.5 >= REMINDER_SECONDS else REMINDER_SECONDS


def describe_duration(seconds: float) -> str:
    """``40 s``, ``2 min 10 s``, ``1 h 5 min``: a duration as a person reads it in a log."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def describe_no_answer(error: BaseException) -> str:
    """What went wrong, in a few words and without any job id: ``503``, ``no answer within the read timeout``."""
    code = getattr(error, "status_code", None)
    if isinstance(code, int):
        return f"{code} with a body that is not JSON" if 200 <= code < 300 else str(code)
    return getattr(error, "no_answer", None) or type(error).__name__


class Logger(Protocol):
    """What a wait logs through: a task's or a trigger's ``self.log``."""

    def debug(self, msg: str, /, *args: Any) -> Any: ...
    def info(self, msg: str, /, *args: Any) -> Any: ...
    def warning(self, msg: str, /, *args: Any) -> Any: ...


@dataclass(slots=True)
class _Line:
    """What one job's line read last, since when, and when it was last written at INFO."""

    text: str
    changed_at: float
    informed_at: float
    #: Seconds after a change before the first reminder: the job's own moment, 30 to 90 s at 60 s.
    first_reminder: float


class ProgressLog:
    """Logs each poll of one wait; ``remind_every`` (None: every line at INFO) as in the module's docstring."""

    def __init__(self, log: Logger, *, not_found_grace: float, remind_every: float | None = None) -> None:
        if remind_every is not None and (
            isinstance(remind_every, bool) or not isinstance(remind_every, int | float) or not remind_every > 0
        ):
            raise ValueError(f"remind_every must be a number of seconds above 0 or None, got {remind_every!r}")
        # A structlog proxy resolves itself on every call; its bound logger does not (a triggerer
        # logs for thousands of jobs per cycle).
        bind = getattr(log, "bind", None)
        self._log: Logger = bind() if callable(bind) else log
        self._not_visible = (
            ": not visible yet (Zendesk answers 404 for a moment after a bulk call; "
            f"waiting up to {not_found_grace:g} s from the first check)"
        )
        self._remind_every = None if remind_every is None else float(remind_every)
        self._lines: dict[str, _Line] = {}
        self._warned_unknown: set[str] = set()
        #: True once this outage was warned about: one warning per outage, then one line when it ends.
        self._outage_told = False

    def poll(self, job_ids: Sequence[str], outcome: WaitOutcome, *, now: float = 0.0) -> None:
        """A line per job: its progress, or that Zendesk does not show it yet. ``now`` dates the reminders."""
        hidden = outcome.not_visible_yet
        not_visible: Collection[str] = hidden if len(hidden) <= 8 else frozenset(hidden)
        statuses = outcome.statuses
        for job_id in job_ids:
            job = statuses.get(job_id)
            if job is None:
                if job_id in not_visible:
                    self._write(job_id, job_id + self._not_visible, now)
                continue
            if job.state is JobState.UNKNOWN and job_id not in self._warned_unknown:
                self._warned_unknown.add(job_id)
                self._log.warning(
                    "%s: Zendesk reports status %r, which this provider does not know; the job counts as not "
                    "finished until it is completed, failed or killed",
                    job_id,
                    job.status,
                )
            self._write(job_id, job.describe_progress(), now)

    def _write(self, job_id: str, text: str, now: float) -> None:
        # Already text: no %-formatting pass (a triggerer writes thousands of these per cycle).
        every = self._remind_every
        if every is None:
            self._log.info(text)
            return
        line = self._lines.get(job_id)
        if line is None:
            phase = (zlib.crc32(job_id.encode()) % 1000) / 1000
            self._lines[job_id] = _Line(text, now, now, every * (0.5 + phase))
            self._log.info(text)
        elif line.text != text:
            line.text = text
            line.changed_at = line.informed_at = now
            self._log.info(text)
        elif now - line.informed_at >= (line.first_reminder if line.informed_at == line.changed_at else every):
            line.informed_at = now
            self._log.info(f"{text} (unchanged for {now - line.changed_at:.0f} s)")
        else:
            self._log.debug(text)

    def paused(self, job_ids: Sequence[str], seconds: float) -> None:
        self._log.warning(
            "Zendesk asked to slow down (429): the next check of %s waits %.1f s", show_ids(job_ids), max(0.0, seconds)
        )

    def unanswered(
        self, error: BaseException, *, now: float, since: float, next_check: float, warn_after: float
    ) -> None:
        """Zendesk gave no answer this time: one warning once the outage has lasted ``warn_after``, else DEBUG."""
        text = (
            f"Zendesk unavailable for {describe_duration(now - since)}: {describe_no_answer(error)}; "
            f"still waiting, next check in {describe_duration(next_check - now)}"
        )
        warn = not self._outage_told and now - since >= warn_after
        self._outage_told = self._outage_told or warn
        (self._log.warning if warn else self._log.debug)(text)

    def answered_again(self, seconds: float) -> None:
        """Zendesk answers again: a line at INFO when the outage was warned about."""
        told, self._outage_told = self._outage_told, False
        (self._log.info if told else self._log.debug)(f"Zendesk answered again after {describe_duration(seconds)}")
