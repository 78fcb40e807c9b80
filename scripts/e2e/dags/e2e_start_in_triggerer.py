"""Two DAGs of 30 unmapped sensors on ``conf["job_ids"]``, started in the triggerer or not (its scenario).

``start_from_trigger`` is fixed per task when the DAG is parsed and applies to unmapped tasks
only, hence one task per id and one DAG per setting. Both use the ``zendesk_start`` connection.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor

#: Waits per DAG.
START_WAITS = 30
#: Seconds between two reads of the jobs.
POLL_SECONDS = 5.0

for start_from_trigger in (False, True):
    with DAG(
        dag_id=f"e2e_start_from_trigger_{'on' if start_from_trigger else 'off'}",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        max_active_tasks=64,
        default_args={"retries": 0},
        tags=["zendesk", "e2e"],
    ):
        for index in range(START_WAITS):
            ZendeskJobStatusSensor(
                task_id=f"wait_{index:02d}",
                job_id="{{ dag_run.conf['job_ids'][" + str(index) + "] }}",
                zendesk_conn_id="zendesk_start",
                deferrable=True,
                start_from_trigger=start_from_trigger,
                poke_interval=POLL_SECONDS,
                timeout=20 * 60,
            )
