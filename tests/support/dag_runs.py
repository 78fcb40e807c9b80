"""Running a DAG in the test process (``dag.test()``) and reading back a run's task states and XComs.

``dag.test()`` is what ``airflow dags test`` runs: each task through the real task runner, a
deferred task's trigger rebuilt from its serialized form and run in line. In the test process it
skips the command's start-up (seconds of imports per run); what needs a process of its own (a kill,
a configuration read once per process) runs the command instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.version_compat import AIRFLOW_V_3_3_PLUS
from tests.airflow_compat import register_dag

#: The project's checkout, where example_dags/ is.
ROOT = Path(__file__).resolve().parents[2]


def example_environment(emu: ZendeskEmulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment for an ``airflow`` command that runs an example DAG against ``emu``.

    Its data files go under ``tmp_path``; the bulk ledger is in the task state store on Airflow 3.3
    (nothing set), and in files under ``tmp_path`` before it.
    """
    env = dict(os.environ)
    env.pop("AIRFLOW__ZENDESK_JOBS__BULK_LEDGER_PATH", None)
    env.update(
        AIRFLOW_CONN_ZENDESK_DEFAULT=emu.connection_extra_json(),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        ZENDESK_EXAMPLE_DATA_DIR=str(tmp_path / "data"),
        **extra,
    )
    if not AIRFLOW_V_3_3_PLUS:
        env["AIRFLOW__ZENDESK_JOBS__BULK_LEDGER_PATH"] = str(tmp_path / "ledgers")
    return env


def example_dags(name: str) -> dict[str, Any]:
    """The DAGs, by id, a DAG processor parses from ``example_dags/<name>.py``, in the environment as it is now."""
    from tests.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(ROOT / "example_dags" / f"{name}.py"))
    assert bag.import_errors == {}
    return dict(bag.dags)


def example_dag(dag_id: str) -> Any:
    """The DAG of ``example_dags/<dag_id>.py`` that has the file's name."""
    return example_dags(dag_id)[dag_id]


def run_dag(dag: Any, **kwargs: Any) -> dict[str, Any]:
    """Register the DAG as the DAG processor would, run it with ``dag.test()``, read back states and XComs."""
    from airflow.utils.session import create_session

    register_dag(dag)
    run = dag.test(**kwargs)
    with create_session() as session:
        return run_of(run, session)


def latest_run(dag_id: str) -> dict[str, Any]:
    """Task states and XCom return values of the DAG's latest run, from the test metadata database."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()
        assert run is not None
        return run_of(run, session)


def run_of(run: Any, session: Any) -> dict[str, Any]:
    """A DAG run's id, state, task states and XCom return values."""
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances(session=session)}
    return {
        "run_id": run.run_id,
        "state": str(run.state),
        "tasks": tasks,
        "xcom": {task_id: value for (task_id, _), value in xcoms_of(run, session, key="return_value").items()},
    }


def xcoms_of(run: Any, session: Any, key: str | None = None) -> dict[tuple[str, str], Any]:
    """A DAG run's XCom values by (task id, key), of one key or of every key."""
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    # A plain select: XComModel.get_many returns a legacy Query on 3.0, which SQLAlchemy warns about here.
    query = select(XComModel).where(XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id)
    if key is not None:
        query = query.where(XComModel.key == key)
    return {(row.task_id, row.key): XComModel.deserialize_value(row) for row in session.scalars(query)}
