"""The example DAGs as users run them: parsed by a real DagBag, run by ``dag.test()`` against the emulator.

``dag.test()`` is what ``airflow dags test`` runs, here in the test process (tests/support/dag_runs.py).
The gate's job stays queued until the emulator has been asked about it twice (the sensor's own first
look, then the trigger's), and only then does its clock move: so the sensor always defers and the
trigger always runs, however fast or slow the machine is.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.testing import ClockRunner, ZendeskEmulator
from airflow_provider_zendesk_jobs.version_compat import AIRFLOW_V_3_3_PLUS
from tests.airflow_compat import capture_airflow_logs
from tests.support.dag_runs import ROOT, example_dag, run_dag

GATE = "example_zendesk_bulk_import_gate"
AUDIT = "example_zendesk_job_audit"
STATUS_READS = "/api/v2/job_statuses"


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples ask Zendesk every 0.2 s instead of every 30 s."""
    monkeypatch.setenv("ZENDESK_EXAMPLE_POLL_SECONDS", "0.2")


class ClockAfterTrigger(threading.Thread):
    """Moves the emulator's clock past every job once the job statuses were read ``reads`` times."""

    def __init__(self, emu: ZendeskEmulator, reads: int = 2) -> None:
        super().__init__(daemon=True)
        self.emu = emu
        self.reads = reads
        self.stop = threading.Event()
        self.fired = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            if self.emu.request_count(STATUS_READS, "GET") >= self.reads:
                self.emu.advance(3600)
                self.fired.set()
                return


# -- parsing ----------------------------------------------------------------------------------------
def test_dagbag_loads_the_examples_without_errors() -> None:
    from tests.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(ROOT / "example_dags"))
    assert bag.import_errors == {}
    assert {GATE, AUDIT} <= set(bag.dag_ids)
    gate, audit = bag.dags[GATE], bag.dags[AUDIT]
    assert gate.schedule is None
    assert audit.schedule == "@daily"
    assert not gate.catchup and not audit.catchup
    assert set(gate.task_ids) == {"start_import", "wait_for_import", "read_results", "report"}
    sensor = gate.get_task("wait_for_import")
    assert sensor.deferrable is True
    assert sensor.upstream_task_ids == {"start_import"}
    assert gate.get_task("read_results").upstream_task_ids == {"start_import", "wait_for_import"}
    assert gate.get_task("report").upstream_task_ids == {"read_results"}
    assert gate.params["include_failing_record"] is True


def test_example_tickets_are_harmless_and_the_failing_one_is_optional() -> None:
    sys.path.insert(0, str(ROOT / "example_dags"))
    try:
        from example_zendesk_bulk_import_gate import DEMO_TAG, build_tickets
    finally:
        sys.path.remove(str(ROOT / "example_dags"))
    with_failure = build_tickets(3, True, "Demo")
    assert [t["subject"] for t in with_failure] == [
        "Demo #1",
        "Demo: FAIL on purpose (the emulator rejects it)",
        "Demo #2",
        "Demo #3",
    ]
    assert all(t["status"] == "closed" and t["tags"] == [DEMO_TAG] for t in with_failure)
    assert all(t["requester"]["email"].endswith("@example.com") for t in with_failure)
    assert not any("FAIL" in t["subject"] for t in build_tickets(2, False, "Demo"))


# -- running ----------------------------------------------------------------------------------------
@pytest.mark.timeout(180)
@pytest.mark.usefixtures("airflow_db", "fast_polls")
def test_gate_dag_runs_the_deferred_path_and_reports_failed_items(
    emulator: ZendeskEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    dag = example_dag(GATE)
    driver = ClockAfterTrigger(emulator)
    driver.start()
    try:
        run = run_dag(dag)
    finally:
        driver.stop.set()
    assert driver.fired.is_set()  # the job statuses were read twice: the sensor's look, then the trigger's
    assert "[DAG TEST] running trigger in line" in caplog.messages  # the sensor deferred and the trigger ran
    assert run["state"] == "success"
    assert set(run["tasks"].values()) == {"success"}
    job_id = run["xcom"]["start_import"]
    job = emulator.job(job_id)
    assert job["status"] == "completed"
    created = [item["id"] for item in job["results"] if "error" not in item]
    results = run["xcom"]["read_results"]
    assert results["job_id"] == job_id
    assert results["succeeded_ids"] == created
    assert len(created) == 3
    assert results["failed"] == [
        {"index": 1, "id": None, "error": "TicketCreateFailed", "details": "Subject: is invalid (contains FAIL)"}
    ]
    assert run["xcom"]["report"] == {"job_id": job_id, "created_ticket_ids": created, "failed_items": results["failed"]}
    assert emulator.request_count("/api/v2/imports/tickets/create_many", "POST") == 1


@pytest.mark.timeout(180)
@pytest.mark.usefixtures("airflow_db")
def test_audit_dag_runs_and_flags_failed_jobs(emulator: ZendeskEmulator) -> None:
    ok = [emulator.create_job("tickets_import", count=3, queued_seconds=0, work_seconds=1) for _ in range(3)]
    failed_users = emulator.create_job("users_create_or_update", count=2, outcome="failed", work_seconds=1)
    killed_update = emulator.create_job("tickets_update", count=2, outcome="killed", work_seconds=1)
    emulator.advance(60)
    running = emulator.create_job("tickets_update", count=5, queued_seconds=0, work_seconds=600)
    with capture_airflow_logs() as events:
        run = run_dag(example_dag(AUDIT))
    assert run["tasks"] == {"audit_jobs": "success", "audit_failed_imports": "success"}
    summary = run["xcom"]["audit_jobs"]
    assert summary["checked"] == 6
    assert summary["counts_by_status"] == {"working": 1, "completed": 3, "failed": 1, "killed": 1}
    assert summary["counts_by_type"]["Bulk Import Ticket"] == len(ok)
    assert {j["id"] for j in summary["failed_jobs"]} == {failed_users, killed_update}
    assert summary["unfinished"] == [running]
    imports = run["xcom"]["audit_failed_imports"]
    assert imports["checked"] == 0  # no import failed, so the fail flag did not fire
    assert any(str(e["event"]).startswith("Zendesk job audit: 6 jobs checked") for e in events)


def test_the_failed_job_dag_is_scheduled_on_the_watched_asset() -> None:
    from tests.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(ROOT / "example_dags"))
    assert bag.import_errors == {}
    dag = bag.dags["example_zendesk_on_failed_job"]
    assets = list(dag.timetable.asset_condition.objects)
    assert [asset.name for asset in assets] == ["zendesk_failed_jobs"]
    (watcher,) = assets[0].watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "airflow_provider_zendesk_jobs.triggers.job_events.ZendeskJobEventTrigger"
    assert kwargs["statuses"] == ["failed", "killed"] and kwargs["zendesk_conn_id"] == "zendesk_default"
    assert set(dag.task_ids) == {"report_failed_jobs"}


@pytest.mark.usefixtures("airflow_db", "fast_polls")
def test_the_tagging_example_tags_exactly_the_tickets_the_import_created(emulator: ZendeskEmulator) -> None:
    dag = example_dag("example_zendesk_tag_imported")
    with ClockRunner(emulator, speed=250.0, tick=0.02):  # 5 clock seconds every 20 ms
        run = run_dag(dag)
    assert run["state"] == "success", run["tasks"]
    created = [entry["id"] for entry in run["xcom"]["import_tickets"]["created"]]
    tagged = run["xcom"]["tag_imported"]
    assert len(created) == 150 and tagged["action"] == "tickets.update_many_by_ids"
    assert [entry["id"] for entry in tagged["updated"]] == created and tagged["failed"] == 0
    calls = [r for r in emulator.requests if r.path == "/api/v2/tickets/update_many" and r.method == "PUT"]
    assert len(calls) == 2 and all(r.query.startswith("ids=") for r in calls)  # 150 ids: chunks of 100


# -- the examples the documentation shows -----------------------------------------------------------
@pytest.fixture(scope="module")
def example_bag() -> Any:
    from tests.airflow_compat import DagBag

    return DagBag(dag_folder=str(ROOT / "example_dags"))


def test_every_file_in_example_dags_is_parsed_into_a_dag(example_bag: Any) -> None:
    """The documentation includes regions of these files: each must load, so each is tested here."""
    assert example_bag.import_errors == {}
    parsed = {Path(dag.fileloc).name for dag in example_bag.dags.values()}
    assert parsed == {path.name for path in (ROOT / "example_dags").glob("*.py")}


def test_the_documented_options_are_the_tasks_arguments(example_bag: Any) -> None:
    bag = example_bag
    waits = bag.dags["example_zendesk_wait_options"]
    options = waits.get_task("wait_for_import")
    assert options.deferrable is True and options.timeout == 3600 and options.not_found_grace == 60
    assert options.job_id == "{{ ti.xcom_pull(task_ids='start_import') }}"
    in_triggerer = waits.get_task("wait_in_triggerer")
    if AIRFLOW_V_3_3_PLUS:
        assert in_triggerer.start_from_trigger is True and in_triggerer.start_in_triggerer_refusal is None
    else:  # asked for, and refused with the reason the task logs: this Airflow starts every task on a worker
        assert in_triggerer.start_from_trigger is False
        assert "needs Airflow 3.3 or later" in (in_triggerer.start_in_triggerer_refusal or "")
    assert waits.get_task("read_results").upstream_task_ids == {"start_import", "wait_for_import"}
    bulk = bag.dags["example_zendesk_bulk_options"].get_task("import_tickets")
    assert (bulk.action, bulk.chunk_size, bulk.max_active_jobs) == ("tickets.import", 100, 10)
    assert bulk.pool == "zendesk_jobs" and bulk.deferrable is True
    mapped = bag.dags["example_zendesk_mapped_chunks"]
    assert mapped.get_task("submit").pool == "zendesk_jobs"
    assert mapped.get_task("results").partial_kwargs["deferrable"] is True
    assert mapped.get_task("results").upstream_task_ids == {"submit"}
    report = bag.dags["example_zendesk_custom_links"].get_task("report_job")
    assert {link.name for link in report.operator_extra_links} == {"Zendesk job", "Zendesk ticket"}
    first = bag.dags["first_zendesk_import"]
    assert set(first.task_ids) == {"start_import", "wait", "results"}
    assert first.get_task("wait").deferrable is True


def test_the_custom_link_operator_returns_what_its_ticket_button_reads(emulator: ZendeskEmulator) -> None:
    sys.path.insert(0, str(ROOT / "example_dags"))
    try:
        from example_zendesk_custom_links import MyJobReportOperator
    finally:
        sys.path.remove(str(ROOT / "example_dags"))
    from airflow_provider_zendesk_jobs.links import created_ticket_ids

    job_id = emulator.create_job("tickets_import", count=2)
    emulator.advance(emulator.finish_time(job_id) - emulator.clock.now())
    value = MyJobReportOperator(task_id="report_job", job_id=job_id).execute({})
    assert value["job_id"] == job_id and len(created_ticket_ids(value)) == 2


def test_the_readmes_first_dag_starts_its_import_against_the_emulator(
    example_bag: Any, emulator: ZendeskEmulator
) -> None:
    """Its wait and results are the gate example's, run above; here its own task sends the import."""
    job_id = example_bag.dags["first_zendesk_import"].get_task("start_import").python_callable()
    assert emulator.job(job_id)["status"] == "queued"
    assert emulator.records_received() == 1
