"""The parts of a bulk import that need no Airflow and no HTTP: records, chunks, the ledger, results, progress.

``ZendeskBulkJobOperator`` (:mod:`airflow_provider_zendesk_jobs.operators.bulk_jobs`) composes them
with the hook and the trigger; each module here is tested on its own.
"""
