"""Cost at DAG parse: importing this provider's sensor and operator against the official ``ZendeskHook``.

What a DAG file pays to use each, on top of ``airflow.sdk``: each run is a fresh interpreter
with ``-X importtime`` that imports ``airflow.sdk`` first, then the side's modules; the cost
is the sum of the cumulative times of the top-level imports that follow ``airflow.sdk``.

* ours: ``airflow_provider_zendesk_jobs.sensors.zendesk_jobs`` and
  ``airflow_provider_zendesk_jobs.operators.zendesk_jobs`` (one interpreter imports both);
* theirs: ``airflow.providers.zendesk.hooks.zendesk`` (the official provider's ``ZendeskHook``,
  which imports zenpy).

Fairness: the runs alternate (ours, theirs, theirs, ours, ...) so a change in the machine's
load hits both sides alike; both read compiled bytecode from one private cache directory
(``PYTHONPYCACHEPREFIX``), filled by one discarded warm-up run per side, so neither pays for
compiling its sources when the other does not; the figure is the ratio of the medians.
The shares of a few large dependencies (``requests``, ``zenpy``...) say where each side's
time goes.

    python benchmarks/bench_import_time.py [--runs 11] [--summary FILE]

Exits 1 when ours costs more than a third of theirs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

from bench_support import write_summary

OURS = ["airflow_provider_zendesk_jobs.sensors.zendesk_jobs", "airflow_provider_zendesk_jobs.operators.zendesk_jobs"]
THEIRS = ["airflow.providers.zendesk.hooks.zendesk"]
#: Dependencies whose share of a side's cost is shown, when that side imports them.
NOTABLE = ["requests", "zenpy", "httpx", "airflow.triggers.base"]
TARGET = 1 / 3


def import_costs(modules: list[str], env: dict[str, str]) -> tuple[int, dict[str, int]]:
    """Microseconds the modules add after ``airflow.sdk`` in one fresh interpreter, and the notable parts."""
    statement = "import airflow.sdk; " + "; ".join(f"import {module}" for module in modules)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True, env=env
    )
    total = 0
    notable: dict[str, int] = {}
    after_sdk = False
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative_us, name = line.split("|", 2)
        name = name[1:]  # one space follows the bar; deeper imports are indented further
        top_level = not name.startswith(" ")
        if top_level and name.strip() == "airflow.sdk":
            after_sdk = True
            continue
        if not after_sdk:
            continue
        if top_level:
            total += int(cumulative_us)
        if name.strip() in NOTABLE:
            notable[name.strip()] = notable.get(name.strip(), 0) + int(cumulative_us)
    return total, notable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="fresh interpreters per side (at least 10)")
    parser.add_argument("--summary", help="write the headline figures to this JSON file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-import-pycache-") as cache:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        sides = {"ours": OURS, "theirs": THEIRS}
        for modules in sides.values():
            import_costs(modules, env)  # warm-up: compiles both sides' bytecode into the shared cache
        costs: dict[str, list[int]] = {"ours": [], "theirs": []}
        parts: dict[str, dict[str, list[int]]] = {"ours": {}, "theirs": {}}
        for run in range(args.runs):
            order = ["ours", "theirs"] if run % 2 == 0 else ["theirs", "ours"]
            for side in order:
                total, notable = import_costs(sides[side], env)
                costs[side].append(total)
                for name, value in notable.items():
                    parts[side].setdefault(name, []).append(value)

    median = {side: statistics.median(values) for side, values in costs.items()}
    ratio = median["ours"] / median["theirs"]
    met = ratio <= TARGET
    label = {"ours": " + ".join(f"`{m}`" for m in OURS), "theirs": " + ".join(f"`{m}`" for m in THEIRS)}
    print(f"Median of {args.runs} fresh interpreters per side, each importing `airflow.sdk` first.\n")
    print("| side | modules | x the official ZendeskHook | of which (share of the side's cost) |")
    print("|---|---|---:|---|")
    for side in ("ours", "theirs"):
        shares = ", ".join(
            f"{name} {statistics.median(values) / median[side]:.0%}" for name, values in sorted(parts[side].items())
        )
        print(f"| {side} | {label[side]} | {median[side] / median['theirs']:.2f} | {shares or '-'} |")
    spread = {
        side: f"{min(values) / median[side]:.2f} / {max(values) / median[side]:.2f}" for side, values in costs.items()
    }
    print(
        f"\n- Ours costs **{ratio:.2f}x** the official hook's import (target <= {TARGET:.2f}x: "
        f"{'met' if met else 'MISSED'}). Run-to-run spread, min / max over the median: ours "
        f"{spread['ours']}, theirs {spread['theirs']}."
    )
    write_summary(
        args.summary,
        figure=f"{ratio:.2f}x the import cost of the official ZendeskHook",
        target=f"<= {TARGET:.2f}x",
        met=met,
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
