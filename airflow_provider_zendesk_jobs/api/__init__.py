"""The sans-I/O core of the Zendesk Job Statuses API.

Plain functions and data: which request to send, what an answer means (a value, "retry
after N seconds", or which error), and how to page; :mod:`.request_flow` strings them into the
steps of one call. The sync hook (requests) and the async hook (httpx) only carry the steps out
(send, sleep), so they share every decision made here.
Nothing in this package imports Airflow or an HTTP library.
"""
