"""Import tickets, then tag exactly the tickets Zendesk created: ``tickets.update_many_by_ids`` with one change.

1. ``import_tickets`` (:class:`~airflow_provider_zendesk_jobs.operators.bulk_jobs.ZendeskBulkJobOperator`,
   ``tickets.import``) creates the tickets and returns, under ``created``, each created ticket's id
   beside the index of its source record;
2. ``created_ids`` keeps the ids;
3. ``tag_imported`` sends them to ``PUT /api/v2/tickets/update_many?ids=...`` in chunks of 100 with
   one change for all, ``{"ticket": {"additional_tags": [...]}}``: the only form of the call in which
   Zendesk adds tags instead of replacing them. Its result lists every tagged id under ``updated``.

The tickets are imported ``closed`` from a reserved example.com address, so on a real account they
reach no agent's queue. ``ZENDESK_EXAMPLE_CONN_ID`` (default ``zendesk_default``) names the connection,
``ZENDESK_EXAMPLE_POLL_SECONDS`` (default 30) how often Zendesk is asked.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

CONN_ID = os.environ.get("ZENDESK_EXAMPLE_CONN_ID", "zendesk_default")
POLL_SECONDS = float(os.environ.get("ZENDESK_EXAMPLE_POLL_SECONDS", "30"))
IMPORTED_TAG = "imported-by-airflow"


@dag(
    dag_id="example_zendesk_tag_imported",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    params={"ticket_count": Param(150, type="integer", minimum=1, maximum=10_000, description="Tickets to import.")},
    doc_md=__doc__,
)
def example_zendesk_tag_imported() -> None:
    @task
    def tickets() -> list[dict[str, Any]]:
        count = int(get_current_context()["params"]["ticket_count"])
        return [
            {
                "subject": f"Example import to tag #{number}",
                "external_id": f"example-tag-{number}",
                "comments": [{"value": "Imported by the example DAG of airflow-provider-zendesk-jobs."}],
                "requester": {"name": "Airflow demo", "email": "airflow-demo@example.com"},
                "status": "closed",
            }
            for number in range(count)
        ]

    import_tickets = ZendeskBulkJobOperator(
        task_id="import_tickets",
        action="tickets.import",
        records=tickets(),
        zendesk_conn_id=CONN_ID,
        poll_interval=POLL_SECONDS,
    )

    @task
    def created_ids(result: dict[str, Any]) -> list[int]:
        """The ids of the tickets the import created, in the order of their source records."""
        return [entry["id"] for entry in result["created"]]

    # [START howto_operator_bulk_tag]
    ZendeskBulkJobOperator(
        task_id="tag_imported",
        action="tickets.update_many_by_ids",
        records=created_ids(import_tickets.output),
        change={"additional_tags": [IMPORTED_TAG]},
        zendesk_conn_id=CONN_ID,
        poll_interval=POLL_SECONDS,
    )
    # [END howto_operator_bulk_tag]


example_zendesk_tag_imported()
