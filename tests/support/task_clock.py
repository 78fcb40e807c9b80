"""A waiting task run on a clock the test owns, through the seam the tasks offer for it: ``build_wait``.

Every waiting task has it: the sensor and the results operator build their ``JobWait`` there, the
bulk operator its ``ImportWait`` (the clock and sleep of its rounds, and the hook on them). The
subclass keeps the task's module and name, so its log lines come from the same logger as the
real task's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Task = TypeVar("Task")


def on_clock(task_class: type[Task], clock: Callable[[], float], sleep: Callable[[float], Any]) -> type[Task]:
    """``task_class`` whose wait reads ``clock`` and whose hook (and polling loop) sleeps through ``sleep``."""

    class OnClock(task_class):  # type: ignore[valid-type,misc]
        __module__ = task_class.__module__

        def build_wait(self, **seams: Any) -> Any:
            return super().build_wait(clock=clock, sleep=sleep)

    OnClock.__name__ = OnClock.__qualname__ = task_class.__name__
    return OnClock
