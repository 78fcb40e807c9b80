"""The log lines of a wait, the same from the sensor's poke and from the trigger.

People read these in the task log: one line per job per poll (``V3-abc: working 31/100``),
a warning once per job whose status this provider does not know, and a warning when
Zendesk asks to slow down. Nothing here decides anything; the decision is the outcome's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

from airflow_provider_zendesk_jobs.jobs import JobState
from airflow_provider_zendesk_jobs.waiting import WaitOutcome

__all__ = ["ProgressLog"]


class _Logger(Protocol):
    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


class ProgressLog:
    """Logs each poll of one wait; remembers which unknown statuses it already warned about."""

    def __init__(self, log: _Logger, *, not_found_grace: float) -> None:
        # A structlog proxy resolves itself on every call; its bound logger does not (a triggerer
        # logs a line per job per poll for thousands of jobs).
        bind = getattr(log, "bind", None)
        self._log: _Logger = bind() if callable(bind) else log
        self._grace = not_found_grace
        self._warned_unknown: set[str] = set()

    def poll(self, job_ids: Sequence[str], outcome: WaitOutcome) -> None:
        """One line per job: its progress, or that Zendesk does not show it yet."""
        log = self._log
        hidden = outcome.not_visible_yet
        not_visible: Collection[str] = hidden if len(hidden) <= 8 else frozenset(hidden)
        for job_id in job_ids:
            job = outcome.statuses.get(job_id)
            if job is None:
                if job_id in not_visible:
                    log.info(
                        "%s: not visible yet (Zendesk answers 404 for a moment after a bulk call; "
                        "waiting up to %g s from the first check)",
                        job_id,
                        self._grace,
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
            # Already text: no %-formatting pass (a triggerer writes thousands of these per cycle).
            log.info(job.describe_progress())

    def paused(self, job_ids: Sequence[str], seconds: float) -> None:
        shown = ", ".join(job_ids[:5]) + (f" and {len(job_ids) - 5} more" if len(job_ids) > 5 else "")
        self._log.warning(
            "Zendesk asked to slow down (429): the next check of %s waits %.1f s", shown, max(0.0, seconds)
        )
