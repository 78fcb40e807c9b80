"""Cost at DAG parse: what importing a module adds on top of ``airflow.sdk``, from ``-X importtime``.

Each run is a fresh interpreter that imports ``airflow.sdk`` first and then the module; the
cost is the sum of the cumulative times of the top-level imports that follow ``airflow.sdk``.
Prints the median of N runs per module and each module's ratio against the first one.

    python benchmarks/bench_import_time.py [--runs 10] [module ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys

DEFAULT_MODULES = [
    "airflow_provider_zendesk_jobs.hooks.zendesk_jobs",
    "airflow_provider_zendesk_jobs.sensors.zendesk_jobs",
    "airflow_provider_zendesk_jobs.operators.zendesk_jobs",
    "airflow.providers.zendesk.hooks.zendesk",
]


def import_cost_us(module: str) -> int:
    """Microseconds that importing ``module`` adds after ``airflow.sdk`` in one fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import airflow.sdk; import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
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
        if after_sdk and top_level:
            total += int(cumulative_us)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES)
    args = parser.parse_args(argv)
    rows = []
    for module in args.modules:
        if importlib.util.find_spec(module.split(".")[0]) is None:
            continue
        try:
            costs = [import_cost_us(module) for _ in range(args.runs)]
        except subprocess.CalledProcessError:
            print(f"skipped {module}: it does not import here")
            continue
        rows.append((module, statistics.median(costs) / 1000))
    if not rows:
        return 1
    baseline = rows[0][1]
    print(f"| module | median ms over airflow.sdk ({args.runs} runs) | ratio to {rows[0][0].rsplit('.', 1)[-1]} |")
    print("|---|---|---|")
    for module, ms in rows:
        print(f"| `{module}` | {ms:.1f} | {ms / baseline:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
