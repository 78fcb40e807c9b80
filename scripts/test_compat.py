"""``make test-compat``: the whole test suite on each supported Airflow minor, in one environment each.

Each environment is pinned by a file in ``compat/`` (``compat/airflow-3.0.txt`` ...), written by
``make compat-lock`` with ``uv pip compile``: Apache Airflow's patch release, this project's
dependencies and the test tools, as PyPI had them on the day after that release (Airflow's
constraint files are not reachable from every machine; the release day's index is the same
idea). Only ``apache-airflow-providers-common-compat`` and ``uv`` are taken from the project's
lock date instead, because this provider needs a common-compat newer than some of the Airflow
releases. The pins resolve the same way every time, so a failure is the code's, not the day's.

    python scripts/test_compat.py             # run every environment, print the table
    python scripts/test_compat.py --lock      # rewrite the pin files in compat/
    python scripts/test_compat.py airflow-3.0 # only the named environments

Exit status: 0 when every environment passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMPAT = ROOT / "compat"
VENVS = ROOT / ".venv-compat"
#: The date of uv.lock (``[tool.uv] exclude-newer`` in pyproject.toml): what the project needs
#: beyond an Airflow release's day comes from here.
LOCK_DATE = "2026-12-01T00:00:00Z"
NEWER_THAN_AIRFLOW = ("apache-airflow-providers-common-compat", "uv")


@dataclass(frozen=True)
class Env:
    """One cell of the matrix: an Airflow patch release on one Python, resolved as of a date."""

    name: str
    airflow: str
    python: str
    #: The day after the release, midnight UTC: nothing uploaded later is considered.
    exclude_newer: str

    @property
    def pins(self) -> Path:
        return COMPAT / f"{self.name}.txt"

    @property
    def venv(self) -> Path:
        return VENVS / self.name


#: The newest patch of each minor, each on another Python, so that Python 3.10 and 3.13 (the
#: supported edges) are both covered; Airflow 3.0 does not support 3.13, so that edge is on 3.3.
#: Then each edge of Airflow on the Python edge the first four leave out: 3.0 on its newest Python,
#: and 3.3 on Python 3.10, where common-compat stays at 1.20 on the newest Airflow.
ENVS = (
    Env("airflow-3.0", "3.0.6", "3.10", "2025-08-30T00:00:00Z"),
    Env("airflow-3.1", "3.1.8", "3.11", "2026-03-12T00:00:00Z"),
    Env("airflow-3.2", "3.2.2", "3.12", "2026-05-30T00:00:00Z"),
    Env("airflow-3.3", "3.3.2", "3.13", "2026-09-18T00:00:00Z"),
    Env("airflow-3.0-py3.12", "3.0.6", "3.12", "2025-08-30T00:00:00Z"),
    Env("airflow-3.3-py3.10", "3.3.2", "3.10", "2026-09-18T00:00:00Z"),
)


@dataclass
class Outcome:
    env: Env
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.failed == 0 and self.passed > 0


def uv() -> str:
    """The uv the Makefile bootstrapped (``UV``), else one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        sys.exit("uv not found: run through `make test-compat`, which installs it, or set UV=/path/to/uv")
    return found


def interpreter(version: str) -> str:
    """A Python ``version`` on this machine: what uv finds, else a pyenv-installed one.

    pyenv's shims answer only for its selected versions, so its other installs are looked up
    in its versions folder. uv does not download an interpreter here (it may not be reachable).
    """
    found = subprocess.run([uv(), "python", "find", "--no-python-downloads", version], capture_output=True, text=True)
    if found.returncode == 0 and found.stdout.strip():
        return found.stdout.strip()
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True):
        return str(candidate)
    raise FileNotFoundError(f"no Python {version} found: install it (pyenv install {version}, or uv python install)")


def lock(env: Env) -> None:
    """Write ``compat/<name>.txt``: the environment's every package, pinned."""
    with tempfile.NamedTemporaryFile("w", suffix=".in", delete=False) as extra:
        extra.write(f"apache-airflow=={env.airflow}\n")
    newer = [arg for pkg in NEWER_THAN_AIRFLOW for arg in ("--exclude-newer-package", f"{pkg}={LOCK_DATE}")]
    try:
        subprocess.run(
            [uv(), "pip", "compile", "--quiet", "pyproject.toml", extra.name, "--extra", "test",
             "--python-version", env.python, "--python-platform", "x86_64-unknown-linux-gnu",
             "--exclude-newer", env.exclude_newer, *newer, "--no-header", "--no-annotate",
             "--output-file", str(env.pins)],
            cwd=ROOT, check=True,
        )  # fmt: skip
    finally:
        os.unlink(extra.name)
    header = (
        f"# Airflow {env.airflow} on Python {env.python}, as PyPI had it before {env.exclude_newer}\n"
        f"# ({', '.join(NEWER_THAN_AIRFLOW)}: before {LOCK_DATE}). Written by `make compat-lock`.\n"
    )
    env.pins.write_text(header + env.pins.read_text())
    print(f"wrote {env.pins.relative_to(ROOT)}")


def setup(env: Env, log: Path) -> None:
    """A fresh venv holding exactly the pinned packages, and this project, editable, without deps."""
    with log.open("a") as out:
        run: dict[str, Any] = {"cwd": ROOT, "check": True, "stdout": out, "stderr": subprocess.STDOUT}
        python = interpreter(env.python)
        subprocess.run([uv(), "venv", "--quiet", "--clear", "--python", python, str(env.venv)], **run)
        py = str(env.venv / "bin" / "python")
        subprocess.run([uv(), "pip", "sync", "--quiet", "--python", py, str(env.pins)], **run)
        subprocess.run([uv(), "pip", "install", "--quiet", "--python", py, "--no-deps", "-e", "."], **run)


def count(junit: Path, outcome: Outcome) -> None:
    suites = ET.parse(junit).getroot()
    for suite in suites.iter("testsuite"):
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        outcome.failed += failed
        outcome.skipped += skipped
        outcome.passed += tests - failed - skipped


def run_env(env: Env, pytest_args: list[str]) -> Outcome:
    outcome = Outcome(env)
    VENVS.mkdir(exist_ok=True)
    log = VENVS / f"{env.name}.log"
    log.write_text("")
    junit = VENVS / f"{env.name}.xml"
    junit.unlink(missing_ok=True)
    home = ROOT / f".airflow_home_compat_{env.name}"
    shutil.rmtree(home, ignore_errors=True)
    started = time.monotonic()
    print(f"== {env.name}: Airflow {env.airflow} on Python {env.python} (log: {log.relative_to(ROOT)})", flush=True)
    try:
        setup(env, log)
    except FileNotFoundError as exc:
        outcome.error = str(exc)
        outcome.seconds = time.monotonic() - started
        return outcome
    except subprocess.CalledProcessError as exc:
        outcome.error = f"setup failed ({' '.join(exc.cmd[1:3])}), see {log.relative_to(ROOT)}"
        outcome.seconds = time.monotonic() - started
        return outcome
    environ = dict(os.environ, AIRFLOW_HOME=str(home), VIRTUAL_ENV=str(env.venv))
    environ["PATH"] = f"{env.venv / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    # One pytest-xdist worker per core, as `make test` runs it (each worker has its own AIRFLOW_HOME under home).
    cmd = [str(env.venv / "bin" / "python"), "-m", "pytest", "-q", "-n", "auto", "--dist", "loadgroup",
           f"--junitxml={junit}", *pytest_args]  # fmt: skip
    with log.open("a") as out:
        result = subprocess.run(cmd, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
    outcome.seconds = time.monotonic() - started
    if junit.exists():
        count(junit, outcome)
    if result.returncode not in (0, 1) or not junit.exists():
        outcome.error = f"pytest exited {result.returncode}, see {log.relative_to(ROOT)}"
    tail = log.read_text().strip().splitlines()[-1:] or [""]
    print(f"   {tail[0]}", flush=True)
    return outcome


def table(outcomes: list[Outcome]) -> str:
    head = ("env", "Airflow", "Python", "passed", "failed", "skipped", "wall time", "result")
    rows = [
        (o.env.name, o.env.airflow, o.env.python, str(o.passed), str(o.failed), str(o.skipped),
         f"{o.seconds:.0f} s", "ok" if o.ok else (o.error or "FAILED"))
        for o in outcomes
    ]  # fmt: skip
    total = sum(o.seconds for o in outcomes)
    rows.append(("total", "", "", str(sum(o.passed for o in outcomes)), str(sum(o.failed for o in outcomes)),
                 str(sum(o.skipped for o in outcomes)), f"{total:.0f} s", ""))  # fmt: skip
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", help="environment names (default: all)")
    parser.add_argument("--lock", action="store_true", help="rewrite the pin files instead of testing")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, one string")
    args = parser.parse_args(argv)
    known = {env.name: env for env in ENVS}
    unknown = [name for name in args.envs if name not in known]
    if unknown:
        parser.error(f"unknown environment(s) {unknown}; known: {sorted(known)}")
    chosen = [known[name] for name in args.envs] or list(ENVS)
    if args.lock:
        for env in chosen:
            lock(env)
        return 0
    outcomes = [run_env(env, args.pytest_args.split()) for env in chosen]
    print()
    print(table(outcomes))
    # The closing line CI's reader looks for.
    print(
        f"test-compat: {sum(o.passed for o in outcomes)} passed, {sum(o.failed for o in outcomes)} failed, "
        f"{sum(o.skipped for o in outcomes)} skipped"
    )
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
