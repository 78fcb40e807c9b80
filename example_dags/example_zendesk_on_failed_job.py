"""Run the moment a Zendesk background job fails or is killed, instead of finding it in the next daily audit.

The asset ``zendesk_failed_jobs`` is watched by a :class:`ZendeskJobEventTrigger` in the
triggerer: it reads the connection's job list every ``ZENDESK_EXAMPLE_WATCH_SECONDS`` (default
60) and fires one asset event per job that ended ``failed`` or ``killed``. Each event starts
this DAG; ``report_failed_jobs`` reads the jobs from ``triggering_asset_events`` and logs them
(several jobs that end within one poll may arrive in one run). Hook an alert on it (email, Slack
callbacks) to tell someone.

``ZENDESK_EXAMPLE_WATCH_CONN_ID`` (default ``zendesk_default``) names the connection.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from airflow.sdk import Asset, AssetWatcher, dag, task

from airflow_provider_zendesk_jobs.triggers.job_events import ZendeskJobEventTrigger

CONN_ID = os.environ.get("ZENDESK_EXAMPLE_WATCH_CONN_ID", "zendesk_default")
WATCH_SECONDS = float(os.environ.get("ZENDESK_EXAMPLE_WATCH_SECONDS", "60"))

log = logging.getLogger(__name__)

# [START howto_trigger_job_events]
failed_jobs = Asset(
    "zendesk_failed_jobs",
    watchers=[
        AssetWatcher(
            name="zendesk_failed_or_killed_jobs",
            trigger=ZendeskJobEventTrigger(
                zendesk_conn_id=CONN_ID, statuses=["failed", "killed"], poll_interval=WATCH_SECONDS
            ),
        )
    ],
)


@dag(
    dag_id="example_zendesk_on_failed_job",
    schedule=[failed_jobs],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    doc_md=__doc__,
)
def example_zendesk_on_failed_job() -> None:
    @task
    def report_failed_jobs(*, triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """The jobs behind this run, as the trigger described them (``job_id``, ``status``, ``message``...)."""
        jobs = [event.extra.get("payload") or {} for event in (triggering_asset_events or {}).get(failed_jobs, [])]
        for job in jobs:
            log.warning(
                "Zendesk job %s (%s) ended %s: %s",
                job.get("job_id"),
                job.get("job_type") or "no job type",
                job.get("status"),
                job.get("message") or "no message",
            )
        return jobs

    report_failed_jobs()
# [END howto_trigger_job_events]


example_zendesk_on_failed_job()
