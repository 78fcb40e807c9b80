"""Never twice on every executor: the bulk import's ledger where every try finds it, owned by one try at a time.

The operator reads ``context["task_state_store"]`` as Airflow 3.3 hands it to a task; here a
stand-in with the accessor's ``get``/``set`` keeps the values as JSON, as the metadata database
does (``tests/dags/test_bulk_import_dag.py`` runs the real one through ``airflow dags test``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowTaskTimeout, TaskDeferred

from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from tests.integration.test_bulk_accounting import FakeTi
from tests.integration.test_bulk_operator import CONTEXT, assert_each_sent_once, tickets
from tests.integration.test_bulk_operator import operator as file_operator


class TaskStateStore:
    """What ``context["task_state_store"]`` does: values of one task instance, shared by its tries, as JSON."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.retentions: set[Any] = set()
        self.refuse = False

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(self.rows[key]) if key in self.rows else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        if self.refuse:
            raise RuntimeError("Server error: 503 from the execution API")
        self.rows[key] = json.dumps(value, allow_nan=False)
        self.retentions.add(retention)


@pytest.fixture
def emulator(zendesk_emulator_factory: Callable[..., ZendeskEmulator]) -> ZendeskEmulator:
    emulator: ZendeskEmulator = zendesk_emulator_factory(
        conn_id="zendesk_default", queued_seconds=2, seconds_per_item=0.1
    )
    return emulator


def operator(emu: ZendeskEmulator, tmp_path: Path, **kwargs: Any) -> Any:
    op = file_operator(emu, tmp_path, **kwargs)
    op.ledger_path = None  # as on Airflow 3.3 with nothing set: the task state store
    return op


def context(store: TaskStateStore, try_number: int = 1) -> Any:
    return {**CONTEXT, "ti": FakeTi(try_number), "task_state_store": store}


@pytest.mark.timeout(120)
def test_the_ledger_lives_in_the_task_state_store_and_a_retry_elsewhere_sends_nothing_twice(
    emulator: ZendeskEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TaskStateStore()
    records = tickets(1000)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "worker_a"))
    with pytest.raises(AirflowTaskTimeout, match="next try"):
        operator(emulator, tmp_path, records=records, max_active_jobs=2, timeout=30).execute(context(store))
    assert 0 < emulator.records_received() < 1000
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "worker_b"))  # another machine, another disk
    value = operator(emulator, tmp_path, records=records, max_active_jobs=2).execute(context(store, 2))
    assert value["succeeded"] == 1000
    assert_each_sent_once(emulator, 1000)
    assert not (tmp_path / "worker_a").exists() and not (tmp_path / "worker_b").exists()  # nothing on a disk
    keys = set(store.rows)
    assert {"zendesk_bulk.owner", "zendesk_bulk.head"} <= keys
    assert {f"zendesk_bulk.chunk.{n}" for n in range(10)} <= keys
    assert len(store.retentions) == 1 and store.retentions.pop().days > 10**5  # never expires by age


@pytest.mark.timeout(120)
def test_two_tries_interleaved_round_by_round_send_each_record_once(emulator: ZendeskEmulator, tmp_path: Path) -> None:
    store = TaskStateStore()
    records = tickets(600)
    old = operator(emulator, tmp_path, records=records, max_active_jobs=2, deferrable=True)
    with pytest.raises(TaskDeferred) as first:
        old.execute(context(store, 1))
    # The first try lost its heartbeat but still runs; Airflow starts try 2 meanwhile.
    new = operator(emulator, tmp_path, records=records, max_active_jobs=2, deferrable=True)
    with pytest.raises(TaskDeferred) as second:
        new.execute(context(store, 2))
    sent = emulator.records_received()
    emulator.advance(3600)
    with pytest.raises(AirflowFailException, match=r"try 2 of this task holds the import.*sends nothing more"):
        old.execute_complete(context(store, 1), event=None, **first.value.kwargs)
    assert emulator.records_received() == sent  # the old try stopped before any bulk call
    kwargs = second.value.kwargs
    while True:
        try:
            value = new.execute_complete(context(store, 2), event=None, **kwargs)
            break
        except TaskDeferred as deferred:
            kwargs = deferred.kwargs
            emulator.advance(3600)
    assert value["succeeded"] == 600
    assert_each_sent_once(emulator, 600)
    with pytest.raises(AirflowFailException, match="try 2 of this task holds the import"):
        operator(emulator, tmp_path, records=records).execute(context(store, 1))  # an older try never restarts it


@pytest.mark.timeout(60)
def test_a_store_that_refuses_a_value_is_a_retryable_error_and_nothing_is_sent(
    emulator: ZendeskEmulator, tmp_path: Path
) -> None:
    store = TaskStateStore()
    store.refuse = True
    with pytest.raises(AirflowException, match="task state store refused") as failed:
        operator(emulator, tmp_path, records=tickets(150)).execute(context(store))
    assert not isinstance(failed.value, AirflowFailException)  # the task's retries apply
    assert emulator.request_count() == 0 and not list(tmp_path.rglob("*.json"))  # no fall back to a file


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("executor", "warned"),
    [
        ("CeleryExecutor", True),
        ("LocalExecutor", False),
        ("airflow.providers.cncf.kubernetes.KubernetesExecutor", True),
    ],
)
def test_a_local_ledger_under_an_executor_that_moves_tries_is_said_once_per_try(
    emulator: ZendeskEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    executor: str,
    warned: bool,
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    op = operator(emulator, tmp_path, records=tickets(250), max_active_jobs=1)  # no task state store (before 3.3)
    assert op.execute(CONTEXT)["succeeded"] == 250
    assert list((tmp_path / "home" / "zendesk_bulk_ledgers").rglob("head.json"))
    text = capsys.readouterr().out
    assert text.count("The ledger is a local directory") == (1 if warned else 0)
    if warned:
        assert "[zendesk_jobs] bulk_ledger_path" in text and executor in text


@pytest.mark.timeout(60)
def test_clear_on_success_is_said_since_it_deletes_the_ledger_of_a_succeeded_import(
    emulator: ZendeskEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW__STATE_STORE__CLEAR_ON_SUCCESS", "True")
    assert operator(emulator, tmp_path, records=tickets(100)).execute(context(TaskStateStore()))["succeeded"] == 100
    assert capsys.readouterr().out.count("clear_on_success is on: the ledger is deleted when this task succeeds") == 1
