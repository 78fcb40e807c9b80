"""The one rule for "a finite number", behind every duration and time this provider takes: a task's
arguments (checked when the DAG is parsed) and a deferred wait's stored trigger row (checked in the
triggerer). Each caller words its own message; none may crash on the value instead of naming it.
"""

from __future__ import annotations

import math

__all__ = ["finite_float"]


def finite_float(value: object) -> float | None:
    """``value`` as a finite float, or None when it is not a finite number.

    A bool is no number here (``timeout=True`` is a mistake, not one second), and neither is an int
    too large for a float: ``float(10**400)`` would raise ``OverflowError`` instead of a message.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
