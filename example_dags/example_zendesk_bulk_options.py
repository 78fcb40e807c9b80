"""Every argument of the bulk operator, in the form the documentation shows.

The records come from a JSON Lines file at ``ZENDESK_EXAMPLE_RECORDS_PATH`` (a local path or any
``ObjectStoragePath`` URI; default ``s3://my-bucket/exports/tickets.jsonl``); the task runs in the
pool ``zendesk_jobs``. ``ZENDESK_EXAMPLE_CONN_ID`` (default ``zendesk_default``) names the connection.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag

from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

CONN_ID = os.environ.get("ZENDESK_EXAMPLE_CONN_ID", "zendesk_default")
RECORDS_PATH = os.environ.get("ZENDESK_EXAMPLE_RECORDS_PATH", "s3://my-bucket/exports/tickets.jsonl")


@dag(
    dag_id="example_zendesk_bulk_options",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    doc_md=__doc__,
)
def example_zendesk_bulk_options() -> None:
    # [START howto_operator_bulk_options]
    ZendeskBulkJobOperator(
        task_id="import_tickets",
        action="tickets.import",  # or method=, endpoint=, payload_key= for another bulk call
        records_path=RECORDS_PATH,  # or records=[...] / an XComArg
        zendesk_conn_id=CONN_ID,
        chunk_size=100,  # 1 to 100
        max_active_jobs=10,  # this task's jobs queued or working at once (1 to 30)
        deferrable=True,  # default: [operators] default_deferrable
        poll_interval=30.0,
        timeout=None,  # seconds per try; the next try goes on where it stopped
        fail_on_item_errors=False,  # True: any rejected record fails the task (after the import)
        max_failed_records=None,  # fail the task when more records than this failed or are unresolved
        allow_unresolved=False,  # True: records no one can name an outcome for do not fail the task
        results_path=None,  # write the whole mapping here as JSON Lines (ObjectStoragePath)
        ledger_path=None,  # files instead of the task state store (see "Never twice")
        pool="zendesk_jobs",
    )
    # [END howto_operator_bulk_options]


example_zendesk_bulk_options()
