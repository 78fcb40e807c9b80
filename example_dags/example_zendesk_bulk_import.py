"""Import 1,000 tickets from a JSON Lines file through Zendesk's job limit, then list the records Zendesk rejected.

1. ``write_tickets`` writes the source file, one ticket per line (a real pipeline would export
   it from another system into ``s3://...``); some subjects contain ``FAIL``, which the emulator
   rejects on purpose (set the ``failing_every`` param to 0 on a real account);
2. ``import_tickets`` (:class:`~airflow_provider_zendesk_jobs.operators.bulk_jobs.ZendeskBulkJobOperator`)
   sends them to ``POST /api/v2/imports/tickets/create_many`` in chunks of 100, at most 5 of its
   jobs at once, deferred between rounds (no worker slot is held while Zendesk works), in the
   pool ``zendesk_jobs``: create it with ``include_deferred`` so that deferred imports count too,
   and its slots keep every run of every DAG on the account under Zendesk's limit of 30 jobs::

       airflow pools set zendesk_jobs 4 "Zendesk bulk imports (account limit: 30 jobs)" --include-deferred

   A task in the pool may hold up to ``max_active_jobs`` jobs, so 4 slots x 5 jobs = 20, under 30
   with room for other integrations on the account;
3. ``report_failures`` prints each rejected record from the source file, with Zendesk's reason.

The tickets are imported ``closed`` and tagged, from a reserved example.com address, so on a
real account they reach no agent's queue. ``ZENDESK_EXAMPLE_POLL_SECONDS`` (default 30) sets how
often Zendesk is asked; ``ZENDESK_EXAMPLE_DATA_DIR`` where the source file is written;
``ZENDESK_EXAMPLE_CONN_ID`` (default ``zendesk_default``) and ``ZENDESK_EXAMPLE_POOL`` (default
``zendesk_jobs``) the connection and the pool.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

CONN_ID = os.environ.get("ZENDESK_EXAMPLE_CONN_ID", "zendesk_default")
POOL = os.environ.get("ZENDESK_EXAMPLE_POOL", "zendesk_jobs")
DEMO_TAG = "airflow-provider-zendesk-jobs-demo"
POLL_SECONDS = float(os.environ.get("ZENDESK_EXAMPLE_POLL_SECONDS", "30"))


def build_ticket(number: int, failing: bool) -> dict[str, Any]:
    """A harmless ticket; ``external_id`` ties it to its source record."""
    subject = f"Example bulk import #{number}" + (": FAIL on purpose (the emulator rejects it)" if failing else "")
    return {
        "subject": subject,
        "external_id": f"example-source-{number}",
        "comments": [{"value": "Imported by the example DAG of airflow-provider-zendesk-jobs."}],
        "requester": {"name": "Airflow demo", "email": "airflow-demo@example.com"},
        "status": "closed",
        "tags": [DEMO_TAG],
    }


@dag(
    dag_id="example_zendesk_bulk_import",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    params={
        "ticket_count": Param(1000, type="integer", minimum=1, maximum=100_000, description="Tickets to import."),
        "failing_every": Param(
            97,
            type="integer",
            minimum=0,
            description="Every n-th ticket contains FAIL (0: none; the emulator rejects them).",
        ),
    },
    doc_md=__doc__,
)
def example_zendesk_bulk_import() -> None:
    @task
    def write_tickets() -> str:
        """The source file, one ticket per line; only its path goes to XCom."""
        context = get_current_context()
        params = context["params"]
        count, every = int(params["ticket_count"]), int(params["failing_every"])
        folder = Path(os.environ.get("ZENDESK_EXAMPLE_DATA_DIR") or tempfile.gettempdir()) / "zendesk_example"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"tickets-{context['run_id'].replace(':', '_').replace('+', '_')}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for number in range(count):
                out.write(json.dumps(build_ticket(number, every > 0 and number % every == every - 1)) + "\n")
        return str(path)

    source = write_tickets()

    # [START howto_operator_bulk_import]
    import_tickets = ZendeskBulkJobOperator(
        task_id="import_tickets",
        action="tickets.import",
        records_path=source,
        zendesk_conn_id=CONN_ID,
        max_active_jobs=5,
        deferrable=True,
        poll_interval=POLL_SECONDS,
        pool=POOL,
        retries=2,
    )
    # [END howto_operator_bulk_import]

    @task
    def report_failures(result: dict[str, Any], path: str) -> list[dict[str, Any]]:
        """Each rejected source record with Zendesk's reason: what a pipeline would send back for fixing."""
        wanted = {failure["record_index"]: failure for failure in result["failures"]}
        rejected = []
        with open(path, encoding="utf-8") as lines:
            for index, line in enumerate(lines):
                if index in wanted:
                    record = json.loads(line)
                    failure = wanted[index]
                    rejected.append({"record_index": index, "external_id": record.get("external_id"), **failure})
                    print(f"record {index} ({record.get('external_id')}): {failure['error']} - {failure['details']}")
        print(f"{result['succeeded']} of {result['records']} tickets imported, {result['failed']} rejected")
        return rejected

    report_failures(import_tickets.output, source)


example_zendesk_bulk_import()
