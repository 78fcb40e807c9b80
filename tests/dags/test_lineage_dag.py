"""The lineage example as users run it: ``airflow dags test`` against the emulator, with the OpenLineage provider's
file transport, whose events are read back; and the asset event that starts the DAG scheduled on the import.

The OpenLineage provider reads its configuration once per process, so the run is a subprocess
with ``AIRFLOW__OPENLINEAGE__TRANSPORT`` set; the events it would send land in one file, a line each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from airflow_provider_zendesk_jobs.testing import ClockRunner, ZendeskEmulator
from tests.airflow_compat import register_dag
from tests.support.dag_runs import example_dags, example_environment, latest_run

pytest.importorskip("airflow.providers.openlineage")

DAG_ID = "example_zendesk_import_lineage"
CONSUMER = "example_zendesk_on_imported_tickets"
TASK = "import_tickets"


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    emulator: ZendeskEmulator = zendesk_emulator_factory(queued_seconds=1, seconds_per_item=0.01)
    return emulator


@pytest.fixture
def lineage_dags(emulator: ZendeskEmulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The example file's import DAG and the DAG scheduled on its asset, whose URI holds the emulator's host."""
    monkeypatch.setenv("ZENDESK_EXAMPLE_HOST", emulator.url)
    return example_dags(DAG_ID)


def run_dag(
    emu: ZendeskEmulator, tmp_path: Path, dags: dict[str, Any]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    events = tmp_path / "openlineage.jsonl"
    env = example_environment(
        emu,
        tmp_path,
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
        AIRFLOW__OPENLINEAGE__NAMESPACE="lineage-test",
        ZENDESK_EXAMPLE_HOST=emu.url,
        ZENDESK_EXAMPLE_POLL_SECONDS="0.2",
    )
    # As the DAG processor of a deployment does: the outlet's asset is registered, and active, before a task runs
    # (Airflow 3.0's ``dags test`` does not register it, and refuses a task with an inactive asset in its outlets).
    register_dag(dags[DAG_ID])
    with ClockRunner(emu, speed=250.0, tick=0.02):  # 5 clock seconds every 20 ms
        result = subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, "2026-02-01T00:00:00+00:00"],
            env=env,
            capture_output=True,
            text=True,
            timeout=200,
            check=False,
        )
    return result, events


def task_events(path: Path, job_name: str) -> dict[str, dict[str, Any]]:
    """The events of one task's run, by type (START, COMPLETE, FAIL), as the transport wrote them."""
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {event["eventType"]: event for event in events if event["job"]["name"] == job_name}


def asset_events(uri: str) -> list[Any]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.uri == uri)
        ).all()
        session.expunge_all()
        return list(rows)


@pytest.mark.timeout(240)
def test_the_import_reports_its_file_its_zendesk_object_and_its_counts(
    airflow_db: Path, emulator: ZendeskEmulator, tmp_path: Path, lineage_dags: dict[str, Any]
) -> None:
    result, events_file = run_dag(emulator, tmp_path, lineage_dags)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    value = latest_run(DAG_ID)["xcom"][TASK]
    assert (value["records"], value["succeeded"], value["failed"]) == (250, 250, 0)
    assert events_file.exists(), output[-4000:]
    events = task_events(events_file, f"{DAG_ID}.{TASK}")
    assert {"START", "COMPLETE"} <= set(events)
    complete = events["COMPLETE"]
    source = latest_run(DAG_ID)["xcom"]["write_tickets"]
    (read,) = complete["inputs"]
    assert (read["namespace"], read["name"]) == ("file", source)
    assert read["inputFacets"]["inputStatistics"]["rowCount"] == 250
    zendesk = f"zendesk://{urlsplit(emulator.url).netloc}"
    (written,) = complete["outputs"]
    assert (written["namespace"], written["name"]) == (zendesk, "tickets")
    assert written["outputFacets"]["outputStatistics"]["rowCount"] == 250
    facet = complete["run"]["facets"]["zendesk_bulkImport"]
    assert {key: facet[key] for key in ("action", "records", "succeeded", "failed", "unresolved", "jobCount")} == {
        "action": "tickets.import",
        "records": 250,
        "succeeded": 250,
        "failed": 0,
        "unresolved": 0,
        "jobCount": 3,
    }
    assert facet["jobIds"] == value["jobs"] and len(value["jobs"]) == 3
    assert facet["_schemaURL"].endswith("#/$defs/ZendeskBulkImportRunFacet")

    (event,) = asset_events(f"{zendesk}/tickets")
    assert event.extra["records"] == 250 and event.extra["succeeded"] == 250
    assert event.extra["jobs"] == value["jobs"] and event.extra["jobs_total"] == 3

    # The DAG scheduled on the asset reads those counts from the events that start it.
    consumer = lineage_dags[CONSUMER]
    (asset,) = consumer.timetable.asset_condition.objects
    assert asset.uri == f"{zendesk}/tickets"
    report = consumer.get_task("report_import").python_callable
    assert report(triggering_asset_events=EventsByAsset({asset.uri: [event]})) == [event.extra]
    assert report(triggering_asset_events=EventsByAsset({})) == []


class EventsByAsset(dict[str, list[Any]]):
    """``triggering_asset_events`` as a task reads it, looked up by asset (an Asset is not hashable on Airflow 3.0)."""

    def __getitem__(self, asset: Any) -> list[Any]:
        return super().__getitem__(asset.uri)
