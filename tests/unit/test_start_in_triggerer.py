"""``start_from_trigger``: the sensor's wait created by the scheduler in the triggerer, on Airflow 3.3+.

The sensor's per-instance ``start_trigger_args`` (the class attribute stays untouched), the
fallbacks with their one INFO line (older Airflow, not deferrable, an ``XComArg``, a mapped
task), and the trigger those arguments build: it renders the sensor's ``job_id`` through
Airflow's own template code, reads the rendered text, counts ``timeout`` from its first run, and
ends a success or a failed job in the triggerer, against the emulator on its manual clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import DAG, BaseOperator

from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing import ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import on_clock
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from airflow_provider_zendesk_jobs.version_compat import AIRFLOW_V_3_3_PLUS
from airflow_provider_zendesk_jobs.waiting.job_wait import DEFERRAL_BACKSTOP_SECONDS
from tests.airflow_compat import TaskDeferred, capture_airflow_logs
from tests.support.pollers import on_emulator_time, show_many_requests

pytestmark = pytest.mark.timeout(60)
CLASSPATH = "airflow_provider_zendesk_jobs.triggers.zendesk_jobs.ZendeskJobStatusTrigger"
only_on_3_3 = pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="Airflow 3.3 starts tasks in the triggerer")
FALLBACK = "start_from_trigger does not apply, the wait runs as usual: "


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    with capture_airflow_logs() as captured:
        yield captured


def infos(logs: list[dict[str, Any]]) -> list[str]:
    return [entry["event"] for entry in logs if entry["log_level"] == "info"]


def started(**kwargs: Any) -> ZendeskJobStatusSensor:
    kwargs.setdefault("task_id", "wait")
    kwargs.setdefault("deferrable", True)
    return ZendeskJobStatusSensor(start_from_trigger=True, **kwargs)


# -- the sensor's arguments for the scheduler -------------------------------------------------------------
@only_on_3_3
def test_each_sensor_has_its_own_start_trigger_args_and_the_class_keeps_none() -> None:
    first = started(job_id="{{ ti.xcom_pull('bulk') }}", timeout=3600, poke_interval=20, not_found_grace=90)
    second = started(job_id="V3-b", zendesk_conn_id="zendesk_eu", fail_on_item_errors=True)
    assert ZendeskJobStatusSensor.start_trigger_args is None
    assert ZendeskJobStatusSensor.start_from_trigger is False
    assert first.start_from_trigger and second.start_from_trigger
    args = first.start_trigger_args
    assert args is not None and args is not second.start_trigger_args
    assert (args.trigger_cls, args.next_method, args.next_kwargs) == (CLASSPATH, "execute_complete", None)
    assert args.timeout == timedelta(seconds=3600 + DEFERRAL_BACKSTOP_SECONDS)  # Airflow's absolute backstop
    assert args.trigger_kwargs == {
        "job_ids": None,
        "job_id": "{{ ti.xcom_pull('bulk') }}",  # the raw template: the triggerer renders it
        "zendesk_conn_id": "zendesk_default",
        "poll_interval": 20.0,
        "not_found_grace": 90.0,
        "fail_on_item_errors": False,
        "timeout": 3600.0,
        "end_in_triggerer": True,
    }
    assert second.start_trigger_args is not None and second.start_trigger_args.trigger_kwargs is not None
    assert second.start_trigger_args.trigger_kwargs["zendesk_conn_id"] == "zendesk_eu"
    assert second.start_trigger_args.trigger_kwargs["fail_on_item_errors"] is True
    # What the scheduler stores is what the triggerer rebuilds the trigger from.
    trigger = ZendeskJobStatusTrigger(**args.trigger_kwargs)
    assert trigger.serialize() == (
        CLASSPATH,
        {k: v for k, v in args.trigger_kwargs.items() if k != "job_ids"}
        | {
            "job_ids": None,
            "started_at": None,
            "deadline": None,
        },
    )


@only_on_3_3
def test_the_serialized_dag_keeps_the_arguments_and_a_mapped_task_gets_none() -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("start_in_triggerer", schedule=None) as dag:
        started(job_id="{{ params.ids }}")
        ZendeskJobStatusSensor.partial(task_id="mapped", deferrable=True, start_from_trigger=True).expand(
            job_id=["V3-a", "V3-b"]
        )
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    plain, mapped = restored.get_task("wait"), restored.get_task("mapped")
    assert plain.start_from_trigger is True
    stored = plain.start_trigger_args.trigger_kwargs
    assert "{{ params.ids }}" in str(stored)  # kept raw (maybe in Airflow's encoding): rendered in the triggerer
    assert mapped.start_trigger_args is None  # so the scheduler sends each mapped try to a worker


# -- where it cannot apply --------------------------------------------------------------------------------
def fallback_cases() -> list[tuple[dict[str, Any], str]]:
    if not AIRFLOW_V_3_3_PLUS:  # the version is the reason, whatever else the task says
        return [({}, "starts every task on a worker (starting in the triggerer")]
    return [
        ({"deferrable": False}, "the sensor is not deferrable (start_from_trigger needs deferrable=True)"),
        ({"job_id": BaseOperator(task_id="bulk").output}, "job_id is an XComArg, which only a worker resolves"),
    ]


@pytest.mark.parametrize(("kwargs", "reason"), fallback_cases())
def test_where_it_cannot_apply_the_task_runs_on_a_worker_and_says_why(
    emulator: ZendeskEmulator, logs: list[dict[str, Any]], kwargs: dict[str, Any], reason: str
) -> None:
    with DAG("fallback", schedule=None):
        sensor = on_clock(ZendeskJobStatusSensor, emulator.clock.now, emulator.advance)(
            task_id="wait",
            job_id=kwargs.pop("job_id", None) or emulator.create_job(count=1, work_seconds=1),
            start_from_trigger=True,
            **{"deferrable": True, **kwargs},
        )
    assert sensor.start_from_trigger is False
    assert sensor.start_trigger_args is None
    assert sensor.start_in_triggerer_refusal is not None and reason in sensor.start_in_triggerer_refusal
    if not isinstance(sensor.job_id, str):
        sensor.job_id = emulator.create_job(count=1, work_seconds=1)  # the worker resolves the XComArg
    emulator.advance(5)
    assert sensor.execute({})["status"] == "completed"  # today's path: a check on the worker
    lines = [line for line in infos(logs) if line.startswith(FALLBACK)]
    assert lines == [FALLBACK + sensor.start_in_triggerer_refusal + "."]


@only_on_3_3
def test_a_mapped_try_on_a_worker_says_why_and_defers_as_usual(
    emulator: ZendeskEmulator, logs: list[dict[str, Any]]
) -> None:
    job_id = emulator.create_job(count=1, work_seconds=600)
    sensor = on_clock(ZendeskJobStatusSensor, emulator.clock.now, emulator.advance)(
        task_id="wait", job_id=job_id, deferrable=True, start_from_trigger=True, poke_interval=5
    )
    with pytest.raises(TaskDeferred):
        sensor.execute({"ti": SimpleNamespace(map_index=0)})
    assert [line for line in infos(logs) if line.startswith(FALLBACK)] == [
        FALLBACK + "a mapped task is started on a worker (Airflow starts only unmapped tasks in the triggerer)."
    ]
    assert len(show_many_requests(emulator)) == 1


def test_without_the_option_nothing_changes(logs: list[dict[str, Any]]) -> None:
    sensor = ZendeskJobStatusSensor(task_id="wait", job_id="V3-a", deferrable=True)
    assert (sensor.start_from_trigger, sensor.start_trigger_args, sensor.start_in_triggerer_refusal) == (
        False,
        None,
        None,
    )


# -- the trigger the scheduler creates ----------------------------------------------------------------------
@pytest.fixture
def emulator_time(emulator: ZendeskEmulator) -> Iterator[None]:
    with on_emulator_time(emulator):
        yield


def start_trigger(sensor: ZendeskJobStatusSensor, context: dict[str, Any]) -> ZendeskJobStatusTrigger:
    """The trigger as Airflow 3.3's triggerer prepares it: built from the row, the task's templates rendered."""
    args = sensor.start_trigger_args
    assert args is not None and args.trigger_kwargs is not None
    trigger = ZendeskJobStatusTrigger(**args.trigger_kwargs)
    trigger.task_instance = SimpleNamespace(task_id=sensor.task_id, task=sensor)  # type: ignore[assignment]
    trigger.render_template_fields(context=context)
    return trigger


async def the_event(trigger: ZendeskJobStatusTrigger) -> Any:
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    return events[0]


@only_on_3_3
@pytest.mark.parametrize(
    ("ids_as", "many"),
    [
        (lambda ids: ids[0], False),
        (lambda ids: ids, True),  # rendered to "['V3-a', 'V3-b']"
        (lambda ids: ",".join(ids), True),
        (lambda ids: '["' + '","'.join(ids) + '"]', True),
    ],
)
async def test_a_success_ends_the_task_in_the_triggerer_with_the_sensors_xcom(
    emulator: ZendeskEmulator, emulator_time: None, logs: list[dict[str, Any]], ids_as: Any, many: bool
) -> None:
    from airflow.triggers.base import TaskSuccessEvent

    ids = [emulator.create_job(count=2, work_seconds=4), emulator.create_job(count=3, work_seconds=9)][
        : 2 if many else 1
    ]
    sensor = started(job_id="{{ params.ids }}", poke_interval=5)
    trigger = start_trigger(sensor, {"params": {"ids": ids_as(ids)}})
    assert isinstance(trigger.job_id, str)  # templates render to text
    event = await the_event(trigger)
    assert isinstance(event, TaskSuccessEvent)
    summaries = [
        {"id": i, "status": "completed", **{k: emulator.job(i)[k] for k in ("total", "progress", "message")}}
        for i in ids
    ]
    assert event.xcoms == {"return_value": summaries if many else summaries[0]}
    assert len(show_many_requests(emulator)) >= 1
    assert (
        infos(logs)[0]
        == f"Started in the triggerer: checking {len(ids)} job{'s' if many else ''} every 5 s for up to 604800 s"
    )
    assert any("finished" in line or "completed" in line for line in infos(logs)[1:])


@only_on_3_3
async def test_a_failed_job_fails_the_task_in_the_triggerer_with_its_message(
    emulator: ZendeskEmulator, emulator_time: None, logs: list[dict[str, Any]]
) -> None:
    from airflow.triggers.base import TaskFailedEvent

    job_id = emulator.create_job(count=2, work_seconds=4, outcome="failed")
    event = await the_event(
        start_trigger(started(job_id="{{ params.id }}", poke_interval=5), {"params": {"id": job_id}})
    )
    assert isinstance(event, TaskFailedEvent)
    errors = [entry["event"] for entry in logs if entry["log_level"] == "error"]
    assert errors == [f"Zendesk job {job_id} ended failed: {emulator.job(job_id)['message']}"]


@only_on_3_3
async def test_the_timeout_counts_from_the_first_run_and_resumes_on_a_worker(
    emulator: ZendeskEmulator, emulator_time: None
) -> None:
    job_id = emulator.create_job(count=2, work_seconds=10_000)
    first_run = emulator.clock.now()
    trigger = start_trigger(started(job_id=job_id, poke_interval=30, timeout=120), {})
    event = await the_event(trigger)
    assert type(event).__name__ == "TriggerEvent"  # the sensor's AirflowSensorTimeout (and soft_fail) on a worker
    assert event.payload["status"] == "timeout"
    assert "did not finish by the sensor's deadline" in event.payload["message"]
    assert 120 <= emulator.clock.now() - first_run < 150
    assert (
        trigger.serialize()[1]["started_at"] is None
    )  # the row keeps no start: Airflow's trigger timeout is the backstop


@pytest.mark.parametrize(
    ("rendered", "fragment"),
    [
        ("None", "how a template renders None"),
        ("", "job_id: '' is not a valid Zendesk job id (it is empty)"),
        ("https://x.zendesk.com/api/v2/job_statuses/V3-a", "job_id: 'https://x.zendesk.com/api/v2/job_s"),
    ],
)
async def test_bad_rendered_text_ends_the_wait_with_an_error_for_the_worker(
    emulator: ZendeskEmulator, emulator_time: None, rendered: str, fragment: str
) -> None:
    trigger = ZendeskJobStatusTrigger(None, job_id=rendered, timeout=60.0, end_in_triggerer=True)  # never raises
    event = await the_event(trigger)
    assert type(event).__name__ == "TriggerEvent"  # the task resumes on a worker and fails with this message
    assert event.payload["status"] == "error"
    assert fragment in event.payload["message"]
    assert emulator.requests == []
