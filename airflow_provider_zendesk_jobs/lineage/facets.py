"""What the tasks report to OpenLineage: their datasets, the bulk import's counts and jobs.

Imported only by the tasks' ``get_openlineage_facets_on_*`` methods, which only the OpenLineage
provider calls: this is the one module that imports OpenLineage, and it is never loaded without it.

A bulk import reports its file of records as input (``records=`` given inline or through XCom
has no dataset of its own, so there is none), the Zendesk object it writes as output, with
OpenLineage's statistics facets (``inputStatistics``: the records read; ``outputStatistics``: the
records Zendesk created, updated or deleted), and a run facet, ``zendesk_bulkImport``, with every
count of the task's return value and its job ids. The results and audit tasks report the
Zendesk jobs they read as inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from airflow.providers.common.compat.openlineage.facet import (
    InputDataset,
    OutputDataset,
    OutputStatisticsOutputDatasetFacet,
    RunFacet,
)
from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define
from openlineage.client.generated.input_statistics_input_dataset import InputStatisticsInputDatasetFacet

from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.job_ids import normalize_job_ids
from airflow_provider_zendesk_jobs.lineage.datasets import (
    BulkImportTask,
    DatasetName,
    job_dataset,
    listed_jobs,
    records_dataset,
    written_dataset,
)
from airflow_provider_zendesk_jobs.links import zendesk_base_url

__all__ = [
    "ZendeskBulkImportRunFacet",
    "bulk_import_lineage",
    "job_audit_lineage",
    "job_results_lineage",
]

#: The run facet's key: custom facets carry their project's prefix, as OpenLineage's spec asks.
RUN_FACET_KEY = "zendesk_bulkImport"
SCHEMA_URL = "https://pypi.org/project/airflow-provider-zendesk-jobs/#/$defs/ZendeskBulkImportRunFacet"


@define
class ZendeskBulkImportRunFacet(RunFacet):
    """A bulk import's outcome: the call, every count of its return value, and its jobs in Zendesk."""

    action: str
    records: int
    succeeded: int
    failed: int
    unresolved: int
    jobCount: int  # OpenLineage's facets are camelCase
    jobIds: list[str]

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


class ZendeskTask(Protocol):
    zendesk_conn_id: str


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def run_facet(summary: Mapping[str, Any]) -> ZendeskBulkImportRunFacet:
    """The counts and jobs of a bulk import's return value (its ``jobs`` list may already be capped)."""
    jobs, total = listed_jobs(summary)
    return ZendeskBulkImportRunFacet(
        action=str(summary.get("action", "")),
        records=_whole(summary.get("records")),
        succeeded=_whole(summary.get("succeeded")),
        failed=_whole(summary.get("failed")),
        unresolved=_whole(summary.get("unresolved")),
        jobCount=_whole(total),
        jobIds=jobs,
    )


def bulk_import_lineage(task: BulkImportTask) -> OperatorLineage[Any, Any]:
    """The import's file in, the Zendesk object out; with the counts once the import finished (its summary)."""
    summary = task.import_summary
    inputs = []
    if task.records_path:
        source = records_dataset(task.records_path)
        facets: dict[str, Any] = {}
        if summary is not None:
            facets["inputStatistics"] = InputStatisticsInputDatasetFacet(rowCount=_whole(summary.get("records")))
        inputs.append(InputDataset(namespace=source.namespace, name=source.name, inputFacets=facets))
    outputs = []
    target = written_dataset(task)
    if target is not None:
        written: dict[str, Any] = {}
        if summary is not None:
            written["outputStatistics"] = OutputStatisticsOutputDatasetFacet(rowCount=_whole(summary.get("succeeded")))
        outputs.append(OutputDataset(namespace=target.namespace, name=target.name, outputFacets=written))
    run_facets: dict[str, Any] = {} if summary is None else {RUN_FACET_KEY: run_facet(summary)}
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _inputs(names: Sequence[DatasetName]) -> OperatorLineage[Any, Any]:
    return OperatorLineage(inputs=[InputDataset(namespace=name.namespace, name=name.name) for name in names])


def job_results_lineage(task: ZendeskTask, job_id: Any) -> OperatorLineage[Any, Any]:
    """The jobs a results task read, one input each (``job_statuses/<id>``); none when its ids are not ids."""
    base_url = zendesk_base_url(task.zendesk_conn_id)
    try:
        ids, _ = normalize_job_ids(job_id)
    except ZendeskInvalidInputError:
        return OperatorLineage()
    return OperatorLineage() if base_url is None else _inputs([job_dataset(base_url, job) for job in ids])


def job_audit_lineage(task: ZendeskTask) -> OperatorLineage[Any, Any]:
    """The audit reads Zendesk's job list: one input, ``job_statuses``."""
    base_url = zendesk_base_url(task.zendesk_conn_id)
    return OperatorLineage() if base_url is None else _inputs([job_dataset(base_url)])
