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

Every process it started is stopped by process group at the end, on failure and on Ctrl-C too.
The summary is printed and written to ``.airflow_home_e2e/e2e_summary.json``. Exit status: 0
when every scenario passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
E2E_DAGS = ROOT / "tests" / "e2e" / "dags"
GATE_DAG_FILE = ROOT / "example_dags" / "example_zendesk_bulk_import_gate.py"
GATE_DAG = "example_zendesk_bulk_import_gate"
EVENTS_DAG_FILE = ROOT / "example_dags" / "example_zendesk_on_failed_job.py"
EVENTS_DAG = "example_zendesk_on_failed_job"
#: How often the example's watcher reads the job list (ZENDESK_EXAMPLE_WATCH_SECONDS).
WATCH_SECONDS = 5.0
BULK_DAG_FILE = ROOT / "example_dags" / "example_zendesk_bulk_import.py"
BULK_DAG = "example_zendesk_bulk_import"
BULK_KILLED_DAG = "e2e_bulk_killed"
CELERY_DAG_FILE = E2E_DAGS / "e2e_zendesk_bulk_celery.py"
CELERY_DAG = "e2e_bulk_celery"
#: Must match QUEUE and POOL in tests/e2e/dags/e2e_zendesk_bulk_celery.py.
CELERY_QUEUE = "e2e_celery"
CELERY_POOL = "zendesk_celery"
CELERY_RECORDS = 3000
#: The two Celery workers: each its own AIRFLOW_HOME (home / name), Celery hostname and TI hostname.
CELERY_WORKERS = ("celery_a", "celery_b")
#: The scheduler fails a running try whose heartbeat is older than this (the killed Celery worker's);
#: a live task beats every [workers] min_heartbeat_interval (5 s).
TASK_HEARTBEAT_TIMEOUT = 30
DEFAULT_PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/airflow_e2e"
SHOW_MANY = "/api/v2/job_statuses/show_many"
STATUS_READS = "/api/v2/job_statuses"
#: Must match POLL_SECONDS, DEADLINE_SECONDS in tests/e2e/dags/e2e_zendesk_waits.py.
POLL_SECONDS = 5.0
DEADLINE_SECONDS = 60.0
OUTAGE_SECONDS = 120.0
#: A triggerer whose heartbeat is older than this is dead to the others (they take over its triggers).
TRIGGERER_HEALTH_SECONDS = 15
#: What Airflow's triggerer logs (in the task's trigger log) each time a trigger fires an event.
FIRED = '"event":"Trigger fired event"'
#: What Airflow's task runner logs each time a task instance starts on a worker.
STARTED = '"event":"::group::Pre Execute"'
#: Waits of the two-triggerer scenario; each of its triggerers has the capacity for half of them.
PAIR_WAITS = 8
#: Kept free at the end of the global deadline for stopping every process and writing the summary.
CLEANUP_SECONDS = 45.0
TERMINAL = {"success", "failed", "skipped", "upstream_failed", "removed"}


class E2EError(Exception):
    """A scenario (or the deployment) did not do what it must; the message says what and where to look."""


class Interrupted(Exception):
    """Ctrl-C, SIGTERM or the global deadline: stop everything."""


STOP = threading.Event()
#: The processes of the run, as soon as there are any: stopped on every way out.
_PROCS: list[Processes | None] = [None]
DEADLINE = [time.monotonic() + 600.0]


def remaining() -> float:
    return DEADLINE[0] - time.monotonic()


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    """Poll ``check`` until it returns something truthy; E2EError after ``timeout`` (or the global deadline)."""
    limit = time.monotonic() + min(timeout, max(0.0, remaining() - CLEANUP_SECONDS))
    while True:
        if STOP.is_set():
            raise Interrupted("stopping")
        value = check()
        if value:
            return value
        if time.monotonic() >= limit:
            raise E2EError(f"timed out after {timeout:g} s waiting for {what}")
        STOP.wait(every)


def tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "    (no file)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join("    " + line[:300] for line in text[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- processes --------------------------------------------------------------------------------------
@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None


class Processes:
    """Every process the run starts, each in its own process group, so a stop takes its children too."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.started: list[Proc] = []
        self._lock = threading.Lock()

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Proc:
        log = self.home / "logs_e2e" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(argv), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.home
            )
        proc = Proc(name, popen, log)
        with self._lock:
            self.started.append(proc)
        return proc

    def airflow(self, name: str, args: Sequence[str], env: dict[str, str]) -> Proc:
        return self.start(name, [sys.executable, "-m", "airflow", *args], env)

    @staticmethod
    def kill_group(proc: Proc, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)

    def stop(self, proc: Proc, grace: float = 20.0) -> None:
        self.kill_group(proc, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=grace)
        self.kill_group(proc, signal.SIGKILL)  # whatever is left of the group
        try:
            proc.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"  warning: {proc.name} (pid {proc.pid}) did not exit", file=sys.stderr)

    def stop_all(self) -> None:
        with self._lock:
            procs = list(reversed(self.started))
        for proc in procs:  # SIGTERM to every group first, so they shut down side by side
            if proc.alive():
                self.kill_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 25
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            self.kill_group(proc, signal.SIGKILL)
        for proc in procs:
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print(f"  warning: {proc.name} (pid {proc.pid}) did not exit", file=sys.stderr)
        self._stop_strays()

    def _stop_strays(self) -> None:
        """Task processes that left their group (a supervisor may start its own session) still carry our home
        (or a Celery worker's, inside it)."""
        marker = f"AIRFLOW_HOME={self.home}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(var == marker or var.startswith(marker + b"/") for var in environ):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)


# -- the emulators ----------------------------------------------------------------------------------
class Emulator:
    """One console-script emulator on a free port, driven over its control API (most with a manual clock)."""

    def __init__(self, name: str, procs: Processes, env: dict[str, str], options: Sequence[str]) -> None:
        self.name = name
        url_file = procs.home / "emulators" / f"{name}.url"
        url_file.parent.mkdir(parents=True, exist_ok=True)
        url_file.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "airflow_provider_zendesk_jobs.testing", "--port", "0", *options]
        self.proc = procs.start(f"emulator_{name}", [*argv, "--url-file", str(url_file)], env)
        wait_for(f"the {name} emulator to listen", lambda: url_file.exists() or not self.proc.alive(), 30, 0.1)
        if not self.proc.alive():
            raise E2EError(f"the {name} emulator did not start:\n{tail(self.proc.log)}")
        self.url = url_file.read_text(encoding="utf-8").strip()

    def control(self, path: str, body: dict[str, Any] | None = None, method: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/__emulator__{path}", data=data, method=method or ("POST" if data is not None else "GET")
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def create_jobs(self, count: int, *, work_seconds: Callable[[int], float], records: int = 3) -> list[str]:
        ids = []
        for index in range(count):
            body = {
                "kind": "tickets_create",
                "count": records,
                "queued_seconds": 2,
                "work_seconds": work_seconds(index),
            }
            ids.append(str(self.control("/jobs", body)["job_status"]["id"]))
        return ids

    def advance(self, seconds: float) -> None:
        self.control("/clock/advance", {"seconds": seconds})

    def requests(self, path_prefix: str = STATUS_READS, method: str = "GET") -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"path_prefix": path_prefix, "method": method})
        return list(self.control(f"/requests?{query}")["requests"])

    def connection(self) -> str:
        return json.dumps(
            {"conn_type": "zendesk_jobs", "host": self.url, "login": "demo@example.com", "password": "demo-token"}
        )


class ClockDriver(threading.Thread):
    """Runs an emulator's manual clock at real speed from now on (jobs then finish over their work seconds)."""

    def __init__(self, emulator: Emulator, tick: float = 0.5) -> None:
        super().__init__(name=f"clock-{emulator.name}", daemon=True)
        self.emulator, self.tick, self.stopping = emulator, tick, threading.Event()

    def run(self) -> None:
        last = time.monotonic()
        while not self.stopping.wait(self.tick) and not STOP.is_set():
            now = time.monotonic()
            try:
                self.emulator.advance(now - last)
            except OSError:
                return
            last = now


@contextlib.contextmanager
def clock_running(emulator: Emulator) -> Iterator[None]:
    """The emulator's clock runs at real speed inside the block, and stands still again after it."""
    driver = ClockDriver(emulator)
    driver.start()
    try:
        yield
    finally:
        driver.stopping.set()


# -- the deployment ---------------------------------------------------------------------------------
@dataclass
class Deployment:
    home: Path
    db_url: str
    procs: Processes
    env: dict[str, str] = field(default_factory=dict)
    api_url: str = ""
    emulators: dict[str, Emulator] = field(default_factory=dict)
    triggerers: dict[str, Proc] = field(default_factory=dict)
    #: The Celery workers (celery scenario), by their Celery hostname, which is also their TI hostname.
    celery_workers: dict[str, Proc] = field(default_factory=dict)
    #: Processes the scenarios stop on purpose; any other that exits is a failure of the deployment.
    meant_to_exit: set[int] = field(default_factory=set)
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Held by a scenario whose triggers have no queue (an asset's watcher, a task started in the triggerer):
    #: they share the one triggerer without --queues, and the watcher's scenario kills it, so they take turns.
    no_queue_turn: threading.Lock = field(default_factory=threading.Lock)

    # the REST API --------------------------------------------------------------------------------
    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.api_url}/api/v2{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def api_or_none(self, method: str, path: str) -> Any:
        try:
            return self.api(method, path)
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """A DAG run through the REST API, as a user would; a 5xx (a busy database) is asked again."""
        answer: list[Any] = []

        def post() -> bool:
            with self.write_lock:
                try:
                    answer.append(self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf}))
                except urllib.error.HTTPError as exc:
                    if exc.code < 500:
                        raise E2EError(f"the API refused a run of {dag_id}: {exc.code} {exc.read()[:300]!r}") from None
            return bool(answer)

        wait_for(f"the API to accept a run of {dag_id}", post, 120, every=2.0)
        return str(answer[0]["dag_run_id"])

    def start_triggerer(self, name: str, queue: str | None, capacity: int | None = None) -> Proc:
        """A triggerer of one queue; with None, of the triggers without one (an asset's watchers)."""
        args = ["triggerer", *(["--queues", queue] if queue else []), "--skip-serve-logs"]
        if capacity is not None:
            args += ["--capacity", str(capacity)]
        proc = self.procs.airflow(f"triggerer_{name}", args, self.env)
        self.triggerers[name] = proc
        return proc


def base_env(home: Path, db_url: str, api_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    fernet = base64.urlsafe_b64encode(os.urandom(32)).decode()
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
        AIRFLOW__CORE__FERNET_KEY=fernet,
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
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=str(TASK_HEARTBEAT_TIMEOUT),
        AIRFLOW__TRIGGERER__QUEUES_ENABLED="True",
        AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC="3",
        AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD=str(TRIGGERER_HEALTH_SECONDS),
        ZENDESK_EXAMPLE_POLL_SECONDS="2",
        ZENDESK_EXAMPLE_WATCH_CONN_ID="zendesk_events",
        ZENDESK_EXAMPLE_WATCH_SECONDS=f"{WATCH_SECONDS:g}",
    )
    return env


def prepare_database(db: str, pg_url: str, home: Path) -> str:
    if db == "sqlite":
        # A long busy timeout: a dozen processes share the one file, and every write waits its turn.
        return f"sqlite:///{home / 'airflow.db'}?timeout=60"
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
    stale = list(client.scan_iter(match=f"{CELERY_QUEUE}*"))
    if stale:
        client.delete(*stale)
    client.close()


def start_celery_worker(dep: Deployment, name: str) -> Proc:
    """``airflow celery worker`` on the scenario's queue, one task at a time, with an AIRFLOW_HOME of its own.

    Everything else is the deployment's: the metadata database, the DAGs folder, the connections and
    the execution API URL (all in the env). The task logs go to the deployment's log folder, as on a
    shared log volume, so the API server reads them as it reads the LocalExecutor's; the worker's own
    log is ``logs_e2e/<name>.log``. Its TI hostname is its Celery hostname (tests/e2e/e2e_worker_hostname.py).
    """
    worker_home = dep.home / name
    worker_home.mkdir(parents=True, exist_ok=True)
    env = dict(dep.env)
    env.update(
        AIRFLOW_HOME=str(worker_home),
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(dep.home / "logs"),
        AIRFLOW__CORE__HOSTNAME_CALLABLE="e2e_worker_hostname.hostname",
        E2E_WORKER_HOSTNAME=name,
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT / "tests" / "e2e"), env.get("PYTHONPATH")) if p),
    )
    args = ["celery", "worker", "--queues", CELERY_QUEUE, "--concurrency", "1", "--celery-hostname", name]
    proc = dep.procs.airflow(name, [*args, "--skip-serve-logs"], env)
    dep.celery_workers[name] = proc
    return proc


def wait_celery_ready(dep: Deployment) -> None:
    def ready() -> bool:
        for name, proc in dep.celery_workers.items():
            if not proc.alive():
                raise E2EError(f"the Celery worker {name} exited ({proc.popen.returncode}):\n{tail(proc.log)}")
        workers = dep.celery_workers.items()
        return all(f"celery@{name} ready." in proc.log.read_text(errors="replace") for name, proc in workers)

    wait_for("the Celery workers to be ready", ready, 180, every=1.0)


def start_deployment(args: argparse.Namespace) -> Deployment:
    home: Path = args.airflow_home
    redis_url: str | None = args.celery_redis
    shutil.rmtree(home, ignore_errors=True)
    (home / "dags").mkdir(parents=True)
    for source in [GATE_DAG_FILE, EVENTS_DAG_FILE, BULK_DAG_FILE, *sorted(E2E_DAGS.glob("*.py"))]:
        if source == CELERY_DAG_FILE and not redis_url:
            continue  # its task names the CeleryExecutor, which a deployment without Redis does not run
        (home / "dags" / source.name).symlink_to(source)
    db_url = prepare_database(args.db, args.pg_url, home)
    procs = Processes(home)
    _PROCS[0] = procs
    api_port = free_port()
    dep = Deployment(home=home, db_url=db_url, procs=procs, env=base_env(home, db_url, api_port))
    dep.api_url = f"http://127.0.0.1:{api_port}"
    if redis_url:
        check_redis(redis_url)
        celery_env(dep.env, redis_url, db_url)
    os.environ.update(dep.env)  # this script reads the metadata database with Airflow's own models

    began = step("starting one emulator per scenario")
    names = ["gate", "many", "restart", "pair", "outage", "poison", "events", "bulk", "bulk_kill", "start"]
    for name in names + (["bulk_celery"] if redis_url else []):
        # The gate's job stays queued 15 s on a real-time clock: longer than the sensor's first look, so it defers.
        gate = ["--speed", "1", "--queued-seconds", "15"] if name == "gate" else ["--manual-clock"]
        dep.emulators[name] = Emulator(name, procs, dep.env, [*gate, "--seed", str(len(dep.emulators) + 1)])
    conn_ids = {"gate": "default", "pair": "pair"}
    dep.env["ZENDESK_EXAMPLE_CONN_ID"] = "zendesk_bulk"
    dep.env["ZENDESK_EXAMPLE_DATA_DIR"] = str(home / "bulk_data")
    for name, emulator in dep.emulators.items():
        dep.env[f"AIRFLOW_CONN_ZENDESK_{conn_ids.get(name, name).upper()}"] = emulator.connection()
    done(began)

    began = step(f"migrating the metadata database ({args.db})")
    migrate = procs.airflow("db_migrate", ["db", "migrate"], dep.env)
    wait_for("airflow db migrate", lambda: not migrate.alive(), 300)
    if migrate.popen.returncode != 0:
        raise E2EError(f"airflow db migrate failed:\n{tail(migrate.log)}")
    done(began)

    workers = f" and {len(CELERY_WORKERS)} Celery workers" if redis_url else ""
    began = step(f"starting api-server, scheduler, dag-processor, 6 triggerers{workers}")
    procs.airflow("api_server", ["api-server", "--port", str(api_port), "--workers", "1"], dep.env)
    procs.airflow("scheduler", ["scheduler", "--skip-serve-logs"], dep.env)
    procs.airflow("dag_processor", ["dag-processor"], dep.env)
    dep.start_triggerer("main", "default")
    dep.start_triggerer("restart", "e2e_restart")
    # Each may hold half of the pair scenario's waits, so both hold some whichever is quicker to take them.
    dep.start_triggerer("pair_a", "e2e_pair", capacity=PAIR_WAITS // 2)
    dep.start_triggerer("pair_b", "e2e_pair", capacity=PAIR_WAITS // 2)
    dep.start_triggerer("outage", "e2e_outage")
    dep.start_triggerer("no_queue", None)  # asset watchers and tasks started in the triggerer have no queue
    if redis_url:
        for name in CELERY_WORKERS:
            start_celery_worker(dep, name)
    wait_healthy(dep, triggerers=6)
    if redis_url:
        wait_celery_ready(dep)
    done(began)

    began = step("waiting for the DAGs to be parsed, and unpausing them")
    dag_ids = [
        GATE_DAG,
        EVENTS_DAG,
        BULK_DAG,
        BULK_KILLED_DAG,
        "e2e_many_waits",
        "e2e_restart",
        "e2e_two_triggerers",
        "e2e_outage",
        "e2e_poison_row",
    ]
    dag_ids += START_DAGS
    if redis_url:
        dag_ids.append(CELERY_DAG)
    for dag_id in dag_ids:
        path = f"/dags/{dag_id}"
        wait_for(f"DAG {dag_id} to be parsed", functools.partial(dep.api_or_none, "GET", path), 180)
        dep.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    done(began)
    return dep


def alive_triggerer_jobs() -> dict[int, datetime]:
    """Running TriggererJob ids and their latest heartbeat, from the metadata database."""
    from airflow.jobs.job import Job
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(Job.id, Job.latest_heartbeat).where(Job.job_type == "TriggererJob", Job.state == "running")
        ).all()
    return {int(job_id): beat for job_id, beat in rows if beat is not None}


def heartbeat_age(beat: datetime) -> float:
    return time.time() - beat.timestamp()


def wait_healthy(dep: Deployment, triggerers: int) -> None:
    def healthy() -> bool:
        for proc in dep.procs.started:
            if not proc.alive() and proc.name != "db_migrate" and proc.popen.returncode not in (None, 0):
                raise E2EError(f"{proc.name} exited with status {proc.popen.returncode}:\n{tail(proc.log)}")
        health = dep.api_or_none("GET", "/monitor/health")
        if not health:
            return False
        parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
        if any((health.get(part) or {}).get("status") != "healthy" for part in parts):
            return False
        fresh = [job for job, beat in alive_triggerer_jobs().items() if heartbeat_age(beat) < TRIGGERER_HEALTH_SECONDS]
        return len(fresh) >= triggerers

    wait_for("every component to report healthy", healthy, 240, every=2.0)


# -- reading the metadata database and the task logs ------------------------------------------------
@dataclass(frozen=True)
class Ti:
    task_id: str
    map_index: int
    state: str
    try_number: int
    trigger_id: int | None
    end_date: datetime | None


def task_instances(dag_id: str, run_id: str) -> list[Ti]:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TI.task_id, TI.map_index, TI.state, TI.try_number, TI.trigger_id, TI.end_date).where(
                TI.dag_id == dag_id, TI.run_id == run_id
            )
        ).all()
    return [Ti(t, int(m), str(getattr(s, "value", s)), int(n or 0), g, e) for t, m, s, n, g, e in rows]


def run_state(dag_id: str, run_id: str) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return str(getattr(state, "value", state))


def triggers(trigger_ids: Sequence[int]) -> dict[int, tuple[int | None, dict[str, Any]]]:
    """Trigger id -> (the triggerer job holding it, its kwargs)."""
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Trigger).where(Trigger.id.in_(list(trigger_ids)))).all()
        return {row.id: (row.triggerer_id, dict(row.kwargs)) for row in rows}


def rewrite_trigger_kwargs(trigger_id: int, changes: dict[str, Any]) -> None:
    """What an older or newer release of this provider could have left in a row: written by Airflow's own model."""
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.get(Trigger, trigger_id)
        if row is None:
            raise E2EError(f"trigger row {trigger_id} is gone")
        row.kwargs = {**row.kwargs, **changes}


def mapped_waits(dag_id: str, run_id: str, count: int, task_id: str = "wait") -> list[Ti]:
    tis = [ti for ti in task_instances(dag_id, run_id) if ti.task_id == task_id and ti.map_index >= 0]
    return sorted(tis, key=lambda ti: ti.map_index) if len(tis) == count else []


def all_deferred_and_held(dag_id: str, run_id: str, count: int, task_ids: Sequence[str] = ("wait",)) -> list[Ti]:
    """Every wait deferred and its trigger held by a triggerer; the waits then, else []."""
    tis = [ti for ti in task_instances(dag_id, run_id) if ti.task_id in task_ids]
    if len(tis) != count or any(ti.state != "deferred" or ti.trigger_id is None for ti in tis):
        return []
    rows = triggers([ti.trigger_id for ti in tis if ti.trigger_id is not None])
    return tis if len(rows) == count and all(holder is not None for holder, _ in rows.values()) else []


def task_log_text(home: Path, dag_id: str, run_id: str, task_id: str, map_index: int = -1, part: str = "all") -> str:
    """What Airflow wrote for one task instance, every try: ``part`` is "worker" (the task's own runs),
    "trigger" (what each triggerer wrote for it, ``attempt=N.log.trigger.<job>.log``) or "all"."""
    folder = home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index >= 0:
        folder = folder / f"map_index={map_index}"
    pattern = {"worker": "attempt=*.log", "trigger": "attempt=*.log.trigger.*", "all": "attempt=*.log*"}[part]
    if not folder.is_dir():
        return ""
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob(pattern)))


def progress_lines(log_text: str, job_id: str) -> list[str]:
    return re.findall(re.escape(job_id) + r": (?:queued|working|completed)[^\"\n]*", log_text)


def per_interval(records: list[dict[str, Any]], start: float, intervals: int) -> list[int]:
    counts = [0] * intervals
    for record in records:
        slot = int((float(record["wall_time"]) - start) // POLL_SECONDS)
        if 0 <= slot < intervals:
            counts[slot] += 1
    return counts


# -- the scenarios ----------------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    title: str
    passed: bool = False
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def check(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)


def final_states(dag_id: str, run_id: str, timeout: float, expected: int | None = None) -> list[Ti]:
    def finished() -> list[Ti]:
        tis = task_instances(dag_id, run_id)
        if expected is not None and len([ti for ti in tis if ti.map_index >= 0 or ti.task_id != "wait"]) < expected:
            return []
        return tis if tis and all(ti.state in TERMINAL for ti in tis) else []

    return list(wait_for(f"every task of {dag_id} to finish", finished, timeout))


def scenario_gate(dep: Deployment, result: Result) -> None:
    run_id = dep.trigger(GATE_DAG, {})
    tis = final_states(GATE_DAG, run_id, 300)
    result.figures["tasks"] = {ti.task_id: ti.state for ti in tis}
    wait_for("the DAG run to end", lambda: run_state(GATE_DAG, run_id) in ("success", "failed"), 60)
    state = run_state(GATE_DAG, run_id)
    result.check(state == "success", f"the DAG run ended {state}")
    report = xcom(GATE_DAG, run_id, "report") or {}
    created = report.get("created_ticket_ids") or []
    rejected = [
        f"record {item.get('index')}: {item.get('error')} ({item.get('details') or 'no details'})"
        for item in report.get("failed_items") or []
    ]
    result.figures.update(job_id=report.get("job_id"), created=created, rejected=rejected)
    deferred = "Deferring" in task_log_text(dep.home, GATE_DAG, run_id, "wait_for_import")
    result.figures["sensor_deferred"] = deferred
    result.check(len(created) == 3 and len(rejected) == 1, f"expected 3 created and 1 rejected, got {report}")


def xcom(dag_id: str, run_id: str, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=task_id, key="return_value")
        ).all()
        return XComModel.deserialize_value(rows[0]) if rows else None


def scenario_many(dep: Deployment, result: Result, waits: int = 30) -> None:
    emu = dep.emulators["many"]
    dag_id = "e2e_many_waits"
    job_ids = emu.create_jobs(waits, work_seconds=lambda i: 5.0 + i)  # they finish over 7 to 36 s once time runs
    run_id = dep.trigger(dag_id, {"job_ids": job_ids})
    wait_for(
        f"{waits} waits deferred and held by the triggerer", lambda: all_deferred_and_held(dag_id, run_id, waits), 300
    )
    # The clock stands still: every job is pending. One interval to settle, then three measured.
    start = time.time() + POLL_SECONDS
    intervals = 3
    wait_for("the measured intervals to pass", lambda: time.time() >= start + intervals * POLL_SECONDS, 60, 0.5)
    measured = [r for r in emu.requests(SHOW_MANY) if start <= float(r["wall_time"]) < start + intervals * POLL_SECONDS]
    counts = per_interval(measured, start, intervals)
    ids_asked = {job for r in measured for job in urllib.parse.parse_qs(r["query"]).get("ids", [""])[0].split(",")}
    result.figures.update(waits=waits, show_many_per_interval=counts, ids_covered=len(ids_asked & set(job_ids)))
    result.check(max(counts) <= 2, f"show_many per {POLL_SECONDS:g} s interval while all pending: {counts} (max 2)")
    result.check(min(counts) >= 1, f"an interval without a show_many while waits were pending: {counts}")
    with clock_running(emu):
        tis = final_states(dag_id, run_id, 240)
    waits_tis = [ti for ti in tis if ti.task_id == "wait"]
    succeeded = sum(ti.state == "success" for ti in waits_tis)
    result.figures["succeeded"] = f"{succeeded}/{waits}"
    result.check(succeeded == waits, f"{waits - succeeded} of {waits} waits did not succeed")
    lines_per_task = []
    foreign = 0
    for ti in waits_tis:
        text = task_log_text(dep.home, dag_id, run_id, "wait", ti.map_index, part="trigger")
        mine = job_ids[ti.map_index]
        lines_per_task.append(len(progress_lines(text, mine)))
        foreign += sum(1 for other in job_ids if other != mine and other in text)
    result.figures.update(progress_lines_min=min(lines_per_task, default=0), foreign_ids_in_logs=foreign)
    result.check(min(lines_per_task, default=0) >= 2, f"a task log with too few progress lines: {lines_per_task}")
    result.check(foreign == 0, f"{foreign} mentions of other tasks' job ids in the task logs")


def scenario_restart(dep: Deployment, result: Result, waits: int = 3) -> None:
    emu = dep.emulators["restart"]
    dag_id = "e2e_restart"
    job_ids = emu.create_jobs(waits, work_seconds=lambda i: 3.0)
    never = emu.create_jobs(1, work_seconds=lambda i: 1e7)[0]
    run_id = dep.trigger(dag_id, {"job_ids": job_ids, "deadline_job_id": never})
    held = wait_for(
        "the waits deferred and held by the triggerer",
        lambda: all_deferred_and_held(dag_id, run_id, waits + 1, ("wait", "wait_deadline")),
        300,
    )
    deadline_ti = next(ti for ti in held if ti.task_id == "wait_deadline")
    holder, kwargs = triggers([deadline_ti.trigger_id or 0])[deadline_ti.trigger_id or 0]
    first_check, deadline = float(kwargs["started_at"]), float(kwargs["deadline"])
    since = time.time()
    wait_for("the triggerer to poll", lambda: any(float(r["wall_time"]) >= since for r in emu.requests()), 60, 0.5)
    # Kill it well after the first check, so "restart + timeout" and "first check + timeout" are far apart.
    wait_for("20 s after the first check", lambda: time.time() >= first_check + 20, 60, 0.5)
    old = dep.triggerers["restart"]
    dep.meant_to_exit.add(old.pid)
    dep.procs.kill_group(old, signal.SIGKILL)
    killed_at = time.time()
    old.popen.wait(timeout=30)
    dep.start_triggerer("restart", "e2e_restart")

    def taken_over() -> bool:
        rows = triggers([ti.trigger_id for ti in held if ti.trigger_id is not None])
        return all(h is not None and h != holder for h, _ in rows.values())

    wait_for("a new triggerer to take the waits over", taken_over, 120)
    restarted_at = time.time()
    left_deferred: list[float] = []

    def deadline_wait_left() -> bool:
        state = next(ti.state for ti in task_instances(dag_id, run_id) if ti.task_id == "wait_deadline")
        if state != "deferred":
            left_deferred.append(time.time())
        return bool(left_deferred)

    wait_for("the deadline wait to end", deadline_wait_left, DEADLINE_SECONDS + 90, 0.5)
    emu.advance(60)  # now the other jobs finish
    tis = final_states(dag_id, run_id, 180)
    ended = left_deferred[0]
    by_task = {(ti.task_id, ti.map_index): ti for ti in tis}
    deadline_state = by_task[("wait_deadline", -1)].state
    result.figures.update(
        kill_after_first_check=round(killed_at - first_check, 1),
        takeover_after_kill=round(restarted_at - killed_at, 1),
        timeout_after_first_check=round(ended - first_check, 1),
        timeout_after_restart=round(ended - restarted_at, 1),
        deadline_wait=deadline_state,
    )
    result.check(deadline_state == "failed", f"the deadline wait ended {deadline_state}, not failed by its timeout")
    result.check(
        deadline - 1 <= ended <= deadline + POLL_SECONDS + 15,
        f"the deadline wait ended {ended - first_check:.0f} s after its first check, not about {DEADLINE_SECONDS:g}",
    )
    result.check(ended < restarted_at + DEADLINE_SECONDS - 5, "the deadline counted from the restart")
    timeout_log = task_log_text(dep.home, dag_id, run_id, "wait_deadline")
    result.check("timeout" in timeout_log.lower() or "timed out" in timeout_log.lower(), "no timeout in its log")
    ends_once(dep, dag_id, run_id, [ti for ti in tis if ti.task_id == "wait"], job_ids, result)


def ends_once(dep: Deployment, dag_id: str, run_id: str, tis: list[Ti], job_ids: list[str], result: Result) -> None:
    """Every wait succeeded in its first try and its task came back from the triggerer once (no event fired twice)."""
    states = [ti.state for ti in tis]
    tries = [ti.try_number for ti in tis]
    fired, returns = [], []
    for ti in tis:
        fired.append(task_log_text(dep.home, dag_id, run_id, "wait", ti.map_index, "trigger").count(FIRED))
        # Each run of the task on a worker opens a "Pre Execute" group: the first run, then one per return.
        returns.append(task_log_text(dep.home, dag_id, run_id, "wait", ti.map_index, "worker").count(STARTED) - 1)
    result.figures.update(waits=f"{states.count('success')}/{len(job_ids)} succeeded", events=fired, returns=returns)
    result.check(states.count("success") == len(job_ids), f"wait states {states}")
    result.check(all(n == 1 for n in tries), f"tries per wait {tries}, expected 1 each")
    # The triggerer may cut the last lines of a trigger's log when it ends, so its "fired" line can be missing.
    result.check(all(n <= 1 for n in fired), f"trigger events per wait {fired}, expected at most 1 each")
    result.check(all(n == 1 for n in returns), f"returns from the triggerer per wait {returns}, expected 1 each")


def scenario_two_triggerers(dep: Deployment, result: Result, waits: int = PAIR_WAITS) -> None:
    emu = dep.emulators["pair"]
    dag_id = "e2e_two_triggerers"
    job_ids = emu.create_jobs(waits, work_seconds=lambda i: 3.0)
    run_id = dep.trigger(dag_id, {"job_ids": job_ids})
    held = wait_for("the waits deferred and held", lambda: all_deferred_and_held(dag_id, run_id, waits), 300)
    holders = [h for h, _ in triggers([ti.trigger_id for ti in held if ti.trigger_id is not None]).values()]
    spread = sorted(holders.count(h) for h in set(holders))
    start = time.time() + POLL_SECONDS
    intervals = 3
    wait_for("the measured intervals to pass", lambda: time.time() >= start + intervals * POLL_SECONDS, 60, 0.5)
    measured = [r for r in emu.requests(SHOW_MANY) if start <= float(r["wall_time"]) < start + intervals * POLL_SECONDS]
    counts = per_interval(measured, start, intervals)
    result.figures.update(waits_per_triggerer=spread, show_many_per_interval=counts)
    result.check(len(spread) == 2, f"the waits were held by {len(spread)} triggerer(s), not 2: {spread}")
    result.check(
        sum(counts) <= len(spread) * (intervals + 1),
        f"{sum(counts)} show_many in {intervals} intervals: more than one per triggerer per interval",
    )
    result.check(sum(counts) < waits * intervals, "as many requests as waits: the waits did not share a poller")
    emu.advance(60)
    tis = final_states(dag_id, run_id, 180)
    ends_once(dep, dag_id, run_id, [ti for ti in tis if ti.task_id == "wait"], job_ids, result)


def scenario_outage(dep: Deployment, result: Result, waits: int = 6) -> None:
    emu = dep.emulators["outage"]
    dag_id = "e2e_outage"
    job_ids = emu.create_jobs(waits, work_seconds=lambda i: 3.0)
    run_id = dep.trigger(dag_id, {"job_ids": job_ids})
    wait_for("the waits deferred and held", lambda: all_deferred_and_held(dag_id, run_id, waits), 300)
    since = time.time()
    wait_for("the triggerer to poll", lambda: any(float(r["wall_time"]) >= since for r in emu.requests()), 60, 0.5)
    emu.control("/faults", {"kind": "server_error"})
    began = time.time()
    ended_early: dict[int, float] = {}

    def outage_over() -> bool:
        for ti in mapped_waits(dag_id, run_id, waits):
            if ti.state != "deferred" and ti.map_index not in ended_early:
                ended_early[ti.map_index] = time.time() - began
        return time.time() >= began + OUTAGE_SECONDS

    wait_for("the outage to last its two minutes", outage_over, OUTAGE_SECONDS + 30, 1.0)
    emu.control("/faults", method="DELETE")
    outage_ended = time.time()
    served_503 = sum(1 for r in emu.requests() if r["status"] == 503)
    emu.advance(60)
    tis = [ti for ti in final_states(dag_id, run_id, 180) if ti.task_id == "wait"]
    succeeded = sum(ti.state == "success" for ti in tis)
    result.figures.update(
        outage_seconds=round(outage_ended - began),
        answered_503=served_503,
        survived=f"{succeeded}/{waits}",
        ended_during_outage=len(ended_early),
    )
    if ended_early:
        result.figures["first_end_into_outage_s"] = round(min(ended_early.values()), 1)
        failed = next(ti for ti in tis if ti.state != "success")
        result.figures["failure"] = last_error(task_log_text(dep.home, dag_id, run_id, "wait", failed.map_index))
    result.check(succeeded == waits, f"{waits - succeeded} of {waits} waits did not survive the outage")


def last_error(log_text: str) -> str:
    messages = re.findall(r"\"event\": ?\"([^\"]*(?:Zendesk|retry|budget|503)[^\"]*)\"", log_text)
    return messages[-1][:240] if messages else "(no message found in the task log)"


def scenario_poison(dep: Deployment, result: Result, waits: int = 3, poisoned: int = 1) -> None:
    emu = dep.emulators["poison"]
    dag_id = "e2e_poison_row"
    job_ids = emu.create_jobs(waits, work_seconds=lambda i: 3.0)
    run_id = dep.trigger(dag_id, {"job_ids": job_ids})

    def deferred() -> list[Ti]:
        tis = mapped_waits(dag_id, run_id, waits)
        return tis if tis and all(ti.state == "deferred" and ti.trigger_id is not None for ti in tis) else []

    tis = wait_for("the waits deferred (no triggerer runs their queue yet)", deferred, 300)
    bad = tis[poisoned]
    garbage = {"job_ids": "../etc", "poll_interval": -1}
    rewrite_trigger_kwargs(bad.trigger_id or 0, garbage)
    proc = dep.start_triggerer("poison", "e2e_poison")
    pid = proc.pid

    holders: set[int] = set()

    def held() -> bool:
        rows = triggers([ti.trigger_id for ti in tis if ti.trigger_id is not None])
        holders.update(h for h, _ in rows.values() if h is not None)
        return all(h is not None for h, _ in rows.values()) or not proc.alive()

    wait_for("the poison triggerer to take the rows", held, 120)
    emu.advance(60)

    def settled() -> bool:
        now = {ti.map_index: ti.state for ti in mapped_waits(dag_id, run_id, waits)}
        return all(state in TERMINAL for state in now.values()) or not proc.alive()

    try:
        wait_for("the good waits to succeed and the bad one to fail", settled, 120)
    except E2EError as exc:
        result.problems.append(str(exc))
    # Still up after everything settled: the same process, and the triggerer job that took the rows still beating.
    beats = alive_triggerer_jobs()
    beating = bool(holders) and all(h in beats and heartbeat_age(beats[h]) < TRIGGERER_HEALTH_SECONDS for h in holders)
    states = {ti.map_index: ti.state for ti in mapped_waits(dag_id, run_id, waits)}
    good = [states[i] for i in range(waits) if i != poisoned]
    bad_log = task_log_text(dep.home, dag_id, run_id, "wait", poisoned)
    clear = "../etc" in bad_log or "poll_interval" in bad_log
    result.figures.update(
        garbage_kwargs=garbage,
        good_waits=good,
        bad_wait=states[poisoned],
        triggerer_pid_alive=proc.alive(),
        triggerer_heartbeat=beating,
        triggerer_exit=proc.popen.returncode,
    )
    result.check(all(s == "success" for s in good), f"the good waits ended {good}")
    result.check(states[poisoned] == "failed", f"the poisoned wait ended {states[poisoned]}, not failed")
    result.check(clear, "the poisoned task's log does not name the bad value")
    result.check(proc.alive() and proc.pid == pid, f"the triggerer (pid {pid}) is gone, exit {proc.popen.returncode}")
    result.check(beating or not proc.alive(), "the triggerer process is up but its job no longer heartbeats")
    if not proc.alive():
        crash = re.findall(r"[A-Za-z]*Error: [^\n\"]{0,200}", proc.log.read_text(errors="replace"))
        result.figures["triggerer_last_error"] = crash[-1] if crash else "(none logged)"


def list_reads(emu: Emulator, since: float = 0.0) -> list[float]:
    """Wall times of the reads of the job list itself (not of single jobs or show_many)."""
    return [
        float(r["wall_time"])
        for r in emu.requests()
        if r["path"] == STATUS_READS and float(r["wall_time"]) >= since
    ]


def dag_runs(dep: Deployment, dag_id: str) -> list[dict[str, Any]]:
    answer = dep.api_or_none("GET", f"/dags/{dag_id}/dagRuns?order_by=run_after") or {}
    return list(answer.get("dag_runs") or [])


def asset_events(dep: Deployment) -> list[dict[str, Any]]:
    answer = dep.api_or_none("GET", "/assets/events?limit=100") or {}
    return list(answer.get("asset_events") or [])


def watcher_cursor() -> list[str]:
    """The job ids the watcher keeps in its asset's state store (Airflow 3.3+)."""
    from airflow.models.asset_state_store import AssetStateStoreModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        values = session.scalars(
            select(AssetStateStoreModel.value).where(AssetStateStoreModel.key.startswith("zendesk_jobs.reported."))
        ).all()
    return sorted(job_id for value in values for job_id in json.loads(value))


def scenario_events(dep: Deployment, result: Result) -> None:
    with dep.no_queue_turn:
        events_through_a_restart(dep, result)


def events_through_a_restart(dep: Deployment, result: Result) -> None:
    emu = dep.emulators["events"]
    body = {"kind": "tickets_import", "count": 2, "queued_seconds": 0, "work_seconds": 1e7}
    first, second = (str(emu.control("/jobs", body)["job_status"]["id"]) for _ in range(2))
    wait_for("the watcher to read the job list twice", lambda: len(list_reads(emu)) >= 2, 300)

    def killed_starts_one_run(job_id: str, runs_before: int) -> dict[str, Any]:
        emu.control(f"/jobs/{job_id}/status", {"status": "killed"})
        killed_at = time.time()

        def new_run() -> list[dict[str, Any]] | None:
            runs = dag_runs(dep, EVENTS_DAG)
            return runs if len(runs) > runs_before else None

        runs = wait_for(f"a run of {EVENTS_DAG} for {job_id}", new_run, 120)
        run = runs[-1]
        queued_at = datetime.fromisoformat(str(run["queued_at"])).timestamp()
        reads = [t for t in list_reads(emu, killed_at) if t <= queued_at]
        wait_for("the run to end", lambda: run_state(EVENTS_DAG, run["dag_run_id"]) in ("success", "failed"), 120)
        reported = xcom(EVENTS_DAG, run["dag_run_id"], "report_failed_jobs") or []
        result.check(run_state(EVENTS_DAG, run["dag_run_id"]) == "success", f"the run for {job_id} did not succeed")
        result.check([job.get("job_id") for job in reported] == [job_id], f"the run reported {reported}, not {job_id}")
        result.check(len(reads) <= 2, f"{len(reads)} reads of the job list between the kill and the run (max 2)")
        return {"reads_to_run": len(reads), "seconds_to_run": round(queued_at - killed_at, 1)}

    def no_new_run_for(reads: int, runs: int, what: str) -> None:
        since = time.time()
        wait_for(f"{reads} more reads of the job list", lambda: len(list_reads(emu, since)) >= reads, 120)
        now = len(dag_runs(dep, EVENTS_DAG))
        result.check(now == runs, f"{what}: {now} runs of {EVENTS_DAG}, not {runs}")

    result.figures["first_kill"] = killed_starts_one_run(first, 0)
    no_new_run_for(3, 1, "after the first kill")
    old = dep.triggerers["no_queue"]
    dep.meant_to_exit.add(old.pid)
    dep.procs.kill_group(old, signal.SIGKILL)
    old.popen.wait(timeout=30)
    dep.start_triggerer("no_queue", None)
    no_new_run_for(3, 1, "after the watcher's triggerer restarted")
    result.figures["kill_after_restart"] = killed_starts_one_run(second, 1)
    no_new_run_for(2, 2, "after the second kill")
    fired = [e for e in asset_events(dep) if (e.get("extra") or {}).get("from_trigger")]
    result.figures.update(
        events_fired=len(fired),
        runs=len(dag_runs(dep, EVENTS_DAG)),
        watch_seconds=WATCH_SECONDS,
        list_reads=len(list_reads(emu)),
    )
    result.check(len(fired) == 2, f"{len(fired)} asset events from the watcher, not 2 (one per killed job)")
    cursor = watcher_cursor()
    result.figures["cursor_in_state_store"] = cursor
    result.check(cursor == sorted([first, second]), f"the asset state store holds {cursor}, not both killed jobs")


def task_pid(dag_id: str, run_id: str, task_id: str) -> tuple[int | None, int, str]:
    """``(pid, try_number, state)`` of a task instance: the pid of the process running its try."""
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.execute(
            select(TI.pid, TI.try_number, TI.state).where(
                TI.dag_id == dag_id, TI.run_id == run_id, TI.task_id == task_id
            )
        ).first()
    if row is None:
        return None, 0, "none"
    return row[0], int(row[1] or 0), str(getattr(row[2], "value", row[2]))


def scenario_bulk(dep: Deployment, result: Result) -> None:
    with dep.write_lock:
        dep.api("POST", "/pools", {"name": "zendesk_jobs", "slots": 4, "include_deferred": True})
    emu = dep.emulators["bulk"]
    with clock_running(emu):
        run_id = dep.trigger(BULK_DAG, {})
        tis = final_states(BULK_DAG, run_id, 300)
    result.figures["example_tasks"] = {ti.task_id: ti.state for ti in tis}
    value = xcom(BULK_DAG, run_id, "import_tickets") or {}
    records = emu.control("/records")
    result.figures.update(
        example_result={key: value.get(key) for key in ("records", "succeeded", "failed")},
        example_jobs=len(value.get("jobs") or []),
        example_records_received=records["total"],
        example_duplicates=len(records["duplicates"]),
        example_deferred="Pausing task as DEFERRED" in task_log_text(dep.home, BULK_DAG, run_id, "import_tickets"),
    )
    result.check(
        all(ti.state == "success" for ti in tis), f"the example's tasks ended {result.figures['example_tasks']}"
    )
    result.check(
        (value.get("succeeded"), value.get("failed")) == (990, 10), f"expected 990 imported, 10 rejected: {value}"
    )
    result.check(records["total"] == 1000 and not records["duplicates"], f"the example's records: {records}")

    kill_emu = dep.emulators["bulk_kill"]  # its clock stands still: the first jobs stay active until the kill
    run_id = dep.trigger(BULK_KILLED_DAG, {})

    def five_active() -> int | None:
        pid, tries, state = task_pid(BULK_KILLED_DAG, run_id, "import_tickets")
        received = kill_emu.control("/records")["total"]
        return pid if pid and state == "running" and tries == 1 and received == 500 else None

    pid = int(wait_for("the bulk import to have 5 jobs active", five_active, 240))
    os.kill(pid, signal.SIGKILL)
    with clock_running(kill_emu):
        tis = final_states(BULK_KILLED_DAG, run_id, 300)
    _, tries, state = task_pid(BULK_KILLED_DAG, run_id, "import_tickets")
    records = kill_emu.control("/records")
    value = xcom(BULK_KILLED_DAG, run_id, "import_tickets") or {}
    result.figures.update(
        killed_pid=pid,
        killed_task_state=state,
        killed_task_tries=tries,
        killed_records_received=records["total"],
        killed_duplicates=len(records["duplicates"]),
        killed_result={key: value.get(key) for key in ("records", "succeeded", "failed")},
    )
    result.check(state == "success" and tries == 2, f"the killed import ended {state} after {tries} tries")
    result.check(records["total"] == 1000 and not records["duplicates"], f"after the kill, the records: {records}")
    result.check(value.get("succeeded") == 1000, f"the next try's result: {value}")


# -- the CeleryExecutor: two workers, each its own disk, one killed mid-import -------------------------
@dataclass(frozen=True)
class TryOn:
    """Where a task instance's try runs or ran: its try, state, pid and hostname (a Celery worker's name)."""

    try_number: int
    state: str
    pid: int | None
    hostname: str


def celery_try(run_id: str) -> TryOn:
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.execute(
            select(TI.try_number, TI.state, TI.pid, TI.hostname).where(
                TI.dag_id == CELERY_DAG, TI.run_id == run_id, TI.task_id == "import_tickets"
            )
        ).first()
    if row is None:
        return TryOn(0, "none", None, "")
    return TryOn(int(row[0] or 0), str(getattr(row[1], "value", row[1])), row[2], str(row[3] or ""))


def earlier_tries(run_id: str) -> list[TryOn]:
    """The tries Airflow moved to its history table when it made the next one."""
    from airflow.models.taskinstancehistory import TaskInstanceHistory as TIH
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TIH.try_number, TIH.state, TIH.pid, TIH.hostname)
            .where(TIH.dag_id == CELERY_DAG, TIH.run_id == run_id, TIH.task_id == "import_tickets")
            .order_by(TIH.try_number)
        ).all()
    return [TryOn(int(n or 0), str(getattr(st, "value", st)), pid, str(host or "")) for n, st, pid, host in rows]


def parent_pids() -> dict[int, int]:
    """pid -> parent pid of every process on the machine, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ")".
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(root: int, parents: dict[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pid_alive(pid: int) -> bool:
    """Running (a zombie whose parent died may wait for a reaper that never comes: it counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def scenario_celery(dep: Deployment, result: Result) -> None:
    """A bulk import on two Celery workers with their own disks: the one running it dies, the other finishes it."""
    logs = ", ".join(f"logs_e2e/{name}.log" for name in dep.celery_workers)

    def hint() -> str:
        return "".join(f"\n  {proc.log}:\n{tail(proc.log, 8)}" for proc in dep.celery_workers.values())

    with dep.write_lock:
        dep.api("POST", "/pools", {"name": CELERY_POOL, "slots": 1, "include_deferred": True})
    emu = dep.emulators["bulk_celery"]  # its clock stands still: the first jobs stay active until the kill
    run_id = dep.trigger(CELERY_DAG, {})

    def five_active() -> TryOn | None:
        now = celery_try(run_id)
        if now.try_number != 1 or now.state != "running" or not now.pid or now.hostname not in dep.celery_workers:
            return None
        return now if emu.control("/records")["total"] == 500 else None

    try:
        first = wait_for("the import to run on a Celery worker with 5 jobs active", five_active, 240)
    except E2EError as exc:
        raise E2EError(f"{exc} (the task is {celery_try(run_id)}); the workers' logs:{hint()}") from None
    worker = dep.celery_workers[first.hostname]
    parents = parent_pids()
    lineage, pid = [], first.pid
    while pid and pid not in lineage:
        lineage.append(pid)
        pid = parents.get(pid, 0)
    result.check(
        worker.pid in lineage, f"the TI says {first.hostname}, but its task (pid {first.pid}) is not under that worker"
    )
    # The whole worker, as when its machine dies: its process group, and what left it (the task's own group).
    victims = [worker.pid, *descendants(worker.pid, parents)]
    dep.meant_to_exit.add(worker.pid)
    dep.procs.kill_group(worker, signal.SIGKILL)
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    worker.popen.wait(timeout=30)
    wait_for("every process of the killed worker to be gone", lambda: not any(map(pid_alive, victims)), 30, 0.2)
    at_kill = emu.control("/records")["total"]
    other = next(name for name in dep.celery_workers if name != first.hostname)
    retried: list[float] = []

    def next_try_started() -> bool:
        if not retried and celery_try(run_id).try_number >= 2:
            retried.append(time.monotonic() - killed_at)
        return bool(retried)

    with clock_running(emu):
        try:
            wait_for("the scheduler to start the next try", next_try_started, TASK_HEARTBEAT_TIMEOUT + 150)
            final_states(CELERY_DAG, run_id, 300)
        except E2EError as exc:
            raise E2EError(f"{exc} (the task is {celery_try(run_id)}; see {logs}):{hint()}") from None
    last = celery_try(run_id)
    history = earlier_tries(run_id)
    records = emu.control("/records")
    value = xcom(CELERY_DAG, run_id, "import_tickets") or {}
    result.figures.update(
        workers=list(dep.celery_workers),
        killed_worker=first.hostname,
        killed_pids=len(victims),
        records_at_kill=at_kill,
        next_try_after_kill_s=round(retried[0], 1) if retried else None,
        tries={t.try_number: f"{t.hostname or '?'}: {t.state}" for t in [*history, last]},
        task_state=last.state,
        records_received=records["total"],
        duplicates=len(records["duplicates"]),
        result={key: value.get(key) for key in ("records", "succeeded", "failed")},
    )
    result.check(last.state == "success", f"the import ended {last.state} after {last.try_number} tries")
    result.check(
        last.hostname == other, f"its last try (try {last.try_number}) ran on {last.hostname!r}, not on {other}"
    )
    result.check(
        records["total"] == CELERY_RECORDS and not records["duplicates"],
        f"{records['total']} records received, {len(records['duplicates'])} of them more than once "
        f"(expected {CELERY_RECORDS}, none twice)",
    )
    counted = (value.get("succeeded") or 0) + (value.get("failed") or 0)
    result.check(
        value.get("records") == CELERY_RECORDS and counted == CELERY_RECORDS,
        f"the result counts {value.get('records')} records, {counted} succeeded or failed (expected {CELERY_RECORDS})",
    )


# -- starting in the triggerer (Airflow 3.3's start_from_trigger) ---------------------------------------
#: The two DAGs of the scenario (tests/e2e/dags/e2e_start_in_triggerer.py), unpaused with the others.
START_DAGS = ["e2e_start_from_trigger_off", "e2e_start_from_trigger_on"]


def scenario_start_in_triggerer(dep: Deployment, result: Result, waits: int = 30) -> None:
    """30 waits with and without ``start_from_trigger``: the tasks a worker ran, and the requests to Zendesk."""
    # Airflow 3.3 creates a started-in-triggerer trigger with no queue: only a triggerer without --queues takes it.
    with dep.no_queue_turn:
        waits_with_and_without(dep, result, waits)


def waits_with_and_without(dep: Deployment, result: Result, waits: int) -> None:
    emu = dep.emulators["start"]
    for mode in ("off", "on"):
        dag_id = f"e2e_start_from_trigger_{mode}"
        before = len(emu.requests(""))
        job_ids = emu.create_jobs(waits, work_seconds=lambda i: 5.0 + i)
        run_id = dep.trigger(dag_id, {"job_ids": job_ids})
        wait_for(
            f"{waits} waits of {dag_id} deferred",
            lambda: sum(ti.state == "deferred" for ti in task_instances(dag_id, run_id)) == waits,  # noqa: B023
            300,
        )
        with clock_running(emu):
            tis = final_states(dag_id, run_id, 300, expected=waits)
        succeeded = sum(ti.state == "success" for ti in tis)
        requests = emu.requests("")[before:]
        single_id = sum(
            1
            for r in requests
            if r["path"].startswith(SHOW_MANY)
            and len(urllib.parse.parse_qs(r["query"]).get("ids", [""])[0].split(",")) == 1
        )
        runs = dep.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        # "attempt=*.log" also matches the triggerer's "attempt=1.log.trigger.N.log": a worker's log has no ".trigger."
        worker_logs = [
            "\n".join(
                p.read_text(errors="replace")
                for p in runs.glob(f"task_id={ti.task_id}/attempt=*.log")
                if ".trigger." not in p.name
            )
            for ti in tis
        ]
        on_worker = sum(1 for text in worker_logs if text.strip())
        deferrals = sum(text.count("Deferring: the triggerer checks") for text in worker_logs)
        result.figures[mode] = {
            "succeeded": f"{succeeded}/{waits}",
            "tasks_run_on_a_worker": on_worker,
            "worker_deferrals": deferrals,
            "requests": len(requests),
            "single_id_checks": single_id,
        }
        result.check(succeeded == waits, f"{mode}: {waits - succeeded} of {waits} waits did not succeed")
    on, off = result.figures["on"], result.figures["off"]
    result.check(on["tasks_run_on_a_worker"] == 0, f"started in the triggerer, yet a worker ran tasks: {on}")
    # A worker's first check is a single-id show_many; so is the poller's first cycle when one trigger
    # arrived before the others. With no worker task, every request left is the poller's: fewer than
    # the worker's checks alone would be.
    result.check(off["single_id_checks"] >= waits, f"without start_from_trigger each task checks once first: {off}")
    result.check(on["requests"] < waits, f"started in the triggerer, {on['requests']} requests for {waits} waits: {on}")
    result.check(off["worker_deferrals"] == waits, f"without start_from_trigger every wait defers from a worker: {off}")


SCENARIOS: list[tuple[str, str, Callable[[Deployment, Result], None]]] = [
    ("gate", "1. example gate DAG", scenario_gate),
    ("many", "2. 30 deferred sensors", scenario_many),
    ("restart", "3. kill -9 of the triggerer", scenario_restart),
    ("two_triggerers", "4. two triggerers", scenario_two_triggerers),
    ("outage", "5. 2-minute 503 outage", scenario_outage),
    ("poison_row", "6. poison trigger row", scenario_poison),
    ("events", "7. a killed job starts a DAG", scenario_events),
    ("bulk", "8. bulk import, killed worker", scenario_bulk),
    ("start_in_triggerer", "9. 30 waits started in the triggerer, and not", scenario_start_in_triggerer),
    ("celery", "10. Celery worker killed mid-import", scenario_celery),
]


def run_scenario(dep: Deployment, result: Result, body: Callable[[Deployment, Result], None]) -> None:
    began = time.monotonic()
    try:
        body(dep, result)
    except Interrupted:
        result.problems.append("interrupted")
    except Exception as exc:  # a scenario's failure is its own, the others go on
        result.problems.append(f"{type(exc).__name__}: {exc}")
        if not isinstance(exc, E2EError):
            result.figures["traceback"] = traceback.format_exc(limit=4)
    result.passed = not result.problems
    result.seconds = round(time.monotonic() - began, 1)
    print(f"  {'PASS' if result.passed else 'FAIL'} {result.title} ({result.seconds:.0f} s)", flush=True)


def run_all(dep: Deployment, results: list[Result]) -> None:
    bodies = {name: body for name, _, body in SCENARIOS}
    threads = [
        threading.Thread(target=run_scenario, args=(dep, r, bodies[r.name]), name=r.name, daemon=True) for r in results
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=1.0)
            if remaining() <= CLEANUP_SECONDS - 10:
                STOP.set()
    gone = [
        f"{p.name} (pid {p.pid}, exit {p.popen.returncode})"
        for p in dep.procs.started
        if not p.alive() and p.pid not in dep.meant_to_exit and p.name != "db_migrate" and p.name != "triggerer_poison"
    ]
    if gone:
        deployment = Result("deployment", "0. every process stayed up", figures={"exited": gone})
        deployment.problems.append("processes exited on their own: " + ", ".join(gone))
        results.insert(0, deployment)


# -- the summary ------------------------------------------------------------------------------------
def headline(results: list[Result]) -> dict[str, Any]:
    by = {r.name: r for r in results}

    def figs(name: str, *keys: str) -> dict[str, Any] | None:
        if name not in by:
            return None
        return {"passed": by[name].passed, **{key: by[name].figures.get(key) for key in keys}}

    return {
        "requests_per_interval_at_30_waits": figs("many", "show_many_per_interval", "waits", "succeeded"),
        "outage_survived": figs("outage", "outage_seconds", "survived", "first_end_into_outage_s"),
        "restart": figs("restart", "timeout_after_first_check", "timeout_after_restart", "waits", "returns"),
        "poison_row": figs("poison_row", "good_waits", "bad_wait", "triggerer_pid_alive", "triggerer_heartbeat"),
        "two_triggerers": figs("two_triggerers", "waits_per_triggerer", "show_many_per_interval", "waits", "returns"),
        "events": figs("events", "first_kill", "kill_after_restart", "events_fired", "runs"),
        "bulk": figs("bulk", "example_records_received", "killed_task_tries", "killed_records_received"),
        "celery": figs("celery", "killed_worker", "tries", "records_received", "duplicates"),
    }


def summarise(results: list[Result], db: str, wall: float, home: Path) -> None:
    print("\nSummary")
    for r in results:
        if not r.passed and not r.problems:
            r.problems.append("did not finish")
        print(f"  {'PASS' if r.passed else 'FAIL'}  {r.title:<30} {r.seconds:6.0f} s")
        for key, value in r.figures.items():
            if key != "traceback":
                print(f"          {key}: {value}")
        for problem in r.problems:
            print(f"          problem: {problem}")
    print(f"  wall time {wall:.0f} s on {db}")
    summary = {
        "db": db,
        "wall_time_seconds": round(wall, 1),
        "passed": all(r.passed for r in results),
        **headline(results),
        "scenarios": [
            {
                "name": r.name,
                "title": r.title,
                "passed": r.passed,
                "seconds": r.seconds,
                "figures": r.figures,
                "problems": r.problems,
            }
            for r in results
        ],
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / "e2e_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"  written to {home / 'e2e_summary.json'}")


def step(text: str) -> float:
    print(f"- {text} ...", end="", flush=True)
    return time.monotonic()


def done(began: float) -> None:
    print(f" done ({time.monotonic() - began:.0f} s)", flush=True)


def celery_plan(only: Sequence[str], redis_url: str) -> tuple[str | None, str | None]:
    """``(the Redis URL the celery scenario runs with, or None; the line that says it is skipped, or None)``.

    Without Redis the other scenarios still run; only ``--only celery`` makes a missing Redis an error.
    """
    wanted = not only or "celery" in only
    if not wanted:
        return None, None
    if redis_url:
        return redis_url, None
    if only:
        raise E2EError("--only celery needs Redis, the Celery broker: set E2E_REDIS_URL (see the README)")
    return None, "- skipping 10. celery: no E2E_REDIS_URL (Redis, the Celery broker; see the README's make e2e)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--airflow-home", type=Path, default=ROOT / ".airflow_home_e2e")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default=os.environ.get("E2E_DB") or "sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("E2E_PG_URL") or DEFAULT_PG_URL)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("E2E_REDIS_URL") or "",
        help="Redis for the celery scenario's broker (E2E_REDIS_URL); without it that scenario is skipped",
    )
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds the whole run may take")
    parser.add_argument("--only", nargs="*", default=[], help="run only these scenarios (names in the summary)")
    args = parser.parse_args(argv)
    args.airflow_home = args.airflow_home.resolve()
    try:
        args.celery_redis, skipped = celery_plan(args.only, args.redis_url)
    except E2EError as exc:
        parser.error(str(exc))
    began = time.monotonic()
    DEADLINE[0] = began + args.deadline

    def on_signal(signum: int, frame: FrameType | None) -> None:
        STOP.set()
        raise Interrupted(f"signal {signum}")

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    print(f"Zendesk jobs e2e: a real Airflow deployment on {args.db}, against the built-in emulator")
    if skipped:
        print(skipped, flush=True)
    procs: Processes | None = None
    results: list[Result] = []
    code = 1
    try:
        dep = start_deployment(args)
        procs = dep.procs
        chosen = [name for name, _, _ in SCENARIOS if (not args.only or name in args.only)]
        chosen = [name for name in chosen if name != "celery" or args.celery_redis]
        print(f"- running {len(chosen)} scenarios side by side", flush=True)
        results.extend(Result(name, title) for name, title, _ in SCENARIOS if name in chosen)
        run_all(dep, results)
        code = 0 if results and all(r.passed for r in results) else 1
    except E2EError as exc:
        print(f"\nThe e2e run FAILED: {exc}", file=sys.stderr)
    except (Interrupted, KeyboardInterrupt) as exc:
        print(f"\nThe e2e run was interrupted ({exc}).", file=sys.stderr)
        code = 130
    finally:
        STOP.set()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)  # the cleanup itself is not interrupted
        if procs is None:
            procs = _PROCS[0]
        if procs is not None:
            print("- stopping every process this run started", flush=True)
            procs.stop_all()
        summarise(results, args.db, time.monotonic() - began, args.airflow_home)
    return code


if __name__ == "__main__":
    sys.exit(main())
