"""The console-script emulator as a child process: started on a free port, ready when its URL file appears.

:class:`EmulatorProcess` runs ``python -m airflow_provider_zendesk_jobs.testing`` (or any command
that takes the same options, such as an installed ``zendesk-jobs-emulator``) with ``--port 0`` and
``--url-file``, and waits, up to a deadline, for the file: the CLI writes it once the port is bound
and serving. The process's output (the banner, errors) goes to a file, so a failure can say what the
emulator printed, and nothing blocks on a full pipe. :class:`~.remote.RemoteEmulator` drives it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

#: How the emulator is started unless told otherwise: this Python, this package.
DEFAULT_COMMAND = (sys.executable, "-m", "airflow_provider_zendesk_jobs.testing")
#: Lines of output an error quotes.
TAIL_LINES = 20


class EmulatorProcessError(RuntimeError):
    """The emulator's process could not be started, exited early, or did not become ready in time."""


class EmulatorProcess:
    """One running emulator process; :meth:`launch` starts it, :meth:`stop` ends it and waits."""

    def __init__(self, popen: subprocess.Popen[bytes], url: str, output_path: Path, scratch: Path | None) -> None:
        self.popen = popen
        self.url = url
        self.output_path = output_path
        self._scratch = scratch
        self._final_output: str | None = None

    @classmethod
    def launch(
        cls,
        args: Sequence[str] = (),
        *,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        output: str | Path | None = None,
        startup_timeout: float = 30.0,
    ) -> EmulatorProcess:
        """Start the emulator with the CLI options ``args`` and wait until it serves.

        ``--port 0`` comes first (a later ``--port`` in ``args`` wins) and ``--url-file`` last.
        ``output`` keeps the process's output in that file (by default a temporary one, removed by
        :meth:`stop`). Raises :class:`EmulatorProcessError`, with the end of the output, when the
        process exits first or is not ready within ``startup_timeout`` seconds (it is killed then).
        """
        if not startup_timeout > 0:
            raise ValueError(f"startup_timeout must be a positive number of seconds, not {startup_timeout!r}")
        scratch = Path(tempfile.mkdtemp(prefix="zendesk-emulator-"))
        url_file = scratch / "url"
        output_path = Path(output) if output is not None else scratch / "output.log"
        argv = [*(command or DEFAULT_COMMAND), "--port", "0", *args, "--url-file", str(url_file)]
        child_env = dict(os.environ if env is None else env)
        child_env.setdefault("PYTHONUNBUFFERED", "1")
        output_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with output_path.open("wb") as out:
                popen = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=child_env, cwd=cwd
                )
        except OSError as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise EmulatorProcessError(f"cannot start the emulator ({' '.join(argv[:3])} ...): {exc}") from None
        process = cls(popen, "", output_path, scratch)
        process.url = process._wait_for_url(url_file, startup_timeout)
        return process

    def _wait_for_url(self, url_file: Path, startup_timeout: float) -> str:
        deadline = time.monotonic() + startup_timeout
        while not url_file.exists():
            code = self.popen.poll()
            if code is not None:
                self.stop()
                raise EmulatorProcessError(
                    f"the emulator exited with status {code} before it was ready; the end of its output:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise EmulatorProcessError(
                    f"the emulator was not ready within {startup_timeout:g} s (no URL file); it was stopped. "
                    f"The end of its output:\n{self.tail()}"
                )
            time.sleep(0.02)
        return url_file.read_text(encoding="utf-8").strip()

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        """Everything the process printed so far (kept after :meth:`stop`)."""
        if self._final_output is not None:
            return self._final_output
        try:
            return self.output_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines of output, indented, for error messages."""
        text = self.output().splitlines()[-lines:]
        return "\n".join("    " + line for line in text) if text else "    (no output)"

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM (the CLI's clean stop), then SIGKILL after ``timeout`` seconds; waits and returns the status."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        if self._scratch is not None:
            self._final_output = self.output()
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        return self.popen.returncode

    def describe_exit(self) -> str:
        """A sentence for errors: whether the process is still running, else its status and last output."""
        code = self.popen.poll()
        if code is None:
            return f"its process (pid {self.pid}) is still running"
        return f"its process exited with status {code}; the end of its output:\n{self.tail()}"

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.returncode}"
        return f"EmulatorProcess(pid={self.pid}, {self.url or 'not ready'}, {state})"
