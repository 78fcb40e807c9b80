"""ZendeskJobStatusSensor run by Airflow itself (``dag.test()``), against the emulator.

``dag.test()`` runs each task through the real task runner and runs a deferred task's
trigger in-process, rebuilt from its serialized form, as a triggerer would. The sensor (through
``build_wait``) and the trigger read the emulator's clock, and the trigger's sleeps move it, so
a wait of minutes takes well under a second. Task states and XCom values are read back from the metadata database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pendulum
import pytest

from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import on_clock, triggers_on_clock
from tests.airflow_compat import AIRFLOW_V_3_1_PLUS
from tests.support.dag_runs import run_dag
from tests.support.pollers import show_many_requests

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("airflow_db")]


def gate_dag(emu: ZendeskEmulator, dag_id: str, start_job: Callable[[], str], **sensor_kwargs: Any) -> Any:
    """A bulk call (here: the emulator creating the job) followed by the sensor on its XCom, on the emulator's clock."""
    from airflow.sdk import DAG, task

    with DAG(dag_id, schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False) as dag:

        @task
        def start_import() -> str:
            return start_job()

        sensor_kwargs.setdefault("poke_interval", 5)
        sensor = on_clock(ZendeskJobStatusSensor, emu.clock.now, emu.advance)
        sensor(task_id="wait", job_id=start_import(), **sensor_kwargs)
    return dag


def test_deferred_wait_succeeds_on_the_trigger_s_event(emulator_at_real_time: ZendeskEmulator) -> None:
    dag = gate_dag(
        emulator_at_real_time,
        "zd_wait_deferred_ok",
        lambda: emulator_at_real_time.create_job(count=3, work_seconds=27),
        deferrable=True,
    )
    with triggers_on_clock(emulator_at_real_time.clock.now, emulator_at_real_time.advance):
        result = run_dag(dag)
    assert result["tasks"] == {"start_import": "success", "wait": "success"}
    job_id = result["xcom"]["start_import"]
    assert result["xcom"]["wait"] == {
        "id": job_id,
        "status": "completed",
        "total": 3,
        "progress": 3,
        "message": emulator_at_real_time.job(job_id)["message"],
    }
    times = [r.time for r in show_many_requests(emulator_at_real_time)]
    # The sensor's own check, then the trigger every 5 s until the job was seen completed (+28 s).
    assert [t - times[0] for t in times] == [0, 5, 10, 15, 20, 25, 30]


def test_deferred_wait_fails_for_good_on_a_dead_job(emulator_at_real_time: ZendeskEmulator) -> None:
    dag = gate_dag(
        emulator_at_real_time,
        "zd_wait_deferred_killed",
        lambda: emulator_at_real_time.create_job(count=2, work_seconds=12, outcome="killed"),
        deferrable=True,
        retries=3,
    )
    with triggers_on_clock(emulator_at_real_time.clock.now, emulator_at_real_time.advance):
        result = run_dag(dag)
    # AirflowFailException: failed at once, not up for retry, although the task has retries.
    assert result["tasks"] == {"start_import": "success", "wait": "failed"}
    assert result["state"] == "failed"


@pytest.mark.parametrize(("soft_fail", "state"), [(True, "skipped"), (False, "failed")])
def test_the_sensor_timeout_holds_in_deferred_mode(
    emulator_at_real_time: ZendeskEmulator, soft_fail: bool, state: str
) -> None:
    dag = gate_dag(
        emulator_at_real_time,
        f"zd_wait_deferred_timeout_{state}",
        lambda: emulator_at_real_time.create_job(count=2, work_seconds=3600),
        deferrable=True,
        timeout=42,
        poke_interval=30,
        soft_fail=soft_fail,
    )
    with triggers_on_clock(emulator_at_real_time.clock.now, emulator_at_real_time.advance):
        result = run_dag(dag)
    assert result["tasks"]["wait"] == state
    times = [r.time for r in show_many_requests(emulator_at_real_time)]
    assert [t - times[0] for t in times] == [0, 30, 42]  # a last read exactly at the deadline


def test_an_outage_past_the_timeout_skips_a_soft_fail_sensor(emulator_at_real_time: ZendeskEmulator) -> None:
    """Zendesk goes down once the sensor has deferred and stays down: the deadline is kept, soft_fail skips."""
    from airflow_provider_zendesk_jobs.testing import Fault

    dag = gate_dag(
        emulator_at_real_time,
        "zd_wait_deferred_outage_skipped",
        lambda: emulator_at_real_time.create_job(count=2, work_seconds=3600),
        deferrable=True,
        timeout=120,
        poke_interval=10,
        soft_fail=True,
    )

    def advance(seconds: float) -> float:  # the trigger's first sleep: from then on every read is a 503
        if not emulator_at_real_time.faults:
            emulator_at_real_time.add_fault(Fault("server_error", path_prefix="/api/v2/job_statuses/show_many"))
        return emulator_at_real_time.advance(seconds)

    with triggers_on_clock(emulator_at_real_time.clock.now, advance):
        result = run_dag(dag)
    assert result["tasks"] == {"start_import": "success", "wait": "skipped"}
    records = show_many_requests(emulator_at_real_time)
    assert records[0].status == 200 and {r.status for r in records[1:]} == {503}
    assert records[-1].time - records[0].time <= 120
    assert len(records) <= 2 + 2 * 120 / 10


def test_a_templated_list_of_ids_waits_on_every_job(emulator_at_real_time: ZendeskEmulator) -> None:
    from airflow.sdk import DAG

    ids = [emulator_at_real_time.create_job(count=1, work_seconds=w) for w in (4, 9)]
    with DAG("zd_wait_templated_list", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
        on_clock(ZendeskJobStatusSensor, emulator_at_real_time.clock.now, emulator_at_real_time.advance)(
            task_id="wait", job_id="{{ dag_run.conf['job_ids'] }}", deferrable=True, poke_interval=5
        )
    with triggers_on_clock(emulator_at_real_time.clock.now, emulator_at_real_time.advance):
        result = run_dag(dag, run_conf={"job_ids": ids})
    assert result["tasks"] == {"wait": "success"}
    assert [job["id"] for job in result["xcom"]["wait"]] == ids


def test_reschedule_mode_keeps_the_not_found_grace_across_reschedules(emulator_at_real_time: ZendeskEmulator) -> None:
    """Each try reads the clock; it moves 250 s per reading, so only the first try's start ends the grace."""
    from airflow.sdk import DAG

    def clock() -> float:
        return emulator_at_real_time.advance(250)

    with DAG("zd_wait_reschedule_grace", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
        on_clock(ZendeskJobStatusSensor, clock, emulator_at_real_time.advance)(
            task_id="wait", job_id="V3-notcreatedyet", mode="reschedule", poke_interval=0, not_found_grace=1000
        )

    with triggers_on_clock(clock, emulator_at_real_time.advance):
        result = run_dag(dag)
    assert result["tasks"] == {"wait": "failed"}
    # Try 1 (first check +250 s, the hook's request +500 s, read +750 s): in the grace, rescheduled. Try 2
    # reads +1500 s, measured from the first reschedule (real time, a few seconds after the start): past
    # the grace. A grace restarting
    # at each try would never have ended. How many readings a try takes is the sensor base class's: on
    # Airflow 3.0 try 2 starts past the grace already and fails before reading the job.
    assert len(show_many_requests(emulator_at_real_time)) == (2 if AIRFLOW_V_3_1_PLUS else 1)
