"""The names and numbers the deployment, the scenarios and the e2e DAGs agree on.

Those the DAGs in ``scripts/e2e/dags/`` also hold are checked against them by
``tests/dags/test_e2e_dags.py``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The DAGs written for the scenarios; the examples come from example_dags/.
E2E_DAGS = Path(__file__).resolve().parent / "dags"
EXAMPLE_DAGS = ROOT / "example_dags"

GATE_DAG = "example_zendesk_bulk_import_gate"
EVENTS_DAG = "example_zendesk_on_failed_job"
BULK_DAG = "example_zendesk_bulk_import"
BULK_KILLED_DAG = "e2e_bulk_killed"
CELERY_DAG = "e2e_bulk_celery"
CELERY_DAG_FILE = E2E_DAGS / "e2e_zendesk_bulk_celery.py"
#: The two DAGs of the start_in_triggerer scenario (dags/e2e_start_in_triggerer.py).
START_DAGS = ("e2e_start_from_trigger_off", "e2e_start_from_trigger_on")
#: The waits DAGs of dags/e2e_zendesk_waits.py, one per scenario.
WAITS_DAGS = ("e2e_many_waits", "e2e_restart", "e2e_two_triggerers", "e2e_outage", "e2e_poison_row")

#: The paths of the job-status reads in the emulators' request logs: the job list (and one job's), show_many.
STATUS_READS = "/api/v2/job_statuses"
SHOW_MANY = "/api/v2/job_statuses/show_many"
#: How often a running emulator clock moves (by the real time elapsed), in seconds.
CLOCK_TICK = 0.5

#: How often the example's watcher reads the job list (ZENDESK_EXAMPLE_WATCH_SECONDS).
WATCH_SECONDS = 5.0
#: Must match POLL_SECONDS, DEADLINE_SECONDS in dags/e2e_zendesk_waits.py.
POLL_SECONDS = 5.0
DEADLINE_SECONDS = 60.0
#: Shorter than every wait's timeout (LONG_TIMEOUT in dags/e2e_zendesk_waits.py).
OUTAGE_SECONDS = 120.0
#: Waits of the two-triggerer scenario; each of its triggerers has the capacity for half of them.
PAIR_WAITS = 8
#: A triggerer whose heartbeat is older than this is dead to the others (they take over its triggers).
TRIGGERER_HEALTH_SECONDS = 15

#: Must match QUEUE and POOL in dags/e2e_zendesk_bulk_celery.py.
CELERY_QUEUE = "e2e_celery"
CELERY_POOL = "zendesk_celery"
CELERY_RECORDS = 3000
#: The two Celery workers: each its own AIRFLOW_HOME (home / name), Celery hostname and TI hostname.
CELERY_WORKERS = ("celery_a", "celery_b")
#: The scheduler fails a running try whose heartbeat is older than this (the killed Celery worker's);
#: a live task beats every [workers] min_heartbeat_interval (5 s).
TASK_HEARTBEAT_TIMEOUT = 30

DEFAULT_PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/airflow_e2e"
