"""Every day, list the background jobs Zendesk still keeps and flag the ones that failed.

Zendesk keeps job statuses for about a day (roughly the last 100 jobs), so a daily run sees
every job since the previous one. ``audit_jobs`` returns a summary (counts by status and by
job type, the failed jobs with their messages, the ids still running) and logs it as a small
table; ``audit_failed_imports`` fails when a bulk ticket import failed or was killed, so the
usual Airflow alerting (email, Slack callbacks) tells someone.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag

from airflow_provider_zendesk_jobs.operators.zendesk_jobs import ZendeskJobStatusAuditOperator

CONN_ID = "zendesk_default"


@dag(
    dag_id="example_zendesk_job_audit",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["zendesk", "example"],
    doc_md=__doc__,
)
def example_zendesk_job_audit() -> None:
    audit = ZendeskJobStatusAuditOperator(task_id="audit_jobs", zendesk_conn_id=CONN_ID)
    # [START howto_operator_audit]
    failed_imports = ZendeskJobStatusAuditOperator(
        task_id="audit_failed_imports",
        zendesk_conn_id=CONN_ID,
        statuses=["failed", "killed"],
        job_types=["Bulk Import Ticket", "Bulk Create Ticket"],
        fail_on_failed_jobs=True,
    )
    # [END howto_operator_audit]
    audit >> failed_imports


example_zendesk_job_audit()
