"""Requests to Zendesk while waiting: the shared poller, one request per trigger, and ``HttpSensor``.

For 10, 100 and 1,000 concurrent deferred waits on one event loop against the emulator, one
job per wait, the jobs finishing evenly over 60 s, a poll interval of 5 s (the set-up of
``bench_deferred_waits.py``, whose ``measure`` runs the first two rows of each size):

* **shared**: ``ZendeskJobStatusTrigger.run()``; every trigger registers with one poller that
  asks ``show_many`` for at most 100 due ids per request.
* **one request per trigger**: the dbt Cloud / Airbyte pattern: each trigger asks show-one for
  its job, then sleeps its interval.
* **HttpSensor(deferrable=True)**: the HTTP provider's sensor pointed at the show-one URL
  through an ``http`` connection to the emulator (login ``email/token``, password the API
  token). Each wait runs the sensor's ``execute()`` as a worker would; when it defers, its
  ``HttpSensorTrigger`` is rebuilt from ``serialize()`` and its ``run()`` is driven on the same
  event loop and emulator clock as the others (the trigger's ``asyncio.sleep(poke_interval)``
  is routed to the same ``ManualTimeline``). Its rule is "the URL stopped answering 404", so
  it is measured twice: with jobs readable at once (as above), and with each job answering 404
  for its first 10 s, the brief window Zendesk shows right after a bulk call.

Time is the emulator's ``ManualClock``: request counts and latencies are exact in clock
seconds and do not depend on this machine's speed. Latency is clock seconds from a job
finishing to its wait's event; a negative value is an event that came before the job had
finished (a wrong answer, counted in its own column).

    python benchmarks/bench_requests_while_waiting.py [--sizes 10 100 1000] [--summary FILE]

Exits 1 when, at the largest size, the shared poller sends fewer than 50 times fewer requests
than one request per trigger, or an event comes later than one poll interval after its job
finished (or before it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from bench_deferred_waits import INTERVAL, SPREAD, measure, percentile
from bench_support import HTTP_CONN_ENV, HTTP_CONN_ID, http_connection, task_logs_dropped, write_summary

from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import ManualTimeline

TARGET_RATIO = 50.0
#: Seconds a new job answers 404 in the HttpSensor run that has Zendesk's post-bulk-call window.
NOT_VISIBLE = 10.0
#: The highest Zendesk plan's budget (Enterprise Plus / High Volume), requests per minute.
HIGHEST_PLAN_PER_MINUTE = 2500


@dataclass
class Row:
    waits: int
    way: str
    requests: int
    cycles: int
    latencies: list[float] = field(default_factory=list)
    deferred: int | None = None
    cpu_ms_per_cycle: float | None = None

    @property
    def per_cycle(self) -> float:
        return self.requests / self.cycles if self.cycles else 0.0

    @property
    def early(self) -> int:
        return sum(latency < 0 for latency in self.latencies)


class _AsyncioOnTimeline:
    """``asyncio`` as the HTTP trigger module sees it, with ``sleep`` on the emulator's clock."""

    def __init__(self, timeline: ManualTimeline) -> None:
        self.sleep = timeline.sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


async def http_sensor(waits: int, *, not_visible: float) -> Row:
    """Each wait: ``HttpSensor.execute()`` in the worker, then its trigger when it defers."""
    from airflow.providers.common.compat.sdk import TaskDeferred
    from airflow.providers.http.sensors.http import HttpSensor
    from airflow.providers.http.triggers import http as http_triggers
    from airflow.sdk._shared.module_loading import import_string

    label = "HttpSensor(deferrable=True)" + (f", 404 for the first {not_visible:g} s" if not_visible else "")
    clock = ManualClock()
    with (
        ZendeskEmulator(clock=clock, max_active_jobs=waits + 10, not_visible_seconds=not_visible) as emu,
        mock.patch.dict(os.environ, {HTTP_CONN_ENV: http_connection(emu)}),
    ):
        ids = [emu.create_job(count=1, queued_seconds=0, work_seconds=SPREAD * (n + 1) / waits) for n in range(waits)]
        timeline = ManualTimeline(clock)
        fired: dict[str, float] = {}
        triggers: dict[str, Any] = {}
        for job_id in ids:
            sensor = HttpSensor(
                task_id=f"wait_{job_id}",
                endpoint=f"api/v2/job_statuses/{job_id}.json",
                http_conn_id=HTTP_CONN_ID,
                headers={"Accept": "application/json"},
                poke_interval=INTERVAL,
                deferrable=True,
            )
            try:
                sensor.execute({})
            except TaskDeferred as deferral:
                classpath, kwargs = deferral.trigger.serialize()  # rebuilt as a triggerer would
                triggers[job_id] = import_string(classpath)(**kwargs)
            else:
                fired[job_id] = clock.now()  # succeeded in the worker at its first check

        async def wait(job_id: str, trigger: Any) -> None:
            async for _ in trigger.run():
                fired[job_id] = clock.now()
                return

        with mock.patch.object(http_triggers, "asyncio", _AsyncioOnTimeline(timeline)):
            tasks = [asyncio.create_task(wait(job_id, trigger)) for job_id, trigger in triggers.items()]
            for task in tasks:
                task.add_done_callback(lambda _: timeline.notify())

            def quiet() -> bool:
                return timeline.pending >= sum(not task.done() for task in tasks)

            while not all(task.done() for task in tasks):
                await timeline.run_until(clock.now() + INTERVAL, quiet=quiet)
            await asyncio.gather(*tasks)
        records = [r for r in emu.requests if r.path.startswith("/api/v2/job_statuses/")]
        return Row(
            waits=waits,
            way=label,
            requests=len(records),
            cycles=len({r.time for r in records}),
            latencies=[fired[job_id] - emu.finish_time(job_id) for job_id in ids],
            deferred=len(triggers),
        )


async def ours(mode: str, waits: int) -> Row:
    run = await measure(mode, waits, memory=False)
    way = "shared poller (this provider)" if mode == "shared" else "one request per trigger"
    row = Row(waits=waits, way=way, requests=run.requests, cycles=run.cycles, latencies=list(run.latencies))
    row.cpu_ms_per_cycle = statistics.fmean(run.cpu_ms) if run.cpu_ms else None
    return row


def spread(latencies: list[float]) -> str:
    return " / ".join(
        f"{value:.1f}" for value in (percentile(latencies, 0.5), percentile(latencies, 0.95), max(latencies))
    )


def render(rows: list[Row]) -> list[str]:
    lines = [
        f"Jobs finishing over {SPREAD:g} s, poll interval {INTERVAL:g} s, emulator clock. "
        "Latency: job finished -> event.",
        "",
        "| waits | way of waiting | requests / cycle | requests total | x the shared poller "
        "| events before their job finished | latency s p50 / p95 / max |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    shared = {row.waits: row for row in rows if row.way.startswith("shared")}
    for row in rows:
        base = shared[row.waits].requests
        deferred = f" (deferred: {row.deferred:,} of {row.waits:,})" if row.deferred is not None else ""
        lines.append(
            f"| {row.waits:,} | {row.way}{deferred} | {row.per_cycle:,.1f} | {row.requests:,} | "
            f"{row.requests / base:,.1f} | {row.early:,} of {row.waits:,} | "
            f"{spread(row.latencies)} |"
        )
    return lines


async def main(sizes: list[int]) -> tuple[bool, list[str], dict[str, Any]]:
    await measure("shared", 5, memory=False)  # warm up: imports, first connections, configuration
    await measure("alone", 5, memory=False)
    await http_sensor(5, not_visible=0.0)
    rows: list[Row] = []
    for waits in sizes:
        shared = await ours("shared", waits)
        alone = await ours("alone", waits)
        rows += [shared, alone]
        rows.append(await http_sensor(waits, not_visible=0.0))
        rows.append(await http_sensor(waits, not_visible=NOT_VISIBLE))
    largest = max(sizes)
    shared = next(r for r in rows if r.waits == largest and r.way.startswith("shared"))
    alone = next(r for r in rows if r.waits == largest and r.way.startswith("one request"))
    http_rows = [r for r in rows if r.waits == largest and r.way.startswith("HttpSensor")]
    ratio = alone.requests / shared.requests
    worst = max(shared.latencies)
    met = ratio >= TARGET_RATIO and worst <= INTERVAL and shared.early == 0
    lines = render(rows)
    lines += [
        "",
        f"- At {largest:,} waits the shared poller sent **{ratio:.1f}x fewer requests** than one request per "
        f"trigger (target >= {TARGET_RATIO:g}x); its events came {spread(shared.latencies)} s (p50 / p95 / max) "
        "after the job finished "
        f"(target: at most one poll interval, {INTERVAL:g} s, and never before).",
        f"- Requests per minute while waiting, against the highest Zendesk plan's {HIGHEST_PLAN_PER_MINUTE:,}/min: "
        f"shared {shared.per_cycle * 60 / INTERVAL:,.0f}/min, one request per trigger "
        f"{alone.per_cycle * 60 / INTERVAL:,.0f}/min (mean over the wait, {alone.waits:,} jobs to start with).",
    ]
    if alone.cpu_ms_per_cycle and shared.cpu_ms_per_cycle:
        cpu = alone.cpu_ms_per_cycle / shared.cpu_ms_per_cycle
        lines.append(f"- CPU time of the event loop per cycle, one request per trigger / shared: {cpu:.1f}x.")
    if http_rows:
        early = ", ".join(
            f"{r.early:,} of {r.waits:,} ({r.way.partition(', ')[2] or 'jobs readable at once'})" for r in http_rows
        )
        lines.append(
            f"- HttpSensor(deferrable=True) ended waits before their job had finished: {early}. Its rule is the "
            "first answer that is not a 404, and Zendesk answers 200 while a job is queued or working; with a "
            "`response_check` it does not defer at all (it pokes in a worker slot: question 2)."
        )
    summary = {
        "figure": f"{ratio:.1f}x fewer requests than one request per trigger at {largest:,} waits",
        "latency": f"{spread(shared.latencies)} s",
        "target": f">= {TARGET_RATIO:g}x fewer requests; latency <= {INTERVAL:g} s",
        "met": met,
    }
    return met, lines, summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--summary", help="write the headline figures to this JSON file")
    args = parser.parse_args()
    with task_logs_dropped():  # as in a triggerer's runner process, every wait logs
        met, report, summary = asyncio.run(main(sorted(args.sizes)))
    print("\n".join(report))
    write_summary(args.summary, **summary)
    sys.exit(0 if met else 1)
