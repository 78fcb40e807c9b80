"""The bulk import's engine, with neither Airflow's task machinery nor HTTP inside; each module is tested on its own.

``arguments`` (the task's arguments, checked), ``records`` and ``chunk_reader`` (records read as a
stream, each chunk's fingerprint), ``ledger`` with ``ledger_entries`` and ``ledger_store`` (what was
sent, and which try owns it), ``reconcile`` (did a failed call start a job?), ``sender`` (the bulk
calls and what each refusal means), ``results`` (one chunk's items mapped back to its records),
``summary`` (the running total, the XCom value and its caps, the results file, why an import fails),
``runner`` (``ImportRun``: the rounds of read, settle and submit) and ``tries`` (how a try begins or
goes on after a deferral). ``ZendeskBulkJobOperator`` (:mod:`airflow_provider_zendesk_jobs.operators.bulk_jobs`)
drives them with the hook, on the clock its ``build_wait`` gives.
"""
