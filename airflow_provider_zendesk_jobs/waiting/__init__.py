"""Waiting on Zendesk jobs, below the sensor, the operators and the trigger, which import from here.

:mod:`.rule` decides, :mod:`.progress` logs, :mod:`.events` is the trigger's event, :mod:`.failures`
maps each end to its Airflow exception, :class:`.job_wait.JobWait` is the wait a task runs.
"""

from __future__ import annotations

from airflow_provider_zendesk_jobs.waiting.rule import (
    DEFAULT_NOT_FOUND_GRACE,
    WaitDecision,
    WaitOptions,
    WaitOutcome,
    evaluate_wait,
)

__all__ = ["DEFAULT_NOT_FOUND_GRACE", "WaitDecision", "WaitOptions", "WaitOutcome", "evaluate_wait"]
