"""Buttons in the Airflow UI that open what a task waited on in Zendesk: the job, and the tickets it created.

On Airflow 3 the worker computes each link when a try ends on it (when the task defers, and
when it finishes) and stores it as an XCom (``_link_<class name>``); the UI reads that XCom and
never calls Zendesk or the connection. So a link shows once the task deferred or finished.

The host comes from the task's connection (its ``host`` only, never a credential); the job ids
from the task's rendered ``job_id`` field; the created tickets from the task's return value,
where it holds them (:class:`~airflow_provider_zendesk_jobs.operators.zendesk_jobs.ZendeskJobResultsOperator`).
A link that cannot be built (no such connection, an id that is not one) is empty, and the UI
shows no button.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseHook, BaseOperatorLink, XCom

from airflow_provider_zendesk_jobs.api.connection_settings import base_url_from_host
from airflow_provider_zendesk_jobs.exceptions import ZendeskInvalidInputError
from airflow_provider_zendesk_jobs.job_ids import normalize_job_ids

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, TaskInstanceKey

__all__ = [
    "ZendeskCreatedTicketLink",
    "ZendeskJobLink",
    "created_ticket_ids",
    "job_url",
    "ticket_url",
    "zendesk_base_url",
]

_log = logging.getLogger(__name__)
#: The key of a task's return value in XCom, the same on every Airflow 3 release.
RETURN_VALUE = "return_value"
#: Words of Zendesk's ``job_type`` that say the job made new tickets ("Bulk Create Ticket", "Bulk Import Ticket").
_CREATING = ("create", "import")


def zendesk_base_url(conn_id: str) -> str | None:
    """``https://acme.zendesk.com`` for the connection's host, or None when it has none that Zendesk could be."""
    try:
        host = BaseHook.get_connection(conn_id).host
        return base_url_from_host(host)
    except ZendeskInvalidInputError:
        return None
    except Exception as exc:  # Airflow's "connection not defined" differs by release; a link is never worth a failure
        _log.info("No Zendesk link: the connection %r cannot be read (%s)", conn_id, type(exc).__name__)
        return None


def job_url(base_url: str, job_ids: Sequence[str]) -> str:
    """The job in Zendesk's API; for several, the one ``show_many`` read that answers them all."""
    if len(job_ids) == 1:
        return f"{base_url}/api/v2/job_statuses/{quote(job_ids[0], safe='')}.json"
    return f"{base_url}/api/v2/job_statuses/show_many.json?ids={quote(','.join(job_ids), safe=',')}"


def ticket_url(base_url: str, ticket_id: int | str) -> str:
    """A ticket in Zendesk's agent interface."""
    return f"{base_url}/agent/tickets/{quote(str(ticket_id), safe='')}"


def _creates_tickets(job_type: object) -> bool:
    words = str(job_type or "").lower()
    return "ticket" in words and any(word in words for word in _CREATING)


def created_ticket_ids(value: Any) -> list[int | str]:
    """The ids of the tickets that the jobs of a results operator's return value created, in order.

    Reads the ``succeeded_ids`` of each job whose ``job_type`` creates or imports tickets; any
    other value (the sensor's summary, a job that updated tickets) has none.
    """
    if isinstance(value, Mapping) and str(value.get("action", "")).startswith("tickets.") and "created" in value:
        # The bulk operator's return value: every created record with its ticket id.
        created = value.get("created") or []
        return [row["id"] for row in created if isinstance(row, Mapping) and isinstance(row.get("id"), int | str)]
    jobs = value if isinstance(value, list) else [value]
    ids: list[int | str] = []
    for job in jobs:
        if isinstance(job, Mapping) and _creates_tickets(job.get("job_type")):
            ids.extend(item for item in job.get("succeeded_ids") or [] if isinstance(item, int | str))
    return ids


class ZendeskJobLink(BaseOperatorLink):
    """"Zendesk job": the job (or jobs) of the task's ``job_id`` in Zendesk's Job Statuses API.

    The bulk operator starts its own jobs: its link lists the ``jobs`` of its return value, once it finished.
    """

    name = "Zendesk job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        # A task that starts its own jobs (the bulk operator) has no ``job_id``: its return value lists them.
        given = getattr(operator, "job_id", None)
        if given is None:
            value = XCom.get_value(ti_key=ti_key, key=RETURN_VALUE)
            given = value.get("jobs") if isinstance(value, Mapping) else None
        try:
            job_ids, _ = normalize_job_ids(given)
        except ZendeskInvalidInputError:
            return ""
        base_url = zendesk_base_url(str(getattr(operator, "zendesk_conn_id", "")))
        if base_url is None or not job_ids:
            return ""
        return job_url(base_url, job_ids)


class ZendeskCreatedTicketLink(BaseOperatorLink):
    """"Zendesk ticket": the first ticket the task's jobs created, in the agent interface.

    Empty until the task has returned (its return value holds the ids), and for jobs that
    create no tickets. One button opens one ticket: the return value lists all of them.
    """

    name = "Zendesk ticket"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        ids = created_ticket_ids(XCom.get_value(ti_key=ti_key, key=RETURN_VALUE))
        base_url = zendesk_base_url(str(getattr(operator, "zendesk_conn_id", ""))) if ids else None
        if base_url is None:
            return ""
        return ticket_url(base_url, ids[0])
