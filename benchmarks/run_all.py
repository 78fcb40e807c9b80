"""Runs every benchmark and writes ``benchmarks/RESULTS.md``; ``make bench`` calls it.

Each script runs in its own interpreter, one after the other (never two at once, so they do
not compete for the cores), with a fresh ``AIRFLOW_HOME`` in a temporary directory and
Airflow's unit-test mode off, as a deployment would run. Each prints its markdown table and
writes its headline figures to a JSON file (``--summary``); this script puts them together
with the machine they ran on, the date, and how to rerun.

    .venv/bin/python benchmarks/run_all.py [--output benchmarks/RESULTS.md] [--strict]

Exits 0 when every script ran, whether or not each met its target (the file says which);
2 when a script failed to run; with ``--strict``, 1 when a target was missed.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass
class Bench:
    question: str
    title: str
    script: str
    #: The script writes ``--summary FILE``; otherwise its exit code and last line are the summary.
    summary: bool = True
    returncode: int | None = None
    output: str = ""
    errors: str = ""
    headline: dict[str, Any] = field(default_factory=dict)


BENCHES = [
    Bench("1", "Requests to Zendesk while waiting", "bench_requests_while_waiting.py"),
    Bench(
        "1, more",
        "The same waits: CPU and memory (absolute figures, for this machine only)",
        "bench_deferred_waits.py",
        summary=False,
    ),
    Bench("2", "Worker slots held while waiting", "bench_worker_slots.py"),
    Bench("3", "Cost at DAG parse", "bench_import_time.py"),
    Bench("4", "Parsing", "bench_parsing.py"),
    Bench("5", "The emulator's ceiling", "bench_emulator_throughput.py"),
    Bench("6", "A bulk import of 10,000 records through the job limit", "bench_bulk_import.py"),
    Bench("7", "The bulk import's ledger: a chunk's writes at chunk 10,000 against chunk 1", "bench_ledger.py"),
    Bench("8", "A bulk import of 1,000,000 records: the floor, memory, XCom", "bench_bulk_million.py"),
]


def child_environment(home: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    env["AIRFLOW_HOME"] = home
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    return env


def run(bench: Bench, timeout: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-airflow-home-") as home:
        command = [sys.executable, str(HERE / bench.script)]
        summary_file = Path(home) / "summary.json"
        if bench.summary:
            command += ["--summary", str(summary_file)]
        try:
            result = subprocess.run(
                command, cwd=HERE, env=child_environment(home), capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            bench.returncode = -1
            bench.errors = f"did not finish within {timeout:g} s\n{exc.stderr or ''}"
            return
        bench.returncode = result.returncode
        bench.output = result.stdout.strip()
        bench.errors = result.stderr
        if bench.summary and summary_file.exists():
            bench.headline = json.loads(summary_file.read_text(encoding="utf-8"))
        elif result.returncode in (0, 1):
            last = [line for line in bench.output.splitlines() if line.strip()]
            bench.headline = {"figure": last[-1] if last else "", "met": result.returncode == 0}


def ran(bench: Bench) -> bool:
    return bench.returncode in (0, 1) and bool(bench.headline)


def describe_method(script: str) -> str:
    tree = ast.parse((HERE / script).read_text(encoding="utf-8"))
    return ast.get_docstring(tree) or ""


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def machine(load_before: float, load_after: float) -> list[str]:
    rows = [
        ("cores", str(os.cpu_count())),
        ("CPU", cpu_model()),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("Airflow", f"{version('apache-airflow')} (task SDK {version('apache-airflow-task-sdk')})"),
        ("this provider", f"{version('airflow-provider-zendesk-jobs')} at commit {commit()}"),
        (
            "compared against",
            f"apache-airflow-providers-http {version('apache-airflow-providers-http')}, "
            f"apache-airflow-providers-zendesk {version('apache-airflow-providers-zendesk')}, "
            f"zenpy {version('zenpy')}",
        ),
        ("OS", platform.platform()),
        ("load average (1 min) before / after", f"{load_before:.2f} / {load_after:.2f}"),
    ]
    return ["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]


def verdict(bench: Bench) -> str:
    if not ran(bench):
        return "did not run"
    return "met" if bench.headline.get("met") else "**missed**"


def render(benches: list[Bench], when: datetime.datetime, load_before: float, load_after: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {when:%Y-%m-%d %H:%M} UTC. Every figure below is a ratio or a count measured "
        "side by side in this one run (except the section marked absolute, and the milliseconds, real seconds and "
        "megabytes of questions 7 and 8, which hold for this machine only). Counts and latencies in seconds of the "
        "emulator's clock (questions 1, 2, 6 and 8) are exact and do not depend on the machine; the ratios of "
        "questions 3 to 5 and 7 move by some percent from run to run on a busy machine.",
        "",
        "## How to rerun",
        "",
        "```",
        "make bench                                   # installs the bench extra into .venv, runs every script,",
        "                                             # rewrites this file",
        ".venv/bin/python benchmarks/<script> --help  # one question alone, with its options",
        "```",
        "",
        "## Machine",
        "",
        *machine(load_before, load_after),
        "",
        "## Summary",
        "",
        "| question | figure | target | |",
        "|---|---|---|---|",
    ]
    for bench in benches:
        figure = bench.headline.get("figure", "")
        if bench.headline.get("latency"):
            figure += f"; latency p50 / p95 / max {bench.headline['latency']}"
        target = bench.headline.get("target", "its own (see below)")
        lines.append(f"| {bench.question}. {bench.title} | {figure} | {target} | {verdict(bench)} |")
    for bench in benches:
        lines += ["", f"## {bench.question}. {bench.title}", ""]
        if ran(bench):
            lines += [bench.output, ""]
        else:
            tail = "\n".join(bench.errors.strip().splitlines()[-20:])
            lines += [f"`{bench.script}` failed (exit code {bench.returncode}):", "", "```", tail, "```", ""]
        lines += [
            "<details><summary>How it is measured (<code>" + bench.script + "</code>)</summary>",
            "",
            describe_method(bench.script),
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one script may take")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    when = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    for bench in BENCHES:
        print(f"[{time.monotonic() - began:5.0f} s] {bench.script} ...", flush=True)
        run(bench, args.timeout)
        print(f"        {verdict(bench).strip('*')}: {bench.headline.get('figure', bench.errors[-500:])}", flush=True)
    args.output.write_text(render(BENCHES, when, load_before, os.getloadavg()[0]), encoding="utf-8")
    print(f"[{time.monotonic() - began:5.0f} s] wrote {args.output}")
    if not all(ran(bench) for bench in BENCHES):
        return 2
    if args.strict and not all(bench.headline.get("met") for bench in BENCHES):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
