"""A DAG file that uses the sensor or the operator must not pay for the HTTP stack at parse time.

The scheduler's DAG processor imports every DAG file over and over; the hooks (``requests``,
``httpx``) and the trigger (the poller) are only needed when a task runs, so
the sensor and operator modules import them there. ``benchmarks/bench_import_time.py``
measures the cost; this test keeps the rule. OpenLineage, too, is never imported with a task module,
installed or not (tests/integration/test_lineage_optional.py runs an import without it).

What a module import loads is only visible in a fresh interpreter: one probe, run once, imports
the modules step by step and tells what each step added.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.task_modules import DAG_FILE_MODULES, TASK_MODULES, import_lines

PROBE = (
    """
import json, sys
import airflow  # Airflow itself reads each installed provider's info, the OpenLineage provider's too
at_start = set(sys.modules)
import airflow.sdk
before = set(sys.modules)
"""
    + import_lines(DAG_FILE_MODULES)
    + "parse_time = set(sys.modules)\n"
    + import_lines(TASK_MODULES)
    + """
print(json.dumps({
    "dag_file": sorted(parse_time - before),
    "task_modules": sorted(set(sys.modules) - at_start),
}))
"""
)


@pytest.fixture(scope="module")
def probe() -> dict[str, set[str]]:
    """The modules that importing the sensor and operators (``dag_file``) and every task module loaded."""
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return {step: set(modules) for step, modules in answer.items()}


#: One worker runs this module's tests, so the probe runs once.
pytestmark = pytest.mark.xdist_group("fresh_interpreter_imports")

ONLY_WHEN_A_TASK_RUNS = (
    "requests",
    "httpx",
    "airflow.triggers.base",
    "airflow_provider_zendesk_jobs.hooks.zendesk_jobs",
    "airflow_provider_zendesk_jobs.triggers.zendesk_jobs",
    "airflow_provider_zendesk_jobs.triggers.poller",
)


@pytest.mark.slow
def test_the_sensor_and_operator_modules_leave_the_http_stack_for_run_time(probe: dict[str, set[str]]) -> None:
    imported = probe["dag_file"]
    assert "airflow_provider_zendesk_jobs.sensors.zendesk_jobs" in imported  # the probe saw our imports
    assert sorted(name for name in ONLY_WHEN_A_TASK_RUNS if name in imported) == []


def test_with_openlineage_installed_importing_the_tasks_loads_none_of_it(probe: dict[str, set[str]]) -> None:
    pytest.importorskip("openlineage.client")
    assert "airflow_provider_zendesk_jobs.lineage.assets" in probe["task_modules"]
    assert sorted(name for name in probe["task_modules"] if "openlineage" in name) == []


def test_the_hook_and_trigger_still_load_when_a_task_needs_them() -> None:
    from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor

    sensor = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a")
    assert type(sensor.build_wait().hook).__name__ == "ZendeskJobStatusHook"
