"""A logger that keeps its lines, for the progress and outage messages a wait writes."""

from __future__ import annotations

from typing import Any


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def _record(self, level: str, msg: str, *args: Any) -> None:
        self.lines.append((level, msg % args if args else msg))

    def debug(self, msg: str, /, *args: Any) -> None:
        self._record("debug", msg, *args)

    def info(self, msg: str, /, *args: Any) -> None:
        self._record("info", msg, *args)

    def warning(self, msg: str, /, *args: Any) -> None:
        self._record("warning", msg, *args)

    def at(self, level: str) -> list[str]:
        return [text for lvl, text in self.lines if lvl == level]
