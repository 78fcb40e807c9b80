"""The PASS/FAIL table with each scenario's figures, printed and written to ``e2e_summary.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scripts.e2e.harness import Result


def headline(results: list[Result]) -> dict[str, Any]:
    """The figures worth reading first, by scenario (None for a scenario that did not run)."""
    by = {r.name: r for r in results}

    def figs(name: str, *keys: str) -> dict[str, Any] | None:
        if name not in by:
            return None
        return {"passed": by[name].passed, **{key: by[name].figures.get(key) for key in keys}}

    return {
        "requests_per_interval_at_30_waits": figs("many", "show_many_per_interval", "waits", "succeeded"),
        "outage_survived": figs("outage", "outage_seconds", "survived", "first_end_into_outage_s"),
        "restart": figs("restart", "timeout_after_first_check", "timeout_after_restart", "waits", "returns"),
        "poison_row": figs("poison_row", "good_waits", "bad_wait", "triggerer_pid_alive", "triggerer_heartbeat"),
        "two_triggerers": figs("two_triggerers", "waits_per_triggerer", "show_many_per_interval", "waits", "returns"),
        "events": figs("events", "first_kill", "kill_after_restart", "events_fired", "runs"),
        "bulk": figs("bulk", "example_records_received", "killed_task_tries", "killed_records_received"),
        "celery": figs("celery", "killed_worker", "tries", "records_received", "duplicates"),
    }


def summarise(results: list[Result], db: str, wall: float, home: Path) -> None:
    print("\nSummary")
    for r in results:
        if not r.passed and not r.problems:
            r.problems.append("did not finish")
        print(f"  {'PASS' if r.passed else 'FAIL'}  {r.title:<30} {r.seconds:6.0f} s")
        for key, value in r.figures.items():
            if key != "traceback":
                print(f"          {key}: {value}")
        for problem in r.problems:
            print(f"          problem: {problem}")
    print(f"  wall time {wall:.0f} s on {db}")
    summary = {
        "db": db,
        "wall_time_seconds": round(wall, 1),
        "passed": bool(results) and all(r.passed for r in results),  # nothing ran: not a pass
        **headline(results),
        "scenarios": [
            {
                "name": r.name,
                "title": r.title,
                "passed": r.passed,
                "seconds": r.seconds,
                "figures": r.figures,
                "problems": r.problems,
            }
            for r in results
        ],
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / "e2e_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"  written to {home / 'e2e_summary.json'}")
