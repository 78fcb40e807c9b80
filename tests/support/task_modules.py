"""The provider's modules a DAG file imports, for the checks of what importing them loads (a fresh interpreter each).

A DAG file that gates on a job imports the sensor and the operators of ``zendesk_jobs``; one that
imports in bulk, watches failed jobs or names a Zendesk asset imports the rest.
"""

from __future__ import annotations

#: What a DAG file using the sensor or the results and audit operators imports.
DAG_FILE_MODULES = (
    "airflow_provider_zendesk_jobs.sensors.zendesk_jobs",
    "airflow_provider_zendesk_jobs.operators.zendesk_jobs",
)

#: Every module holding a task, a watcher's trigger or an asset that a DAG file may import.
TASK_MODULES = (
    *DAG_FILE_MODULES,
    "airflow_provider_zendesk_jobs.operators.bulk_jobs",
    "airflow_provider_zendesk_jobs.triggers.job_events",
    "airflow_provider_zendesk_jobs.lineage.assets",
)


def import_lines(modules: tuple[str, ...]) -> str:
    """Python source that imports ``modules``, one line each."""
    return "".join(f"import {module}\n" for module in modules)
