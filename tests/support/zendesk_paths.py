"""The Zendesk paths the tests look for in request logs and mock, written once."""

from __future__ import annotations

from airflow_provider_zendesk_jobs.api.auth import TOKEN_PATH
from airflow_provider_zendesk_jobs.api.request_builders import JOB_STATUSES_PATH

SHOW_MANY = f"{JOB_STATUSES_PATH}/show_many"
TOKENS = TOKEN_PATH
