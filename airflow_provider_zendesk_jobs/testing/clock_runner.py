"""``ClockRunner``: let a manual clock run, at a chosen speed, from a background thread.

An emulator started with a manual clock holds every job still, which is what a test wants
until the code under test is in place (a sensor deferred, a triggerer polling); from then on a
demo or an end-to-end run wants time to pass. The runner advances the clock by the real time
elapsed times ``speed``, every ``tick`` seconds, once ``start_when()`` first says yes (at once
without it), until stopped. It takes any :class:`~.emulator_control.EmulatorControl`: the
in-process emulator or a :class:`~.remote.RemoteEmulator`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from airflow_provider_zendesk_jobs.testing.emulator_control import EmulatorControl


class ClockRunner:
    """Advances ``emulator``'s clock at ``speed`` clock seconds per real second; a context manager.

    If a call to the emulator fails (it was stopped, its process ended), the runner stops and
    keeps the exception in ``error``.
    """

    def __init__(
        self,
        emulator: EmulatorControl,
        speed: float = 1.0,
        tick: float = 0.25,
        start_when: Callable[[], bool] | None = None,
    ) -> None:
        if not speed > 0 or speed == float("inf"):
            raise ValueError(f"speed must be a finite positive number, not {speed!r}")
        if not tick > 0:
            raise ValueError(f"tick must be a positive number of seconds, not {tick!r}")
        self.emulator = emulator
        self.speed = float(speed)
        self.tick = float(tick)
        self.start_when = start_when
        #: Set once the clock has started to run (``start_when`` said yes).
        self.released = threading.Event()
        self.error: Exception | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-clock", daemon=True)

    def start(self) -> ClockRunner:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop advancing (the clock stands still again) and wait for the thread."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> ClockRunner:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            while self.start_when is not None and not self.start_when():
                if self._stopping.wait(self.tick):
                    return
            self.released.set()
            last = time.monotonic()
            while not self._stopping.wait(self.tick):
                now = time.monotonic()
                self.emulator.advance((now - last) * self.speed)
                last = now
        except Exception as exc:  # the emulator is gone: stop, and say why in .error
            self.error = exc
