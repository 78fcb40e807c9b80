"""The alternative to the bulk operator: one mapped task per chunk, each gated by the results operator.

Airflow's own retries then apply per chunk, but there is no ledger: a retried ``submit`` may send
its chunk twice. Item indexes are per chunk: record = chunk number x 100 + item ``index``.
``ZENDESK_EXAMPLE_CONN_ID`` (default ``zendesk_default``) names the connection.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator

CONN_ID = os.environ.get("ZENDESK_EXAMPLE_CONN_ID", "zendesk_default")


@dag(
    dag_id="example_zendesk_mapped_chunks",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    doc_md=__doc__,
)
def example_zendesk_mapped_chunks() -> None:
    @task
    def source_records() -> list[dict[str, Any]]:
        return [{"subject": f"Mapped import #{n}", "comment": {"body": "Hi"}, "status": "closed"} for n in range(250)]

    records = source_records()

    # [START howto_mapped_chunks]
    @task
    def chunks(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        return [records[i : i + 100] for i in range(0, len(records), 100)]

    @task(pool="zendesk_jobs")
    def submit(chunk: list[dict[str, Any]]) -> str:
        hook = ZendeskJobStatusHook(zendesk_conn_id=CONN_ID)
        return hook.submit_job("POST", "/api/v2/imports/tickets/create_many", {"tickets": chunk}).id

    job_ids = submit.expand(chunk=chunks(records))
    ZendeskJobResultsOperator.partial(
        task_id="results", zendesk_conn_id=CONN_ID, deferrable=True, pool="zendesk_jobs"
    ).expand(job_id=job_ids)
    # [END howto_mapped_chunks]


example_zendesk_mapped_chunks()
