"""An operator of your own with the provider's buttons to Zendesk: the job, and the first ticket it created.

``ZendeskJobLink`` reads the task's rendered ``job_id`` and ``zendesk_conn_id``;
``ZendeskCreatedTicketLink`` the ``job_type`` and ``succeeded_ids`` of its return value (the
results operator's XCom form). ``ZENDESK_EXAMPLE_CONN_ID`` (default ``zendesk_default``) names the
connection.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import BaseOperator, Param, dag

from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook
from airflow_provider_zendesk_jobs.links import ZendeskCreatedTicketLink, ZendeskJobLink

CONN_ID = os.environ.get("ZENDESK_EXAMPLE_CONN_ID", "zendesk_default")


# [START howto_links_custom_operator]
class MyJobReportOperator(BaseOperator):
    """Reads a job and returns it in the results operator's XCom form, with the two buttons to Zendesk."""

    operator_extra_links = (ZendeskJobLink(), ZendeskCreatedTicketLink())
    template_fields = ("job_id", "zendesk_conn_id")

    def __init__(self, *, job_id: str, zendesk_conn_id: str = "zendesk_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id  # ZendeskJobLink reads the rendered job_id and zendesk_conn_id
        self.zendesk_conn_id = zendesk_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        status = ZendeskJobStatusHook(zendesk_conn_id=self.zendesk_conn_id).get_job_status(self.job_id)
        return status.to_dict()  # its job_type and succeeded_ids give ZendeskCreatedTicketLink its ticket
# [END howto_links_custom_operator]


@dag(
    dag_id="example_zendesk_custom_links",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    params={"job_id": Param("V3-0b5a6293824601a4c59c0fe131439de8", type="string", description="The job to read.")},
    doc_md=__doc__,
)
def example_zendesk_custom_links() -> None:
    MyJobReportOperator(task_id="report_job", job_id="{{ params.job_id }}", zendesk_conn_id=CONN_ID)


example_zendesk_custom_links()
