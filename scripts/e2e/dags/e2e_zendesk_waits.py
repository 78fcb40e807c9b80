"""The DAGs ``make e2e`` runs beside the example gate DAG, one per scenario (see ``scripts/e2e/scenarios/``).

Each DAG waits, deferred, on the Zendesk job ids given in its run's conf (``{"job_ids": [...]}``),
one mapped sensor per id, on a connection and a trigger queue of its own: the scenarios run at
the same time, each against its own emulator and its own triggerer(s), without seeing each other.
The e2e script creates the jobs in the emulator and triggers the runs through the REST API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import dag, get_current_context, task

from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor

#: Seconds between two reads of the jobs, in every e2e wait.
POLL_SECONDS = 5.0
#: The sensor timeout of the restart scenario's deadline wait: it must end at first check + this.
DEADLINE_SECONDS = 60.0
#: Long enough that no other wait ends by its timeout while the scenarios run.
LONG_TIMEOUT = 20 * 60.0


def waits_dag(dag_id: str, conn_id: str, queue: str, *, deadline_wait: bool = False) -> Any:
    """A DAG whose ``wait`` task is mapped over ``conf["job_ids"]``, deferred, on ``conn_id`` and ``queue``.

    ``deadline_wait`` adds ``wait_deadline``: one sensor with a short timeout on ``conf["deadline_job_id"]``.
    """

    @dag(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        max_active_tasks=64,
        default_args={"queue": queue, "retries": 0},
        tags=["zendesk", "e2e"],
    )
    def waits() -> None:
        @task
        def job_ids() -> list[str]:
            return [str(job_id) for job_id in get_current_context()["dag_run"].conf["job_ids"]]

        ZendeskJobStatusSensor.partial(
            task_id="wait",
            zendesk_conn_id=conn_id,
            deferrable=True,
            poke_interval=POLL_SECONDS,
            timeout=LONG_TIMEOUT,
        ).expand(job_id=job_ids())
        if deadline_wait:
            ZendeskJobStatusSensor(
                task_id="wait_deadline",
                job_id="{{ dag_run.conf['deadline_job_id'] }}",
                zendesk_conn_id=conn_id,
                deferrable=True,
                poke_interval=POLL_SECONDS,
                timeout=DEADLINE_SECONDS,
            )

    return waits()


e2e_many_waits = waits_dag("e2e_many_waits", "zendesk_many", "default")
e2e_restart = waits_dag("e2e_restart", "zendesk_restart", "e2e_restart", deadline_wait=True)
e2e_two_triggerers = waits_dag("e2e_two_triggerers", "zendesk_pair", "e2e_pair")
e2e_outage = waits_dag("e2e_outage", "zendesk_outage", "e2e_outage")
e2e_poison_row = waits_dag("e2e_poison_row", "zendesk_poison", "e2e_poison")
