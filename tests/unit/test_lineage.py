"""What the tasks report to OpenLineage and put in asset events, from their rendered fields and return value.

No network and no file is read: a dataset's name comes from the path as written (``s3://`` too),
the Zendesk namespace from the connection's host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.api.bulk_actions import BULK_ACTIONS, custom_action
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.lineage.assets import ZENDESK_OBJECTS, asset_extra, fill_asset_events, zendesk_asset
from airflow_provider_zendesk_jobs.lineage.datasets import DatasetName, object_name, records_dataset
from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator
from airflow_provider_zendesk_jobs.operators.zendesk_jobs import (
    ZendeskJobResultsOperator,
    ZendeskJobStatusAuditOperator,
)
from tests.support.hooks import set_connection

pytest.importorskip("airflow.providers.openlineage")

SUMMARY: dict[str, Any] = {
    "action": "tickets.import",
    "records": 250,
    "jobs": ["V3-a", "V3-b", "V3-c"],
    "succeeded": 247,
    "failed": 2,
    "unresolved": 1,
    "created": [],
    "failures": [],
}


@pytest.fixture(autouse=True)
def acme(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="acme", login="agent@example.com", password="secret-token")


def bulk(**kwargs: Any) -> ZendeskBulkJobOperator:
    kwargs.setdefault("action", "tickets.import")
    if "records" not in kwargs:
        kwargs.setdefault("records_path", "s3://exports-bucket/exports/tickets.jsonl")
    return ZendeskBulkJobOperator(task_id="import_tickets", **kwargs)


def as_json(lineage: Any) -> dict[str, Any]:
    """The lineage as the provider's transports write it (``_producer``, ``_schemaURL`` and all)."""
    from openlineage.client.serde import Serde

    return {
        "inputs": [json.loads(Serde.to_json(dataset)) for dataset in lineage.inputs],
        "outputs": [json.loads(Serde.to_json(dataset)) for dataset in lineage.outputs],
        "run": {key: json.loads(Serde.to_json(facet)) for key, facet in lineage.run_facets.items()},
    }


# -- names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "namespace", "name"),
    [
        ("s3://exports-bucket/exports/tickets.jsonl", "s3://exports-bucket", "exports/tickets.jsonl"),
        ("s3://aws_default@exports-bucket/exports/tickets.csv", "s3://exports-bucket", "exports/tickets.csv"),
        ("gs://bucket/a/b.jsonl", "gs://bucket", "a/b.jsonl"),
        ("file:///data/tickets.jsonl", "file", "/data/tickets.jsonl"),
        ("file://fileserver/data/tickets.jsonl", "file://fileserver", "/data/tickets.jsonl"),
        ("/data/tickets.jsonl", "file", "/data/tickets.jsonl"),
    ],
)
def test_a_records_file_is_named_as_object_storage_and_openlineage_name_it(
    path: str, namespace: str, name: str
) -> None:
    assert records_dataset(path) == DatasetName(namespace, name)


@pytest.mark.parametrize("path", ["s3://exports-bucket/exports/tickets.jsonl", "gs://bucket/a/b.jsonl"])
def test_a_remote_file_has_the_namespace_and_key_of_its_object_storage_path(path: str) -> None:
    """The same names (Airflow 3.0's ``namespace`` keeps a connection id before ``@``; the dataset never does)."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    storage = ObjectStoragePath(path)
    assert records_dataset(path) == DatasetName(storage.namespace, storage.key)


def test_a_relative_local_path_is_named_by_the_absolute_path_the_task_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert records_dataset("exports/tickets.jsonl") == DatasetName("file", str(tmp_path / "exports/tickets.jsonl"))


def test_each_catalogue_call_writes_the_object_its_endpoint_names() -> None:
    objects = {name: object_name(action, "apartment") for name, action in BULK_ACTIONS.items()}
    named = ("tickets.import", "deleted_tickets.destroy_many", "users.destroy_many")
    assert {name: objects[name] for name in named} == {
        "tickets.import": "tickets",
        "deleted_tickets.destroy_many": "tickets",
        "users.destroy_many": "users",
    }
    assert set(objects.values()) == {
        "tickets",
        "users",
        "organizations",
        "organization_memberships",
        "group_memberships",
        "custom_objects/apartment",
    }
    assert all(objects[name] == "custom_objects/apartment" for name in objects if name.startswith("custom_object"))
    assert object_name(custom_action("POST", "/api/v2/organizations/create_many", "organizations")) == "organizations"
    assert object_name(custom_action("POST", "/api/v2/custom_objects/car/jobs", None)) == "custom_objects/car"
    assert set(objects.values()) - {"custom_objects/apartment"} == ZENDESK_OBJECTS


# -- the bulk import --------------------------------------------------------------------------------
def test_an_s3_import_reports_the_path_as_configured_and_the_account_tickets_with_the_counts() -> None:
    task = bulk()
    task.import_summary = SUMMARY
    lineage = as_json(task.get_openlineage_facets_on_complete(None))
    (read,) = lineage["inputs"]
    assert (read["namespace"], read["name"]) == ("s3://exports-bucket", "exports/tickets.jsonl")
    assert read["inputFacets"]["inputStatistics"]["rowCount"] == 250
    (written,) = lineage["outputs"]
    assert (written["namespace"], written["name"]) == ("zendesk://acme.zendesk.com", "tickets")
    assert written["outputFacets"]["outputStatistics"]["rowCount"] == 247
    facet = lineage["run"]["zendesk_bulkImport"]
    assert {key: value for key, value in facet.items() if not key.startswith("_")} == {
        "action": "tickets.import",
        "records": 250,
        "succeeded": 247,
        "failed": 2,
        "unresolved": 1,
        "jobCount": 3,
        "jobIds": ["V3-a", "V3-b", "V3-c"],
    }
    assert facet["_schemaURL"].endswith("#/$defs/ZendeskBulkImportRunFacet")
    assert "secret-token" not in json.dumps(lineage)


def test_a_local_file_import_reports_the_file_namespace_and_its_absolute_path(tmp_path: Path) -> None:
    source = tmp_path / "tickets.jsonl"
    task = bulk(records_path=str(source), action="users.create_or_update_many")
    task.import_summary = {**SUMMARY, "action": "users.create_or_update_many"}
    lineage = task.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(source))]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("zendesk://acme.zendesk.com", "users")]


def test_records_given_inline_have_no_input_dataset_and_the_output_still_counts() -> None:
    task = bulk(records=[{"subject": "a"}])
    task.import_summary = SUMMARY
    lineage = task.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == []
    (written,) = lineage.outputs
    assert written.outputFacets["outputStatistics"].rowCount == 247


def test_an_import_that_failed_before_finishing_reports_its_datasets_without_counts() -> None:
    task = bulk(action="custom_object_records.create", custom_object_key="apartment")
    lineage = task.get_openlineage_facets_on_failure(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://exports-bucket", "exports/tickets.jsonl")]
    assert [(d.namespace, d.name, d.outputFacets) for d in lineage.outputs] == [
        ("zendesk://acme.zendesk.com", "custom_objects/apartment", {})
    ]
    assert lineage.inputs[0].inputFacets == {} and lineage.run_facets == {}


def test_a_thousand_jobs_are_counted_and_the_first_hundred_listed() -> None:
    task = bulk()
    task.import_summary = {**SUMMARY, "jobs": [f"V3-{n}" for n in range(100)], "jobs_total": 1000}
    facet = task.get_openlineage_facets_on_complete(None).run_facets["zendesk_bulkImport"]
    assert (facet.jobCount, len(facet.jobIds)) == (1000, 100)


def test_a_connection_without_a_zendesk_host_gives_no_output(monkeypatch: pytest.MonkeyPatch) -> None:
    set_connection(monkeypatch, host="", login="agent@example.com", password="x")
    task = bulk()
    task.import_summary = SUMMARY
    lineage = task.get_openlineage_facets_on_complete(None)
    assert lineage.outputs == [] and len(lineage.inputs) == 1


# -- the tasks that read jobs -----------------------------------------------------------------------
@pytest.mark.parametrize("job_id", [["V3-a", "V3-b"], "['V3-a', 'V3-b']", "V3-a,V3-b"])
def test_the_results_task_reads_each_of_its_jobs(job_id: Any) -> None:
    lineage = ZendeskJobResultsOperator(task_id="results", job_id=job_id).get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("zendesk://acme.zendesk.com", "job_statuses/V3-a"),
        ("zendesk://acme.zendesk.com", "job_statuses/V3-b"),
    ]
    assert lineage.outputs == []


def test_the_audit_reads_the_job_list() -> None:
    lineage = ZendeskJobStatusAuditOperator(task_id="audit").get_openlineage_facets_on_failure(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("zendesk://acme.zendesk.com", "job_statuses")]


# -- the asset --------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["acme", "acme.zendesk.com", "https://acme.zendesk.com"])
def test_the_asset_of_an_object_is_named_like_its_dataset(host: str) -> None:
    assert zendesk_asset(host, "tickets").uri == "zendesk://acme.zendesk.com/tickets"
    assert zendesk_asset(host, "custom_objects/car").uri == "zendesk://acme.zendesk.com/custom_objects/car"


@pytest.mark.parametrize("name", ["ticket", "custom_objects/", "job_statuses"])
def test_an_object_no_bulk_call_writes_is_refused_naming_the_ones_that_exist(name: str) -> None:
    with pytest.raises(ZendeskInvalidInputError, match="organization_memberships"):
        zendesk_asset("acme", name)


def outlet_events() -> Any:
    from airflow.sdk.execution_time.context import OutletEventAccessors

    return OutletEventAccessors()


def test_a_finished_import_puts_its_counts_in_its_own_asset_event_only() -> None:
    from tests.airflow_compat import capture_airflow_logs

    own, users, other_account = (
        zendesk_asset("acme", "tickets"),
        zendesk_asset("acme", "users"),
        zendesk_asset("globex", "tickets"),
    )
    task = bulk(outlets=[own, users, other_account])
    task.import_summary = SUMMARY
    events = outlet_events()
    with capture_airflow_logs() as logs:
        task.post_execute({"outlet_events": events})  # type: ignore[arg-type]
    assert events[own].extra == {
        "action": "tickets.import",
        "records": 250,
        "succeeded": 247,
        "failed": 2,
        "unresolved": 1,
        "jobs": ["V3-a", "V3-b", "V3-c"],
        "jobs_total": 3,
    }
    assert events[users].extra == {} and events[other_account].extra == {}
    warned = [entry["event"] for entry in logs if "carries no counts" in entry["event"]]
    assert len(warned) == 2 and "zendesk://globex.zendesk.com/tickets" in " ".join(warned)


def test_outlets_that_are_not_zendesk_assets_cost_no_connection_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat.sdk import Asset

    def no_read(conn_id: str) -> None:
        raise AssertionError(f"the connection {conn_id!r} was read")

    monkeypatch.setattr("airflow_provider_zendesk_jobs.lineage.datasets.zendesk_base_url", no_read)
    other = Asset("s3://bucket/tickets-imported")
    task = bulk(outlets=[other])
    task.import_summary = SUMMARY
    events = outlet_events()
    task.post_execute({"outlet_events": events})  # type: ignore[arg-type]
    assert events[other].extra == {}


def test_the_event_lists_at_most_a_hundred_jobs() -> None:
    extra = asset_extra({**SUMMARY, "jobs": [f"V3-{n}" for n in range(150)], "jobs_total": 150})
    assert len(extra["jobs"]) == 100 and extra["jobs_total"] == 150


def test_an_import_that_did_not_finish_fills_no_event() -> None:
    own = zendesk_asset("acme", "tickets")
    task = bulk(outlets=[own])
    events = outlet_events()
    fill_asset_events(task, events, task.log)
    assert events[own].extra == {}
