"""Every argument of the gate and of the results operator, on one job: the forms the documentation shows.

``wait_for_import`` waits in the triggerer after one check on a worker; ``wait_in_triggerer``
starts straight in the triggerer on Airflow 3.3 and later (a worker run, and a deferral, before);
``read_results`` returns the job's results. ``ZENDESK_EXAMPLE_CONN_ID`` (default ``zendesk_default``)
names the connection.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, task

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor

CONN_ID = os.environ.get("ZENDESK_EXAMPLE_CONN_ID", "zendesk_default")


@dag(
    dag_id="example_zendesk_wait_options",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    doc_md=__doc__,
)
def example_zendesk_wait_options() -> None:
    @task
    def start_import() -> str:
        tickets = [{"subject": "Imported", "comment": {"body": "Hello"}, "status": "closed"}]
        hook = ZendeskJobStatusHook(zendesk_conn_id=CONN_ID)
        return hook.submit_job("POST", "/api/v2/imports/tickets/create_many", {"tickets": tickets}).id

    job_id = start_import()

    # [START howto_sensor_options]
    wait_for_import = ZendeskJobStatusSensor(
        task_id="wait_for_import",
        job_id="{{ ti.xcom_pull(task_ids='start_import') }}",  # or a list of ids
        zendesk_conn_id=CONN_ID,
        deferrable=True,  # wait in the triggerer; default: [operators] default_deferrable
        poke_interval=30,  # seconds between checks, in the triggerer too (poll_interval= is its old name)
        timeout=60 * 60,  # holds in every mode, deferred included; soft_fail=True skips instead
        fail_on_item_errors=False,  # True: a completed job with rejected items fails the wait
        not_found_grace=60,
    )
    # [END howto_sensor_options]

    # [START howto_sensor_start_from_trigger]
    wait_in_triggerer = ZendeskJobStatusSensor(
        task_id="wait_in_triggerer",
        job_id="{{ ti.xcom_pull(task_ids='start_import') }}",  # rendered in the triggerer, as text
        zendesk_conn_id=CONN_ID,
        deferrable=True,
        start_from_trigger=True,
        poke_interval=30,
        timeout=60 * 60,
    )
    # [END howto_sensor_start_from_trigger]

    # [START howto_operator_results_options]
    read_results = ZendeskJobResultsOperator(
        task_id="read_results",
        job_id=job_id,  # a string gives a dict; a list gives a list, in the same order
        zendesk_conn_id=CONN_ID,
        wait_for_completion=True,  # False: read the current state once and return it, finished or not
        deferrable=False,  # default: [operators] default_deferrable
        poll_interval=30.0,
        timeout=None,  # seconds; then AirflowTaskTimeout (retries apply, soft_fail does not); None: no limit
        fail_on_item_errors=False,  # True: rejected items fail the task
        include_results=True,  # False: leave out the per-item list (see "Large jobs and XCom size")
        not_found_grace=60.0,
    )
    # [END howto_operator_results_options]

    job_id >> [wait_for_import, wait_in_triggerer]
    wait_for_import >> read_results


example_zendesk_wait_options()
