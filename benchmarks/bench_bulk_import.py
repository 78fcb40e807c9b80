"""A bulk import of 10,000 records: ZendeskBulkJobOperator against the floor the job limit sets, and the naive way.

The emulator processes every job at a fixed rate (``queued`` seconds, then ``per-item`` seconds
per record) and refuses a 31st active job, as Zendesk does. Everything runs on its
``ManualClock``: the operator reads that clock and its waits move it, so the figures are
emulator-clock seconds, the same on any machine.

* **floor**: the records cut into chunks of 100, through the limit at that rate:
  ``ceil(chunks / limit) * job duration`` (no client can finish sooner);
* **operator**: ``ZendeskBulkJobOperator(max_active_jobs=limit)``, polling every ``--poll`` seconds;
* **naive**: one chunk at a time, each waited on before the next is sent (the same operator
  with ``max_active_jobs=1``, so both use the same requests and the same polling).

Also counted: requests to Zendesk per 1,000 records, and that every record was received once.

    python benchmarks/bench_bulk_import.py [--records 10000] [--limit 30] [--poll 3] [--summary FILE]

Exits 1 when the operator is more than 10% over the floor, under 10x faster than the naive way
at this limit, or any record was received other than once.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from bench_support import task_logs_dropped, write_summary

from airflow_provider_zendesk_jobs.testing import ManualClock, ZendeskEmulator

CHUNK = 100


@dataclass
class Run:
    name: str
    max_active_jobs: int
    seconds: float
    requests: int
    received: int
    duplicates: int
    succeeded: int


def tickets(count: int) -> list[dict[str, Any]]:
    return [{"subject": f"Benchmark ticket {i}", "external_id": f"bench-{i}"} for i in range(count)]


def measure(name: str, records: int, limit: int, active: int, poll: float, queued: float, per_item: float) -> Run:
    from airflow_provider_zendesk_jobs.operators.bulk_jobs import ZendeskBulkJobOperator
    from airflow_provider_zendesk_jobs.testing.timeline import on_clock

    with (
        ZendeskEmulator(
            clock=ManualClock(), queued_seconds=queued, seconds_per_item=per_item, max_active_jobs=limit
        ) as emu,
        tempfile.TemporaryDirectory() as ledgers,
    ):
        os.environ["AIRFLOW_CONN_ZENDESK_DEFAULT"] = emu.connection_extra_json()
        operator = on_clock(ZendeskBulkJobOperator, emu.clock.now, emu.advance)(
            task_id=f"bench_{active}",
            action="tickets.import",
            records=tickets(records),
            max_active_jobs=active,
            poll_interval=poll,
            ledger_path=ledgers,
        )
        start = emu.clock.now()
        value = operator.execute({"run_id": name})  # type: ignore[arg-type]
        return Run(
            name=name,
            max_active_jobs=active,
            seconds=emu.clock.now() - start,
            requests=emu.request_count(),
            received=emu.records_received(),
            duplicates=len(emu.duplicate_records("external_id")),
            succeeded=int(value["succeeded"]),
        )


def main(argv: list[str] | None = None) -> tuple[int, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=30, help="the account's job limit (and the operator's budget)")
    parser.add_argument("--poll", type=float, default=3.0, help="seconds between reads of the active jobs")
    parser.add_argument("--queued", type=float, default=2.0, help="seconds a job stays queued")
    parser.add_argument("--per-item", type=float, default=0.3, help="seconds of work per record")
    parser.add_argument("--summary", help="write the headline figures to this JSON file")
    args = parser.parse_args(argv)

    job_seconds = args.queued + CHUNK * args.per_item
    chunks = math.ceil(args.records / CHUNK)
    floor = math.ceil(chunks / args.limit) * job_seconds
    operator = measure("operator", args.records, args.limit, args.limit, args.poll, args.queued, args.per_item)
    naive = measure("naive", args.records, args.limit, 1, args.poll, args.queued, args.per_item)

    over_floor = operator.seconds / floor - 1
    speedup = naive.seconds / operator.seconds
    once = all(run.received == args.records and run.duplicates == 0 for run in (operator, naive))
    lines = [
        f"{args.records:,} records in chunks of {CHUNK}, a job limit of {args.limit}, each job {job_seconds:g} s "
        f"({args.queued:g} s queued + {args.per_item:g} s per record), polls every {args.poll:g} s "
        "(emulator clock).",
        "",
        "| way | jobs at once | clock s | vs floor | requests | requests per 1,000 records | received once |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| floor (chunks through the limit) | {args.limit} | {floor:g} | 1.00 | | | |",
    ]
    for run in (operator, naive):
        received_once = run.received == args.records and not run.duplicates
        lines.append(
            f"| {run.name} | {run.max_active_jobs} | {run.seconds:g} | {run.seconds / floor:.2f} | {run.requests} | "
            f"{run.requests / args.records * 1000:.1f} | {'yes' if received_once else 'NO'} |"
        )
    lines += [
        "",
        f"- The operator took {operator.seconds / floor:.3f}x the floor ({over_floor:+.1%}), "
        f"{speedup:.1f}x faster than one chunk at a time; {operator.requests / args.records * 1000:.1f} requests "
        f"per 1,000 records (the naive way: {naive.requests / args.records * 1000:.1f}).",
    ]
    met = over_floor <= 0.10 and speedup >= 10 and once
    figure = (
        f"{operator.seconds / floor:.2f}x the floor, {speedup:.1f}x faster than the naive way, "
        f"{operator.requests / args.records * 1000:.1f} requests per 1,000 records"
    )
    target = "within 10% of the floor and at least 10x faster than the naive way at a limit of 30; every record once"
    write_summary(args.summary, figure=figure, target=target, met=met)
    return (0 if met else 1), lines


if __name__ == "__main__":
    with task_logs_dropped():
        code, report = main()
    print("\n".join(report))
    sys.exit(code)
