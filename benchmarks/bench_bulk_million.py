"""A bulk import of 1,000,000 records from a JSON Lines file: emulator-clock time against the floor, memory, XCom size.

``ZendeskBulkJobOperator`` reads a generated JSON Lines file of tickets (each with an
``external_id``) through ``records_path``, writes the whole mapping to ``results_path``, and keeps
its ledger in a stand-in for Airflow 3.3's ``context["task_state_store"]`` (values kept as JSON
text in an SQLite file, as the metadata database keeps them, so the ledger's rows are not counted
in the task's memory). It runs in worker mode (``deferrable=False``) with ``max_active_jobs=30``,
against the emulator on its manual clock, as ``bench_bulk_import.py`` does: each job ``queued``
seconds then ``per-item`` seconds per record, a 31st active job refused; the operator reads that
clock and its waits move it.

By default the emulator runs in a process of its own (``zendesk-jobs-emulator --manual-clock``,
driven through its control API as ``make e2e`` does), so this process holds the task alone
and its peak memory is the task's: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` before the task
(Airflow and the provider imported, the connection set) and after; the emulator's own peak is its
``VmHWM``. ``--emulator in-process`` runs ``ZendeskEmulator`` in this process instead, as
``bench_bulk_import.py`` does (its peak then includes the emulator's jobs and record log).

Reported: emulator-clock seconds against the floor, ``ceil(chunks / limit) * job duration``
(target: within 10%); real seconds, and the CPU seconds of the task's process and of the emulator's
(where the real time goes); the peak memory (target: under 200 MB for the task's process);
the XCom value's size, ``len(json.dumps(value))`` (target: under 64 KB); and that the emulator
received every record once (its record log: the count, and no ``external_id`` twice).

    python benchmarks/bench_bulk_million.py [--records N] [--limit 30] [--poll 3] [--emulator subprocess]
        [--summary FILE]

1,000,000 records take about two minutes of real time on a 2-core machine, so that is the
default; ``--records 10000`` is a quick check. Exits 1 when a target is missed (the memory target
is judged only with the emulator in a process of its own).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_support import task_logs_dropped, write_summary

CHUNK = 100
#: About two minutes of real time on a 2-core machine, well within the 15 minutes a benchmark may take.
DEFAULT_RECORDS = 1_000_000
MEMORY_TARGET_MB = 200.0
XCOM_TARGET_BYTES = 64 * 1024
FLOOR_TARGET = 0.10


def write_records(path: Path, count: int) -> int:
    """Tickets, one JSON object a line, each with its own ``external_id``; returns the file's size."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(
                json.dumps(
                    {
                        "subject": f"Benchmark ticket {i}",
                        "external_id": f"bench-{i}",
                        "comment": {"body": f"Imported by the benchmark, record {i}."},
                        "tags": ["bench", "import"],
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
    return path.stat().st_size


class SqliteTaskStateStore:
    """What ``context["task_state_store"]`` does: one task instance's values, kept as JSON text in a database.

    The rows are in an SQLite file, as the metadata database keeps them out of the task's process;
    each ``set`` is committed (without fsync: the store's speed is not the question here).
    """

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.sets = 0
        self.gets = 0
        self.bytes = 0

    def get(self, key: str, default: Any = None) -> Any:
        self.gets += 1
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row is not None else default

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        text = json.dumps(value, allow_nan=False)
        self.db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, text))
        self.sets += 1
        self.bytes += len(text)

    def close(self) -> None:
        self.db.close()


class Emulator:
    """What the benchmark asks of the emulator, wherever it runs: its clock, its record log, its memory."""

    def now(self) -> float:
        raise NotImplementedError

    def advance(self, seconds: float) -> float:
        raise NotImplementedError

    def connection(self) -> str:
        raise NotImplementedError

    def received(self) -> tuple[int, int]:
        """``(records received, external_ids received more than once)``."""
        raise NotImplementedError

    def requests(self) -> int:
        raise NotImplementedError

    def peak_mb(self) -> float | None:
        """The emulator's own peak memory, when it runs apart."""
        return None

    def cpu_seconds(self) -> float | None:
        """The emulator's own CPU time so far, when it runs apart."""
        return None


class InProcessEmulator(Emulator):
    def __init__(self, emu: Any) -> None:
        self.emu = emu

    def now(self) -> float:
        return float(self.emu.clock.now())

    def advance(self, seconds: float) -> float:
        return float(self.emu.advance(seconds))

    def connection(self) -> str:
        return str(self.emu.connection_extra_json())

    def received(self) -> tuple[int, int]:
        return self.emu.records_received(), len(self.emu.duplicate_records("external_id"))

    def requests(self) -> int:
        return int(self.emu.request_count())


class ProcessEmulator(Emulator):
    """The console-script emulator in a process of its own (``RemoteEmulator``), driven over ``/__emulator__``.

    Only this benchmark moves its clock, so the clock is mirrored here and read without a request.
    """

    def __init__(self, remote: Any) -> None:
        self.remote = remote
        self.pid = remote.process.pid
        self._now = float(remote.now())

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        self._now = float(self.remote.advance(seconds))
        return self._now

    def connection(self) -> str:
        return str(self.remote.connection_extra_json())

    def received(self) -> tuple[int, int]:
        summary = self.remote.record_summary("external_id")
        return int(summary["total"]), len(summary["duplicates"])

    def requests(self) -> int:
        return int(self.remote.request_count("/api/"))

    def peak_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text(encoding="utf-8").splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def cpu_seconds(self) -> float | None:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text(encoding="utf-8")
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # after the command's name, which may hold spaces
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@contextmanager
def emulator(kind: str, work: Path, queued: float, per_item: float, limit: int) -> Iterator[Emulator]:
    if kind == "in-process":
        from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator

        with ZendeskEmulator(
            clock=ManualClock(), queued_seconds=queued, seconds_per_item=per_item, max_active_jobs=limit
        ) as emu:
            yield InProcessEmulator(emu)
        return
    from airflow_provider_zendesk_jobs.testing import RemoteEmulator

    options = ("--queued-seconds", str(queued), "--seconds-per-item", str(per_item), "--max-active-jobs", str(limit))
    remote = RemoteEmulator.start(
        "--manual-clock", *options, output=work / "emulator.log", startup_timeout=60, timeout=120
    )
    with remote:
        yield ProcessEmulator(remote)


def rss_peak_mb() -> float:
    """This process's peak resident memory so far (``ru_maxrss``, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Result:
    records: int
    file_bytes: int
    clock_seconds: float
    real_seconds: float
    cpu_seconds: float
    emulator_cpu_seconds: float | None
    rss_before_mb: float
    rss_after_mb: float
    emulator_mb: float | None
    xcom_bytes: int
    received: int
    duplicates: int
    succeeded: int
    requests: int
    results_lines: int
    ledger_sets: int
    ledger_gets: int
    ledger_bytes: int


def measure(records: int, limit: int, poll: float, queued: float, per_item: float, kind: str) -> Result:
    from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator
    from airflow_provider_zendesk_jobs.testing.timeline import on_clock

    with tempfile.TemporaryDirectory(prefix="bench-million-") as tmp:
        work = Path(tmp)
        records_path = work / "tickets.jsonl"
        results_path = work / "results.jsonl"
        file_bytes = write_records(records_path, records)
        store = SqliteTaskStateStore(work / "task_state.sqlite")
        with emulator(kind, work, queued, per_item, limit) as emu:
            os.environ["AIRFLOW_CONN_ZENDESK_DEFAULT"] = emu.connection()
            operator = on_clock(ZendeskBulkJobOperator, emu.now, emu.advance)(
                task_id="bench_million",
                action="tickets.import",
                records_path=str(records_path),
                results_path=str(results_path),
                max_active_jobs=limit,
                poll_interval=poll,
                deferrable=False,
            )
            context = {"run_id": "bench_million", "task_state_store": store}
            rss_before = rss_peak_mb()
            cpu_before, emulator_cpu_before = cpu_seconds(), emu.cpu_seconds()
            start, began = emu.now(), time.perf_counter()
            value = operator.execute(context)  # type: ignore[arg-type]
            real = time.perf_counter() - began
            clock = emu.now() - start
            cpu, emulator_cpu = cpu_seconds() - cpu_before, emu.cpu_seconds()
            if emulator_cpu is not None and emulator_cpu_before is not None:
                emulator_cpu -= emulator_cpu_before
            rss_after = rss_peak_mb()
            received, duplicates = emu.received()
            requests = emu.requests()
            emulator_mb = emu.peak_mb()
        with results_path.open("rb") as lines:
            results_lines = sum(1 for _ in lines)
        store.close()
        return Result(
            records=records,
            file_bytes=file_bytes,
            clock_seconds=clock,
            real_seconds=real,
            cpu_seconds=cpu,
            emulator_cpu_seconds=emulator_cpu,
            rss_before_mb=rss_before,
            rss_after_mb=rss_after,
            emulator_mb=emulator_mb,
            xcom_bytes=len(json.dumps(value)),
            received=received,
            duplicates=duplicates,
            succeeded=int(value["succeeded"]),
            requests=requests,
            results_lines=results_lines,
            ledger_sets=store.sets,
            ledger_gets=store.gets,
            ledger_bytes=store.bytes,
        )


def warm_up() -> None:
    """Airflow, the provider and the HTTP client imported before the memory before the task is read."""
    import requests  # noqa: F401
    from airflow.providers.common.compat.sdk import ObjectStoragePath  # noqa: F401

    from airflow_provider_zendesk_jobs.hooks.zendesk_jobs import ZendeskJobStatusHook  # noqa: F401
    from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator  # noqa: F401


def main(argv: list[str] | None = None) -> tuple[int, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    parser.add_argument("--limit", type=int, default=30, help="the account's job limit (and the operator's budget)")
    parser.add_argument("--poll", type=float, default=3.0, help="seconds between reads of the active jobs")
    parser.add_argument("--queued", type=float, default=2.0, help="seconds a job stays queued")
    parser.add_argument("--per-item", type=float, default=0.3, help="seconds of work per record")
    parser.add_argument(
        "--emulator",
        choices=("subprocess", "in-process"),
        default="subprocess",
        help="run the emulator in a process of its own (the task's memory alone) or in this one",
    )
    parser.add_argument("--summary", help="write the headline figures to this JSON file")
    args = parser.parse_args(argv)

    warm_up()
    job_seconds = args.queued + CHUNK * args.per_item
    chunks = math.ceil(args.records / CHUNK)
    floor = math.ceil(chunks / args.limit) * job_seconds
    run = measure(args.records, args.limit, args.poll, args.queued, args.per_item, args.emulator)

    over_floor = run.clock_seconds / floor - 1
    once = run.received == args.records and run.duplicates == 0 and run.succeeded == args.records
    peak = run.rss_after_mb
    apart = args.emulator == "subprocess"
    memory_of = "this process (the task alone)" if apart else "this process (the task and the emulator)"
    emulator_cpu = f"{run.emulator_cpu_seconds:,.1f}" if run.emulator_cpu_seconds is not None else "(in this process)"
    emulator_peak = f"{run.emulator_mb:.0f} MB" if run.emulator_mb is not None else "(in this process)"
    memory_target = f"under {MEMORY_TARGET_MB:.0f} MB" if apart else "(judged with the emulator apart)"
    lines = [
        f"{args.records:,} records ({run.file_bytes / 1e6:.0f} MB of JSON Lines) in {chunks:,} chunks of {CHUNK}, "
        f"a job limit of {args.limit}, each job {job_seconds:g} s ({args.queued:g} s queued + {args.per_item:g} s "
        f"per record), polls every {args.poll:g} s; worker mode, the ledger in a task state store stand-in, the "
        f"results to a file; the emulator {'in a process of its own' if apart else 'in this process'}.",
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        f"| emulator-clock seconds | {run.clock_seconds:,.0f} | |",
        f"| floor: ceil(chunks / limit) x job | {floor:,.0f} | |",
        f"| vs floor | {run.clock_seconds / floor:.3f} ({over_floor:+.1%}) | within +{FLOOR_TARGET:.0%} |",
        f"| real seconds | {run.real_seconds:,.1f} ({run.real_seconds / args.records * 1e6:.0f} µs a record) | |",
        f"| CPU seconds: the task's process / the emulator's | {run.cpu_seconds:,.1f} / {emulator_cpu} | |",
        f"| peak memory of {memory_of}, ru_maxrss | {peak:.0f} MB | {memory_target} |",
        f"| of which before the task (Airflow and the provider imported) | {run.rss_before_mb:.0f} MB | |",
        f"| growth during the task | {peak - run.rss_before_mb:+.0f} MB | |",
        f"| the emulator's own peak, VmHWM | {emulator_peak} | |",
        f"| XCom value, len(json.dumps(value)) | {run.xcom_bytes:,} B | under {XCOM_TARGET_BYTES // 1024} KB |",
        f"| records received / received twice | {run.received:,} / {run.duplicates} | each once |",
        f"| succeeded / lines in results_path | {run.succeeded:,} / {run.results_lines:,} | |",
        f"| requests to Zendesk per 1,000 records | {run.requests / args.records * 1000:.1f} | |",
        f"| ledger: values set / read / JSON bytes set | {run.ledger_sets:,} / {run.ledger_gets:,} / "
        f"{run.ledger_bytes / 1e6:.1f} MB | |",
    ]
    checks = {
        "the floor": over_floor <= FLOOR_TARGET,
        "memory": peak < MEMORY_TARGET_MB or not apart,
        "XCom size": run.xcom_bytes < XCOM_TARGET_BYTES,
        "each record once": once,
    }
    missed = [name for name, ok in checks.items() if not ok]
    met = not missed
    lines += [
        "",
        f"- {args.records:,} records took {run.clock_seconds / floor:.3f}x the floor on the emulator's clock and "
        f"{run.real_seconds:,.0f} s of real time; {memory_of} peaked at {peak:.0f} MB "
        f"({peak - run.rss_before_mb:+.0f} MB over Airflow and the provider imported); the XCom value is "
        f"{run.xcom_bytes:,} bytes." + (f" Missed: {', '.join(missed)}." if missed else ""),
    ]
    if args.records < 1_000_000:
        lines.append("- A smaller run than the default: the 1,000,000-record figure needs `--records 1000000`.")
    figure = (
        f"{args.records:,} records: {run.clock_seconds / floor:.2f}x the floor, {run.real_seconds:,.0f} s real, "
        f"the task's peak {peak:.0f} MB, XCom {run.xcom_bytes / 1024:.1f} KB"
    )
    target = (
        f"within {FLOOR_TARGET:.0%} of the floor, the task under {MEMORY_TARGET_MB:.0f} MB, XCom under "
        f"{XCOM_TARGET_BYTES // 1024} KB, every record once"
    )
    write_summary(args.summary, figure=figure, target=target, met=met)
    return (0 if met else 1), lines


if __name__ == "__main__":
    with task_logs_dropped():
        code, report = main()
    print("\n".join(report))
    sys.exit(code)
