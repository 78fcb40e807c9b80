"""The datasets a task reads and writes, named as OpenLineage's naming spec and Airflow's object storage name them.

Plain names, no OpenLineage inside: :mod:`~airflow_provider_zendesk_jobs.lineage.facets` turns
them into OpenLineage datasets, :mod:`~airflow_provider_zendesk_jobs.lineage.assets` into an
Airflow asset.

* Zendesk: namespace ``zendesk://<the account's host>`` (``zendesk://acme.zendesk.com``), name
  the object a bulk call writes (``tickets``, ``users``, ``organizations``,
  ``organization_memberships``, ``group_memberships``, ``custom_objects/<key>``) or the jobs a
  task reads (``job_statuses`` for the list, ``job_statuses/<id>`` for one job).
* A file of records (``records_path``): as ``ObjectStoragePath`` names it (the
  ``apache-airflow-providers-common-io`` operators report the same), namespace
  ``<scheme>://<bucket>`` and name the key without its leading ``/`` (``s3://bucket`` +
  ``exports/tickets.jsonl``; a connection id before ``@`` is not part of it); a local file as
  OpenLineage's spec names one: namespace ``file`` and its absolute path, or ``file://<host>``
  for ``file://host/path``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_zendesk_jobs.api.bulk_actions import BulkAction
from airflow_provider_zendesk_jobs.links import zendesk_base_url

__all__ = [
    "JOB_STATUSES",
    "MAX_JOB_IDS",
    "ZENDESK_SCHEME",
    "BulkImportTask",
    "DatasetName",
    "job_dataset",
    "listed_jobs",
    "object_name",
    "records_dataset",
    "written_dataset",
    "zendesk_dataset",
    "zendesk_namespace",
]

ZENDESK_SCHEME = "zendesk"
#: The name of Zendesk's job list; one job is ``job_statuses/<id>``.
JOB_STATUSES = "job_statuses"
#: Path segments that say how a call writes, not what it writes to (``/api/v2/imports/tickets/...``).
_NOT_OBJECTS = frozenset({"imports"})
#: Objects a call names under another word: a permanent deletion removes tickets.
_SAME_OBJECT = {"deleted_tickets": "tickets"}
#: The job ids an asset event or a facet lists (a million records make 10,000 jobs; both live in a
#: database); ``jobs_total`` and ``jobCount`` count them all.
MAX_JOB_IDS = 100


class BulkImportTask(Protocol):
    """What a bulk import task holds that its lineage and its asset events read: its rendered fields, its
    outlets, and its return value once it finished."""

    bulk_action: BulkAction
    custom_object_key: str | None
    records_path: str | None
    zendesk_conn_id: str
    import_summary: dict[str, Any] | None
    outlets: list[Any]


@dataclass(frozen=True)
class DatasetName:
    """One dataset as OpenLineage identifies it: where it lives (``namespace``) and what it is there (``name``)."""

    namespace: str
    name: str

    @property
    def uri(self) -> str:
        """``namespace/name``: the dataset as one URI (the form of an Airflow asset's URI)."""
        return f"{self.namespace}/{self.name}"


def zendesk_namespace(base_url: str) -> str:
    """``https://acme.zendesk.com`` (the connection's base URL) -> ``zendesk://acme.zendesk.com``."""
    return f"{ZENDESK_SCHEME}://{urlsplit(base_url).netloc}"


def object_name(action: BulkAction, custom_object_key: str | None = None) -> str:
    """The Zendesk object a bulk call writes: the first word of its path after ``/api/v2/`` (``imports/`` skipped).

    A custom object's records are ``custom_objects/<key>``, each custom object its own dataset.
    """
    words = [word for word in action.path.split("?", 1)[0].strip("/").split("/") if word]
    if words[:2] == ["api", "v2"]:
        words = words[2:]
    words = [word for word in words if word not in _NOT_OBJECTS] or [action.name]
    if words[0] == "custom_objects":
        key = custom_object_key if action.needs_object_key else (words[1] if len(words) > 1 else None)
        return f"custom_objects/{key}" if key else "custom_objects"
    return _SAME_OBJECT.get(words[0], words[0])


def zendesk_dataset(base_url: str, name: str) -> DatasetName:
    return DatasetName(zendesk_namespace(base_url), name)


def job_dataset(base_url: str, job_id: str | None = None) -> DatasetName:
    """Zendesk's job list (``job_statuses``), or one job in it (``job_statuses/V3-abc``)."""
    return zendesk_dataset(base_url, JOB_STATUSES if job_id is None else f"{JOB_STATUSES}/{job_id}")


def records_dataset(path: str) -> DatasetName:
    """The file a bulk import reads its records from, from its path alone (nothing is read or listed)."""
    parts = urlsplit(path)
    scheme = parts.scheme.lower()
    if not scheme or (len(scheme) == 1 and os.name == "nt"):  # a local path (or a Windows drive letter)
        return DatasetName("file", os.path.abspath(path))
    host = parts.netloc.rpartition("@")[2]  # s3://aws_default@bucket/...: the connection id is not the bucket
    if scheme == "file":
        return DatasetName(f"file://{host}" if host else "file", parts.path or "/")
    return DatasetName(f"{scheme}://{host}" if host else scheme, parts.path.lstrip("/"))


def written_dataset(task: BulkImportTask) -> DatasetName | None:
    """The Zendesk object the task's import writes, in its connection's account; None when the connection
    names no Zendesk host."""
    base_url = zendesk_base_url(task.zendesk_conn_id)
    if base_url is None:
        return None
    return zendesk_dataset(base_url, object_name(task.bulk_action, task.custom_object_key))


def listed_jobs(summary: Mapping[str, Any]) -> tuple[list[str], Any]:
    """The first :data:`MAX_JOB_IDS` job ids of a bulk import's return value (its list may already be capped),
    and how many jobs it had."""
    jobs = [str(job) for job in summary.get("jobs") or []]
    return jobs[:MAX_JOB_IDS], summary.get("jobs_total", len(jobs))
