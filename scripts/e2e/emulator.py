"""The emulators of a run: each a console-script process on a free port, driven over its control API.

Everything the scenarios do to an emulator goes through :class:`Emulator`'s methods here (named as
the in-process ``ZendeskEmulator``'s where it has one): start it, read its URL, create jobs, change
a job's status, add and clear faults, read its request and record logs, and move its clock, by a
step (:meth:`Emulator.advance`) or at real speed for a while (:meth:`Emulator.clock_running`).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

from scripts.e2e.harness import E2EError, E2ERun
from scripts.e2e.processes import Proc

#: The paths of the job-status reads (the job list, one job, show_many).
STATUS_READS = "/api/v2/job_statuses"
SHOW_MANY = "/api/v2/job_statuses/show_many"


class Emulator:
    """One running emulator (most with a manual clock, which stands still until moved)."""

    def __init__(self, name: str, url: str, proc: Proc) -> None:
        self.name, self.url, self.proc = name, url, proc

    @classmethod
    def start(cls, run: E2ERun, name: str, env: dict[str, str], options: Sequence[str]) -> Emulator:
        """``python -m airflow_provider_zendesk_jobs.testing`` with ``options``; returns once it listens."""
        url_file = run.home / "emulators" / f"{name}.url"
        url_file.parent.mkdir(parents=True, exist_ok=True)
        url_file.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "airflow_provider_zendesk_jobs.testing", "--port", "0", *options]
        proc = run.procs.start(f"emulator_{name}", [*argv, "--url-file", str(url_file)], env)
        run.wait_for(f"the {name} emulator to listen", lambda: url_file.exists() or not proc.alive(), 30, 0.1)
        if not proc.alive():
            raise E2EError(f"the {name} emulator did not start:\n{run.tail(proc)}")
        return cls(name, url_file.read_text(encoding="utf-8").strip(), proc)

    def connection(self) -> str:
        """``AIRFLOW_CONN_<ID>`` for this emulator."""
        return json.dumps(
            {"conn_type": "zendesk_jobs", "host": self.url, "login": "demo@example.com", "password": "demo-token"}
        )

    # -- jobs ---------------------------------------------------------------------------------------
    def create_job(self, **fields: Any) -> str:
        """A job as a bulk call would make it: ``kind``, ``count``, ``queued_seconds``, ``work_seconds``..."""
        return str(self._control("/jobs", fields)["job_status"]["id"])

    def set_job_status(self, job_id: str, status: str) -> None:
        """Freeze the job in ``status`` (``killed``...)."""
        self._control(f"/jobs/{job_id}/status", {"status": status})

    # -- faults -------------------------------------------------------------------------------------
    def add_fault(self, kind: str) -> None:
        """Every Zendesk request gets the fault ``kind`` (``server_error``: 503) until it is cleared."""
        self._control("/faults", {"kind": kind})

    def clear_faults(self) -> None:
        self._control("/faults", method="DELETE")

    # -- what it received ---------------------------------------------------------------------------
    def requests(self, path_prefix: str = STATUS_READS, method: str = "GET") -> list[dict[str, Any]]:
        """The request log (``path``, ``query``, ``status``, ``wall_time``...); ``method=""`` for every method."""
        query = urllib.parse.urlencode({"path_prefix": path_prefix, "method": method})
        return list(self._control(f"/requests?{query}")["requests"])

    def records_received(self) -> int:
        """Records the bulk calls received, all jobs together."""
        return int(self._control("/records")["total"])

    def duplicate_records(self) -> dict[str, int]:
        """External ids received more than once, with how often: empty when nothing was sent twice."""
        return dict(self._control("/records")["duplicates"])

    # -- the clock ----------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        self._control("/clock/advance", {"seconds": seconds})

    @contextlib.contextmanager
    def clock_running(self, tick: float = 0.5) -> Iterator[None]:
        """The clock runs at real speed inside the block (jobs finish over their work seconds), and stands
        still again after it."""
        stopping = threading.Event()

        def drive() -> None:
            last = time.monotonic()
            while not stopping.wait(tick):
                now = time.monotonic()
                try:
                    self.advance(now - last)
                except OSError:
                    return  # the emulator is gone: the run is stopping
                last = now

        driver = threading.Thread(target=drive, name=f"clock-{self.name}", daemon=True)
        driver.start()
        try:
            yield
        finally:
            stopping.set()

    def _control(self, path: str, body: dict[str, Any] | None = None, method: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/__emulator__{path}", data=data, method=method or ("POST" if data is not None else "GET")
        )
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
