"""The first DAG of the README: start a bulk call, wait on its job in the triggerer, read what Zendesk created.

The region between the markers is the README's first DAG, character for character
(``tests/docs/test_docs_snippets.py`` compares them).
"""

from __future__ import annotations

# [START howto_first_dag]
from airflow.sdk import dag, task

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor


@dag(schedule=None, catchup=False)
def first_zendesk_import() -> None:
    @task
    def start_import() -> str:
        tickets = [{"subject": "Imported", "comment": {"body": "Hello"}, "requester_id": 1}]
        endpoint = "/api/v2/imports/tickets/create_many"
        job = ZendeskJobStatusHook().submit_job("POST", endpoint, {"tickets": tickets})
        return job.id  # only the id goes to XCom

    job_id = start_import()
    wait = ZendeskJobStatusSensor(task_id="wait", job_id=job_id, deferrable=True, poke_interval=30)
    wait >> ZendeskJobResultsOperator(task_id="results", job_id=job_id)


first_zendesk_import()
# [END howto_first_dag]
