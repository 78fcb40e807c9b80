"""Running the chosen scenarios side by side, each in its own thread; one's failure is its own."""

from __future__ import annotations

import threading
import time
import traceback

from scripts.e2e.deployment import Deployment
from scripts.e2e.harness import E2EError, Interrupted, Result
from scripts.e2e.scenarios import Scenario


def run_scenario(dep: Deployment, scenario: Scenario, result: Result) -> None:
    began = time.monotonic()
    try:
        scenario.body(dep, result)
    except Interrupted:
        result.problems.append("interrupted")
    except Exception as exc:  # a scenario's failure is its own, the others go on
        result.problems.append(f"{type(exc).__name__}: {exc}")
        if not isinstance(exc, E2EError):
            result.figures["traceback"] = traceback.format_exc(limit=4)
    result.passed = not result.problems
    result.seconds = round(time.monotonic() - began, 1)
    print(f"  {'PASS' if result.passed else 'FAIL'} {result.title} ({result.seconds:.0f} s)", flush=True)


def run_all(dep: Deployment, chosen: list[Scenario], results: list[Result]) -> None:
    """Each chosen scenario's result into ``results`` (there from the start, so an interrupted run still reports
    them); first, a failed "0." one if a process of the deployment exited on its own."""
    mine = [Result(s.name, s.title) for s in chosen]
    results.extend(mine)
    threads = [
        threading.Thread(target=run_scenario, args=(dep, s, r), name=s.name, daemon=True)
        for s, r in zip(chosen, mine, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=1.0)
            if dep.run.out_of_time():
                dep.run.stop()
    gone = dep.unexpected_exits()
    if gone:
        deployment = Result("deployment", "0. every process stayed up", figures={"exited": gone})
        deployment.problems.append("processes exited on their own: " + ", ".join(gone))
        results.insert(0, deployment)
