"""The run object: one ``make e2e`` run's home, deadline, processes, cleanups and stop flag, and every wait's deadline.

A scenario waits only through :meth:`E2ERun.wait_for`, which polls with a deadline of its own,
never past the run's (less the time kept for stopping everything), and gives up at once when the
run is stopping (Ctrl-C, SIGTERM, the run's deadline).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.console import tail
from scripts.e2e.processes import Proc, Processes

#: Kept free at the end of the run's deadline for stopping every process and writing the summary.
CLEANUP_SECONDS = 45.0


class E2EError(Exception):
    """A scenario (or the deployment) did not do what it must; the message says what and where to look."""


class Interrupted(Exception):
    """Ctrl-C, SIGTERM or the run's deadline: stop everything."""


class E2ERun:
    """One run: its home (``.airflow_home_e2e``), its deadline, the processes it started, its stop flag.

    What it started outside :attr:`procs` (the emulators, each a process of its own owner) registers
    its stop with :meth:`on_cleanup`, so :meth:`stop_all` ends it too, on every way out.
    """

    def __init__(self, home: Path, deadline_seconds: float) -> None:
        self.home = home
        self.began = time.monotonic()
        self.deadline = self.began + deadline_seconds
        self.procs = Processes(home)
        self.stopping = threading.Event()
        self._cleanups: list[tuple[str, Callable[[], object]]] = []
        self._cleanups_lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def out_of_time(self) -> bool:
        """Past the point where the scenarios must give way to stopping everything."""
        return self.remaining() <= CLEANUP_SECONDS - 10

    def stop(self) -> None:
        """Every wait of every scenario gives up (:class:`Interrupted`) at its next look."""
        self.stopping.set()

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
        """Poll ``check`` until it returns something truthy; E2EError after ``timeout`` (or the run's deadline)."""
        limit = time.monotonic() + min(timeout, max(0.0, self.remaining() - CLEANUP_SECONDS))
        while True:
            if self.stopping.is_set():
                raise Interrupted("stopping")
            value = check()
            if value:
                return value
            if time.monotonic() >= limit:
                raise E2EError(f"timed out after {timeout:g} s waiting for {what}")
            self.stopping.wait(every)

    @staticmethod
    def tail(proc: Proc, lines: int = 15) -> str:
        """The end of a process's log, to put in an error about it."""
        return tail(proc.log, lines)

    def on_cleanup(self, what: str, cleanup: Callable[[], object]) -> None:
        """``cleanup`` (stopping ``what``) runs in :meth:`stop_all`, before the run's processes are stopped."""
        with self._cleanups_lock:
            self._cleanups.append((what, cleanup))

    def stop_all(self) -> None:
        """Run every cleanup, newest first, then stop every process the run started (and their children),
        whatever state they are in. A cleanup that fails is reported and the others still run.

        The cleanups come first: the stray search of :meth:`Processes.stop_all` would otherwise kill,
        by ``AIRFLOW_HOME``, the emulators they stop cleanly.
        """
        self.stop()
        with self._cleanups_lock:
            cleanups, self._cleanups = list(reversed(self._cleanups)), []
        if self.procs.started or cleanups:
            print("- stopping every process this run started", flush=True)
        for what, cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:  # the rest of the cleanup must still run
                print(f"  warning: stopping {what} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        self.procs.stop_all()


@dataclass
class Result:
    """What one scenario found: passed, its figures for the summary, and each problem in a sentence."""

    name: str
    title: str
    passed: bool = False
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def check(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)
