"""Deferred waits on one event loop: the shared poller against one-request-per-trigger polling.

For 10, 100 and 1,000 concurrent waits on one asyncio loop (as in one triggerer), against
the emulator: one job per wait (one item each), the jobs finishing spread evenly over 60 s of
emulator clock time, a poll interval of 5 s. Two ways of waiting are measured in the same run:

* **shared**: ``ZendeskJobStatusTrigger.run()``, every trigger on one shared poller (one
  ``show_many`` per 100 due ids per cycle).
* **alone**: the common provider pattern (dbt Cloud, Airbyte): each trigger has its own hook
  and asks show-one for its job, then sleeps its interval. The same rule, the same log lines.
  Each keeps its own HTTP client and connection; the connection settings and the TLS context
  are made once and shared. Those providers read the connection and open a new session on
  every call, so "alone" is cheaper here than in real life: the comparison is conservative.

Time is the emulator's ``ManualClock``, driven by a ``ManualTimeline``: the clock jumps to the
next wake-up once everything woken has gone back to sleep, so a minute of waiting takes well
under a second of real time and every latency is exact in clock seconds. Per wait size:

* requests: ``show_many`` / show-one requests the emulator served, per poll cycle and in total;
* latency: clock seconds from a job finishing to its trigger's event (p50 / p95 / max);
* CPU: CPU time of the event-loop thread (``time.thread_time``; the emulator's own thread is
  not counted) per 5-second step of the clock, i.e. per poll cycle: the first cycle apart (it
  also pays one-time costs: the connection look-up, the HTTP client and its TLS context, each
  trigger's logger), then mean and max of the others. The shared waits run ``--repeats``
  times, half before and half after the "alone" run, and each cycle counts its least CPU, as
  ``timeit`` does: the runs are identical on the emulator's clock, so what differs between
  them is other work on the machine;
* log lines: how many lines the waits wrote at INFO in the costliest cycle, and the CPU of
  writing just that many lines through Airflow's log pipeline, measured in the same run, so the
  rest is what the provider itself spends. At a 5 s interval a trigger writes a job's line at
  INFO when it changed and recalls an unchanged job about once a minute (see
  ``waiting/progress.py``); the "alone" waits write every poll's line, as a sensor's poke does.
  For the costliest cycle the script also measures what writing one line per wait it answered
  would have cost: the cycle's log lines when every job's progress moves at every poll;
* memory: Python memory held per wait once every wait is registered and has been polled once
  (``tracemalloc``, a separate run, the emulator's own allocations filtered out; "alone" on at
  most 200 waits, as each of its waits holds the same).

Log lines are produced and formatted as in a triggerer's runner process (Airflow's structlog
set-up, JSON lines for the supervisor) and written to a sink that only counts them;
``--log-level WARNING`` leaves the progress lines out, to show what they cost.

    python benchmarks/bench_deferred_waits.py [--sizes 10 100 1000]

Exits 1 when, at the largest size, a target is missed: >= 50x fewer requests than "alone",
every event within one poll interval of its job finishing, < 50 ms of CPU per cycle, < 20 KB
per wait.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import math
import os
import ssl
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-deferred-waits-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from airflow_provider_zendesk_jobs.exceptions import ZendeskNotFoundError
from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusAsyncHook
from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator
from airflow_provider_zendesk_jobs.testing.timeline import ManualTimeline
from airflow_provider_zendesk_jobs.triggers.poller import SharedJobStatusPoller
from airflow_provider_zendesk_jobs.triggers.registry import pollers_on_running_loop, use_poller_factory
from airflow_provider_zendesk_jobs.triggers.zendesk_jobs import ZendeskJobStatusTrigger
from airflow_provider_zendesk_jobs.waiting import WaitOptions, evaluate_wait
from airflow_provider_zendesk_jobs.waiting.progress import ProgressLog

INTERVAL = 5.0
SPREAD = 60.0
SHOW_MANY = "/api/v2/job_statuses/show_many"
SHOW_ONE = "/api/v2/job_statuses/V3-"
#: "alone" holds the same memory per wait at any size (its own hook and client); tracing 1,000 of
#: them is slow, so its memory is measured on at most this many.
ALONE_MEMORY_SAMPLE = 200
TARGET_RATIO = 50.0
TARGET_CPU_MS = 50.0
TARGET_MEMORY_KB = 20.0


@dataclass
class Run:
    mode: str
    waits: int
    requests: int = 0
    cycles: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    #: Waits still running as each cycle began: each is answered in that cycle.
    running: list[int] = field(default_factory=list)
    #: Log lines written (all levels Airflow lets through) as each cycle ran.
    lines: list[int] = field(default_factory=list)
    #: CPU of Airflow's logging alone for as many lines as the peak cycle wrote, this run.
    peak_log_floor_ms: float = 0.0
    #: CPU of Airflow's logging alone for one line per wait the peak cycle answered, this run.
    peak_every_line_ms: float = 0.0
    memory_per_wait: float = 0.0
    wall: float = 0.0
    statuses: set[str] = field(default_factory=set)

    @property
    def per_cycle(self) -> float:
        return self.requests / self.cycles if self.cycles else 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


# -- the two ways of waiting -------------------------------------------------------------------------
WaitFactory = Callable[..., Awaitable[None]]


async def shared_wait(
    emu: ZendeskEmulator,
    timeline: ManualTimeline,
    job_id: str,
    start: float,
    fired: dict[str, tuple[str, float]],
    pool: SharedPool,
) -> None:
    trigger = ZendeskJobStatusTrigger([job_id], poll_interval=INTERVAL, started_at=start)
    event = await anext(trigger.run())
    fired[job_id] = (event.payload["status"], emu.clock.now())


class SharedPool:
    """What every "alone" trigger's hook reuses: one TLS context.

    Each trigger keeps its own HTTP client and connection, as each of those providers' triggers
    does; like aiohttp's default, the TLS context is made once. The providers this imitates
    also read the connection and open a new session on every call, so "alone" here is cheaper
    than the real pattern and the comparison errs in its favour.
    """

    def __init__(self) -> None:
        self.hook = ZendeskJobStatusAsyncHook()
        self.tls = ssl.create_default_context()
        self.hooks: list[ZendeskJobStatusAsyncHook] = []

    async def hook_for(self, emu: ZendeskEmulator, timeline: ManualTimeline) -> ZendeskJobStatusAsyncHook:
        transport = httpx.AsyncHTTPTransport(verify=self.tls)
        hook = ZendeskJobStatusAsyncHook(clock=emu.clock.now, sleep=timeline.sleep, transport=transport)
        self.hooks.append(hook)
        return hook

    async def aclose(self) -> None:
        await asyncio.gather(*(hook.aclose() for hook in self.hooks))
        await self.hook.aclose()


async def alone_wait(
    emu: ZendeskEmulator,
    timeline: ManualTimeline,
    job_id: str,
    start: float,
    fired: dict[str, tuple[str, float]],
    pool: SharedPool,
) -> None:
    """One trigger polling on its own: its own hook, a show-one request, then sleep its interval."""
    hook = await pool.hook_for(emu, timeline)
    progress = ProgressLog(ZendeskJobStatusTrigger([job_id]).log, not_found_grace=60.0)
    options = WaitOptions()
    while True:
        try:
            found = {job_id: await hook.get_job_status(job_id)}
        except ZendeskNotFoundError:
            found = {}
        outcome = evaluate_wait([job_id], found, options=options, started_at=start, now=emu.clock.now())
        progress.poll([job_id], outcome)
        if outcome.done:
            fired[job_id] = (outcome.decision.value, emu.clock.now())
            return
        await timeline.sleep(INTERVAL)


class LineCounter:
    """Where the log lines go: counted, then dropped (a triggerer's runner sends them to its supervisor)."""

    def __init__(self) -> None:
        self.lines = 0

    def write(self, data: bytes) -> int:
        self.lines += data.count(b"\n")
        return len(data)

    def flush(self) -> None:
        pass


SINK = LineCounter()


# -- one measured run ----------------------------------------------------------------------------------
async def measure(mode: str, waits: int, *, memory: bool) -> Run:
    factory: WaitFactory = shared_wait if mode == "shared" else alone_wait
    run = Run(mode, waits)
    with ZendeskEmulator(clock=ManualClock(), max_active_jobs=waits + 10) as emu:
        os.environ["AIRFLOW_CONN_ZENDESK_DEFAULT"] = emu.connection_extra_json()
        ids = [emu.create_job(count=1, queued_seconds=0, work_seconds=SPREAD * (n + 1) / waits) for n in range(waits)]
        timeline = ManualTimeline(emu.clock)
        start = emu.clock.now()
        fired: dict[str, tuple[str, float]] = {}
        pool = SharedPool()

        def quiet() -> bool:
            if mode == "shared":
                pollers = pollers_on_running_loop().values()
                return all(p.idle for p in pollers) and timeline.pending >= len(pollers)
            return timeline.pending >= sum(not task.done() for task in tasks)

        gc.collect()
        if memory:
            tracemalloc.start()
            before = _traced()
        began = time.perf_counter()
        on_timeline = functools.partial(SharedJobStatusPoller, clock=emu.clock.now, sleep=timeline.sleep)
        with use_poller_factory(on_timeline):
            tasks = [asyncio.create_task(factory(emu, timeline, job_id, start, fired, pool)) for job_id in ids]
            for task in tasks:
                task.add_done_callback(lambda _: timeline.notify())
            await asyncio.sleep(0)  # every wait starts (and registers) before the clock moves
            if memory:
                # Steady state: everything registered and read once (statuses held, connections open).
                await timeline.run_until(start + INTERVAL, quiet=quiet)
                run.memory_per_wait = (_traced() - before) / waits
                tracemalloc.stop()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await pool.aclose()
                return run
            while not all(task.done() for task in tasks):
                run.running.append(sum(not task.done() for task in tasks))
                lines = SINK.lines
                cpu = time.thread_time()
                await timeline.run_until(emu.clock.now() + INTERVAL, quiet=quiet)
                run.cpu_ms.append((time.thread_time() - cpu) * 1000)
                run.lines.append(SINK.lines - lines)
            await asyncio.gather(*tasks)
        await pool.aclose()
        run.wall = time.perf_counter() - began
        records = [r for r in emu.requests if r.path.startswith(SHOW_MANY if mode == "shared" else SHOW_ONE)]
        run.requests = len(records)
        run.cycles = len({r.time for r in records})
        run.statuses = {status for status, _ in fired.values()}
        run.latencies = [fired[job_id][1] - emu.finish_time(job_id) for job_id in ids]
    return run


def logging_floor_ms(lines: int, repeats: int) -> float:
    """CPU of writing ``lines`` progress lines, one per trigger, through Airflow's log set-up: the
    part of a cycle that is Airflow's, not the provider's. Least of ``repeats``."""
    loggers = [ZendeskJobStatusTrigger([f"V3-{n:032x}"]).log.bind() for n in range(lines)]
    best = math.inf
    for _ in range(repeats):
        cpu = time.thread_time()
        for n, log in enumerate(loggers):
            log.info(f"V3-{n:032x}: working 0/1")
        best = min(best, time.thread_time() - cpu)
    return best * 1000


def peak(run: Run) -> tuple[float, int, int]:
    """The costliest cycle after the first: its CPU, how many waits it answered, how many lines they wrote."""
    steady = run.cpu_ms[1:] or run.cpu_ms
    index = steady.index(max(steady)) + (1 if run.cpu_ms[1:] else 0)
    return run.cpu_ms[index], run.running[index], run.lines[index]


def _traced() -> int:
    """Python memory traced now, without what the emulator's server thread holds."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(False, "*/airflow_provider_zendesk_jobs/testing/*"),
            tracemalloc.Filter(False, "*/http/server.py"),
            tracemalloc.Filter(False, "*/socketserver.py"),
            tracemalloc.Filter(False, tracemalloc.__file__),
        ]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def measure_least(mode: str, waits: int, repeats: int) -> Run:
    """``repeats`` identical runs; each cycle counts its least CPU, as ``timeit`` does."""
    run = await measure(mode, waits, memory=False)
    for _ in range(repeats - 1):
        again = await measure(mode, waits, memory=False)
        run.cpu_ms = [min(a, b) for a, b in zip(run.cpu_ms, again.cpu_ms, strict=True)]
    return run


def _lines(count: int) -> str:
    return f"{count:,} log line{'' if count == 1 else 's'}"


def costliest(run: Run) -> str:
    cost, answered, lines = peak(run)
    every_line = cost - run.peak_log_floor_ms + run.peak_every_line_ms
    return (
        f"  Costliest shared cycle: {cost:.1f} ms of CPU for {answered:,} waits, which wrote {_lines(lines)}; "
        f"writing {_lines(lines)} through Airflow's log pipeline alone took {run.peak_log_floor_ms:.1f} ms in this "
        f"run, so the rest (requests, parsing, deciding, handing over) took {cost - run.peak_log_floor_ms:.1f} ms. "
        f"Had every one of the {answered:,} waits written a line (every job's progress moving at every poll), "
        f"those lines alone would have taken {run.peak_every_line_ms:.1f} ms: about {every_line:.0f} ms for the cycle"
    )


# -- the table -------------------------------------------------------------------------------------------
def row(run: Run) -> str:
    first, steady = run.cpu_ms[0], run.cpu_ms[1:] or run.cpu_ms
    return (
        f"| {run.waits:,} | {run.mode} | {run.per_cycle:,.1f} | {run.requests:,} | "
        f"{percentile(run.latencies, 0.5):.1f} / {percentile(run.latencies, 0.95):.1f} / {max(run.latencies):.1f} | "
        f"{first:.0f} | {statistics.fmean(steady):.1f} / {max(steady):.1f} | "
        f"{peak(run)[1]:,} waits, {_lines(peak(run)[2])}, {run.peak_log_floor_ms:.1f} ms | "
        f"{run.memory_per_wait / 1024:.1f} | {run.wall:.2f} |"
    )


async def main(sizes: list[int], repeats: int) -> tuple[int, str]:
    await measure("shared", 5, memory=False)  # warm up: imports, first connections, config
    await measure("alone", 5, memory=False)
    lines = [
        f"Deferred waits on one event loop: jobs finishing over {SPREAD:g} s, poll interval {INTERVAL:g} s "
        "(emulator clock)",
        "",
        "| waits | mode | requests / cycle | requests total | latency s p50 / p95 / max | CPU ms first cycle "
        "| CPU ms / later cycle mean / max | costliest cycle: waits it answered, lines they wrote, CPU of "
        "writing that many lines alone "
        "| memory KB / wait | wall s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = []
    failures: list[str] = []
    for waits in sizes:
        # The shared runs are split around the "alone" run (seconds long at 1,000 waits), so their
        # least CPU is taken from two moments of the machine, not from one slow stretch.
        shared = await measure_least("shared", waits, (repeats + 1) // 2)
        alone = await measure("alone", waits, memory=False)
        if repeats > 1:
            later = await measure_least("shared", waits, repeats // 2)
            shared.cpu_ms = [min(a, b) for a, b in zip(shared.cpu_ms, later.cpu_ms, strict=True)]
        for run in (shared, alone):
            run.peak_log_floor_ms = logging_floor_ms(peak(run)[2], repeats)
            run.peak_every_line_ms = logging_floor_ms(peak(run)[1], repeats)
            sample = waits if run.mode == "shared" else min(waits, ALONE_MEMORY_SAMPLE)
            run.memory_per_wait = (await measure(run.mode, sample, memory=True)).memory_per_wait
            lines.append(row(run))
        ratio = alone.requests / shared.requests
        ratios.append(
            f"- {waits:,} waits: {ratio:.1f}x fewer requests in total "
            f"({alone.per_cycle / shared.per_cycle:.1f}x fewer per cycle), "
            f"{statistics.fmean(alone.cpu_ms) / statistics.fmean(shared.cpu_ms):.1f}x less CPU per cycle, "
            f"{alone.memory_per_wait / shared.memory_per_wait:.1f}x less memory per wait than polling alone"
        )
        ratios.append(costliest(shared))
        if waits == max(sizes):
            if shared.statuses != {"success"}:
                failures.append(f"not every wait succeeded: {shared.statuses}")
            if ratio < TARGET_RATIO:
                failures.append(f"only {ratio:.1f}x fewer requests (target {TARGET_RATIO:g}x)")
            if max(shared.latencies) > INTERVAL or min(shared.latencies) < 0:
                failures.append(f"an event came {max(shared.latencies):.1f} s after its job finished")
            if max(shared.cpu_ms[1:]) >= TARGET_CPU_MS:
                failures.append(f"{max(shared.cpu_ms[1:]):.1f} ms of CPU in one cycle (target < {TARGET_CPU_MS:g})")
            if shared.memory_per_wait / 1024 >= TARGET_MEMORY_KB:
                failures.append(f"{shared.memory_per_wait / 1024:.1f} KB per wait (target < {TARGET_MEMORY_KB:g})")
    report = "\n".join([*lines, "", *ratios])
    if failures:
        return 1, report + "\n\nMISSED: " + "; ".join(failures)
    return 0, report + (
        f"\n\nTargets at {max(sizes):,} waits met: >= {TARGET_RATIO:g}x fewer requests, every event within "
        f"{INTERVAL:g} s, < {TARGET_CPU_MS:g} ms CPU per cycle, < {TARGET_MEMORY_KB:g} KB per wait."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs of the shared waits; each cycle's CPU is the least of them"
    )
    parser.add_argument(
        "--log-level", default="INFO", help="level of the waits' log lines (WARNING leaves out the progress lines)"
    )
    args = parser.parse_args()
    from airflow.sdk.log import configure_logging

    # As in a triggerer's runner process: JSON lines for the supervisor, here counted and dropped.
    configure_logging(json_output=True, output=SINK, sending_to_supervisor=True, log_level=args.log_level)  # type: ignore[arg-type]
    with contextlib.redirect_stdout(sys.stderr):
        code, report = asyncio.run(main(sorted(args.sizes), args.repeats))
    print(report)
    sys.exit(code)
