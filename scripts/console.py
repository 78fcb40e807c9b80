"""What ``make demo`` and ``make e2e`` print while they work: a step and its time, and the end of a log."""

from __future__ import annotations

import time
from pathlib import Path


def step(text: str) -> float:
    """Print what starts now (the line stays open for :func:`done`); returns when it started."""
    print(f"- {text} ...", end="", flush=True)
    return time.monotonic()


def done(started: float, extra: str = "") -> None:
    """Close the line :func:`step` opened, with the seconds since ``started`` and anything to add."""
    print(f" done ({time.monotonic() - started:.1f} s){extra}", flush=True)


def tail(path: Path, lines: int = 40, width: int = 300) -> str:
    """The last ``lines`` lines of a log, indented, each cut at ``width`` characters, to print under an error."""
    if not path.exists():
        return "    (no file)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join("    " + line[:width] for line in text[-lines:])
