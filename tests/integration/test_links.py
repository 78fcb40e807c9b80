"""The UI links to Zendesk, pushed by Airflow's own task runner (``dag.test()``) and read back from XCom."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from airflow_provider_zendesk_jobs.get_provider_info import get_provider_info
from airflow_provider_zendesk_jobs.links import (
    ZendeskCreatedTicketLink,
    ZendeskJobLink,
    created_ticket_ids,
    job_url,
    zendesk_base_url,
)
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobResultsOperator
from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from tests.airflow_compat import register_dag
from tests.support.dag_runs import xcoms_of

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("airflow_db")]

JOB_LINK = "_link_ZendeskJobLink"
TICKET_LINK = "_link_ZendeskCreatedTicketLink"


def run_and_read_xcoms(dag: Any) -> dict[tuple[str, str], Any]:
    """Run the DAG as the scheduler would, then every XCom of the run by (task id, key)."""
    from airflow.utils.session import create_session

    register_dag(dag)
    run = dag.test()
    with create_session() as session:
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
        xcoms = xcoms_of(run, session)
    assert set(states.values()) == {"success"}, states
    return xcoms


def finished_job(emu: ZendeskEmulator, kind: str = "tickets_create", count: int = 3) -> str:
    job_id = emu.create_job(kind, count=count, queued_seconds=0, work_seconds=1)
    emu.advance(5)
    return job_id


def test_results_operator_links_to_its_job_and_its_first_created_ticket(emulator_at_real_time: ZendeskEmulator) -> None:
    from airflow.sdk import DAG

    job_id = finished_job(emulator_at_real_time)
    with DAG("zd_links_results", schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False) as dag:
        ZendeskJobResultsOperator(task_id="results", job_id=job_id)
    xcoms = run_and_read_xcoms(dag)

    created = xcoms[("results", "return_value")]["succeeded_ids"]
    assert len(created) == 3
    assert xcoms[("results", JOB_LINK)] == f"{emulator_at_real_time.url}/api/v2/job_statuses/{job_id}.json"
    assert xcoms[("results", TICKET_LINK)] == f"{emulator_at_real_time.url}/agent/tickets/{created[0]}"


def test_results_operator_of_an_update_job_has_no_ticket_link(emulator_at_real_time: ZendeskEmulator) -> None:
    from airflow.sdk import DAG

    job_id = finished_job(emulator_at_real_time, "tickets_update")
    with DAG("zd_links_update", schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False) as dag:
        ZendeskJobResultsOperator(task_id="results", job_id=[job_id])
    xcoms = run_and_read_xcoms(dag)

    assert (
        xcoms[("results", JOB_LINK)] == f"{emulator_at_real_time.url}/api/v2/job_statuses/{job_id}.json"
    )  # a list of one
    assert xcoms[("results", TICKET_LINK)] == ""


def test_sensor_links_to_the_jobs_of_its_xcom_arg(emulator_at_real_time: ZendeskEmulator) -> None:
    from airflow.sdk import DAG, task

    first, second = finished_job(emulator_at_real_time), finished_job(emulator_at_real_time)
    with DAG("zd_links_sensor", schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False) as dag:

        @task
        def start_imports() -> list[str]:
            return [first, second]

        ZendeskJobStatusSensor(task_id="wait", job_id=start_imports(), poke_interval=5)
    xcoms = run_and_read_xcoms(dag)

    assert (
        xcoms[("wait", JOB_LINK)]
        == f"{emulator_at_real_time.url}/api/v2/job_statuses/show_many.json?ids={first},{second}"
    )
    assert ("wait", TICKET_LINK) not in xcoms  # the sensor's summary holds no ticket ids: no such button


def test_a_connection_without_a_usable_host_gives_no_link(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_NOHOST", '{"conn_type": "zendesk_jobs", "login": "a@example.com"}')
    assert zendesk_base_url("zendesk_nohost") is None
    assert zendesk_base_url("zendesk_never_defined") is None
    sensor = ZendeskJobStatusSensor(task_id="w", job_id="V3-a", zendesk_conn_id="zendesk_nohost")
    assert ZendeskJobLink().get_link(sensor, ti_key=None) == ""  # type: ignore[arg-type]


def test_link_urls_and_ticket_ids() -> None:
    assert (
        job_url("https://acme.zendesk.com", ["V3-a b"]) == "https://acme.zendesk.com/api/v2/job_statuses/V3-a%20b.json"
    )
    imported = {"job_type": "Bulk Import Ticket", "succeeded_ids": [7, 9]}
    users = {"job_type": "Bulk Create Or Update User", "succeeded_ids": [1]}
    assert created_ticket_ids([users, imported]) == [7, 9]
    assert created_ticket_ids({"id": "V3-a", "status": "completed"}) == []
    assert created_ticket_ids(None) == []


def test_provider_info_registers_both_links() -> None:
    assert get_provider_info()["extra-links"] == [
        f"{ZendeskJobLink.__module__}.{ZendeskJobLink.__name__}",
        f"{ZendeskCreatedTicketLink.__module__}.{ZendeskCreatedTicketLink.__name__}",
    ]


def test_the_bulk_operator_links_to_its_jobs_and_its_first_created_ticket_from_its_return_value(
    emulator_at_real_time: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_zendesk_jobs import links
    from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator

    value = {
        "action": "tickets.import",
        "jobs": ["V3-a", "V3-b"],
        "created": [{"record_index": 0, "id": 1000}, {"record_index": 2, "id": 1001}],
    }
    monkeypatch.setattr(links.XCom, "get_value", lambda **_: value)
    task = ZendeskBulkJobOperator(task_id="bulk", action="tickets.import", records=[{"subject": "a"}])
    job_link, ticket_link = task.operator_extra_links
    base = zendesk_base_url("zendesk_default")
    assert base is not None
    assert job_link.get_link(task, ti_key=None) == job_url(base, ["V3-a", "V3-b"])  # type: ignore[arg-type]
    assert ticket_link.get_link(task, ti_key=None).endswith("/agent/tickets/1000")  # type: ignore[arg-type]
    assert created_ticket_ids({**value, "action": "users.create_many"}) == []
    assert created_ticket_ids({**value, "created": []}) == []
