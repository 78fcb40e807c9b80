"""The DAGs ``make e2e`` runs: they parse, and each scenario's waits sit on its own connection and trigger queue.

The harness (``scripts/e2e/``) relies on both: a scenario's request counts are its own emulator's, and a
triggerer killed or poisoned in one scenario holds no other scenario's waits.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_zendesk_jobs.version_compat import AIRFLOW_V_3_3_PLUS

pytestmark = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS, reason="make e2e runs on Airflow 3.3 (its DAGs use 3.3's trigger queues)"
)

ROOT = Path(__file__).resolve().parents[2]
E2E_DAGS = ROOT / "scripts" / "e2e" / "dags"


@pytest.fixture
def celery_beside_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """The executors of ``make e2e`` with Redis: a DAG's task may name the CeleryExecutor only where it is configured.

    Airflow caches the executors it read from the config in its loader's module; each test gets
    empty caches, and the ones it had before come back after it.
    """
    from collections import defaultdict

    from airflow.executors import executor_loader

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor,CeleryExecutor")
    monkeypatch.setattr(executor_loader, "_executor_names", [])
    monkeypatch.setattr(executor_loader, "_alias_to_executors_per_team", defaultdict(dict))
    monkeypatch.setattr(executor_loader, "_module_to_executors_per_team", defaultdict(dict))
    monkeypatch.setattr(executor_loader, "_classname_to_executors_per_team", defaultdict(dict))
    monkeypatch.setattr(executor_loader, "_team_name_to_executors", defaultdict(list))


@pytest.mark.usefixtures("celery_beside_local")
def test_every_e2e_dag_parses_on_its_own_connection_and_queue():
    from tests.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(E2E_DAGS))
    assert bag.import_errors == {}
    seen: set[tuple[str, str]] = set()
    for dag_id in ("e2e_many_waits", "e2e_restart", "e2e_two_triggerers", "e2e_outage", "e2e_poison_row"):
        wait = bag.dags[dag_id].get_task("wait")
        assert wait.partial_kwargs["deferrable"] is True
        place = (wait.partial_kwargs["zendesk_conn_id"], wait.partial_kwargs["queue"])
        assert place not in seen, f"{dag_id} shares {place} with another scenario"
        seen.add(place)
    deadline = bag.dags["e2e_restart"].get_task("wait_deadline")
    assert deadline.deferrable is True


@pytest.mark.usefixtures("celery_beside_local")
def test_the_deployment_links_every_dag_it_unpauses_and_names_a_worker_hostname_that_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.utils.net import get_hostname

    from scripts.e2e import config
    from scripts.e2e.deployment import WORKER_HOSTNAME, dag_files, dag_ids
    from tests.airflow_compat import DagBag

    for source in dag_files(with_celery=True):
        (tmp_path / source.name).symlink_to(source)
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    assert set(dag_ids(with_celery=True)) <= set(bag.dags)
    # Without Redis the Celery DAG is neither linked nor waited for.
    assert config.CELERY_DAG_FILE not in dag_files(with_celery=False)
    assert config.CELERY_DAG not in dag_ids(with_celery=False)
    # What a Celery worker's task instances report as their hostname: the name the worker was started under.
    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", WORKER_HOSTNAME)
    monkeypatch.setenv("E2E_WORKER_HOSTNAME", "celery_a")
    assert get_hostname() == "celery_a"


def load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_the_script_agrees_with_the_dags_on_poll_interval_and_deadline():
    from scripts.e2e import config

    dags = load(E2E_DAGS / "e2e_zendesk_waits.py", "e2e_zendesk_waits")
    assert (config.POLL_SECONDS, config.DEADLINE_SECONDS) == (dags.POLL_SECONDS, dags.DEADLINE_SECONDS)
    # The outage must stay shorter than every wait's timeout, or the waits would end as timeouts.
    assert config.OUTAGE_SECONDS < dags.LONG_TIMEOUT


def test_requests_are_counted_per_poll_interval():
    from airflow_provider_zendesk_jobs.testing import RequestRecord
    from scripts.e2e.config import SHOW_MANY
    from scripts.e2e.scenarios.common import per_interval

    start = 1000.0

    def show_many_at(offset: float) -> RequestRecord:
        return RequestRecord(
            time=0.0, wall_time=start + offset, method="GET", path=SHOW_MANY, query="ids=1", status=200,
            auth="basic", fault=None,
        )  # fmt: skip

    records = [show_many_at(offset) for offset in (0.0, 4.9, 5.0, 12.0, 14.99, 15.0, -0.1)]
    assert per_interval(records, start, 3) == [2, 1, 2]


def test_the_killed_bulk_import_waits_in_its_worker_with_a_next_try_on_its_own_connection() -> None:
    from tests.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(E2E_DAGS))
    task = bag.dags["e2e_bulk_killed"].get_task("import_tickets")
    assert task.deferrable is False and task.retries == 1
    assert task.zendesk_conn_id == "zendesk_bulk_kill" and task.max_active_jobs == 5
    assert len(task.records) == 1000 and len({r["external_id"] for r in task.records}) == 1000


@pytest.mark.usefixtures("celery_beside_local")
def test_the_celery_import_runs_on_the_scripts_queue_with_the_default_ledger_and_next_tries() -> None:
    from scripts.e2e import config
    from tests.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(E2E_DAGS))
    task = bag.dags[config.CELERY_DAG].get_task("import_tickets")
    assert (task.executor, task.queue, task.pool) == ("CeleryExecutor", config.CELERY_QUEUE, config.CELERY_POOL)
    assert task.deferrable is False and task.retries == 2 and task.max_active_jobs == 5
    # No ledger_path: the scenario proves that the default carries an import from one worker to another.
    assert task.ledger_path is None
    assert task.zendesk_conn_id == "zendesk_bulk_celery"
    assert len(task.records) == config.CELERY_RECORDS == len({r["external_id"] for r in task.records})


def test_without_redis_the_celery_scenario_is_skipped_unless_asked_for_alone() -> None:
    from scripts.e2e.__main__ import celery_plan
    from scripts.e2e.harness import E2EError

    assert celery_plan([], "redis://127.0.0.1:6390/0") == ("redis://127.0.0.1:6390/0", None)
    url, skipped = celery_plan([], "")
    assert url is None and "E2E_REDIS_URL" in skipped
    assert celery_plan(["bulk"], "") == (None, None)
    with pytest.raises(E2EError, match="E2E_REDIS_URL"):
        celery_plan(["celery"], "")


def test_a_tasks_worker_log_leaves_out_what_the_triggerer_wrote_for_it(tmp_path: Path) -> None:
    from scripts.e2e.task_logs import task_log_text

    folder = tmp_path / "logs" / "dag_id=d" / "run_id=r" / "task_id=wait"
    folder.mkdir(parents=True)
    (folder / "attempt=1.log").write_text("worker 1")
    (folder / "attempt=1.log.trigger.7.log").write_text("triggerer 7")
    (folder / "attempt=2.log").write_text("worker 2")
    assert task_log_text(tmp_path, "d", "r", "wait", part="worker") == "worker 1\nworker 2"
    assert task_log_text(tmp_path, "d", "r", "wait", part="trigger") == "triggerer 7"
    assert task_log_text(tmp_path, "d", "r", "wait").count("\n") == 2


def test_a_run_in_which_nothing_ran_is_not_a_pass(tmp_path: Path) -> None:
    import json

    from scripts.e2e import summary

    summary.summarise([], "sqlite", 1.0, tmp_path)
    assert json.loads((tmp_path / "e2e_summary.json").read_text())["passed"] is False
