"""Import tickets into Zendesk in bulk, wait until Zendesk has finished, then use what it created.

The pipeline is the gate pattern this provider exists for:

1. ``start_import`` sends the tickets to ``POST /api/v2/imports/tickets/create_many`` and
   returns the job id Zendesk answered with;
2. ``wait_for_import`` (deferred: no worker slot is held) waits until the job is finished;
3. ``read_results`` returns the job's results as its XCom value;
4. ``report`` uses the created ticket ids and lists the records Zendesk rejected.

It runs unchanged against a real account (connection ``zendesk_default``) and against the
built-in emulator (``make demo``). What it sends is set by the DAG params, so a run on a real
account stays harmless:

* ``ticket_count`` (default 3): how many tickets to import. They are imported already
  ``closed``, tagged ``airflow-provider-zendesk-jobs-demo``, from ``airflow-demo@example.com``,
  so they never reach an agent's queue.
* ``include_failing_record`` (default ``true``): adds one ticket whose subject contains
  ``FAIL``. The emulator rejects such records, which shows the failed-items path; a real
  Zendesk would import it as an ordinary ticket, so set it to ``false`` there.
* ``subject_prefix`` (default "Airflow demo import"): the start of every subject.

Change them per run, e.g. ``airflow dags trigger example_zendesk_bulk_import_gate --conf
'{"ticket_count": 5, "include_failing_record": false}'``. The environment variable
``ZENDESK_EXAMPLE_POLL_SECONDS`` (default 30) sets how often the wait asks Zendesk.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor

CONN_ID = "zendesk_default"
IMPORT_ENDPOINT = "/api/v2/imports/tickets/create_many"
DEMO_TAG = "airflow-provider-zendesk-jobs-demo"
POLL_SECONDS = float(os.environ.get("ZENDESK_EXAMPLE_POLL_SECONDS", "30"))


def build_tickets(count: int, include_failing_record: bool, subject_prefix: str) -> list[dict[str, Any]]:
    """Harmless tickets: closed on import, tagged, from a reserved example.com address."""
    subjects = [f"{subject_prefix} #{number}" for number in range(1, count + 1)]
    if include_failing_record:
        # Placed second so the failed item is visibly not the last one.
        subjects.insert(min(1, len(subjects)), f"{subject_prefix}: FAIL on purpose (the emulator rejects it)")
    return [
        {
            "subject": subject,
            "comments": [{"value": "Imported by the example DAG of airflow-provider-zendesk-jobs."}],
            "requester": {"name": "Airflow demo", "email": "airflow-demo@example.com"},
            "status": "closed",
            "tags": [DEMO_TAG],
        }
        for subject in subjects
    ]


# [START howto_gate_pipeline]
@dag(
    dag_id="example_zendesk_bulk_import_gate",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    params={
        "ticket_count": Param(3, type="integer", minimum=1, maximum=99, description="Tickets to import."),
        "include_failing_record": Param(
            True, type="boolean", description="Add one record with FAIL in its subject (rejected by the emulator)."
        ),
        "subject_prefix": Param("Airflow demo import", type="string", minLength=1),
    },
    doc_md=__doc__,
)
def example_zendesk_bulk_import_gate() -> None:
    @task
    def start_import() -> str:
        """Start the bulk import; only the job id goes to XCom."""
        params = get_current_context()["params"]
        tickets = build_tickets(
            int(params["ticket_count"]), bool(params["include_failing_record"]), str(params["subject_prefix"])
        )
        job = ZendeskJobStatusHook(zendesk_conn_id=CONN_ID).submit_job("POST", IMPORT_ENDPOINT, {"tickets": tickets})
        return job.id

    job_id = start_import()

    wait_for_import = ZendeskJobStatusSensor(
        task_id="wait_for_import",
        job_id=job_id,
        zendesk_conn_id=CONN_ID,
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=60 * 60,
    )

    read_results = ZendeskJobResultsOperator(
        task_id="read_results",
        job_id=job_id,
        zendesk_conn_id=CONN_ID,
        poll_interval=POLL_SECONDS,
    )

    @task
    def report(results: dict[str, Any]) -> dict[str, Any]:
        """What a real pipeline would do next: use the new ticket ids, and surface the rejected records."""
        created = results["succeeded_ids"]
        failed = results["failed"]
        print(f"Zendesk job {results['job_id']} {results['status']}: {len(created)} tickets created: {created}")
        for item in failed:
            print(f"  record {item['index']} rejected: {item['error']} ({item.get('details') or 'no details'})")
        return {"job_id": results["job_id"], "created_ticket_ids": created, "failed_items": failed}

    wait_for_import >> read_results
    report(read_results.output)
# [END howto_gate_pipeline]


example_zendesk_bulk_import_gate()
