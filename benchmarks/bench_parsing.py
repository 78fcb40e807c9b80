"""Parsing cost: ``json.loads`` + ``JobStatus.from_api`` + ``to_dict()`` against ``json.loads`` alone.

1,000 job statuses with 100 result items each, in the mix of item shapes real accounts send
(ZENDESK_API.md). Both sides are timed in the same run, best of N repeats; the figure is the
ratio, not the seconds.

    python benchmarks/bench_parsing.py [--jobs 1000] [--items 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from airflow_provider_zendesk_jobs.jobs import parse_job_statuses_body

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


def best_of(repeats: int, work: Any) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    raw = body(args.jobs, args.items)

    def json_only() -> None:
        json.loads(raw)

    def parse_and_dump() -> None:
        for job in parse_job_statuses_body(json.loads(raw)):
            job.to_dict()

    baseline = best_of(args.repeats, json_only)
    ours = best_of(args.repeats, parse_and_dump)
    print(f"| {args.jobs} jobs x {args.items} items ({len(raw) / 1e6:.1f} MB) | ratio |")
    print("|---|---|")
    print("| json.loads alone | 1.00 |")
    print(f"| json.loads + JobStatus.from_api + to_dict() | {ours / baseline:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
