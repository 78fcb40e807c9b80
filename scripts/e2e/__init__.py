"""``make e2e``: the provider in a real Airflow deployment, against the built-in Zendesk emulator.

It starts what a production deployment runs, as separate processes: ``airflow api-server``,
``airflow scheduler`` (LocalExecutor), ``airflow dag-processor`` and several ``airflow triggerer``
(and, with ``E2E_REDIS_URL``, the CeleryExecutor beside the LocalExecutor and two ``airflow celery worker``),
with a throwaway ``.airflow_home_e2e`` on SQLite, or on PostgreSQL with ``E2E_DB=postgres``
(``E2E_PG_URL``, default ``postgresql+psycopg2://postgres@127.0.0.1:5432/airflow_e2e``; the
database is dropped and created again). DAG runs are triggered through the REST API and run by
the scheduler; the script waits by polling task states and the emulators' request logs, each
wait with a deadline, and the whole run has one (``--deadline``, 10 minutes).

The scenarios run at the same time. Each has its own emulator (so its request counts are its
own), its own connection, its own trigger queue (``[triggerer] queues_enabled``) and its own
triggerer(s), so killing one triggerer or poisoning another does not touch the other scenarios.
Scenarios 7 and 9 are the exception: their triggers have no queue (an asset's watcher, a task
started in the triggerer), so they share the one triggerer without ``--queues`` and take turns
on it, since 7 kills it:

1. ``gate``: the example DAG ``example_zendesk_bulk_import_gate``, unchanged, succeeds;
2. ``many``: 30 deferred sensors, one job each: all succeed, at most 2 ``show_many`` per poll
   interval while all are pending, and every task's log holds its own job's progress lines;
3. ``restart``: ``kill -9`` of the triggerer mid-wait, and a new one: every wait ends once, and a
   sensor's timeout ends at its first check + timeout, not at the restart + timeout;
4. ``two_triggerers``: two triggerers on one queue: every wait ends once, and the requests per
   interval follow the triggerers, not the waits;
5. ``outage``: two real minutes of 503 from Zendesk while waits are deferred: all succeed after it;
6. ``poison_row``: a trigger row with garbage kwargs beside good waits: the good waits succeed,
   the bad task fails with a clear message, and the triggerer process stays up;
7. ``events``: the example DAG ``example_zendesk_on_failed_job``, scheduled on an asset watched by
   ``ZendeskJobEventTrigger``: a job killed in the emulator starts it within two reads of the job
   list, once; after a ``kill -9`` of the watcher's triggerer, the new one fires no event again,
   and the next killed job starts a second run.
8. ``bulk``: the example DAG ``example_zendesk_bulk_import`` (1,000 tickets, deferred, in a pool
   with ``include_deferred``) succeeds with every record received once; then a bulk import's
   worker is killed (``kill -9``) while five of its jobs are active, and the task's next try,
   run by the scheduler, finishes it: every record received exactly once;
9. ``start_in_triggerer``: 30 sensor waits with ``start_from_trigger`` and 30 without, on Airflow
   3.3: the tasks a worker ran and the requests to Zendesk for each;
10. ``celery``: a bulk import of 3,000 records on the CeleryExecutor (beside the LocalExecutor:
    Airflow 3's multiple executors), on two Celery workers that each have their own
    ``AIRFLOW_HOME`` (their own disk); the worker running it gets ``kill -9`` (with the task
    under it) while five of its jobs are active, the scheduler fails the try when its heartbeat
    stops, and the next try, on the other worker, finishes it: every record received exactly
    once. It needs Redis (the broker) at ``E2E_REDIS_URL``; without it the scenario is skipped.

Every process it started is stopped at the end (the Airflow ones by process group), on failure
and on Ctrl-C too. The summary is printed and written to ``.airflow_home_e2e/e2e_summary.json``.
Exit status: 0 when every scenario passed, 1 otherwise.

The emulators are the package's own ``airflow_provider_zendesk_jobs.testing.RemoteEmulator``: each
the CLI emulator in a process of its own, driven over its control API (jobs, faults, the request
and record logs, the clock, moved by a step or at real speed by a ``ClockRunner``), and stopped
with the run.

It runs as ``python -m scripts.e2e`` from the checkout. The package: ``harness`` (the run object:
deadline, processes, cleanups, stop flag, every wait), ``processes``, ``deployment`` (the Airflow
processes and the emulators), ``airflow_api``, ``metadata`` and ``task_logs`` (reading Airflow's
state), ``scenarios/`` (one module per scenario), ``runner`` and ``summary``; the scenarios' DAGs
are in ``dags/``.
"""
