"""Waiting on Zendesk jobs: the rule that ends a wait, its log lines, the trigger's event, and the task side.

Below the sensor, the operators and the trigger, which all import from here and never from
each other: :mod:`.rule` decides, :mod:`.progress` writes the lines people read, :mod:`.events`
is the trigger's event, :mod:`.failures` maps each end to its Airflow exception, and
:class:`.job_wait.JobWait` is the wait a task runs.
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
