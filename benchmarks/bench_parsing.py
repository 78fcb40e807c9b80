"""Parsing cost: ``json.loads`` + ``JobStatus.from_api`` + ``to_dict()`` against ``json.loads`` alone.

1,000 job statuses with 100 result items each, in the mix of item shapes real accounts send
(ticket imports with ``index`` and ``account_id``, users with ``status``, bulk updates and
deletes with ``action`` and ``success``, rejected records with ``error`` and ``details``, older
accounts' empty ``errors``), as one ``show_many``-style body. Both sides parse the same bytes in
the same process; the figure is the ratio, not the seconds. ``from_api`` reads a job's fields
and keeps its ``results`` list as sent; ``to_dict()`` reads the items (on their first use) and
writes the XCom form, so the two stages together are what reading a finished job costs.

There is no target any more (the script used to fail at 3x): the model is written plainly
rather than for this ratio, because what a deferred wait costs is the poll cycle, and a
poll reads a job's id, status and counters, not its items (question "1, more",
``bench_deferred_waits.py``, measures the cycle). The ratio is printed to show what reading
every item of a large job into the XCom form costs a worker.

How it is timed, so the ratio is fair to both sides and steady on a busy machine:

* CPU time of the thread (``time.thread_time``), not wall time: time this process spends
  waiting for a core another process holds is counted for neither side;
* each repeat's ratio is taken inside one call: its first stage is ``json.loads`` of the
  bytes, alone, then come parsing and ``to_dict()``, so both sides of the ratio see the same
  machine state (the load of other processes on a shared machine moves both alike); the
  figure is the median over N repeats (default 15). ``json.loads`` in a call of its own is
  timed between the repeats, as a check that the first stage is a fair baseline;
* the cyclic garbage collector runs (``gc.collect()``) before each timed call and is paused
  during it: otherwise a call pays for collecting whatever the previous calls left behind,
  and how often the collector runs depends on what else the process holds. The ratio with
  the collector running during the calls is printed too, for reference.

    python benchmarks/bench_parsing.py [--jobs 1000] [--items 100] [--repeats 15] [--summary FILE]

Exits 0 whenever it ran (there is no target to miss).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench_support import write_summary

from airflow_provider_zendesk_jobs.jobs import parse_job_statuses_body

#: What the summary says in place of a target.
NO_TARGET = "none (retired: the poll cycle's CPU counts, question 1, more)"

SHAPES: list[dict[str, Any]] = [
    {"index": 0, "id": 4018, "account_id": 18525119},
    {"id": 244, "index": 1},
    {"status": "Created", "id": 6164110479770},
    {"action": "update", "id": 244, "status": "Updated", "success": True},
    {"action": "delete", "id": 245, "status": "Deleted", "success": True},
    {"id": 1, "status": "Created", "email": "a@b.c"},
    {
        "index": 1,
        "error": "OrganizationUpdateFailed",
        "id": 6164110666394,
        "details": "Name: Acme has already been taken",
    },
    {"id": 2, "error": "UserUpdateError", "details": "Email is invalid", "status": "Failed"},
    {"id": 3, "title": "Ticket", "errors": "", "index": 7},
]


def body(jobs: int, items: int) -> bytes:
    statuses = [
        {
            "id": f"V3-{n:032x}",
            "url": f"https://acme.zendesk.com/api/v2/job_statuses/V3-{n:032x}.json",
            "status": "completed",
            "job_type": "Bulk Create Ticket",
            "total": items,
            "progress": items,
            "message": "Completed at 2023-09-18 23:35:12 +0000",
            "results": [SHAPES[i % len(SHAPES)] for i in range(items)],
        }
        for n in range(jobs)
    ]
    return json.dumps({"job_statuses": statuses}).encode()


def timed(work: Callable[[], dict[str, float]], *, collector: bool) -> dict[str, float]:
    """CPU seconds of each stage of one call; the collector is run first and, unless asked, paused during it."""
    gc.collect()
    if not collector:
        gc.disable()
    try:
        return work()
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--summary", help="write the headline figures to this JSON file")
    args = parser.parse_args(argv)
    raw = body(args.jobs, args.items)

    def json_only() -> dict[str, float]:
        start = time.thread_time()
        json.loads(raw)
        return {"json": time.thread_time() - start}

    def ours() -> dict[str, float]:
        start = time.thread_time()
        decoded = json.loads(raw)
        loaded = time.thread_time()
        jobs = parse_job_statuses_body(decoded)
        parsed = time.thread_time()
        for job in jobs:
            job.to_dict()
        done = time.thread_time()
        return {"loads": loaded - start, "parse": parsed - loaded, "to_dict": done - parsed, "total": done - start}

    ratios: dict[bool, float] = {}
    stages: dict[str, float] = {}
    for collector in (False, True):
        per_call: dict[str, list[float]] = {"total": [], "parse": [], "to_dict": [], "alone": []}
        for _ in range(args.repeats):
            alone = timed(json_only, collector=collector)["json"]
            call = timed(ours, collector=collector)
            for key in ("total", "parse", "to_dict"):
                per_call[key].append(call[key] / call["loads"])
            per_call["alone"].append(alone / call["loads"])
        ratios[collector] = statistics.median(per_call["total"])
        if not collector:
            stages = {key: statistics.median(values) for key, values in per_call.items()}
    ratio = ratios[False]
    print(f"{args.jobs:,} jobs x {args.items} result items ({len(raw) / 1e6:.1f} MB), median of {args.repeats}.\n")
    print("| work | x `json.loads` alone |")
    print("|---|---:|")
    print("| `json.loads` alone (the first stage of each call) | 1.00 |")
    print(f"| `json.loads` alone, in a call of its own (a check) | {stages['alone']:.2f} |")
    print(f"| `JobStatus.from_api` of every job (its items kept as sent) | {stages['parse']:.2f} |")
    print(f"| `to_dict()` of every job (its items read, then the XCom form) | {stages['to_dict']:.2f} |")
    print(f"| **all of it: `json.loads` + parsing + `to_dict()`** | **{ratio:.2f}** |")
    print(f"| all of it, with the garbage collector running during the calls | {ratios[True]:.2f} |")
    print(
        f"\n- `json.loads` + parsing + `to_dict()` costs **{ratio:.2f}x** `json.loads` alone (no target: "
        f"a poll does not read items); what the model adds on its own (parsing + `to_dict()`) is "
        f"{stages['parse'] + stages['to_dict']:.2f}x."
    )
    figure = f"{ratio:.2f}x json.loads alone (json.loads + parsing + to_dict of 1,000 jobs x 100 items)"
    write_summary(args.summary, figure=figure, target=NO_TARGET, met=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
