"""The bulk import whose worker ``make e2e`` kills mid-import: its next try must finish it, sending nothing twice.

The task waits in the worker (not deferred), so there is a worker process to kill while its
first five jobs are active; ``retries=1`` with a short delay gives it the next try the scheduler
runs. The records carry ``external_id``, so the emulator's record log can show duplicates.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag

from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

RECORDS = 1000


@dag(dag_id="e2e_bulk_killed", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["e2e"])
def e2e_bulk_killed() -> None:
    ZendeskBulkJobOperator(
        task_id="import_tickets",
        action="tickets.import",
        records=[{"subject": f"E2E ticket {i}", "external_id": f"e2e-{i}"} for i in range(RECORDS)],
        zendesk_conn_id="zendesk_bulk_kill",
        max_active_jobs=5,
        deferrable=False,
        poll_interval=2,
        retries=1,
        retry_delay=timedelta(seconds=2),
    )


e2e_bulk_killed()
