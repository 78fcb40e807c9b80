"""The processes of a run: each started in its own process group, and every one stopped at the end.

Also the few reads of ``/proc`` the celery scenario needs to kill a whole worker, as when its
machine dies: the parent of every process, and whether a process still runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Proc:
    """One started process and the file its output goes to."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None


class Processes:
    """Every process the run starts, each in its own process group, so a stop takes its children too."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.started: list[Proc] = []
        self._lock = threading.Lock()

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Proc:
        """``argv`` with its output in ``logs_e2e/<name>.log`` under the run's home."""
        log = self.home / "logs_e2e" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(argv), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.home
            )
        proc = Proc(name, popen, log)
        with self._lock:
            self.started.append(proc)
        return proc

    def airflow(self, name: str, args: Sequence[str], env: dict[str, str]) -> Proc:
        return self.start(name, [sys.executable, "-m", "airflow", *args], env)

    @staticmethod
    def kill_group(proc: Proc, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)

    def stop_all(self) -> None:
        """SIGTERM to every group, side by side; SIGKILL to what is left after 25 s; then the strays."""
        with self._lock:
            procs = list(reversed(self.started))
        for proc in procs:
            if proc.alive():
                self.kill_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 25
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            self.kill_group(proc, signal.SIGKILL)
        for proc in procs:
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                print(f"  warning: {proc.name} (pid {proc.pid}) did not exit", file=sys.stderr)
        self._stop_strays()

    def _stop_strays(self) -> None:
        """Task processes that left their group (a supervisor may start its own session) still carry our home
        (or a Celery worker's, inside it)."""
        marker = f"AIRFLOW_HOME={self.home}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(var == marker or var.startswith(marker + b"/") for var in environ):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)


def parent_pids() -> dict[int, int]:
    """pid -> parent pid of every process on the machine, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ")".
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(root: int, parents: dict[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pid_alive(pid: int) -> bool:
    """Running (a zombie whose parent died may wait for a reaper that never comes: it counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
