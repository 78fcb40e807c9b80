"""An Airflow asset per Zendesk object, and the counts a bulk import puts in its asset event's ``extra``.

A DAG scheduled on ``zendesk_asset("acme", "tickets")`` runs when an import into the tickets of
``acme.zendesk.com`` finished. The importing task names the asset in its ``outlets``, as any
Airflow task does (the asset's URI holds the account's host, which a DAG file states instead of
reading the connection at parse time); when the task succeeds it fills the event's ``extra`` with
what its return value counts. No OpenLineage inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.providers.common.compat.sdk import Asset

from airflow_provider_zendesk_jobs.api.bulk_actions import BULK_ACTIONS
from airflow_provider_zendesk_jobs.api.connection_settings import base_url_from_host
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.lineage.datasets import (
    ZENDESK_SCHEME,
    BulkImportTask,
    listed_jobs,
    object_name,
    written_dataset,
    zendesk_dataset,
)

__all__ = ["ZENDESK_OBJECTS", "asset_extra", "fill_asset_events", "zendesk_asset"]

#: The objects the catalogue's calls write; ``custom_objects/<key>`` besides.
ZENDESK_OBJECTS: frozenset[str] = frozenset(
    name for name in (object_name(action) for action in BULK_ACTIONS.values()) if name != "custom_objects"
)
#: The counts of a bulk import's return value that its asset event carries.
_COUNTS = ("action", "records", "succeeded", "failed", "unresolved")


def zendesk_asset(host: str, zendesk_object: str) -> Asset:
    """The asset of one Zendesk object of one account: ``zendesk_asset("acme", "tickets")`` is
    ``zendesk://acme.zendesk.com/tickets``.

    :param host: the account, in any form the connection's host takes (``acme``, ``acme.zendesk.com``,
        ``https://acme.zendesk.com``).
    :param zendesk_object: ``tickets``, ``users``, ``organizations``, ``organization_memberships``,
        ``group_memberships`` or ``custom_objects/<key>``.
    """
    key = zendesk_object.removeprefix("custom_objects/") if zendesk_object.startswith("custom_objects/") else None
    if zendesk_object not in ZENDESK_OBJECTS and not key:
        raise ZendeskInvalidInputError(
            f"{zendesk_object!r} is not an object the bulk calls write; use one of "
            f"{', '.join(sorted(ZENDESK_OBJECTS))} or custom_objects/<key>."
        )
    return Asset(uri=zendesk_dataset(base_url_from_host(host), zendesk_object).uri)


def asset_extra(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The counts of a bulk import's return value, and its first job ids, for an asset event's ``extra``."""
    extra = {name: summary[name] for name in _COUNTS if name in summary}
    extra["jobs"], extra["jobs_total"] = listed_jobs(summary)
    return extra


def fill_asset_events(task: BulkImportTask, outlet_events: Any, log: Any) -> None:
    """Put the import's counts in the event of each outlet that is its Zendesk object's asset.

    A ``zendesk://`` outlet of another account or object is most likely a typo: it gets a warning
    naming both, and Airflow's event for it carries no counts.
    """
    summary = task.import_summary
    outlets = [
        outlet for outlet in task.outlets if isinstance(outlet, Asset) and outlet.uri.startswith(f"{ZENDESK_SCHEME}://")
    ]
    if summary is None or not outlets:
        return
    own = written_dataset(task)
    for outlet in outlets:
        if own is not None and outlet.uri == own.uri:
            outlet_events[outlet].extra.update(asset_extra(summary))
        else:
            log.warning(
                "The outlet %s is not the asset of what this import wrote (%s): its asset event carries no counts",
                outlet.uri,
                own.uri if own is not None else f"the connection {task.zendesk_conn_id!r} has no Zendesk host",
            )
