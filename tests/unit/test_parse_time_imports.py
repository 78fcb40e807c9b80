"""A DAG file that uses the sensor or the operator must not pay for the HTTP stack at parse time.

The scheduler's DAG processor imports every DAG file over and over; the hooks (``requests``,
``httpx``) and the trigger (the poller) are only needed when a task runs, so
the sensor and operator modules import them there. ``benchmarks/bench_import_time.py``
measures the cost; this test keeps the rule.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import airflow.sdk
before = set(sys.modules)
import airflow_provider_zendesk_jobs.sensors.zendesk_jobs
import airflow_provider_zendesk_jobs.operators.zendesk_jobs
print(json.dumps(sorted(set(sys.modules) - before)))
"""

ONLY_WHEN_A_TASK_RUNS = (
    "requests",
    "httpx",
    "airflow.triggers.base",
    "airflow_provider_zendesk_jobs.hooks.zendesk_jobs",
    "airflow_provider_zendesk_jobs.triggers.zendesk_jobs",
    "airflow_provider_zendesk_jobs.triggers.poller",
)


@pytest.mark.slow
def test_the_sensor_and_operator_modules_leave_the_http_stack_for_run_time() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    imported = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "airflow_provider_zendesk_jobs.sensors.zendesk_jobs" in imported  # the probe saw our imports
    assert sorted(name for name in ONLY_WHEN_A_TASK_RUNS if name in imported) == []


def test_the_hook_and_trigger_still_load_when_a_task_needs_them() -> None:
    from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor

    sensor = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a")
    assert type(sensor.build_wait().hook).__name__ == "ZendeskJobStatusHook"
