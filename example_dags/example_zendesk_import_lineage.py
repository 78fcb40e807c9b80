"""An import that tells who watches data moving: OpenLineage events, and an asset event that starts the next DAG.

``example_zendesk_import_lineage`` writes a JSON Lines file of tickets and imports it with
:class:`~airflow_provider_zendesk_jobs.operators.bulk_jobs.ZendeskBulkJobOperator`, whose
``outlets`` name the asset of the account's tickets, ``zendesk://<host>/tickets``. When the
import succeeds, Airflow records an asset event whose ``extra`` holds the import's counts
(``records``, ``succeeded``, ``failed``, ``unresolved``, ``jobs``), and
``example_zendesk_on_imported_tickets``, scheduled on the asset, runs and reads them.

With ``apache-airflow-providers-openlineage`` installed and a transport configured, the import
task also reports its lineage: the file as input, the account's tickets as output, with the
counts (see the lineage page of the docs). Nothing here changes for that.

``ZENDESK_EXAMPLE_HOST`` (default ``acme``) is the connection's host, in any form it takes
(``acme``, ``acme.zendesk.com``); ``ZENDESK_EXAMPLE_CONN_ID`` (default ``zendesk_default``),
``ZENDESK_EXAMPLE_POLL_SECONDS`` (default 30) and ``ZENDESK_EXAMPLE_DATA_DIR`` as in the other
examples. The tickets are imported ``closed`` and tagged, from a reserved example.com address.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import dag, get_current_context, task

from airflow_provider_zendesk_jobs.lineage.assets import zendesk_asset
from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

CONN_ID = os.environ.get("ZENDESK_EXAMPLE_CONN_ID", "zendesk_default")
ZENDESK_HOST = os.environ.get("ZENDESK_EXAMPLE_HOST", "acme")
POLL_SECONDS = float(os.environ.get("ZENDESK_EXAMPLE_POLL_SECONDS", "30"))
TICKET_COUNT = 250
DEMO_TAG = "airflow-provider-zendesk-jobs-demo"

log = logging.getLogger(__name__)

# [START howto_zendesk_object_asset]
tickets = zendesk_asset(ZENDESK_HOST, "tickets")  # zendesk://acme.zendesk.com/tickets
# [END howto_zendesk_object_asset]


def build_ticket(number: int) -> dict[str, Any]:
    return {
        "subject": f"Example lineage import #{number}",
        "external_id": f"example-lineage-{number}",
        "comments": [{"value": "Imported by the lineage example DAG of airflow-provider-zendesk-jobs."}],
        "requester": {"name": "Airflow demo", "email": "airflow-demo@example.com"},
        "status": "closed",
        "tags": [DEMO_TAG],
    }


@dag(
    dag_id="example_zendesk_import_lineage",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    doc_md=__doc__,
)
def example_zendesk_import_lineage() -> None:
    @task
    def write_tickets() -> str:
        """The source file, one ticket per line; only its path goes to XCom (and into the lineage as the input)."""
        run_id = get_current_context()["run_id"]
        folder = Path(os.environ.get("ZENDESK_EXAMPLE_DATA_DIR") or tempfile.gettempdir()) / "zendesk_example"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"lineage-tickets-{run_id.replace(':', '_').replace('+', '_')}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for number in range(TICKET_COUNT):
                out.write(json.dumps(build_ticket(number)) + "\n")
        return str(path)

    # [START howto_zendesk_bulk_import_outlet]
    ZendeskBulkJobOperator(
        task_id="import_tickets",
        action="tickets.import",
        records_path=write_tickets(),  # the lineage's input: file + its path, or s3://bucket + the key
        zendesk_conn_id=CONN_ID,
        outlets=[tickets],  # on success, the asset event's extra holds the import's counts
        deferrable=True,
        poll_interval=POLL_SECONDS,
    )
    # [END howto_zendesk_bulk_import_outlet]


example_zendesk_import_lineage()


# [START howto_zendesk_on_imported_tickets]
@dag(
    dag_id="example_zendesk_on_imported_tickets",
    schedule=[tickets],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
)
def example_zendesk_on_imported_tickets() -> None:
    @task
    def report_import(*, triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """Each import behind this run, from its asset event: the counts and the first 100 job ids."""
        events = triggering_asset_events[tickets] if triggering_asset_events else []  # none in a manual run
        imports = [dict(event.extra) for event in events]
        for counts in imports:
            log.info(
                "%s: %s of %s records succeeded, %s failed, %s unresolved, in %s jobs",
                counts.get("action"),
                counts.get("succeeded"),
                counts.get("records"),
                counts.get("failed"),
                counts.get("unresolved"),
                counts.get("jobs_total"),
            )
        return imports

    report_import()


example_zendesk_on_imported_tickets()
# [END howto_zendesk_on_imported_tickets]
