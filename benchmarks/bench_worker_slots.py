"""Worker slots held while waiting: a 10-minute wait in poke, reschedule and deferrable mode.

One job on the emulator finishes 600 s (of its clock) after the wait starts. The real sensors
run, driven as Airflow's task runner and scheduler would drive them, on the emulator's
``ManualClock``:

* the sensor base class's time is the emulator's: ``time.monotonic`` / ``time.sleep`` and
  ``timezone.utcnow`` in ``airflow.sdk.bases.sensor`` are replaced (for every sensor alike), so
  poke mode's sleeps move the clock instead of waiting;
* an ``AirflowRescheduleException`` ends the execution; the driver moves the clock to its
  reschedule date and starts the next execution (``ti.get_first_reschedule_date`` answers the
  start of the first one, as the metadata database would);
* a ``TaskDeferred`` ends the execution; the driver rebuilds the trigger from ``serialize()``,
  runs it on a fresh event loop as a triggerer would (its sleeps move the clock), and resumes
  the task with the event in a new execution.

Counted per run: task executions, requests the emulator served, and the emulator-clock
seconds a worker slot was held (the sum of the executions' durations on that clock) against
the seconds spent in the triggerer. The clock does not move while a poke's request is in
flight, so a short execution counts 0 s here; what it really costs (a worker process start, a
DAG parse, a connection look-up) is counted by the executions column instead.

``HttpSensor(deferrable=True)`` with a ``response_check`` reading the job's status is the
only way the HTTP provider's sensor can wait on a job's status; it is measured the same way.

    python benchmarks/bench_worker_slots.py [--wait 600] [--intervals 60 5] [--summary FILE]

Exits 1 when a deferrable wait held a worker slot for any clock time between its first check
and its resumption, or ran other than two executions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-worker-slots-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from airflow.sdk._shared.module_loading import import_string
from airflow.sdk.bases import sensor as sensor_base
from airflow.sdk.exceptions import AirflowRescheduleException, TaskDeferred
from bench_support import HTTP_CONN_ENV, HTTP_CONN_ID, http_connection, task_logs_dropped, write_summary

from airflow_provider_zendesk_jobs.sensors.zendesk_jobs import ZendeskJobStatusSensor
from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import triggers_on_clock


@dataclass
class Run:
    sensor: str
    mode: str
    interval: float
    executions: list[tuple[float, float]] = field(default_factory=list)
    triggerer: float = 0.0
    requests: int = 0
    outcome: Any = None
    waited: float = 0.0

    @property
    def slot_seconds(self) -> float:
        return sum(end - start for start, end in self.executions)


class _FirstReschedule:
    """The part of a task instance a sensor asks about reschedules: when the first try started."""

    def __init__(self) -> None:
        self.first_start: float | None = None

    def get_first_reschedule_date(self, context: Any) -> datetime.datetime | None:
        if self.first_start is None:
            return None
        return datetime.datetime.fromtimestamp(self.first_start, tz=datetime.timezone.utc)


class _SensorTime:
    """``time`` as the sensor base class sees it: the emulator's clock, sleeps that move it."""

    def __init__(self, emu: ZendeskEmulator) -> None:
        self.monotonic = emu.clock.now
        self._emu = emu

    def sleep(self, seconds: float) -> None:
        self._emu.advance(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class _SensorTimezone:
    """``timezone`` as the sensor base class sees it: ``utcnow`` on the emulator's clock."""

    def __init__(self, emu: ZendeskEmulator) -> None:
        self._clock = emu.clock

    def utcnow(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self._clock.now(), tz=datetime.timezone.utc)

    def __getattr__(self, name: str) -> Any:
        return getattr(sensor_base.timezone, name)


@contextlib.contextmanager
def on_emulator_clock(emu: ZendeskEmulator) -> Iterator[None]:
    env = {"AIRFLOW_CONN_ZENDESK_DEFAULT": emu.connection_extra_json(), HTTP_CONN_ENV: http_connection(emu)}
    with (
        mock.patch.dict(os.environ, env),
        mock.patch.object(sensor_base, "time", _SensorTime(emu)),
        mock.patch.object(sensor_base, "timezone", _SensorTimezone(emu)),
        triggers_on_clock(emu.clock.now, emu.advance),
    ):
        yield


async def _first_event(trigger: Any) -> Any:
    async for event in trigger.run():
        return event
    raise RuntimeError("the trigger ended without an event")


def drive(task: Any, run: Run, emu: ZendeskEmulator) -> Run:
    """Run ``task`` to its end the way the task runner and the scheduler would, counting executions."""
    ti = _FirstReschedule()
    context: dict[str, Any] = {"ti": ti}
    execute = functools.partial(task.execute, context)
    resume: Callable[[], Any] = execute
    clock = emu.clock
    while True:
        started = clock.now()
        try:
            run.outcome = resume()
        except AirflowRescheduleException as reschedule:
            run.executions.append((started, clock.now()))
            if ti.first_start is None:
                ti.first_start = started
            emu.advance(max(0.0, reschedule.reschedule_date.timestamp() - clock.now()))
            resume = execute
            continue
        except TaskDeferred as deferral:
            run.executions.append((started, clock.now()))
            classpath, kwargs = deferral.trigger.serialize()  # as the triggerer rebuilds it
            deferred_at = clock.now()
            event = asyncio.run(_first_event(import_string(classpath)(**kwargs)))
            run.triggerer += clock.now() - deferred_at
            next_kwargs = {**(deferral.kwargs or {}), "event": event.payload}
            resume = functools.partial(task.resume_execution, deferral.method_name, next_kwargs, context)
            continue
        run.executions.append((started, clock.now()))
        return run


def measure(sensor: str, mode: str, interval: float, wait: float) -> Run:
    with ZendeskEmulator(clock=ManualClock(start=float(int(time.time())))) as emu, on_emulator_clock(emu):
        job_id = emu.create_job(count=10, queued_seconds=0, work_seconds=wait)
        run = Run(sensor=sensor, mode=mode, interval=interval)
        started = emu.clock.now()
        if sensor == "ZendeskJobStatusSensor":
            task: Any = ZendeskJobStatusSensor(
                task_id="wait",
                job_id=job_id,
                poke_interval=interval,
                mode="poke" if mode == "deferrable" else mode,
                deferrable=mode == "deferrable",
            )
        else:
            from airflow.providers.http.sensors.http import HttpSensor

            task = HttpSensor(
                task_id="wait",
                endpoint=f"api/v2/job_statuses/{job_id}.json",
                http_conn_id=HTTP_CONN_ID,
                headers={"Accept": "application/json"},
                response_check=lambda response: response.json()["job_status"]["status"] == "completed",
                poke_interval=interval,
                mode="poke",
                deferrable=True,
            )
        drive(task, run, emu)
        run.waited = emu.clock.now() - started
        run.requests = emu.request_count("/api/v2/job_statuses")
        if emu.job(job_id)["status"] != "completed":
            raise RuntimeError(f"{sensor} in {mode} mode returned before the job had finished")
    return run


def main(argv: list[str] | None = None) -> tuple[int, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=600.0, help="clock seconds until the job finishes")
    parser.add_argument("--intervals", type=float, nargs="+", default=[60.0, 5.0])
    parser.add_argument("--summary", help="write the headline figures to this JSON file")
    args = parser.parse_args(argv)

    runs: list[Run] = []
    for interval in args.intervals:
        for mode in ("poke", "reschedule", "deferrable"):
            runs.append(measure("ZendeskJobStatusSensor", mode, interval, args.wait))
        runs.append(
            measure("HttpSensor(deferrable=True, response_check=...)", "poke (it does not defer)", interval, args.wait)
        )

    lines = [
        f"A job that finishes {args.wait:g} s (emulator clock) after the wait starts.",
        "",
        "| sensor | mode | poke interval s | task executions | requests | worker slot held, clock s "
        "| share of the wait | in the triggerer, clock s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| {run.sensor} | {run.mode} | {run.interval:g} | {len(run.executions)} | {run.requests} | "
            f"{run.slot_seconds:g} | {run.slot_seconds / run.waited:.2f} | {run.triggerer:g} |"
        )
    deferrable = [run for run in runs if run.mode == "deferrable"]
    poke = [run for run in runs if run.mode == "poke"]
    reschedule = [run for run in runs if run.mode == "reschedule"]
    met = all(run.slot_seconds == 0 and len(run.executions) == 2 for run in deferrable)
    first = args.intervals[0]
    pick = {r.mode: r for r in runs if r.interval == first and r.sensor == "ZendeskJobStatusSensor"}
    lines += [
        "",
        f"- Deferrable: {', '.join(str(len(r.executions)) for r in deferrable)} executions "
        f"(the first check, then the resumption), {', '.join(f'{r.slot_seconds:g}' for r in deferrable)} clock "
        f"seconds of worker slot between them; poke mode held a slot for "
        f"{', '.join(f'{r.slot_seconds:g}' for r in poke)} s; reschedule mode ran "
        f"{', '.join(str(len(r.executions)) for r in reschedule)} executions "
        f"(poke intervals {', '.join(f'{i:g}' for i in args.intervals)} s).",
    ]
    figure = (
        f"deferrable: {len(pick['deferrable'].executions)} executions, "
        f"{pick['deferrable'].slot_seconds:g} slot-seconds; poke: {pick['poke'].slot_seconds:g} slot-seconds; "
        f"reschedule: {len(pick['reschedule'].executions)} executions ({first:g} s interval)"
    )
    target = "deferrable holds no slot between the first check and the resumption"
    write_summary(args.summary, figure=figure, target=target, met=met)
    return (0 if met else 1), lines


if __name__ == "__main__":
    with task_logs_dropped():
        code, report = main()
    print("\n".join(report))
    sys.exit(code)
