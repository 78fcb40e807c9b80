"""The sans-I/O core of the Zendesk Job Statuses API: requests, answers, retries and paging as plain functions and
data, shared by the sync (requests) and async (httpx) hooks. Nothing here imports Airflow or an HTTP library."""
