"""The bulk import ``make e2e`` runs on two Celery workers, and whose worker it kills mid-import.

The task goes to the CeleryExecutor (the deployment runs it beside the LocalExecutor) on a Celery
queue of its own, which two workers consume, each with its own ``AIRFLOW_HOME`` (its own disk).
It waits in the worker (not deferred), so there is a worker to kill while its first five jobs are
active; ``retries=2`` with a short delay gives it the next try, which the scheduler hands to the
worker left. No ``ledger_path``: the import must go on from where it stopped with the default,
on another machine. The records carry ``external_id``, so the emulator's record log shows any
record sent twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag

from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

RECORDS = 3000
#: The Celery queue the scenario's two workers consume (``scripts/e2e/config.py``, CELERY_QUEUE).
QUEUE = "e2e_celery"
#: Created by the celery scenario through the REST API (``scripts/e2e/config.py``, CELERY_POOL).
POOL = "zendesk_celery"


@dag(dag_id="e2e_bulk_celery", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["e2e"])
def e2e_bulk_celery() -> None:
    ZendeskBulkJobOperator(
        task_id="import_tickets",
        action="tickets.import",
        records=[{"subject": f"Celery ticket {i}", "external_id": f"celery-{i}"} for i in range(RECORDS)],
        zendesk_conn_id="zendesk_bulk_celery",
        max_active_jobs=5,
        deferrable=False,
        poll_interval=2,
        retries=2,
        retry_delay=timedelta(seconds=2),
        pool=POOL,
        executor="CeleryExecutor",
        queue=QUEUE,
    )


e2e_bulk_celery()
