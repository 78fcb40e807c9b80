"""The deployment: api-server, scheduler, dag-processor, triggerers and (with Redis) two Celery workers.

Each runs as a separate process, as in production, in the run's throwaway ``AIRFLOW_HOME`` on
SQLite or PostgreSQL, with one emulator per scenario (the package's ``RemoteEmulator``, a process
of its own on a free port), each behind its own connection.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import signal
import socket
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_zendesk_jobs.testing import EmulatorProcessError, RemoteEmulator
from scripts.console import done, step
from scripts.e2e import config
from scripts.e2e.airflow_api import AirflowApi
from scripts.e2e.harness import E2EError, E2ERun
from scripts.e2e.metadata import alive_triggerer_jobs, heartbeat_age
from scripts.e2e.processes import Proc

#: One emulator per scenario (bulk has two: the example's, and the import whose worker is killed).
EMULATORS = ("gate", "many", "restart", "pair", "outage", "poison", "events", "bulk", "bulk_kill", "start")
#: Connection ids that are not zendesk_<emulator name>.
CONN_IDS = {"gate": "default", "pair": "pair"}
#: Triggerers at the start: name -> (queue, capacity); None: the one for the triggers without a queue.
TRIGGERERS: dict[str, tuple[str | None, int | None]] = {
    "main": ("default", None),
    "restart": ("e2e_restart", None),
    # Each may hold half of the pair scenario's waits, so both hold some whichever is quicker to take them.
    "pair_a": ("e2e_pair", config.PAIR_WAITS // 2),
    "pair_b": ("e2e_pair", config.PAIR_WAITS // 2),
    "outage": ("e2e_outage", None),
    "no_queue": (None, None),  # asset watchers and tasks started in the triggerer have no queue
}

#: ``[core] hostname_callable`` of the Celery workers (with the checkout on their PYTHONPATH).
WORKER_HOSTNAME = "scripts.e2e.worker_hostname.hostname"


@dataclass
class Deployment:
    run: E2ERun
    db_url: str
    env: dict[str, str]
    api: AirflowApi
    emulators: dict[str, RemoteEmulator] = field(default_factory=dict)
    triggerers: dict[str, Proc] = field(default_factory=dict)
    #: The Celery workers (celery scenario), by their Celery hostname, which is also their TI hostname.
    celery_workers: dict[str, Proc] = field(default_factory=dict)
    #: Processes the scenarios stop on purpose; any other that exits is a failure of the deployment.
    meant_to_exit: set[int] = field(default_factory=set)
    #: Held by a scenario whose triggers have no queue (an asset's watcher, a task started in the triggerer):
    #: they share the one triggerer without --queues, and the watcher's scenario kills it, so they take turns.
    no_queue_turn: threading.Lock = field(default_factory=threading.Lock)

    def start_triggerer(self, name: str, queue: str | None, capacity: int | None = None) -> Proc:
        """A triggerer of one queue; with None, of the triggers without one (an asset's watchers)."""
        args = ["triggerer", *(["--queues", queue] if queue else []), "--skip-serve-logs"]
        if capacity is not None:
            args += ["--capacity", str(capacity)]
        proc = self.run.procs.airflow(f"triggerer_{name}", args, self.env)
        self.triggerers[name] = proc
        return proc

    def kill(self, proc: Proc) -> None:
        """``kill -9`` of a process and its group, as when its machine dies; a scenario meant it to exit."""
        self.meant_to_exit.add(proc.pid)
        self.run.procs.kill_group(proc, signal.SIGKILL)
        proc.popen.wait(timeout=30)

    def unexpected_exits(self) -> list[str]:
        """The processes that exited on their own (a migration and the poisoned triggerer may), emulators too."""
        gone = [
            f"{p.name} (pid {p.pid}, exit {p.popen.returncode})"
            for p in self.run.procs.started
            if not p.alive() and p.pid not in self.meant_to_exit and p.name not in ("db_migrate", "triggerer_poison")
        ]
        emulators = [(name, emu.process) for name, emu in self.emulators.items() if emu.process is not None]
        return gone + [
            f"emulator_{name} (pid {process.pid}, exit {process.returncode})"
            for name, process in emulators
            if not process.alive()
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(run: E2ERun, db_url: str, api_port: int) -> dict[str, str]:
    home = run.home
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        PYTHONUNBUFFERED="1",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        # An asset's watchers start when a DAG scheduled on it is parsed unpaused: so no DAG starts paused.
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="6",
        AIRFLOW__CORE__FERNET_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__API_AUTH__JWT_SECRET=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=db_url,
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="600",
        AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="1",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
        AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT="480",
        # A try whose worker died (the celery scenario kills one) is failed this long after its last heartbeat.
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=str(config.TASK_HEARTBEAT_TIMEOUT),
        AIRFLOW__TRIGGERER__QUEUES_ENABLED="True",
        AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC="3",
        AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD=str(config.TRIGGERER_HEALTH_SECONDS),
        ZENDESK_EXAMPLE_POLL_SECONDS="2",
        ZENDESK_EXAMPLE_WATCH_CONN_ID="zendesk_events",
        ZENDESK_EXAMPLE_WATCH_SECONDS=f"{config.WATCH_SECONDS:g}",
        ZENDESK_EXAMPLE_CONN_ID="zendesk_bulk",
        ZENDESK_EXAMPLE_DATA_DIR=str(home / "bulk_data"),
    )
    return env


def prepare_database(run: E2ERun, db: str, pg_url: str) -> str:
    """The metadata database's URL: a new SQLite file, or the PostgreSQL database dropped and made again."""
    if db == "sqlite":
        # A long busy timeout: a dozen processes share the one file, and every write waits its turn.
        return f"sqlite:///{run.home / 'airflow.db'}?timeout=60"
    import psycopg2  # the e2e extra

    parsed = urllib.parse.urlsplit(pg_url.replace("postgresql+psycopg2://", "postgresql://", 1))
    name = parsed.path.lstrip("/")
    if not re.fullmatch(r"\w+", name):
        raise E2EError(f"E2E_PG_URL must name a database of letters, digits and _, not {name!r}")
    admin = urllib.parse.urlunsplit(parsed._replace(path="/postgres"))
    try:
        connection = psycopg2.connect(admin, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise E2EError(
            f"E2E_DB=postgres, but no PostgreSQL answers at {parsed.hostname}:{parsed.port or 5432} ({exc}). "
            "Start one, set E2E_PG_URL, or run without E2E_DB for SQLite."
        ) from None
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return pg_url


# -- the CeleryExecutor ---------------------------------------------------------------------------------
def celery_env(env: dict[str, str], redis_url: str, db_url: str) -> None:
    """Airflow 3's multiple executors: the LocalExecutor first (every other scenario's), the CeleryExecutor too."""
    env.update(
        AIRFLOW__CORE__EXECUTOR="LocalExecutor,CeleryExecutor",
        AIRFLOW__CELERY__BROKER_URL=redis_url,
        # The metadata database, as the Celery provider documents: db+ and the SQLAlchemy URL.
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+{db_url}",
    )


def check_redis(redis_url: str) -> None:
    """Redis answers at ``redis_url``, and holds no message left in the scenario's queue by an earlier run."""
    import redis  # the e2e extra (the Celery provider's celery[redis])

    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=10)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise E2EError(
            f"E2E_REDIS_URL={redis_url}, but no Redis answers there ({exc}). Start one (see the README), "
            "or run without E2E_REDIS_URL to skip the celery scenario."
        ) from None
    # Only the queue's own keys (kombu keeps one per priority step): never the rest of a Redis we were lent.
    stale = list(client.scan_iter(match=f"{config.CELERY_QUEUE}*"))
    if stale:
        client.delete(*stale)
    client.close()


def start_celery_worker(dep: Deployment, name: str) -> Proc:
    """``airflow celery worker`` on the scenario's queue, one task at a time, with an AIRFLOW_HOME of its own.

    Everything else is the deployment's: the metadata database, the DAGs folder, the connections and
    the execution API URL (all in the env). The task logs go to the deployment's log folder, as on a
    shared log volume, so the API server reads them as it reads the LocalExecutor's; the worker's own
    log is ``logs_e2e/<name>.log``. Its TI hostname is its Celery hostname (``worker_hostname.py``).
    """
    worker_home = dep.run.home / name
    worker_home.mkdir(parents=True, exist_ok=True)
    env = dict(dep.env)
    env.update(
        AIRFLOW_HOME=str(worker_home),
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(dep.run.home / "logs"),
        AIRFLOW__CORE__HOSTNAME_CALLABLE=WORKER_HOSTNAME,
        E2E_WORKER_HOSTNAME=name,
        PYTHONPATH=os.pathsep.join(p for p in (str(config.ROOT), env.get("PYTHONPATH")) if p),
    )
    args = ["celery", "worker", "--queues", config.CELERY_QUEUE, "--concurrency", "1", "--celery-hostname", name]
    proc = dep.run.procs.airflow(name, [*args, "--skip-serve-logs"], env)
    dep.celery_workers[name] = proc
    return proc


def wait_celery_ready(dep: Deployment) -> None:
    def ready() -> bool:
        for name, proc in dep.celery_workers.items():
            if not proc.alive():
                raise E2EError(f"the Celery worker {name} exited ({proc.popen.returncode}):\n{dep.run.tail(proc)}")
        workers = dep.celery_workers.items()
        return all(f"celery@{name} ready." in proc.log.read_text(errors="replace") for name, proc in workers)

    dep.run.wait_for("the Celery workers to be ready", ready, 180, every=1.0)


# -- the emulators ---------------------------------------------------------------------------------------
def start_emulator(run: E2ERun, name: str, env: dict[str, str], options: Sequence[str]) -> RemoteEmulator:
    """The CLI emulator with ``options`` on a free port, its output in ``logs_e2e/emulator_<name>.log``.

    Its stop is one of the run's cleanups from the moment it listens, so it ends on every way out.
    """
    try:
        emulator = RemoteEmulator.start(
            *options, env=env, cwd=run.home, output=run.home / "logs_e2e" / f"emulator_{name}.log", startup_timeout=30
        )
    except EmulatorProcessError as exc:
        raise E2EError(f"the {name} emulator did not start: {exc}") from None
    run.on_cleanup(f"the {name} emulator", emulator.stop)
    return emulator


# -- starting it ------------------------------------------------------------------------------------------
def dag_files(with_celery: bool) -> list[Path]:
    """The DAG files the deployment parses: three examples, unchanged, and the scenarios' own."""
    examples = [config.EXAMPLE_DAGS / f"{dag}.py" for dag in (config.GATE_DAG, config.EVENTS_DAG, config.BULK_DAG)]
    # The celery DAG's task names the CeleryExecutor, which a deployment without Redis does not run.
    own = [p for p in sorted(config.E2E_DAGS.glob("*.py")) if with_celery or p != config.CELERY_DAG_FILE]
    return [*examples, *own]


def dag_ids(with_celery: bool) -> list[str]:
    ids = [config.GATE_DAG, config.EVENTS_DAG, config.BULK_DAG, config.BULK_KILLED_DAG, *config.WAITS_DAGS]
    return [*ids, *config.START_DAGS, *([config.CELERY_DAG] if with_celery else [])]


def start_deployment(run: E2ERun, db: str, pg_url: str, redis_url: str | None) -> Deployment:
    """Everything up and healthy, every DAG parsed and unpaused; or E2EError saying what did not start."""
    home = run.home
    shutil.rmtree(home, ignore_errors=True)
    (home / "dags").mkdir(parents=True)
    for source in dag_files(bool(redis_url)):
        (home / "dags" / source.name).symlink_to(source)
    db_url = prepare_database(run, db, pg_url)
    api_port = free_port()
    env = base_env(run, db_url, api_port)
    dep = Deployment(run=run, db_url=db_url, env=env, api=AirflowApi(run, f"http://127.0.0.1:{api_port}"))
    if redis_url:
        check_redis(redis_url)
        celery_env(dep.env, redis_url, db_url)
    os.environ.update(dep.env)  # the harness reads the metadata database with Airflow's own models

    began = step("starting one emulator per scenario")
    for name in [*EMULATORS, *(["bulk_celery"] if redis_url else [])]:
        # The gate's job stays queued 15 s on a real-time clock: longer than the sensor's first look, so it defers.
        clock = ["--speed", "1", "--queued-seconds", "15"] if name == "gate" else ["--manual-clock"]
        dep.emulators[name] = start_emulator(run, name, dep.env, [*clock, "--seed", str(len(dep.emulators) + 1)])
    for name, emulator in dep.emulators.items():
        dep.env[f"AIRFLOW_CONN_ZENDESK_{CONN_IDS.get(name, name).upper()}"] = emulator.connection_extra_json()
    done(began)

    began = step(f"migrating the metadata database ({db})")
    migrate = run.procs.airflow("db_migrate", ["db", "migrate"], dep.env)
    run.wait_for("airflow db migrate", lambda: not migrate.alive(), 300)
    if migrate.popen.returncode != 0:
        raise E2EError(f"airflow db migrate failed:\n{run.tail(migrate)}")
    done(began)

    workers = f" and {len(config.CELERY_WORKERS)} Celery workers" if redis_url else ""
    began = step(f"starting api-server, scheduler, dag-processor, {len(TRIGGERERS)} triggerers{workers}")
    run.procs.airflow("api_server", ["api-server", "--port", str(api_port), "--workers", "1"], dep.env)
    run.procs.airflow("scheduler", ["scheduler", "--skip-serve-logs"], dep.env)
    run.procs.airflow("dag_processor", ["dag-processor"], dep.env)
    for name, (queue, capacity) in TRIGGERERS.items():
        dep.start_triggerer(name, queue, capacity)
    if redis_url:
        for name in config.CELERY_WORKERS:
            start_celery_worker(dep, name)
    wait_healthy(dep, triggerers=len(TRIGGERERS))
    if redis_url:
        wait_celery_ready(dep)
    done(began)

    began = step("waiting for the DAGs to be parsed, and unpausing them")
    for dag_id in dag_ids(bool(redis_url)):
        run.wait_for(f"DAG {dag_id} to be parsed", functools.partial(dep.api.get_or_none, f"/dags/{dag_id}"), 180)
        dep.api.unpause(dag_id)
    done(began)
    return dep


def wait_healthy(dep: Deployment, triggerers: int) -> None:
    """Every component healthy in ``/monitor/health``, and ``triggerers`` triggerer jobs beating."""

    def healthy() -> bool:
        for proc in dep.run.procs.started:
            if not proc.alive() and proc.name != "db_migrate" and proc.popen.returncode not in (None, 0):
                raise E2EError(f"{proc.name} exited with status {proc.popen.returncode}:\n{dep.run.tail(proc)}")
        health = dep.api.health()
        if not health:
            return False
        parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
        if any((health.get(part) or {}).get("status") != "healthy" for part in parts):
            return False
        beats = alive_triggerer_jobs().values()
        return sum(heartbeat_age(beat) < config.TRIGGERER_HEALTH_SECONDS for beat in beats) >= triggerers

    dep.run.wait_for("every component to report healthy", healthy, 240, every=2.0)
